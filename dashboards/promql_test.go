package dashboards

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// dashboardVars replaces the dashboard's variables the way the built-in page does, so the
// expressions parse as plain PromQL.
var dashboardVars = strings.NewReplacer("$__rate_interval", "1m", "${datasource}", "", "$job", ".*", "$instance", ".*")

var promqlParser = parser.NewParser(parser.Options{})

// lintExpr parses a dashboard expression and returns every rule it breaks: unknown metric names,
// counters read outside rate()/increase(), and vector/vector arithmetic whose label sets differ.
func lintExpr(expr string) []string {
	e, err := promqlParser.ParseExpr(dashboardVars.Replace(expr))
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	var problems []string
	parser.Inspect(e, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			s := sampleKind(n.Name)
			if !s.known {
				problems = append(problems, "unknown metric "+n.Name)
				break
			}
			if s.monotonic && !insideRate(path) {
				problems = append(problems, n.Name+" is a counter outside rate()/increase()")
			}
			for _, m := range n.LabelMatchers {
				if !s.hasLabel(m.Name) {
					problems = append(problems, fmt.Sprintf("%s has no label %q", n.Name, m.Name))
				}
			}
		case *parser.BinaryExpr:
			if p := matchProblem(n); p != "" {
				problems = append(problems, p)
			}
		}
		return nil
	})
	return problems
}

// insideRate reports whether the nearest function around a selector is rate() or increase()
// applied to a range of it.
func insideRate(path []parser.Node) bool {
	sawRange := false
	for i := len(path) - 1; i >= 0; i-- {
		switch n := path[i].(type) {
		case *parser.MatrixSelector:
			sawRange = true
		case *parser.Call:
			return sawRange && (n.Func.Name == "rate" || n.Func.Name == "increase")
		case *parser.AggregateExpr, *parser.BinaryExpr, *parser.SubqueryExpr:
			return false
		}
	}
	return false
}

// matchProblem flags vector/vector arithmetic without on()/ignoring() whose sides do not carry
// the same labels: such a query silently returns nothing, as the seed's error rate does.
func matchProblem(b *parser.BinaryExpr) string {
	if b.LHS.Type() != parser.ValueTypeVector || b.RHS.Type() != parser.ValueTypeVector || b.Op.IsSetOperator() {
		return ""
	}
	if b.VectorMatching != nil && (b.VectorMatching.On || len(b.VectorMatching.MatchingLabels) > 0) {
		return ""
	}
	l, lok := labelSignature(b.LHS)
	r, rok := labelSignature(b.RHS)
	if !lok || !rok || l != r {
		return fmt.Sprintf("%s %s %s: sides may carry different labels; aggregate both the same way or use on()", b.LHS, b.Op, b.RHS)
	}
	return ""
}

// labelSignature names the label set of an expression's series when the expression alone tells:
// the grouping of an aggregation, or the series of one metric.
func labelSignature(e parser.Expr) (string, bool) {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if n.Without {
			return "", false
		}
		g := slices.Clone(n.Grouping)
		slices.Sort(g)
		return "by:" + strings.Join(g, ","), true
	case *parser.VectorSelector:
		return "series:" + n.Name, true
	case *parser.MatrixSelector:
		return labelSignature(n.VectorSelector)
	case *parser.ParenExpr:
		return labelSignature(n.Expr)
	case *parser.BinaryExpr:
		if n.LHS.Type() != parser.ValueTypeVector {
			return labelSignature(n.RHS)
		}
		return labelSignature(n.LHS)
	case *parser.Call:
		switch n.Func.Name {
		case "rate", "increase", "irate", "delta", "deriv", "abs", "max_over_time", "min_over_time", "avg_over_time":
			return labelSignature(n.Args[0])
		case "histogram_quantile":
			sig, ok := labelSignature(n.Args[1])
			if by, isBy := strings.CutPrefix(sig, "by:"); isBy {
				sig = "by:" + strings.Join(slices.DeleteFunc(strings.Split(by, ","), func(s string) bool { return s == "le" }), ",")
			}
			return sig, ok
		}
	}
	return "", false
}

