package history

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

var panelQueries = []string{
	`app_requests_total`,
	`rate(app_requests_total[5m])`,
	`sum by (route) (rate(app_requests_total[1m]))`,
	`sum(increase(app_requests_total[15m]))`,
	`histogram_quantile(0.6, sum by (le) (rate(app_latency_seconds_bucket[5m])))`,
	`avg_over_time(app_queue_depth[10m])`,
	`app_queue_depth offset 7m`,
}

func equalMatrix(t *testing.T, expr string, got, want promql.Matrix) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d series, want %d", expr, len(got), len(want))
	}
	for i := range got {
		if !labels.Equal(got[i].Metric, want[i].Metric) {
			t.Fatalf("%s: series %d is %s, want %s", expr, i, got[i].Metric, want[i].Metric)
		}
		if len(got[i].Floats) != len(want[i].Floats) {
			t.Fatalf("%s %s: %d points, want %d", expr, got[i].Metric, len(got[i].Floats), len(want[i].Floats))
		}
		for j, p := range got[i].Floats {
			w := want[i].Floats[j]
			if p.T != w.T || (p.F != w.F && !(math.IsNaN(p.F) && math.IsNaN(w.F))) {
				t.Fatalf("%s %s: point %d = %v, want %v", expr, got[i].Metric, j, p, w)
			}
		}
	}
}

// pointAt returns the value of the only series of m at ts.
func pointAt(t *testing.T, m promql.Matrix, sel string, ts int64) float64 {
	t.Helper()
	for _, s := range m {
		if s.Metric.String() != sel {
			continue
		}
		for _, p := range s.Floats {
			if p.T == ts {
				return p.F
			}
		}
	}
	t.Fatalf("no point %s at %d in %v", sel, ts, m)
	return 0
}

func TestQueryAcrossChunksAndCheckpoints(t *testing.T) {
	d := openTest(t, tempPath(t))
	const ticks = 1500 // 250 minutes: crosses two chunk windows
	appendTicks(t, d, 0, 500, "a", "b")
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	appendTicks(t, d, 500, 1000, "a", "b")
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	appendTicks(t, d, 1000, ticks, "a", "b")

	ref := referenceFrom(t, d)
	if got := len(ref.series); got != 8 {
		t.Fatalf("%d series, want 8", got)
	}
	for _, s := range ref.series {
		n := 0
		for it := s.Iterator(nil); it.Next() != 0; n++ {
			ts, v := it.At()
			if ts != t0+int64(n)*step10s {
				t.Fatalf("%s sample %d at %d", s.Labels(), n, ts)
			}
			if s.Labels().Get("route") == "b" && v != float64(2*n) {
				t.Fatalf("%s sample %d = %g, want %d", s.Labels(), n, v, 2*n)
			}
		}
		if n != ticks {
			t.Fatalf("%s: %d samples, want %d", s.Labels(), n, ticks)
		}
		if s.Labels().Get("job") != testJob || s.Labels().Get("instance") != testInstance {
			t.Fatalf("scrape labels missing: %s", s.Labels())
		}
	}

	end := t0 + (ticks-1)*step10s
	raw := rawReads{d} // the raw samples, exactly; downsampled reads: downsample_test.go
	for _, step := range []time.Duration{time.Minute, 37 * time.Second} {
		for _, q := range panelQueries {
			equalMatrix(t, q, rangeQuery(t, raw, q, t0, end, step), rangeQuery(t, ref, q, t0, end, step))
		}
	}

	mid := t0 + 700*step10s
	m := rangeQuery(t, d, `sum by (route) (rate(app_requests_total[5m]))`, mid, mid, time.Minute)
	if got := pointAt(t, m, `{route="a"}`, mid); math.Abs(got-0.1) > 1e-9 {
		t.Errorf("rate a = %g, want 0.1", got)
	}
	if got := pointAt(t, m, `{route="b"}`, mid); math.Abs(got-0.2) > 1e-9 {
		t.Errorf("rate b = %g, want 0.2", got)
	}
	m = rangeQuery(t, d, `histogram_quantile(0.6, sum by (le) (rate(app_latency_seconds_bucket[5m])))`, mid, mid, time.Minute)
	if got := pointAt(t, m, `{}`, mid); math.Abs(got-0.26) > 1e-9 {
		t.Errorf("p60 = %g, want 0.26", got)
	}
}

