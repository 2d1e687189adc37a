package history

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// catalogueLabels is monitoring.SampleLabels, plus the labels of the test exposition.
func catalogueLabels(name string) ([]string, bool) {
	switch name {
	case "app_requests_total": // as if it had a method label too
		return []string{"method", "route"}, true
	case "app_latency_seconds_bucket":
		return []string{"le", "route"}, true
	}
	return monitoring.SampleLabels(name)
}

func TestRollupsOf(t *testing.T) {
	got := RollupsOf(dashboards.Expressions(), monitoring.SampleLabels)
	want := []Rollup{
		{"gemini_flow_http_requests_total", []string{"route"}},
		{"gemini_flow_http_request_duration_seconds_bucket", []string{"le"}},
		{"gemini_flow_errors_total", nil},
		{"gemini_flow_http_requests_total", nil},
		{"gemini_flow_http_requests_total", []string{"status_code"}},
		{"gemini_flow_db_operations_total", []string{"collection", "status"}},
	}
	if !slices.EqualFunc(got, want, func(a, b Rollup) bool { return a.Metric == b.Metric && slices.Equal(a.By, b.By) }) {
		t.Fatalf("dashboard rollups:\n got %v\nwant %v", got, want)
	}
	for _, tc := range []struct {
		name, expr string
		want       int
	}{
		{"sum by every label: the members themselves", `sum by (operation, collection, le) (rate(gemini_flow_db_operation_duration_seconds_bucket[1m]))`, 0},
		{"a family with no labels", `sum by (le) (rate(gemini_flow_go_gc_duration_seconds_bucket[1m]))`, 0},
		{"a metric outside the catalogue", `sum(rate(other_total[1m]))`, 0},
		{"job and instance are always kept", `sum by (job, instance) (rate(gemini_flow_errors_total[1m]))`, 1},
		{"increase", `sum by (le) (increase(gemini_flow_http_request_duration_seconds_bucket[1h]))`, 1},
		{"without", `sum without (route) (rate(gemini_flow_http_requests_total[1m]))`, 0},
		{"irate", `sum(irate(gemini_flow_http_requests_total[1m]))`, 0},
		{"max", `max by (le) (rate(gemini_flow_http_request_duration_seconds_bucket[1m]))`, 0},
		{"a matcher on a summed-away label", `sum by (le) (rate(gemini_flow_http_request_duration_seconds_bucket{route="/health"}[1m]))`, 0},
		{"a matcher on a kept label", `sum by (route) (rate(gemini_flow_http_requests_total{route="/health"}[1m]))`, 1},
		{"inside a subquery", `max_over_time(sum(rate(gemini_flow_errors_total[1m]))[1h:1m])`, 0},
		{"an @ modifier", `sum(rate(gemini_flow_errors_total[1m] @ 100))`, 0},
		{"does not parse", `sum(rate(`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RollupsOf([]string{tc.expr}, monitoring.SampleLabels); len(got) != tc.want {
				t.Fatalf("%s: %d rollups %v, want %d", tc.expr, len(got), got, tc.want)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	// The history predates the rollups: ticks 0–2 without them, from tick 3 with them.
	path := tempPath(t)
	older, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		t.Fatal(err)
	}
	appendTicks(t, older, 0, 3, "/a", "/b")
	if err := older.Close(); err != nil {
		t.Fatal(err)
	}
	d := openTest(t, path, func(o *Options) {
		o.Rollups = RollupsOf([]string{
			`sum by (route) (rate(app_requests_total[1m]))`,
			`sum(rate(app_requests_total[1m]))`,
			`sum by (le) (rate(app_latency_seconds_bucket[1m]))`,
		}, catalogueLabels)
	})
	if got := d.Rewrite(`sum(rate(app_requests_total[1m]))`, t0+time.Hour.Milliseconds()); got != `sum(rate(app_requests_total[1m]))` {
		t.Fatalf("rewritten before the rollup has samples: %s", got)
	}
	appendTicks(t, d, 3, 6, "/a", "/b")
	after := t0 + 10*time.Minute.Milliseconds()
	for _, tc := range []struct{ name, in, want string }{
		{"sum", `sum(rate(app_requests_total[1m]))`, `sum(rate(app_requests_total{__rollup__="sum by ()"}[1m]))`},
		{"by job and instance too", `sum by (instance, job) (increase(app_requests_total{job="gemini-flow"}[5m]))`, `sum by (instance, job) (increase(app_requests_total{__rollup__="sum by ()",job="gemini-flow"}[5m]))`},
		{"histogram", `histogram_quantile(0.9, sum by (le) (rate(app_latency_seconds_bucket{instance=~".*"}[1m])))`, `histogram_quantile(0.9, sum by (le) (rate(app_latency_seconds_bucket{__rollup__="sum by (le)",instance=~".*"}[1m])))`},
		{"both sides of a ratio", `sum(rate(app_requests_total[1m])) / sum by (route) (rate(app_requests_total[1m]))`, `sum(rate(app_requests_total{__rollup__="sum by ()"}[1m])) / sum by (route) (rate(app_requests_total{__rollup__="sum by (route)"}[1m]))`},
		{"grouping no rollup keeps", `sum by (le, route) (rate(app_latency_seconds_bucket[1m]))`, ``},
		{"a matcher on a summed-away label", `sum(rate(app_requests_total{route="/a"}[1m]))`, ``},
		{"offset before the rollup began", `sum(rate(app_requests_total[1m] offset 1h))`, ``},
		{"window before the rollup began", `sum(rate(app_requests_total[1h]))`, ``},
		{"plain selector", `sum(app_requests_total)`, ``},
		{"does not parse", `sum(rate(app_requests_total[1m])`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got := d.Rewrite(tc.in, after); got != want {
				t.Fatalf("Rewrite(%s)\n got %s\nwant %s", tc.in, got, want)
			}
		})
	}
}

// TestRollupSeriesHidden checks that rollup series stay out of every selection that does
// not ask for them.
func TestRollupSeriesHidden(t *testing.T) {
	d := openTest(t, tempPath(t), func(o *Options) {
		o.Rollups = []Rollup{{Metric: "app_requests_total"}}
	})
	appendTicks(t, d, 1, 6, "/a", "/b")
	end := t0 + 5*step10s
	q, err := d.Querier(t0, end)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	count := func(ms ...*labels.Matcher) int {
		n := 0
		for ss := q.Select(context.Background(), true, nil, ms...); ss.Next(); {
			n++
		}
		return n
	}
	name := labels.MustNewMatcher(labels.MatchEqual, "__name__", "app_requests_total")
	if n := count(name); n != 2 {
		t.Errorf("members: %d series, want 2", n)
	}
	if n := count(labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")); n != 8 {
		t.Errorf("every name: %d series, want the 8 of the exposition", n)
	}
	if n := count(name, labels.MustNewMatcher(labels.MatchNotEqual, RollupLabel, "")); n != 1 {
		t.Errorf("asked for rollups: %d series, want 1", n)
	}
	names, _, err := q.LabelNames(context.Background(), nil)
	if err != nil || slices.Contains(names, RollupLabel) {
		t.Errorf("label names %v (%v) show the rollup label", names, err)
	}
	// The rollup begins at its members' first values (1+2) and grows by what they grow.
	if v := instantQuery(t, d, `sum(app_requests_total{__rollup__!=""})`, end); len(v) != 1 || v[0].F != 15 {
		t.Errorf("rollup at tick 5 = %v, want 3+4·3", v)
	}
	// A member that appears later adds what it grows, not its first value (18), as a
	// rate over its samples would not.
	appendTicks(t, d, 6, 9, "/a", "/b", "/c")
	if v := instantQuery(t, d, `sum(app_requests_total{__rollup__!=""})`, t0+8*step10s); len(v) != 1 || v[0].F != 30 {
		t.Errorf("rollup at tick 8 = %v, want 15+3·3+(24-18)", v)
	}
}

// TestRollupSincePersisted checks that a rollup is used only over time it covers without a
// break: across a restart it continues; a run without it starts it anew.
func TestRollupSincePersisted(t *testing.T) {
	path := tempPath(t)
	keep := func(o *Options) { o.Rollups = []Rollup{{Metric: "app_requests_total"}} }
	const q = `sum(rate(app_requests_total[1m]))`
	at := func(i int) int64 { return t0 + int64(i)*step10s }
	steps := []struct {
		name      string
		rollups   bool
		from, to  int
		rewritten map[int]bool // query start tick -> rewritten
	}{
		// No member holds a sample from before the rollup: every range reads it.
		{"first run", true, 0, 30, map[int]bool{0: true, 5: true, 29: true}},
		{"restart keeps it", true, 40, 60, map[int]bool{6: true, 59: true}},
		{"a run without it", false, 60, 70, nil},
		// The members hold samples from before it began again: only ranges after that.
		{"back: only from its new start", true, 80, 100, map[int]bool{59: false, 85: false, 86: true}},
	}
	for _, st := range steps {
		opts := Options{Path: path, Job: testJob, Instance: testInstance}
		if st.rollups {
			keep(&opts)
		}
		d, err := Open(opts)
		if err != nil {
			t.Fatalf("%s: open: %v", st.name, err)
		}
		appendTicks(t, d, st.from, st.to, "/a")
		for tick, want := range st.rewritten {
			if got := d.Rewrite(q, at(tick)) != q; got != want {
				t.Errorf("%s: query from tick %d rewritten = %v, want %v", st.name, tick, got, want)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatalf("%s: close: %v", st.name, err)
		}
	}
	checkFile(t, path)
}

// rollupCase is one comparison of the dashboard's rollup queries, rewritten and not.
type rollupCase struct {
	name       string
	start, end int64
	step       time.Duration
	rateWindow time.Duration
}

// rollupDiff is how far a rewritten query's values lie from the same query over members.
type rollupDiff struct {
	expr          string
	window        time.Duration
	steady, event float64 // largest relative difference outside and inside event windows
	points, exact int     // points outside event windows, and those equal within 1e-9
}

// compareRollups runs every dashboard expression a rollup answers both ways over each
// case. Both must give the same series at the same steps; it returns how far the values
// lie apart, apart for windows holding one of events (a member's first sample, a restart).
func compareRollups(t *testing.T, d *DB, cases []rollupCase, events []int64) []rollupDiff {
	t.Helper()
	var out []rollupDiff
	for _, c := range cases {
		for _, e := range dashboards.Expressions() {
			expr := strings.ReplaceAll(e, "[1m]", "["+c.rateWindow.String()+"]")
			rw := d.Rewrite(expr, c.start)
			if rw == expr {
				continue
			}
			want := rangeQuery(t, d, expr, c.start, c.end, c.step)
			got := rangeQuery(t, d, rw, c.start, c.end, c.step)
			if len(want) == 0 {
				t.Fatalf("%s: %s: no data", c.name, expr)
			}
			diff := compareMatrices(t, c.name+": "+expr, got, want, func(ts int64) bool {
				for _, ev := range events {
					if ev > ts-c.rateWindow.Milliseconds() && ev <= ts+step10s {
						return true
					}
				}
				return false
			})
			diff.expr, diff.window = c.name+": "+expr, c.rateWindow
			out = append(out, diff)
		}
	}
	if len(out) == 0 {
		t.Fatal("no dashboard expression was rewritten")
	}
	return out
}

// compareMatrices checks that got and want hold the same series with points at the same
// steps, and measures how far their values lie apart.
func compareMatrices(t *testing.T, what string, got, want promql.Matrix, event func(int64) bool) rollupDiff {
	t.Helper()
	var diff rollupDiff
	byLabels := map[string]promql.Series{}
	for _, s := range got {
		byLabels[s.Metric.String()] = s
	}
	for _, w := range want {
		g, ok := byLabels[w.Metric.String()]
		if !ok {
			t.Errorf("%s: series %s missing", what, w.Metric)
			continue
		}
		delete(byLabels, w.Metric.String())
		gts := make([]int64, len(g.Floats))
		for i, p := range g.Floats {
			gts[i] = p.T
		}
		wts := make([]int64, len(w.Floats))
		for i, p := range w.Floats {
			wts[i] = p.T
		}
		if !slices.Equal(gts, wts) {
			t.Errorf("%s %s: points at %v, want %v", what, w.Metric, gts, wts)
			continue
		}
		for i, wp := range w.Floats {
			gv, wv := g.Floats[i].F, wp.F
			rel := 0.0
			switch {
			case math.IsNaN(gv) || math.IsNaN(wv):
				if math.IsNaN(gv) != math.IsNaN(wv) {
					rel = math.Inf(1)
				}
			case gv != wv:
				rel = math.Abs(gv-wv) / math.Max(math.Abs(wv), math.Abs(gv))
			}
			if event(wp.T) {
				diff.event = math.Max(diff.event, rel)
				continue
			}
			diff.points++
			if rel <= 1e-9 {
				diff.exact++
			}
			diff.steady = math.Max(diff.steady, rel)
		}
	}
	for k := range byLabels {
		t.Errorf("%s: extra series %s", what, k)
	}
	return diff
}

// appendMix appends ticks of m at ts from, every 10 s, through Append as the sampler does,
// stepping its traffic before each, and checkpoints every hour. It returns the ticks at
// which series appeared in the exposition: a member new to the history, or back after a
// restart.
func appendMix(t *testing.T, d *DB, m *defaultMix, from int64, ticks int) (appeared []int64) {
	t.Helper()
	for i := range ticks {
		m.step()
		ts := from + int64(i)*step10s
		d.mu.Lock()
		before := len(d.raw)
		d.mu.Unlock()
		if err := d.Append(ts, m.exposition()); err != nil {
			t.Fatal(err)
		}
		d.mu.Lock()
		if len(d.raw) != before && i > 0 {
			appeared = append(appeared, ts)
		}
		d.mu.Unlock()
		if i%360 == 359 {
			if err := d.checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return appeared
}

// TestRollupsMatchMembers checks that the dashboard's queries read from rollups give what
// they give over every member series, on the binary's own series mix through Append: raw,
// over the 1 m copies, and through a restart whose counters begin again from zero.
func TestRollupsMatchMembers(t *testing.T) {
	path := tempPath(t)
	open := func() *DB {
		d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance, Rollups: dashboardRollups()})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := open()
	m := newMix(3) // the mix's label sets over fewer routes, to keep the test quick
	for range 1000 {
		m.step() // mature counters: rare series exist, and none climbs from near zero
	}
	const runTicks = 2*360 + 60 // one full block with its copies, and some of the next
	events := appendMix(t, d, m, t0, runTicks)
	firstEnd := t0 + (runTicks-1)*step10s
	t.Logf("%d series; new ones at %d ticks", d.Stats().Series, len(events))

	steady := []rollupCase{
		{"raw, 10 s", firstEnd - 15*time.Minute.Milliseconds(), firstEnd, 10 * time.Second, 40 * time.Second},
		{"1 m copies", t0 + 10*time.Minute.Milliseconds(), firstEnd, time.Minute, 4 * time.Minute},
		{"the page's 24 h step", t0 + 12*time.Minute.Milliseconds(), firstEnd, 6 * time.Minute, 370 * time.Second},
	}
	checkRollupDiffs(t, compareRollups(t, d, steady, events))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart: the gap of a stopped process, then counters from zero.
	d = open()
	defer func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	restart := firstEnd + 3*step10s
	events = append(appendMix(t, d, newMix(3), restart, 180), restart)
	end := restart + 179*step10s
	t.Logf("after the restart, series appeared at %d ticks", len(events))
	checkRollupDiffs(t, compareRollups(t, d, []rollupCase{
		{"through a restart, 10 s", restart - 5*time.Minute.Milliseconds(), end, 10 * time.Second, 40 * time.Second},
		{"through a restart, 1 m", firstEnd - 15*time.Minute.Milliseconds(), end, time.Minute, 2 * time.Minute},
	}, events))
}

// checkRollupDiffs holds the differences to what a rollup can change. Outside windows in
// which a series appears or the process restarts, a group's rate equals the sum of its
// members' but where a member climbs from near zero: the engine then extrapolates that
// member only to its zero point, not to the window's start, which is at most one
// sampling interval of the window; quantiles move with their buckets.
// Inside those windows the two differ by the first values of members that (re)appeared,
// which for a group of few, rare members can be most of its increase, but never look like
// a reset, which would add a counter's whole past: never by a factor of four.
func checkRollupDiffs(t *testing.T, diffs []rollupDiff) {
	t.Helper()
	for _, d := range diffs {
		t.Logf("steady %.3g (%d/%d exact), events %.3g: %s", d.steady, d.exact, d.points, d.event, d.expr)
		quantile := strings.HasPrefix(d.expr[strings.Index(d.expr, ": ")+2:], "histogram_quantile")
		bound := float64(10*time.Second) / float64(d.window-10*time.Second)
		if d.steady > bound {
			t.Errorf("%s: differs by %.3g outside event windows, bound %.3g", d.expr, d.steady, bound)
		}
		if !quantile && d.exact < d.points*95/100 {
			t.Errorf("%s: %d of %d points equal the members' sum, want 95%%", d.expr, d.exact, d.points)
		}
		if d.event > 0.75 {
			t.Errorf("%s: differs by %.3g where series appear", d.expr, d.event)
		}
	}
}

// TestRollupCounterShapes checks a rollup against its members' increase over hand-made
// counter histories of two members, windows that hold no first sample of a member.
func TestRollupCounterShapes(t *testing.T) {
	nan := math.NaN() // the member is missing from that tick's exposition
	for _, tc := range []struct {
		name string
		a, b []float64
		from int // first tick whose window (35 s) holds no member's first sample
	}{
		{"steady growth", []float64{1, 2, 3, 4, 5, 6, 7, 8}, []float64{10, 20, 30, 40, 50, 60, 70, 80}, 0},
		{"a reset", []float64{5, 8, 9, 2, 4, 6, 7, 9}, []float64{10, 20, 30, 40, 50, 60, 70, 80}, 0},
		{"two resets in one window", []float64{100, 120, 130, 20, 30, 10, 40, 50}, []float64{10, 20, 30, 40, 50, 60, 70, 80}, 0},
		{"a member goes and comes back", []float64{1, 2, nan, nan, 5, 6, 7, 8}, []float64{10, 20, 30, 40, 50, 60, 70, 80}, 7},
		{"a member appears", []float64{nan, nan, nan, 3, 4, 5, 6, 7}, []float64{10, 20, 30, 40, 50, 60, 70, 80}, 7},
		{"flat", []float64{3, 3, 3, 3, 3, 3, 3, 3}, []float64{7, 7, 7, 7, 7, 7, 7, 7}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openTest(t, tempPath(t), func(o *Options) { o.Rollups = []Rollup{{Metric: "app_requests_total"}} })
			for i := range tc.a {
				var b strings.Builder
				b.WriteString("# TYPE app_requests_total counter\n")
				for _, m := range []struct {
					route string
					v     float64
				}{{"/a", tc.a[i]}, {"/b", tc.b[i]}} {
					if !math.IsNaN(m.v) {
						fmt.Fprintf(&b, "app_requests_total{route=%q} %g\n", m.route, m.v)
					}
				}
				if err := d.Append(t0+int64(i)*step10s, []byte(b.String())); err != nil {
					t.Fatal(err)
				}
			}
			const members = `sum(increase(app_requests_total[35s]))`
			for i := max(tc.from, 4); i < len(tc.a); i++ { // the rollup's first window ends at tick 4
				ts := t0 + int64(i)*step10s
				rw := d.Rewrite(members, ts)
				if rw == members {
					t.Fatalf("tick %d: not rewritten", i)
				}
				want, got := instantQuery(t, d, members, ts), instantQuery(t, d, rw, ts)
				if len(want) != 1 || len(got) != 1 || math.Abs(got[0].F-want[0].F) > 1e-9*math.Abs(want[0].F) {
					t.Errorf("tick %d: rollup %v, members %v", i, got, want)
				}
			}
		})
	}
}
