package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// restartRules holds an alert that is active from the first evaluation and fires after 8 s.
const restartRules = `groups:
  - name: restart
    interval: 1s
    rules:
      - alert: Slow
        expr: gemini_flow_build_info > 0
        for: 8s
`

// apiAlert is one alert of /api/v1/alerts.
type apiAlert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt time.Time         `json:"activeAt"`
}

func slowAlert(t *testing.T, base string) (apiAlert, bool) {
	t.Helper()
	_, body := call(t, http.MethodGet, base+"/api/v1/alerts", "")
	var res struct {
		Data struct {
			Alerts []apiAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("/api/v1/alerts: %v: %s", err, body)
	}
	for _, a := range res.Data.Alerts {
		if a.Labels["alertname"] == "Slow" {
			return a, true
		}
	}
	return apiAlert{}, false
}

// TestAlertRestoredAfterRestart stops the binary while an alert is pending for half its
// `for` and starts it again on the same data: the alert is pending again, its activeAt
// restored from ALERTS_FOR_STATE and moved forward by the time the binary was down (as
// Prometheus moves it, so that an outage does not count as pending time), and it fires
// once its `for` has passed from there.
func TestAlertRestoredAfterRestart(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(restartRules), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--data-dir", dir, "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), // the instance label must not change
		"--history-interval", "1s", "--rules-file", rulesFile, "--alert-for-grace-period", "1s"}

	b := startBinary(t, args...)
	var first apiAlert
	b.Process.WaitFor(t, "the alert pending for half its for", 30*time.Second, func() bool {
		a, ok := slowAlert(t, b.URL)
		first = a
		return ok && a.State == "pending" && time.Since(a.ActiveAt) >= 4*time.Second
	})
	if err := b.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-b.Process.Exited()
	downAt := time.Now()

	b = startBinary(t, args...)
	var restored apiAlert
	b.Process.WaitFor(t, "the alert restored from ALERTS_FOR_STATE", 30*time.Second, func() bool {
		a, ok := slowAlert(t, b.URL)
		restored = a
		return ok && a.ActiveAt.Before(downAt) // before the restore, the alert is new: active since the restart
	})
	// ActiveAt is restored to the second and moved by the outage (from the last sample
	// before the stop to the restore, two evaluations after the start): later than before,
	// by less than the outage plus a few evaluations.
	shift := restored.ActiveAt.Sub(first.ActiveAt.Truncate(time.Second))
	if restored.State != "pending" || shift <= 0 || shift > time.Since(downAt)+5*time.Second {
		t.Fatalf("restored %s since %v, was pending since %v (shift %v)", restored.State, restored.ActiveAt, first.ActiveAt, shift)
	}
	var fired apiAlert
	b.Process.WaitFor(t, "the restored alert to fire", 30*time.Second, func() bool {
		a, ok := slowAlert(t, b.URL)
		fired = a
		return ok && a.State == "firing"
	})
	if !fired.ActiveAt.Equal(restored.ActiveAt) {
		t.Errorf("fired with activeAt %v, restored %v", fired.ActiveAt, restored.ActiveAt)
	}
	if since := time.Since(restored.ActiveAt); since < 8*time.Second {
		t.Errorf("fired %v after its restored activeAt, before its for of 8s", since)
	}
}
