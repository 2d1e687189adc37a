package rulesapi_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/rules"
	"github.com/gemini-flow/gemini-flow/rulesapi"
)

const apiRules = `groups:
  - name: api
    interval: 30s
    rules:
      - record: level:sum
        expr: sum(level)
        labels:
          team: ops
      - alert: High
        expr: level > 10
        for: 1m
        keep_firing_for: 5m
        labels:
          severity: page
        annotations:
          summary: 'level {{ $value }} on {{ $labels.instance }}'
      - alert: Broken
        expr: '{__name__=~"level|other"}'
`

// serve runs the API on a loopback port and returns a client_golang API for it.
func serve(t *testing.T, a *rulesapi.API) v1.API {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/api/v1/rules":
			a.Rules(ctx)
		case "/api/v1/alerts":
			a.Alerts(ctx)
		default:
			ctx.NotFound()
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Shutdown() })
	c, err := api.NewClient(api.Config{Address: "http://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(c)
}

func evaluated(t *testing.T) (*rules.Manager, time.Time) {
	t.Helper()
	db, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	engine := promql.NewEngine(promql.EngineOpts{Timeout: time.Minute, MaxSamples: 1e6})
	m, err := rules.New(rules.Options{Sources: []rules.Source{{File: "api.yml", Data: []byte(apiRules)}},
		Engine: engine, Queryable: db, Appender: db})
	if err != nil {
		t.Fatal(err)
	}
	m.Restored()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ts time.Time
	for i := 0; i <= 4; i++ {
		ts = t0.Add(time.Duration(i) * 30 * time.Second)
		db.AppendSamples(ts.UnixMilli(), []history.Sample{
			{Labels: labels.FromStrings("__name__", "level", "instance", "a"), Value: 42},
			{Labels: labels.FromStrings("__name__", "level", "instance", "b"), Value: 1},
			{Labels: labels.FromStrings("__name__", "other", "instance", "a"), Value: 1},
		})
		m.EvalAll(context.Background(), ts)
	}
	return m, t0
}

// TestClientGolangDecodes reads /api/v1/rules and /api/v1/alerts with Prometheus's own
// client (what Grafana's data source speaks) and checks every field it models.
func TestClientGolangDecodes(t *testing.T) {
	m, t0 := evaluated(t)
	client := serve(t, rulesapi.New(m))
	ctx := context.Background()

	alerts, err := client.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantAlert := v1.Alert{
		ActiveAt:    t0,
		Labels:      model.LabelSet{"alertname": "High", "instance": "a", "severity": "page"},
		Annotations: model.LabelSet{"summary": "level 42 on a"},
		State:       v1.AlertStateFiring,
		Value:       "4.2e+01",
	}
	if len(alerts.Alerts) != 1 || !equalAlert(alerts.Alerts[0], wantAlert) {
		t.Fatalf("alerts: %+v, want [%+v]", alerts.Alerts, wantAlert)
	}

	res, err := client.Rules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Groups) != 1 {
		t.Fatalf("groups: %+v", res.Groups)
	}
	g := res.Groups[0]
	if g.Name != "api" || g.File != "api.yml" || g.Interval != 30 || len(g.Rules) != 3 {
		t.Fatalf("group: %+v", g)
	}
	rec, ok := g.Rules[0].(v1.RecordingRule)
	if !ok || rec.Name != "level:sum" || rec.Query != "sum(level)" || rec.Health != v1.RuleHealthGood ||
		rec.Labels["team"] != "ops" || rec.LastEvaluation.IsZero() {
		t.Errorf("recording rule: %+v", g.Rules[0])
	}
	high, ok := g.Rules[1].(v1.AlertingRule)
	if !ok || high.Name != "High" || high.Query != "level > 10" || high.Duration != 60 || high.State != "firing" ||
		high.Health != v1.RuleHealthGood || high.Labels["severity"] != "page" ||
		high.Annotations["summary"] != "level {{ $value }} on {{ $labels.instance }}" ||
		len(high.Alerts) != 1 || !equalAlert(*high.Alerts[0], wantAlert) {
		t.Errorf("alerting rule: %+v", g.Rules[1])
	}
	broken, ok := g.Rules[2].(v1.AlertingRule)
	if !ok || broken.Health != v1.RuleHealthBad || broken.LastError == "" || broken.State != "inactive" {
		t.Errorf("failing rule: %+v", g.Rules[2])
	}

	if sum := m.Summary(); sum.Status != "degraded" || sum.Groups != 1 || sum.Rules != 3 || sum.FailingRules != 1 || sum.LastEvaluation == nil {
		t.Errorf("summary for /health: %+v", sum)
	}

	only, err := client.Rules(ctx, []string{`{severity="page"}`})
	if err != nil {
		t.Fatal(err)
	}
	if len(only.Groups) != 1 || len(only.Groups[0].Rules) != 1 {
		t.Errorf("match[]: %+v", only.Groups)
	}
}

func equalAlert(got, want v1.Alert) bool {
	return got.ActiveAt.Equal(want.ActiveAt) && got.Labels.Equal(want.Labels) &&
		got.Annotations.Equal(want.Annotations) && got.State == want.State && got.Value == want.Value
}

// TestEvaluationOff: without a manager both endpoints answer empty lists, as a Prometheus
// without rules does.
func TestEvaluationOff(t *testing.T) {
	client := serve(t, rulesapi.New(nil))
	res, err := client.Rules(context.Background(), nil)
	if err != nil || len(res.Groups) != 0 {
		t.Fatalf("rules: %+v, %v", res, err)
	}
	alerts, err := client.Alerts(context.Background())
	if err != nil || len(alerts.Alerts) != 0 {
		t.Fatalf("alerts: %+v, %v", alerts, err)
	}
	var m *rules.Manager
	if s := m.Summary(); s.Status != "disabled" {
		t.Fatalf("summary of no rules: %+v", s)
	}
}