func TestSelectRangeAndLabels(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 10, "a")
	appendTicks(t, d, 10, 20, "a", "b") // route b appears at tick 10
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := func(mint, maxt int64, name string, want []string, ms ...*labels.Matcher) {
		t.Helper()
		q, err := d.Querier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		got, _, err := q.LabelValues(ctx, name, nil, ms...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("LabelValues(%s, %v) in [%d,%d] = %v, want %v", name, ms, mint, maxt, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("LabelValues(%s, %v) = %v, want %v", name, ms, got, want)
			}
		}
	}
	reqs := labels.MustNewMatcher(labels.MatchEqual, "__name__", "app_requests_total")
	f(t0, t0+100*step10s, "route", []string{"a", "b"})
	f(t0, t0+5*step10s, "route", []string{"a"}) // b has no samples yet
	f(t0, t0+100*step10s, "le", []string{"+Inf", "0.1", "0.5"})
	f(t0, t0+100*step10s, "le", nil, reqs)
	f(t0+1000*step10s, t0+2000*step10s, "route", nil) // nothing in range
	f(t0, t0+100*step10s, "job", []string{testJob}, reqs)

	q, _ := d.Querier(t0, t0+100*step10s)
	defer q.Close()
	names, _, err := q.LabelNames(ctx, nil, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"__name__", "instance", "job", "route"}; len(names) != len(want) || names[0] != want[0] || names[3] != want[3] {
		t.Fatalf("LabelNames = %v, want %v", names, want)
	}
	names, _, _ = q.LabelNames(ctx, &storage.LabelHints{Limit: 2})
	if len(names) != 2 {
		t.Fatalf("LabelNames with limit 2 = %v", names)
	}

	// Select with sorting, a time window inside one chunk, and Seek.
	ss := q.Select(ctx, true, &storage.SelectHints{Start: t0 + 12*step10s, End: t0 + 15*step10s}, reqs)
	var got []string
	for ss.Next() {
		s := ss.At()
		got = append(got, s.Labels().Get("route"))
		it := s.Iterator(nil)
		if it.Seek(t0+12*step10s+1) == 0 {
			t.Fatalf("%s: Seek found nothing", s.Labels())
		}
		if ts := it.AtT(); ts != t0+13*step10s {
			t.Fatalf("%s: Seek landed at %d", s.Labels(), ts-t0)
		}
		if it.Seek(t0) == 0 || it.AtT() != t0+13*step10s {
			t.Fatalf("Seek backwards moved the iterator")
		}
		if it.Seek(t0+10_000*step10s) != 0 {
			t.Fatalf("Seek past the end found a sample")
		}
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Select = %v, want [a b]", got)
	}
}

// TestSelectOrderAndSeriesRange checks that an unsorted Select lists series in the order
// they were created, as Prometheus's head does, and that a label-only Select lists a
// series only when it holds a sample in the range, not merely samples on both sides.
func TestSelectOrderAndSeriesRange(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 10, "z", "b")
	appendTicks(t, d, 10, 20, "z")      // b goes stale at tick 10
	appendTicks(t, d, 20, 30, "z", "b") // and comes back
	appendTicks(t, d, 30, 40, "z", "b", "a")
	reqs := labels.MustNewMatcher(labels.MatchEqual, "__name__", "app_requests_total")
	routes := func(sortSeries bool, hints *storage.SelectHints) []string {
		q, err := d.Querier(t0, t0+100*step10s)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var out []string
		for ss := q.Select(context.Background(), sortSeries, hints, reqs); ss.Next(); {
			out = append(out, ss.At().Labels().Get("route"))
		}
		return out
	}
	for _, c := range []struct {
		name       string
		sortSeries bool
		hints      *storage.SelectHints
		want       []string
	}{
		{"unsorted", false, nil, []string{"z", "b", "a"}},
		{"sorted", true, nil, []string{"a", "b", "z"}},
		{"series in b's gap", false, &storage.SelectHints{Start: t0 + 11*step10s, End: t0 + 19*step10s, Func: "series"}, []string{"z"}},
		{"series at b's marker", false, &storage.SelectHints{Start: t0 + 10*step10s, End: t0 + 19*step10s, Func: "series"}, []string{"z", "b"}},
		{"series over all", false, &storage.SelectHints{Start: t0, End: t0 + 100*step10s, Func: "series"}, []string{"z", "b", "a"}},
	} {
		if got := routes(c.sortSeries, c.hints); !slices.Equal(got, c.want) {
			t.Errorf("%s: routes %v, want %v", c.name, got, c.want)
		}
	}
}

