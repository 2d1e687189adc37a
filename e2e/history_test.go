package e2e

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tolerance bounds the difference between the binary's history and Prometheus for one query.
// Both read the same registry, but at different instants: the history on exact second
// boundaries, Prometheus at its own offset within the second. A value may therefore differ by
// what changed in under one interval; a rate over a w-second window by about two samples'
// worth of change over w; a histogram quantile by the width of the bucket it interpolates in.
type tolerance struct {
	rel, abs float64
	ratio    float64 // for quantiles: the values may differ by up to this factor
}

func (tl tolerance) ok(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	d := math.Abs(a - b)
	if d <= tl.abs || d <= tl.rel*math.Max(math.Abs(a), math.Abs(b)) {
		return true
	}
	if tl.ratio > 0 && a > 0 && b > 0 {
		return math.Max(a, b)/math.Min(a, b) <= tl.ratio
	}
	return false
}

// toleranceFor picks the bound from the query's shape.
func toleranceFor(expr string) tolerance {
	switch {
	case strings.Contains(expr, "histogram_quantile"):
		// The seed's buckets grow by up to 5x; one observation more or less on either side
		// can move an interpolated quantile across a bucket.
		return tolerance{rel: 0.25, abs: 0.001, ratio: 5.5}
	case strings.Contains(expr, "gc_duration"):
		// A garbage collection falling just before or after a sample instant changes the mean
		// pause by a whole pause; only the order of magnitude is comparable.
		return tolerance{rel: 0.25, abs: 0.0005, ratio: 4}
	case strings.Contains(expr, "cpu_seconds"), strings.Contains(expr, "resident_memory"), strings.Contains(expr, "goroutines"):
		// Process gauges move with every request in flight at the sample instant.
		return tolerance{rel: 0.5, abs: 25}
	case strings.Contains(expr, "rate("):
		return tolerance{rel: 0.2, abs: 0.5}
	default:
		// Gauges: the steady traffic creates about five workflows a second.
		return tolerance{rel: 0.05, abs: 8}
	}
}

// byTime indexes a range result as series key -> unix second -> value. Bucket bounds are
// compared as numbers: Prometheus 3's text parser, which the history uses, writes le="1" as
// le="1.0", while Prometheus 2 keeps the exposition's text.
func byTime(res []series) map[string]map[int64]float64 {
	out := make(map[string]map[int64]float64, len(res))
	for _, s := range res {
		for _, l := range []string{"le", "quantile"} {
			if v, ok := s.Metric[l]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					s.Metric[l] = strconv.FormatFloat(f, 'g', -1, 64)
				}
			}
		}
		m := make(map[int64]float64, len(s.Points))
		for _, p := range s.Points {
			m[int64(math.Round(p.T))] = p.V
		}
		out[s.key()] = m
	}
	return out
}

func TestHistoryMatchesPrometheus(t *testing.T) {
	b, prom, _ := startScrapedBinary(t)

	id := createWorkflow(t, b.URL, "history", 12)
	conn := dialWS(t, b)
	done := make(chan struct{})
	go drain(conn, done)
	defer func() { closeWS(conn); <-done }()
	traffic := startSteadyTraffic(b.URL, 20*time.Millisecond, mixedTraffic(id))
	// The window's [10s] lookbacks start a few seconds after the traffic began: while a series
	// is younger than the lookback, rate() extrapolates each histogram bucket towards zero on
	// its own, and a quantile over those buckets depends on exactly when each side sampled.
	time.Sleep(24 * time.Second)
	end := time.Now().Truncate(time.Second).Add(-time.Second)
	start := end.Add(-10 * time.Second)
	sent, errs := traffic.finish()
	if len(errs) > 0 {
		t.Fatalf("traffic errors: %v", errs)
	}
	t.Logf("steady traffic: %d requests; comparing [%s, %s] every 1s", sent, start.Format(time.TimeOnly), end.Format(time.TimeOnly))
	// Both sides have a sample past the window's end before it is queried.
	time.Sleep(2 * time.Second)

	// The seed's queries with [10s] windows (a few seconds of traffic leave too little for
	// [5m] to be steady), and every dashboard query with $__rate_interval as 10s.
	queries := []struct{ name, expr string }{
		{"seed average duration", withWindow(seedAvgDuration, "10s")},
		{"seed error rate, corrected", withWindow(fixedErrorRate, "10s")},
		{"seed error rate by route, corrected", withWindow(fixedErrorRateByRt, "10s")},
		{"seed p95", withWindow(seedP95, "10s")},
		{"seed active WebSockets", seedWSActive},
		{"seed error rate, [5m] windows", fixedErrorRate},
	}
	for _, q := range dashboardQueries(t) {
		queries = append(queries, struct{ name, expr string }{"panel " + q.Title + " " + q.RefID, expandGrafana(q.Expr, "10s")})
	}

	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			got, err := rangeQuery(b.URL, q.expr, start, end, time.Second)
			if err != nil {
				t.Fatalf("binary: %v\n%s", err, q.expr)
			}
			want, err := rangeQuery(prom.URL, q.expr, start, end, time.Second)
			if err != nil {
				t.Fatalf("prometheus: %v\n%s", err, q.expr)
			}
			if len(want) == 0 {
				t.Fatalf("Prometheus returned no data for %s", q.expr)
			}
			compareRanges(t, q.expr, byTime(got), byTime(want), start.Unix(), end.Unix())
		})
	}
}

// matchesNear reports whether the binary's value g at ts agrees with Prometheus within one
// sample's timing. The history samples on the second, Prometheus up to a second earlier, so
// the binary's state at ts lies between Prometheus's at ts and at ts+1. A value that jumps
// (a slow request entering a quantile's window, one long GC pause) shows the jump one step
// apart on the two sides; matching a neighbouring step, or lying between two, accounts for it.
func matchesNear(tol tolerance, g float64, want map[int64]float64, ts int64) bool {
	for _, d := range []int64{0, 1, -1} {
		if w, ok := want[ts+d]; ok && tol.ok(g, w) {
			return true
		}
	}
	for _, d := range []int64{0, -1} {
		a, aok := want[ts+d]
		b, bok := want[ts+d+1]
		if aok && bok && g >= math.Min(a, b) && g <= math.Max(a, b) {
			return true
		}
	}
	return false
}

// seriesKeys is every series key of either range result, sorted.
func seriesKeys(got, want map[string]map[int64]float64) []string {
	keys := slices.Collect(maps.Keys(got))
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// compareRanges checks that at every step both sides hold the same series with values within
// the query's tolerance. At the first and last step a series may exist on one side only: it
// may have appeared or gone stale between the two sides' sample instants.
func compareRanges(t *testing.T, expr string, got, want map[string]map[int64]float64, first, last int64) {
	t.Helper()
	tol := toleranceFor(expr)
	sorted := seriesKeys(got, want)
	bad := 0
	for _, k := range sorted {
		for ts := first; ts <= last; ts++ {
			g, gok := got[k][ts]
			w, wok := want[k][ts]
			switch {
			case gok && wok:
				if !matchesNear(tol, g, want[k], ts) {
					bad++
					if bad <= 10 {
						t.Errorf("%s at %d: binary %v, prometheus %v (tolerance %+v)", k, ts, g, w, tol)
					}
				}
			case gok != wok && ts != first && ts != last:
				bad++
				if bad <= 10 {
					t.Errorf("%s at %d: only in %s (binary %v, prometheus %v)", k, ts, map[bool]string{true: "binary", false: "prometheus"}[gok], g, w)
				}
			}
		}
	}
	if bad > 0 {
		t.Logf("%d mismatches for %s", bad, expr)
	}
}
