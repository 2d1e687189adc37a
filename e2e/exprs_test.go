package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// dashboardPath and alertsPath are the shipped monitoring files.
var (
	dashboardPath = filepath.Join("..", "dashboards", "gemini-flow.json")
	alertsPath    = filepath.Join("..", "dashboards", "alerts.yml")
)

// panelQuery is one target of the dashboard.
type panelQuery struct {
	Title, RefID, Expr string
}

// dashboardQueries returns every target expression of the dashboard, including panels nested
// in rows.
func dashboardQueries(t *testing.T) []panelQuery {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatalf("read dashboard: %v", err)
	}
	var doc struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var out []panelQuery
	var walk func(panels []json.RawMessage)
	walk = func(panels []json.RawMessage) {
		for _, p := range panels {
			var panel struct {
				Title   string            `json:"title"`
				Panels  []json.RawMessage `json:"panels"`
				Targets []struct {
					Expr  string `json:"expr"`
					RefID string `json:"refId"`
				} `json:"targets"`
			}
			if err := json.Unmarshal(p, &panel); err != nil {
				t.Fatalf("dashboard panel: %v", err)
			}
			for _, tg := range panel.Targets {
				if strings.TrimSpace(tg.Expr) != "" {
					out = append(out, panelQuery{Title: panel.Title, RefID: tg.RefID, Expr: tg.Expr})
				}
			}
			walk(panel.Panels)
		}
	}
	walk(doc.Panels)
	if len(out) == 0 {
		t.Fatal("dashboard has no target expressions")
	}
	return out
}

var grafanaVar = regexp.MustCompile(`\$\{?(__[a-z_]+|[A-Za-z_][A-Za-z0-9_]*)(:[a-z]+)?\}?`)

// expandGrafana replaces the dashboard's variables: interval variables by window, $job by
// gemini-flow and $instance by ".*" (every instance), the way Grafana would with "All".
func expandGrafana(expr, window string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		name := strings.Trim(m, "${}")
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name = name[:i]
		}
		switch {
		case strings.HasPrefix(name, "__"):
			return window
		case name == "job":
			return "gemini-flow-backend"
		case name == "instance":
			return ".*"
		default:
			return m
		}
	})
}

// alertRule is one rule of alerts.yml.
type alertRule struct {
	Name, Expr string
}

// alertRules reads the alert and recording rules' names and expressions with a line scanner
// (go.mod carries no YAML library): `expr:` is either inline (plain or quoted) or a block
// scalar (`|`, `>`, with chomping indicators) whose lines are indented deeper than the key.
func alertRules(t *testing.T) []alertRule {
	t.Helper()
	f, err := os.Open(alertsPath)
	if err != nil {
		t.Fatalf("open alerts: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	name := ""
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i]), "- "))
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " -"))
		switch {
		case strings.HasPrefix(trimmed, "alert:"), strings.HasPrefix(trimmed, "record:"):
			_, v, _ := strings.Cut(trimmed, ":")
			name = unquoteYAML(strings.TrimSpace(v))
		case strings.HasPrefix(trimmed, "expr:"):
			v := strings.TrimSpace(strings.TrimPrefix(trimmed, "expr:"))
			if strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">") {
				var block []string
				for i+1 < len(lines) {
					next := lines[i+1]
					if strings.TrimSpace(next) != "" && len(next)-len(strings.TrimLeft(next, " ")) <= indent {
						break
					}
					block = append(block, strings.TrimSpace(next))
					i++
				}
				v = strings.TrimSpace(strings.Join(block, "\n"))
			} else {
				v = unquoteYAML(v)
			}
			rules = append(rules, alertRule{Name: name, Expr: v})
		}
	}
	if len(rules) == 0 {
		t.Fatalf("%s holds no expr", alertsPath)
	}
	return rules
}

// unquoteYAML strips a flow scalar's quotes and a trailing comment.
func unquoteYAML(v string) string {
	switch {
	case strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) && len(v) >= 2:
		return strings.ReplaceAll(strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`), `\\`, `\`)
	case strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2:
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}

// valueSide strips an alert's thresholds: for a filtering comparison it keeps the side that
// is not a literal, and for and/or/unless the left side, so what remains returns data
// whenever its metrics exist, firing or not.
func valueSide(e parser.Expr) parser.Expr {
	switch n := e.(type) {
	case *parser.ParenExpr:
		return valueSide(n.Expr)
	case *parser.BinaryExpr:
		if n.Op.IsComparisonOperator() && !n.ReturnBool {
			if _, lit := n.LHS.(*parser.NumberLiteral); lit {
				return valueSide(n.RHS)
			}
			return valueSide(n.LHS)
		}
		if n.Op.IsSetOperator() {
			return valueSide(n.LHS)
		}
	}
	return e
}

// metricNames lists the metric names an expression selects, and whether a selector sits
// inside absent() or absent_over_time(), where matching nothing is the point.
func metricNames(e parser.Expr) (names []string, inAbsent map[string]bool) {
	inAbsent = map[string]bool{}
	seen := map[string]bool{}
	parser.Inspect(e, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					name = m.Value
				}
			}
		}
		if name == "" {
			return nil
		}
		for _, p := range path {
			if c, ok := p.(*parser.Call); ok && strings.HasPrefix(c.Func.Name, "absent") {
				inAbsent[name] = true
			}
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		return nil
	})
	return names, inAbsent
}
