package dashboards

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// exercisedExposition renders /metrics after one of each kind of event, so every family the
// dashboard reads has series with the labels the binary really writes.
func exercisedExposition() []byte {
	r := monitoring.New(monitoring.Options{Version: "test", Revision: "test"})
	r.ObserveHTTP("GET", "/api/workflows", 200, 3*time.Millisecond)
	r.ObserveHTTP("GET", "/api/workflows/{id}", 404, time.Millisecond)
	r.IncError(monitoring.ErrNotFound, "/api/workflows/{id}")
	r.WSConnected()
	r.WSMessages(monitoring.Outbound, "workflow.created", 2)
	r.WSMessages(monitoring.Inbound, "ping", 1)
	r.ObserveDB(monitoring.OpRead, monitoring.CollWorkflows, nil, time.Millisecond)
	r.ObserveDB(monitoring.OpWrite, monitoring.CollWorkflows, errors.New("disk full"), 4*time.Millisecond)
	r.WorkflowAdded(12)
	runtime.GC()
	var buf bytes.Buffer
	r.WritePrometheus(&buf)
	return buf.Bytes()
}

// inputSeries turns an exposition into promtool input series of one instance, every sample
// growing by its scraped value each minute: counters then have a rate, and gauges a value.
func inputSeries(t *testing.T, exposition []byte) string {
	t.Helper()
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		series, value := line[:i], line[i+1:]
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		scrape := `job="gemini-flow-backend",instance="127.0.0.1:3001"`
		if j := strings.IndexByte(series, '{'); j >= 0 {
			series = series[:j+1] + scrape + "," + series[j+1:]
		} else {
			series += "{" + scrape + "}"
		}
		fmt.Fprintf(&b, "      - series: '%s'\n        values: '0+%sx20'\n", series, strconv.FormatFloat(v, 'f', -1, 64))
	}
	return b.String()
}

// TestPanelsReturnData evaluates every panel query in Prometheus over series shaped like the
// binary's exposition: each must return at least one series, the way the page and Grafana
// will draw it.
func TestPanelsReturnData(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	var rules, cases strings.Builder
	rules.WriteString("groups:\n  - name: panels\n    rules:\n")
	for i, p := range decodePage(t).Panels {
		for _, tg := range p.Targets {
			name := fmt.Sprintf("panel_%d_%s", i+1, tg.RefID)
			expr := strings.ReplaceAll(evalVars.Replace(tg.Expr), "'", "''")
			fmt.Fprintf(&rules, "      - alert: %s\n        expr: 'count(%s) > 0'\n", name, expr)
			fmt.Fprintf(&cases, "      - eval_time: 10m\n        alertname: %s\n        exp_alerts:\n          - exp_labels: {}\n", name)
		}
	}
	test := "rule_files: [panels.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n" +
		inputSeries(t, exercisedExposition()) + "    alert_rule_test:\n" + cases.String()
	for name, body := range map[string]string{"panels.yml": rules.String(), "panels_test.yml": test} {
		if err := os.WriteFile(dir+"/"+name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run(t, promtool, "test", "rules", dir+"/panels_test.yml")
}