func TestDashboardPromQL(t *testing.T) {
	d := decodePage(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if problems := lintExpr(tg.Expr); len(problems) > 0 {
				t.Errorf("panel %q, %s: %s", p.Title, tg.RefID, strings.Join(problems, "; "))
			}
		}
	}
}

// TestLintExpr shows the checks catch what they are for, starting with the seed's own queries.
func TestLintExpr(t *testing.T) {
	f := func(expr, wantProblem string) {
		t.Helper()
		problems := lintExpr(expr)
		if wantProblem == "" {
			if len(problems) > 0 {
				t.Errorf("%s: unexpected %q", expr, problems)
			}
			return
		}
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, wantProblem) }) {
			t.Errorf("%s: got %q, want a problem containing %q", expr, problems, wantProblem)
		}
	}
	f("100 * rate(gemini_flow_errors_total[5m]) / rate(gemini_flow_http_requests_total[5m])", "different labels")
	f("histogram_quantile(0.95, rate(gemini_flow_http_request_duration_seconds_bucket[5m]))", "")
	f("histogram_quantile(0.95, gemini_flow_http_request_duration_seconds_bucket)", "counter outside rate")
	f("sum(gemini_flow_http_requests_total)", "counter outside rate")
	f("rate(gemini_flow_http_requests_total[$__rate_interval])", "")
	f("increase(gemini_flow_db_operations_total[1h])", "")
	f("deriv(gemini_flow_errors_total[5m])", "counter outside rate")
	f("sum(rate(gemini_flow_go_gc_duration_seconds_sum[5m])) / sum(rate(gemini_flow_go_gc_duration_seconds_count[5m]))", "")
	f("gemini_flow_workflows_total", "")
	f("gemini_flow_workflow_nodes_bucket", "")
	f("gemini_flow_workflow_nodes_count", "")
	f("gemini_flow_http_requests", "unknown metric")
	f("gemini_flow_workflows_total_bucket", "unknown metric")
	f("sum(rate(gemini_flow_errors_total[5m])) / sum by (route) (rate(gemini_flow_http_requests_total[5m]))", "different labels")
	f(`sum by (route) (label_replace(rate(gemini_flow_errors_total[5m]), "route", "$1", "path", "(.*)")) / on (route) sum by (route) (rate(gemini_flow_http_requests_total[5m]))`, "")
	f("rate(gemini_flow_http_requests_total{", "parse")
	f("gemini_flow_websocket_connections_active offset 5m - gemini_flow_websocket_connections_active", "")
	f("rate(gemini_flow_errors_total[5m]) / rate(gemini_flow_http_requests_total[5m])", "different labels")
	f("gemini_flow_go_goroutines and gemini_flow_workflows_total", "")
	f(`rate(gemini_flow_db_operations_total{status_code="error"}[5m])`, `has no label "status_code"`)
	f(`rate(gemini_flow_http_request_duration_seconds_bucket{le="1",route="/ws"}[5m])`, "")
}

// alertExprs returns the expr of every rule in a rules file, inline or as a block scalar.
func alertExprs(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "expr:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest != "|" && rest != "|-" && rest != ">-" {
			exprs = append(exprs, rest)
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		var block []string
		for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent) {
			i++
			block = append(block, lines[i])
		}
		exprs = append(exprs, strings.TrimSpace(strings.Join(block, "\n")))
	}
	return exprs
}

func TestAlertsPromQL(t *testing.T) {
	exprs := alertExprs(t, "alerts.yml")
	if len(exprs) < 7 {
		t.Fatalf("found %d rule expressions, want at least 7", len(exprs))
	}
	for _, expr := range exprs {
		if problems := lintExpr(expr); len(problems) > 0 {
			t.Errorf("alerts.yml %q: %s", expr, strings.Join(problems, "; "))
		}
	}
}
