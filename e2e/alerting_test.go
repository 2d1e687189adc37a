package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/notify"
)

// alertingRules is the shipped error-rate alert with windows of seconds, so that the test
// drives it through firing and resolution in a few seconds.
const alertingRules = `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: GeminiFlowHighErrorRate
        expr: |
          100 * sum by (job, instance) (rate(gemini_flow_errors_total[4s]))
            / sum by (job, instance) (rate(gemini_flow_http_requests_total[4s]))
            > 5
        for: 2s
        labels:
          severity: warning
        annotations:
          summary: gemini-flow {{ $labels.instance }} answers {{ printf "%.1f" $value }}% of requests with an error
`

// hookSink records the webhook payloads posted to it, by path.
type hookSink struct {
	mu       sync.Mutex
	messages map[string][]notify.Message
	raw      map[string][][]byte
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	var m notify.Message
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.DisallowUnknownFields() // Alertmanager's payload has no field our type lacks
	if err := dec.Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.messages[r.URL.Path] = append(h.messages[r.URL.Path], m)
	h.raw[r.URL.Path] = append(h.raw[r.URL.Path], buf.Bytes())
	h.mu.Unlock()
}

// statuses lists the status of every alert posted to path, in order.
func (h *hookSink) statuses(path string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.messages[path] {
		for _, a := range m.Alerts {
			out = append(out, a.Status)
		}
	}
	return out
}

func (h *hookSink) last(path string) (notify.Message, []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ms := h.messages[path]
	return ms[len(ms)-1], h.raw[path][len(ms)-1]
}

func startAlertmanager(t *testing.T, webhookURL string) string {
	t.Helper()
	bin := requireTool(t, "prometheus-alertmanager")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, webhookURL)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	p := startProcess(t, "alertmanager", bin,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+strings.TrimPrefix(url, "http://"),
		"--cluster.listen-address=")
	p.WaitFor(t, "alertmanager /-/ready", 30*time.Second, func() bool { return testkit.StatusOK(url + "/-/ready") })
	return url
}

// amAlert is the part of Alertmanager's GET /api/v2/alerts answer the test reads.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

func amAlerts(t *testing.T, amURL string) []amAlert {
	t.Helper()
	_, b := call(t, http.MethodGet, amURL+"/api/v2/alerts", "")
	var out []amAlert
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("alertmanager alerts: %v: %s", err, b)
	}
	return out
}

