package dashboards

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
)

// tool finds an external checker: testkit.RequireTool, skipped outside CI only.
func tool(t *testing.T, name string) string { return testkit.RequireTool(t, name) }

func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
}

func TestPromtool(t *testing.T) {
	promtool := tool(t, "promtool")
	run(t, promtool, "check", "rules", "alerts.yml")
	run(t, promtool, "test", "rules", "alerts_test.yml")
	run(t, promtool, "check", "config", "prometheus.yml")
}

func TestVMAgentConfig(t *testing.T) {
	vmagent := tool(t, "vmagent")
	run(t, vmagent, "-promscrape.config=vmagent.yml", "-promscrape.config.dryRun", "-loggerLevel=ERROR")
}

// TestAlertsCovered holds every alert to a unit test that shows it quiet and firing.
func TestAlertsCovered(t *testing.T) {
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)$`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 7 {
		t.Fatalf("found %d alerts in alerts.yml, want at least 7", len(alerts))
	}
	for _, a := range alerts {
		name := a[1]
		quiet := regexp.MustCompile(`alertname: ` + name + `\n\s+exp_alerts: \[\]`).MatchString(string(tests))
		firing := regexp.MustCompile(`alertname: ` + name + `\n\s+exp_alerts:\n\s+- exp_labels:`).MatchString(string(tests))
		if !quiet || !firing {
			t.Errorf("alert %s: alerts_test.yml shows it quiet=%v, firing=%v; want both", name, quiet, firing)
		}
	}
}

// evalVars fills the dashboard's variables for evaluation over series sampled every minute.
var evalVars = strings.NewReplacer("$__rate_interval", "5m", "$job", "gemini-flow-backend", "$instance", ".*")

// Queries written out in the README: the seed's error rate, and the per-route form of ours.
const (
	seedErrorRate     = `100 * rate(gemini_flow_errors_total[5m]) / rate(gemini_flow_http_requests_total[5m])`
	perRouteErrorRate = `100 * sum by (route) (label_replace(rate(gemini_flow_errors_total[5m]), "route", "$1", "path", "(.*)"))
  / on (route) sum by (route) (rate(gemini_flow_http_requests_total[5m]))`
)

// TestErrorRateQueries evaluates the error-rate queries in Prometheus itself: the seed's
// returns nothing, the dashboard's and the per-route form return the rate.
func TestErrorRateQueries(t *testing.T) {
	promtool := tool(t, "promtool")
	var dashboardErrorRate string
	for _, p := range decodePage(t).Panels {
		if p.Title == "Error rate" {
			dashboardErrorRate = p.Targets[0].Expr
		}
	}
	if dashboardErrorRate == "" {
		t.Fatal("no Error rate panel")
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	test := `
rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # /api/workflows: 10 errors in 100 requests; /api/workflows/{id}: 5 in 20.
      - series: 'gemini_flow_errors_total{job="gemini-flow-backend",instance="a:3001",type="validation",path="/api/workflows"}'
        values: '0+10x20'
      - series: 'gemini_flow_errors_total{job="gemini-flow-backend",instance="a:3001",type="not_found",path="/api/workflows/{id}"}'
        values: '0+5x20'
      - series: 'gemini_flow_http_requests_total{job="gemini-flow-backend",instance="a:3001",method="POST",route="/api/workflows",status_code="400"}'
        values: '0+10x20'
      - series: 'gemini_flow_http_requests_total{job="gemini-flow-backend",instance="a:3001",method="GET",route="/api/workflows",status_code="200"}'
        values: '0+90x20'
      - series: 'gemini_flow_http_requests_total{job="gemini-flow-backend",instance="a:3001",method="GET",route="/api/workflows/{id}",status_code="404"}'
        values: '0+5x20'
      - series: 'gemini_flow_http_requests_total{job="gemini-flow-backend",instance="a:3001",method="GET",route="/api/workflows/{id}",status_code="200"}'
        values: '0+15x20'
    promql_expr_test:
      - expr: ` + quote(seedErrorRate) + `
        eval_time: 10m
        exp_samples: []
      - expr: ` + quote(evalVars.Replace(dashboardErrorRate)) + `
        eval_time: 10m
        exp_samples:
          - labels: '{}'
            value: 12.5
      - expr: ` + quote(perRouteErrorRate) + `
        eval_time: 10m
        exp_samples:
          - labels: '{route="/api/workflows"}'
            value: 10
          - labels: '{route="/api/workflows/{id}"}'
            value: 25
`
	path := t.TempDir() + "/error_rate_test.yml"
	if err := os.WriteFile(path, []byte(test), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, promtool, "test", "rules", path)
}
