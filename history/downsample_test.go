package history

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
)

const (
	dayTicks   = 8640 // 24 h of 10 s ticks
	resetTick  = 5003 // the counter restarts from zero
	goneTick   = 4321 // ds_gone disappears
	dashStep   = 360 * time.Second
	dashWindow = "370s" // $__rate_interval at that step
)

// dayExposition is tick i of a day: a steady counter that restarts once, a wobbling
// gauge, a classic histogram and a gauge that disappears mid-day.
func dayExposition(i int) []byte {
	var b strings.Builder
	c := 3 * i
	if i >= resetTick {
		c = 3 * (i - resetTick)
	}
	fmt.Fprintf(&b, "# TYPE ds_requests_total counter\nds_requests_total %d\n", c)
	fmt.Fprintf(&b, "# TYPE ds_queue gauge\nds_queue %g\n", math.Round(500+200*math.Sin(float64(i)/300)))
	b.WriteString("# TYPE ds_latency_seconds histogram\n")
	// Per tick: 2 under 0.1 s, 1 more under 0.5 s, every third tick 1 more beyond.
	fmt.Fprintf(&b, "ds_latency_seconds_bucket{le=\"0.1\"} %d\n", 2*i)
	fmt.Fprintf(&b, "ds_latency_seconds_bucket{le=\"0.5\"} %d\n", 3*i)
	fmt.Fprintf(&b, "ds_latency_seconds_bucket{le=\"+Inf\"} %d\n", 3*i+i/3)
	fmt.Fprintf(&b, "ds_latency_seconds_count %d\n", 3*i+i/3)
	if i < goneTick {
		fmt.Fprintf(&b, "# TYPE ds_gone gauge\nds_gone %d\n", i%7)
	}
	return []byte(b.String())
}