// TestAlertingWithAlertmanager drives the error-rate alert to firing with traffic: a real
// Alertmanager lists it with the binary's labels and annotations, and a webhook receiver
// gets Alertmanager's payload from the binary directly; when the traffic stops both see it
// resolved.
func TestAlertingWithAlertmanager(t *testing.T) {
	sink := &hookSink{messages: map[string][]notify.Message{}, raw: map[string][][]byte{}}
	hooks := httptest.NewServer(sink)
	defer hooks.Close()
	amURL := startAlertmanager(t, hooks.URL+"/from-alertmanager")

	rulesFile := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(alertingRules), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startBinary(t, "--history-interval", "1s", "--rules-file", rulesFile,
		"--alertmanager-url", amURL, "--alert-webhook-url", hooks.URL+"/direct")

	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // one request in two is a 404, an error of type not_found
		defer close(done)
		for !stop.Load() {
			testkit.StatusOK(b.URL + "/api/workflows/missing")
			testkit.StatusOK(b.URL + "/api/workflows")
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var firing amAlert
	b.Process.WaitFor(t, "alertmanager to list the firing alert", 60*time.Second, func() bool {
		for _, a := range amAlerts(t, amURL) {
			if a.Labels["alertname"] == "GeminiFlowHighErrorRate" {
				firing = a
				return true
			}
		}
		return false
	})
	stop.Store(true)
	<-done
	want := map[string]string{"alertname": "GeminiFlowHighErrorRate", "severity": "warning", "job": monitoring.Job, "instance": b.Addr}
	for k, v := range want {
		if firing.Labels[k] != v {
			t.Errorf("alertmanager label %s = %q, want %q (all: %v)", k, firing.Labels[k], v, firing.Labels)
		}
	}
	if len(firing.Labels) != len(want) || firing.Status.State != "active" {
		t.Errorf("alertmanager alert: %+v", firing)
	}
	if s := firing.Annotations["summary"]; !strings.HasPrefix(s, "gemini-flow "+b.Addr+" answers ") || !strings.HasSuffix(s, "% of requests with an error") {
		t.Errorf("alertmanager summary %q", s)
	}

	b.Process.WaitFor(t, "both webhooks to hear of the resolution", 60*time.Second, func() bool {
		return strings.Join(sink.statuses("/direct"), ",") == "firing,resolved" &&
			strings.HasSuffix(strings.Join(sink.statuses("/from-alertmanager"), ","), "resolved")
	})
	for _, a := range amAlerts(t, amURL) {
		if a.Labels["alertname"] == "GeminiFlowHighErrorRate" {
			t.Errorf("alertmanager still lists the alert after it resolved: %+v", a)
		}
	}
	compareWebhookPayloads(t, sink)
	checkRulesHealthAndMetrics(t, b.URL, amURL)
}

// checkRulesHealthAndMetrics reads /health's components.rules and the rule and
// notification families of /metrics after the alert went through.
func checkRulesHealthAndMetrics(t *testing.T, base, amURL string) {
	t.Helper()
	var health struct {
		Components struct {
			Rules struct {
				Status         string     `json:"status"`
				Groups         int        `json:"groups"`
				Rules          int        `json:"rules"`
				FailingRules   int        `json:"failingRules"`
				LastEvaluation *time.Time `json:"lastEvaluation"`
			} `json:"rules"`
		} `json:"components"`
	}
	_, body := call(t, http.MethodGet, base+"/health", "")
	if err := json.Unmarshal(body, &health); err != nil {
		t.Fatal(err)
	}
	r := health.Components.Rules
	if r.Status != "healthy" || r.Groups != 1 || r.Rules != 1 || r.FailingRules != 0 || r.LastEvaluation == nil || time.Since(*r.LastEvaluation) > time.Minute {
		t.Errorf("/health components.rules: %s", body)
	}
	_, body = call(t, http.MethodGet, base+"/metrics", "")
	for _, want := range []string{
		`gemini_flow_rule_evaluations_total{rule_group=`,
		`gemini_flow_rule_evaluation_failures_total{rule_group=`,
		`gemini_flow_rule_group_last_evaluation_timestamp_seconds{rule_group=`,
		`gemini_flow_notifications_sent_total{alertmanager="` + amURL + `"}`,
		`gemini_flow_alerts{state="firing"} 0`,
		`gemini_flow_notifications_dropped_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// compareWebhookPayloads checks that the binary's resolved message carries what
// Alertmanager's does, field for field, but for the receiver, the group key and URLs.
func compareWebhookPayloads(t *testing.T, sink *hookSink) {
	t.Helper()
	ours, oursRaw := sink.last("/direct")
	theirs, theirsRaw := sink.last("/from-alertmanager")
	t.Logf("ours   %s\ntheirs %s", oursRaw, theirsRaw)
	var a, b map[string]any
	_ = json.Unmarshal(oursRaw, &a)
	_ = json.Unmarshal(theirsRaw, &b)
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("the binary's webhook payload lacks %q: %s", k, oursRaw)
		}
	}
	if ours.Version != theirs.Version || ours.Status != theirs.Status || len(ours.Alerts) != 1 || len(theirs.Alerts) != 1 {
		t.Fatalf("webhook payloads differ:\n ours   %s\n theirs %s", oursRaw, theirsRaw)
	}
	o, th := ours.Alerts[0], theirs.Alerts[0]
	if o.Fingerprint != th.Fingerprint || !o.StartsAt.Equal(th.StartsAt) || !o.EndsAt.Equal(th.EndsAt) ||
		fmt.Sprint(o.Labels) != fmt.Sprint(th.Labels) || fmt.Sprint(o.Annotations) != fmt.Sprint(th.Annotations) ||
		fmt.Sprint(ours.GroupLabels) != fmt.Sprint(theirs.GroupLabels) || fmt.Sprint(ours.CommonLabels) != fmt.Sprint(theirs.CommonLabels) {
		t.Errorf("webhook alerts differ:\n ours   %s\n theirs %s", oursRaw, theirsRaw)
	}
}

// TestShippedRulesEvaluate starts the binary without --rules-file: it evaluates the
// shipped dashboards/alerts.yml on its own history, every rule healthy, and the client's
// view of /api/v1/rules lists them.
func TestShippedRulesEvaluate(t *testing.T) {
	b := startBinary(t, "--history-interval", "1s")
	type rule struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Health string `json:"health"`
		Error  string `json:"lastError"`
	}
	var groups []struct {
		Name  string `json:"name"`
		File  string `json:"file"`
		Rules []rule `json:"rules"`
	}
	b.Process.WaitFor(t, "every shipped rule evaluated", 30*time.Second, func() bool {
		_, body := call(t, http.MethodGet, b.URL+"/api/v1/rules", "")
		var res struct {
			Data struct {
				Groups json.RawMessage `json:"groups"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &res) != nil || json.Unmarshal(res.Data.Groups, &groups) != nil || len(groups) == 0 {
			return false
		}
		for _, g := range groups {
			for _, r := range g.Rules {
				if r.Health == "unknown" {
					return false
				}
			}
		}
		return true
	})
	if len(groups) != 1 || groups[0].File != "dashboards/alerts.yml" || len(groups[0].Rules) != 7 {
		t.Fatalf("groups: %+v", groups)
	}
	for _, r := range groups[0].Rules {
		if r.Type != "alerting" || r.Health != "ok" {
			t.Errorf("shipped rule %s: %s %s %s", r.Name, r.Type, r.Health, r.Error)
		}
	}
}
