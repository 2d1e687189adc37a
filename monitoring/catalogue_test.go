package monitoring_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func formatLe(ub float64) string { return strconv.FormatFloat(ub, 'f', -1, 64) }

// The seed issue's families, copied from it by hand: the catalogue must match them exactly.
var seed = []monitoring.Family{
	{"gemini_flow_http_request_duration_seconds", "Duration of HTTP requests in seconds", "histogram",
		[]string{"method", "route", "status_code"}, []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5}},
	{"gemini_flow_http_requests_total", "Total number of HTTP requests", "counter", []string{"method", "route", "status_code"}, nil},
	{"gemini_flow_websocket_connections_active", "Number of active WebSocket connections", "gauge", nil, nil},
	{"gemini_flow_websocket_messages_total", "Total WebSocket messages sent/received", "counter", []string{"direction", "type"}, nil},
	{"gemini_flow_db_operation_duration_seconds", "Duration of database operations in seconds", "histogram",
		[]string{"operation", "collection"}, []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1}},
	{"gemini_flow_db_operations_total", "Total number of database operations", "counter", []string{"operation", "collection", "status"}, nil},
	{"gemini_flow_workflows_total", "Total number of workflows in database", "gauge", nil, nil},
	{"gemini_flow_workflow_nodes", "Distribution of node counts across workflows", "histogram", nil, []float64{0, 10, 25, 50, 100, 250, 500, 1000}},
	{"gemini_flow_errors_total", "Total number of errors", "counter", []string{"type", "path"}, nil},
}

func TestCatalogueHoldsTheSeedExactly(t *testing.T) {
	cat := monitoring.Catalogue()
	for _, want := range seed {
		i := slices.IndexFunc(cat, func(f monitoring.Family) bool { return f.Name == want.Name })
		if i < 0 {
			t.Errorf("family %s missing", want.Name)
			continue
		}
		got := cat[i]
		if got.Help != want.Help || got.Type != want.Type || !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Buckets, want.Buckets) {
			t.Errorf("family %s:\n got %+v\nwant %+v", want.Name, got, want)
		}
	}
	gc := cat[slices.IndexFunc(cat, func(f monitoring.Family) bool { return f.Name == "gemini_flow_go_gc_duration_seconds" })]
	if gc.Type != "histogram" || !slices.Equal(gc.Buckets, []float64{0.001, 0.01, 0.1, 1, 2, 5}) {
		t.Errorf("gc duration is %s %v, want a histogram with the seed's gcDurationBuckets", gc.Type, gc.Buckets)
	}
}

func TestCatalogueFollowsNamingRules(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range monitoring.Catalogue() {
		if seen[f.Name] {
			t.Errorf("%s listed twice", f.Name)
		}
		seen[f.Name] = true
		if !strings.HasPrefix(f.Name, "gemini_flow_") {
			t.Errorf("%s lacks the gemini_flow_ prefix", f.Name)
		}
		if f.Help == "" {
			t.Errorf("%s has no HELP", f.Name)
		}
		isTotal := strings.HasSuffix(f.Name, "_total")
		switch f.Type {
		case monitoring.TypeCounter:
			if !isTotal {
				t.Errorf("counter %s lacks _total", f.Name)
			}
		case monitoring.TypeGauge, monitoring.TypeHistogram:
			if isTotal && f.Name != "gemini_flow_workflows_total" {
				t.Errorf("%s %s ends in _total", f.Type, f.Name)
			}
		default:
			t.Errorf("%s has type %q", f.Name, f.Type)
		}
		if (f.Type == monitoring.TypeHistogram) != (len(f.Buckets) > 0) {
			t.Errorf("%s: type %s with buckets %v", f.Name, f.Type, f.Buckets)
		}
		for i := 1; i < len(f.Buckets); i++ {
			if f.Buckets[i] <= f.Buckets[i-1] {
				t.Errorf("%s buckets not increasing: %v", f.Name, f.Buckets)
			}
		}
	}
	if n := len(seen); n < 35 {
		t.Errorf("catalogue has %d families; runtime and process ones missing?", n)
	}
}

func TestCatalogueIsACopy(t *testing.T) {
	a := monitoring.Catalogue()
	a[0].Buckets[0] = 42
	a[0].Labels[0] = "changed"
	b := monitoring.Catalogue()
	if b[0].Buckets[0] == 42 || b[0].Labels[0] == "changed" {
		t.Error("changing Catalogue()'s result changed the catalogue")
	}
}

func TestSeedHistogramBuckets(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	exercise(r)
	e := scrape(t, r)
	f := func(name string, bounds []float64, count float64, match ...string) {
		t.Helper()
		got := e.les(name, match...)
		var want []string
		for _, ub := range bounds {
			want = append(want, formatLe(ub))
		}
		want = append(want, "+Inf")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s%v le values %v, want %v", name, match, got, want)
		}
		if inf := e.value(t, name+"_count"+selector(match)); inf != count {
			t.Errorf("%s%v count = %v, want %v", name, match, inf, count)
		}
	}
	f("gemini_flow_http_request_duration_seconds", seed[0].Buckets, 1, "method", "GET", "route", "/api/workflows/{id}", "status_code", "200")
	f("gemini_flow_db_operation_duration_seconds", seed[4].Buckets, 1, "operation", "write", "collection", "workflows")
	f("gemini_flow_workflow_nodes", seed[7].Buckets, 1)

	// 3 ms lands in le=0.005 and above, not below.
	le := func(v string) float64 {
		return e.value(t, `gemini_flow_http_request_duration_seconds_bucket{le="`+v+`", method="GET", route="/api/workflows/{id}", status_code="200"}`)
	}
	if le("0.001") != 0 || le("0.005") != 1 || le("5") != 1 {
		t.Errorf("3 ms observed into buckets 0.001=%v 0.005=%v 5=%v", le("0.001"), le("0.005"), le("5"))
	}
	if sum := e.value(t, `gemini_flow_http_request_duration_seconds_sum{method="GET", route="/api/workflows/{id}", status_code="200"}`); sum != 0.003 {
		t.Errorf("sum = %v, want 0.003", sum)
	}
}

// selector renders name, value pairs as {a="b",...}, or nothing for none.
func selector(pairs []string) string {
	if len(pairs) == 0 {
		return ""
	}
	var parts []string
	for i := 0; i < len(pairs); i += 2 {
		parts = append(parts, pairs[i]+"="+strconv.Quote(pairs[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