// appendDay appends ticks [from, to) of dayExposition, checkpointing every simulated
// hour as Run does every minute, so that full windows reach the file as blocks.
func appendDay(t testing.TB, d *DB, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := d.Append(t0+int64(i)*step10s, dayExposition(i)); err != nil {
			t.Fatal(err)
		}
		if i%360 == 359 {
			if err := d.checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// dayRange runs expr over the day as the page does at 24 h, downsampled or raw.
func dayRange(t *testing.T, d *DB, expr string, raw bool) promql.Matrix {
	t.Helper()
	return spanRange(t, d, expr, raw, dayTicks, dashStep)
}

// spanRange runs expr over the first ticks ticks at step, downsampled or raw.
func spanRange(t *testing.T, d *DB, expr string, raw bool, ticks int, step time.Duration) promql.Matrix {
	t.Helper()
	var q storage.Queryable = d
	if raw {
		q = rawReads{d}
	}
	return rangeQuery(t, q, expr, t0+step.Milliseconds(), t0+int64(ticks)*step10s, step)
}

func TestDownsampledQueriesMatchRaw(t *testing.T) {
	// The page's step and $__rate_interval at 24 h (1 m and 5 m copies) and at 7 d (10 m).
	for _, span := range []struct {
		name   string
		ticks  int
		step   time.Duration
		window string
	}{
		{"24h", dayTicks, dashStep, dashWindow},
		{"7d", 7 * dayTicks, 2520 * time.Second, "2530s"},
	} {
		t.Run(span.name, func(t *testing.T) {
			d := openTest(t, tempPath(t))
			appendDay(t, d, 0, span.ticks)
			compareDownsampledWithRaw(t, d, span.ticks, span.step, span.window)
		})
	}
}

// compareDownsampledWithRaw checks the page's kinds of query over the first ticks ticks
// at step and window read downsampled against the same read raw.
func compareDownsampledWithRaw(t *testing.T, d *DB, ticks int, step time.Duration, window string) {
	t.Helper()
	stepMs := step.Milliseconds()
	run := func(expr string, raw bool) promql.Matrix { return spanRange(t, d, expr, raw, ticks, step) }
	within := func(rel float64) func(got, want float64) bool {
		return func(got, want float64) bool {
			return math.Abs(got-want) <= rel*math.Abs(want) || (math.IsNaN(got) && math.IsNaN(want))
		}
	}
	exact := func(got, want float64) bool { return got == want }
	for _, c := range []struct {
		expr string
		ok   func(got, want float64) bool
	}{
		{`rate(ds_requests_total[` + window + `])`, within(0.02)},
		{`increase(ds_requests_total[` + window + `])`, within(0.02)},
		{`histogram_quantile(0.9, sum by (le) (rate(ds_latency_seconds_bucket[` + window + `])))`, within(0.02)},
		{`avg_over_time(ds_queue[` + window + `])`, within(0.02)},
		// Every evaluation time is on the 1 m grid: the last sample of its window is
		// the sample the raw lookup finds.
		{`ds_queue`, exact},
		{`sum(ds_queue)`, exact},
	} {
		t.Run(c.expr, func(t *testing.T) {
			got, want := run(c.expr, false), run(c.expr, true)
			if len(got) != 1 || len(want) != 1 {
				t.Fatalf("%d series downsampled, %d raw", len(got), len(want))
			}
			g, w := got[0].Floats, want[0].Floats
			if len(g) != len(w) || len(w) < 230 {
				t.Fatalf("%d points downsampled, %d raw", len(g), len(w))
			}
			for i := range w {
				if g[i].T != w[i].T || !c.ok(g[i].F, w[i].F) {
					t.Fatalf("point %d at %s: downsampled %v, raw %v", i, time.UnixMilli(w[i].T).UTC().Format(time.DateTime), g[i].F, w[i].F)
				}
			}
		})
	}

	// Across the restart the rate stays that of the counter: 3 per 10 s.
	m := run(`rate(ds_requests_total[`+window+`])`, false)
	resetAt := t0 + resetTick*step10s
	for _, p := range m[0].Floats {
		if p.T > resetAt-stepMs && p.T < resetAt+2*stepMs && math.Abs(p.F-0.3) > 0.3*0.05 {
			t.Errorf("rate across the reset at %s = %g, want 0.3", time.UnixMilli(p.T).UTC().Format(time.DateTime), p.F)
		}
	}

	// A series that disappears ends where it ends in the raw samples, give or take a step.
	last := func(raw bool) int64 {
		m := run(`ds_gone`, raw)
		if len(m) != 1 {
			t.Fatalf("ds_gone: %d series", len(m))
		}
		return m[0].Floats[len(m[0].Floats)-1].T
	}
	if g, w := last(false), last(true); g < w-stepMs || g > w+stepMs {
		t.Errorf("ds_gone ends at %s downsampled, %s raw", time.UnixMilli(g).UTC(), time.UnixMilli(w).UTC())
	}
}

// selectCount returns the samples a Select with hints reads for the series of name.
func selectCount(t *testing.T, d *DB, name string, hints *storage.SelectHints) int {
	t.Helper()
	q, err := d.Querier(hints.Start, hints.End)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, hints, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	n := 0
	var prev int64 = math.MinInt64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			ts, _ := it.At()
			if ts <= prev {
				t.Fatalf("sample at %d after %d", ts, prev)
			}
			prev = ts
			n++
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
	}
	return n
}

func TestSelectReadsTheResolutionTheHintsAllow(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendDay(t, d, 0, dayTicks)
	start, end := t0, t0+dayTicks*step10s
	hints := func(step, rng time.Duration, fn string) *storage.SelectHints {
		return &storage.SelectHints{Start: start, End: end, Step: step.Milliseconds(), Range: rng.Milliseconds(), Func: fn}
	}
	// The last window (ticks 7920 on) is open, in memory; it is thinned as the file's copies.
	for _, c := range []struct {
		name  string
		hints *storage.SelectHints
		want  int
	}{
		{"no hints", &storage.SelectHints{Start: start, End: end}, dayTicks},
		{"instant query", hints(0, 0, ""), dayTicks},
		{"step under 1m", hints(30*time.Second, 0, ""), dayTicks},
		// One more window: (t0-1m, t0] holds the first sample; and two more samples, kept
		// around the counter's reset.
		{"plain selector at 24h", hints(dashStep, 0, "sum"), dayTicks/6 + 3},
		{"rate at 24h", hints(dashStep, 370*time.Second, "rate"), dayTicks/6 + 3},
		{"rate at 7d", hints(2520*time.Second, 2530*time.Second, "rate"), dayTicks/60 + 3},
		{"range too short for 10m", hints(2520*time.Second, 39*time.Minute, "rate"), dayTicks/30 + 3},
		{"range too short for 1m", hints(dashStep, 3*time.Minute, "rate"), dayTicks},
		{"counting function", hints(dashStep, 370*time.Second, "count_over_time"), dayTicks},
		{"extremes", hints(2520*time.Second, 2530*time.Second, "max_over_time"), dayTicks},
	} {
		if got := selectCount(t, d, "ds_requests_total", c.hints); got != c.want {
			t.Errorf("%s: read %d samples, want %d", c.name, got, c.want)
		}
	}
}

func TestPickResolution(t *testing.T) {
	h := func(step, rng time.Duration, fn string) *storage.SelectHints {
		return &storage.SelectHints{Step: step.Milliseconds(), Range: rng.Milliseconds(), Func: fn}
	}
	for _, c := range []struct {
		hints *storage.SelectHints
		want  int
	}{
		{nil, -1},
		{h(0, 5*time.Minute, "rate"), -1},
		{h(59*time.Second, 0, ""), -1},
		{h(time.Minute, 0, ""), 0},
		{h(time.Hour, 0, "sum"), 0},                        // an instant lookup never reads 5 m
		{h(time.Hour, 0, "series"), -1},                    // labels only
		{h(time.Hour, 40*time.Minute, "rate"), 2},          // 4 samples of 10 m
		{h(2520*time.Second, 2530*time.Second, "rate"), 2}, // the page at 7 d
		{h(time.Hour, 39*time.Minute, "rate"), 1},
		{h(9*time.Minute, time.Hour, "increase"), 1}, // 10 m is coarser than the step
		{h(10*time.Minute, time.Hour, "increase"), 2},
		{h(time.Hour, 20*time.Minute, "rate"), 1}, // 4 samples of 5 m
		{h(time.Hour, 19*time.Minute, "rate"), 0},
		{h(2*time.Minute, 20*time.Minute, "increase"), 0}, // 5 m is coarser than the step
		{h(time.Minute, 4*time.Minute, "avg_over_time"), 0},
		{h(time.Minute, 3*time.Minute, "rate"), -1},
		{h(time.Hour, time.Hour, "irate"), -1},
		{h(time.Hour, time.Hour, "changes"), -1},
	} {
		if got := pickResolution(c.hints); got != c.want {
			t.Errorf("pickResolution(%+v) = %d, want %d", c.hints, got, c.want)
		}
	}
}

func TestDownsampleChunkKeepsLastOfEachWindow(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	type s struct {
		t int64
		v float64
	}
	for _, c := range []struct {
		name     string
		counter  bool
		in, want []s
	}{
		{"right-closed windows", false, []s{{10_000, 1}, {50_000, 2}, {60_000, 3}, {70_000, 4}, {130_000, 5}}, []s{{60_000, 3}, {70_000, 4}, {130_000, 5}}},
		{"staleness marker kept", true, []s{{10_000, 1}, {20_000, stale}}, []s{{20_000, stale}}},
		{"one sample", false, []s{{5, 7}}, []s{{5, 7}}},
		{"gauge decrease", false, []s{{10_000, 5}, {20_000, 2}, {30_000, 4}}, []s{{30_000, 4}}},
		{"counter reset", true, []s{{10_000, 5}, {20_000, 9}, {30_000, 1}, {40_000, 3}}, []s{{20_000, 9}, {30_000, 1}, {40_000, 3}}},
		// Without the sample after the reset, 9 then 12 would read as growth by 3.
		{"counter reset, then past its old value", true, []s{{10_000, 5}, {20_000, 9}, {30_000, 1}, {40_000, 12}, {50_000, 13}}, []s{{20_000, 9}, {30_000, 1}, {50_000, 13}}},
		{"reset on a window's last sample", true, []s{{10_000, 5}, {20_000, 9}, {60_000, 1}, {70_000, 3}}, []s{{20_000, 9}, {60_000, 1}, {70_000, 3}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := chunkenc.NewXORChunk()
			app, _ := src.Appender()
			for _, p := range c.in {
				app.Append(0, p.t, p.v)
			}
			ds, err := downsampleChunk(chunkMeta{mint: c.in[0].t, maxt: c.in[len(c.in)-1].t, data: src.Bytes()}, 60_000, c.counter, chunkenc.NewXORChunk())
			if err != nil {
				t.Fatal(err)
			}
			if ds.mint != c.want[0].t || ds.maxt != c.want[len(c.want)-1].t {
				t.Errorf("range [%d,%d], want [%d,%d]", ds.mint, ds.maxt, c.want[0].t, c.want[len(c.want)-1].t)
			}
			var got []s
			ch, err := chunkenc.FromData(chunkenc.EncXOR, ds.data)
			if err != nil {
				t.Fatal(err)
			}
			ci := ch.Iterator(nil)
			for ci.Next() == chunkenc.ValFloat {
				ts, v := ci.At()
				got = append(got, s{ts, v})
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i].t != c.want[i].t || math.Float64bits(got[i].v) != math.Float64bits(c.want[i].v) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

// blockCounts returns the chunks held in each block bucket.
func blockCounts(t *testing.T, d *DB) []int {
	t.Helper()
	var out []int
	err := d.bdb.View(func(tx *bolt.Tx) error {
		for _, name := range blockBuckets() {
			n := 0
			err := forEachBlock(tx.Bucket(name), math.MinInt64, func(bl *block) error {
				n += bl.n
				return nil
			})
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDownsampledBlocksSurviveRestartAndExpire(t *testing.T) {
	path := tempPath(t)
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		t.Fatal(err)
	}
	appendDay(t, d, 0, 3000) // four full windows, the fifth open
	const expr = `rate(ds_requests_total[` + dashWindow + `])`
	before := dayRange(t, d, expr, false)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = openTest(t, path)
	if got := blockCounts(t, d); !allEqual(got, 4*7, 1+len(resolutions)) {
		t.Fatalf("chunks per bucket (raw, 1m, 5m, 10m) = %v, want 28 each", got)
	}
	equalMatrix(t, expr, dayRange(t, d, expr, false), before)
	// Retention deletes a window's copies with its raw chunks.
	if err := d.enforceRetention(t0 + 2*chunkWindow + 1); err != nil {
		t.Fatal(err)
	}
	if got := blockCounts(t, d); !allEqual(got, 2*7, 1+len(resolutions)) {
		t.Fatalf("after retention chunks per bucket = %v, want 14 each", got)
	}
}

func TestOpenBackfillsCopiesOfOlderFiles(t *testing.T) {
	// A file written before the copies existed has no buckets for them; one written
	// before the 10 m copy has those of 1 m and 5 m only.
	for _, c := range []struct {
		name    string
		missing []resolution
	}{
		{"no copies", resolutions},
		{"no 10m copy", resolutions[len(resolutions)-1:]},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := tempPath(t)
			d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
			if err != nil {
				t.Fatal(err)
			}
			appendDay(t, d, 0, 2200)
			// At 24 h the 1 m and 5 m copies are read, at 7 d the 10 m one.
			exprs := []string{
				`histogram_quantile(0.9, sum by (le) (rate(ds_latency_seconds_bucket[` + dashWindow + `])))`,
				`rate(ds_requests_total[2530s])`,
			}
			query := func(i int) promql.Matrix {
				if i == 0 {
					return dayRange(t, d, exprs[0], false)
				}
				return spanRange(t, d, exprs[1], false, 2200, 2520*time.Second)
			}
			before := []promql.Matrix{query(0), query(1)}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = bdb.Update(func(tx *bolt.Tx) error {
				for _, r := range c.missing {
					if err := tx.DeleteBucket(r.bucket); err != nil {
						return err
					}
				}
				return nil
			})
			if cerr := bdb.Close(); err != nil || cerr != nil {
				t.Fatal(err, cerr)
			}

			d = openTest(t, path)
			if got := blockCounts(t, d); !allEqual(got, 3*7, 1+len(resolutions)) {
				t.Fatalf("chunks per bucket after backfill = %v, want 21 each", got)
			}
			for i, e := range exprs {
				equalMatrix(t, e, query(i), before[i])
			}
		})
	}
}

// allEqual reports whether counts holds n values, all want.
func allEqual(counts []int, want, n int) bool {
	if len(counts) != n {
		return false
	}
	for _, c := range counts {
		if c != want {
			return false
		}
	}
	return true
}

func TestCounterLike(t *testing.T) {
	meta := map[string]Metadata{
		"app_requests_total":  {Type: "counter"},
		"app_latency_seconds": {Type: "histogram"},
		"app_rpc_seconds":     {Type: "summary"},
		"app_queue":           {Type: "gauge"},
		"app_odd_total":       {Type: "gauge"},
	}
	for name, want := range map[string]bool{
		"app_requests_total":         true,
		"app_latency_seconds_bucket": true,
		"app_latency_seconds_count":  true,
		"app_latency_seconds_sum":    true,
		"app_rpc_seconds":            false, // the quantiles
		"app_rpc_seconds_count":      true,
		"app_queue":                  false,
		"app_odd_total":              false, // its TYPE wins over its name
		"unknown_total":              true,
		"unknown":                    false,
	} {
		if got := counterLike(labels.FromStrings("__name__", name), meta); got != want {
			t.Errorf("counterLike(%s) = %v, want %v", name, got, want)
		}
	}
}

// TestThinKeepsBothSidesOfAReset reads a counter still in memory at a step that thins it
// to 1 m: the samples before and after its reset stay, so rate sees the reset even when the
// counter climbs past its old value within the window.
func TestThinKeepsBothSidesOfAReset(t *testing.T) {
	d := openTest(t, tempPath(t))
	vals := []int{5, 9, 1, 12, 13, 14}
	for i, v := range vals {
		if err := d.Append(t0+int64(i+1)*step10s, fmt.Appendf(nil, "# TYPE thin_total counter\nthin_total %d\n", v)); err != nil {
			t.Fatal(err)
		}
	}
	end := t0 + int64(len(vals))*step10s
	hints := &storage.SelectHints{Start: t0, End: end, Step: dashStep.Milliseconds(), Range: 370_000, Func: "rate"}
	q, err := d.Querier(t0, end)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, hints, labels.MustNewMatcher(labels.MatchEqual, "__name__", "thin_total"))
	var got []float64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			_, v := it.At()
			got = append(got, v)
		}
	}
	// Windows (t0, t0+1m]: 5 9 1 12 13 14 → 9 before the reset, 1 after it, 14 last.
	if want := []float64{9, 1, 14}; !slices.Equal(got, want) {
		t.Fatalf("thinned samples %v, want %v", got, want)
	}
}

// TestDownsampledAnswersCarryWarning checks that an answer read from a downsampled copy
// carries a warning naming its resolution, and that one over the raw samples carries none.
func TestDownsampledAnswersCarryWarning(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 900, "a", "b")
	end := t0 + 899*step10s
	for _, c := range []struct {
		expr string
		step time.Duration
		want string // "" for the raw samples
	}{
		{`rate(app_requests_total[30m])`, 5 * time.Minute, "read at 5m resolution"},
		{`app_requests_total`, 5 * time.Minute, "read at 1m resolution"},
		{`rate(app_requests_total[30m])`, 10 * time.Second, ""},
		{`max_over_time(app_requests_total[30m])`, 5 * time.Minute, ""},
	} {
		qry, err := newEngine().NewRangeQuery(context.Background(), d, nil, c.expr, time.UnixMilli(t0), time.UnixMilli(end), c.step)
		if err != nil {
			t.Fatal(err)
		}
		res := qry.Exec(context.Background())
		warnings, _ := res.Warnings.AsStrings(c.expr, 0, 0)
		qry.Close()
		switch {
		case res.Err != nil:
			t.Fatalf("%s: %v", c.expr, res.Err)
		case c.want == "" && len(warnings) > 0:
			t.Errorf("%s at step %v: warnings %q over the raw samples", c.expr, c.step, warnings)
		case c.want != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], c.want)):
			t.Errorf("%s at step %v: warnings %q, want one containing %q", c.expr, c.step, warnings, c.want)
		}
	}
}