func TestStalenessMarker(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 10, "a", "b")
	appendTicks(t, d, 10, 20, "a") // b disappears at tick 10
	f := func(expr string, ts int64, want int) {
		t.Helper()
		if got := instantQuery(t, d, expr, ts); len(got) != want {
			t.Fatalf("%s at tick %d: %d series (%v), want %d", expr, (ts-t0)/step10s, len(got), got, want)
		}
	}
	f(`app_requests_total{route="b"}`, t0+9*step10s, 1)
	f(`app_requests_total{route="b"}`, t0+10*step10s, 0) // the marker hides it at once, not after 5m
	f(`app_requests_total{route="b"}`, t0+15*step10s, 0)
	f(`app_requests_total`, t0+15*step10s, 1)
	// b comes back.
	appendTicks(t, d, 20, 21, "a", "b")
	f(`app_requests_total{route="b"}`, t0+20*step10s, 1)
	if n := d.Stats().Series; n != 8 {
		t.Fatalf("Stats.Series = %d, want 8", n)
	}
}

func TestMetadataAndStats(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 3, "a")
	md := d.Metadata()
	f := func(name, typ, help string) {
		t.Helper()
		m := md[name]
		if len(m) != 1 || m[0].Type != typ || m[0].Help != help {
			t.Fatalf("metadata %s = %+v, want %s %q", name, m, typ, help)
		}
	}
	f("app_requests_total", "counter", "Requests served.")
	f("app_queue_depth", "gauge", "Items waiting.")
	f("app_latency_seconds", "histogram", "Latency.")
	st := d.Stats()
	if st.Series != 7 || st.SamplesAppended != 21 || st.LastSample.UnixMilli() != t0+2*step10s || st.Bytes <= 0 {
		t.Fatalf("stats = %+v", st)
	}
	if err := d.Append(t0+3*step10s, []byte("bad{ 1\n")); err == nil {
		t.Fatal("a malformed exposition was accepted")
	}
}

func TestQueriesDuringAppendsAndCheckpoints(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 700, "a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 700; i < 900; i++ {
			if err := d.Append(t0+int64(i)*step10s, exposition(i, "a")); err != nil {
				t.Error(err)
				return
			}
			if i%20 == 0 {
				if err := d.checkpoint(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for range 30 {
		m := rangeQuery(t, d, `app_requests_total`, t0, t0+899*step10s, time.Minute)
		if len(m) != 1 {
			t.Fatalf("%d series", len(m))
		}
		for j, p := range m[0].Floats {
			// Past the newest tick the engine looks back up to 5 minutes (30 ticks).
			tick := float64((p.T - t0) / step10s)
			if p.F > tick || p.F < tick-30 || p.F != math.Trunc(p.F) || (j > 0 && p.F < m[0].Floats[j-1].F) {
				t.Fatalf("point %d = %v during appends", j, p)
			}
		}
	}
	<-done
}

// TestQuerierSeesChunksCheckpointedAfterItsFirstSelect holds one querier across a
// checkpoint that moves full chunks from memory to the file: a later Select on it must
// still return them.
func TestQuerierSeesChunksCheckpointedAfterItsFirstSelect(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 700, "a")
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	q, err := d.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	reqs := labels.MustNewMatcher(labels.MatchEqual, "__name__", "app_requests_total")
	count := func() int {
		ss := q.Select(context.Background(), true, nil, reqs)
		n := 0
		for ss.Next() {
			it := ss.At().Iterator(nil)
			for it.Next() != 0 {
				n++
			}
			if it.Err() != nil {
				t.Fatal(it.Err())
			}
		}
		return n
	}
	if got := count(); got != 700 {
		t.Fatalf("first Select: %d samples, want 700", got)
	}
	appendTicks(t, d, 700, 800, "a") // cuts the first window's chunk at tick 720
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 800 {
		t.Fatalf("Select after a checkpoint: %d samples, want 800", got)
	}
}
