package history

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// expandExpr substitutes the variables as the page's expand does (web/static/app.js).
func expandExpr(expr string, step, interval int) string {
	rate := strconv.Itoa(max(step+interval, 4*interval)) + "s" // Grafana's $__rate_interval, as web/static/app.js
	r := strings.NewReplacer("$__rate_interval", rate, "${__rate_interval}", rate, "$__interval", strconv.Itoa(step)+"s",
		"${job}", testJob, "$job", testJob, "${instance}", ".*", "$instance", ".*")
	return r.Replace(expr)
}

// buildMix writes span of 10 s samples of the binary's own series mix: the label sets
// come from a real monitoring.Registry under synthetic traffic (rendered and parsed by
// Append), then every series evolves as its kind does (counters and histogram parts grow,
// gauges wobble), appended straight to the series and checkpointed every simulated hour.
func buildMix(b *testing.B, path string, span time.Duration) int64 {
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	d.bdb.NoSync = true
	m := newDefaultMix()
	for range 360 {
		m.step()
	}
	if err := d.Append(t0, m.exposition()); err != nil {
		b.Fatal(err)
	}
	d.mu.Lock()
	list := slices.Clone(d.prev)
	vals := make([]float64, len(list))
	kinds := make([]byte, len(list))
	for i, s := range list {
		name := s.lset.Get(model.MetricNameLabel)
		it := s.head.Iterator(nil)
		it.Next()
		_, vals[i] = it.At()
		switch {
		case strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_sum"):
			kinds[i] = 'c'
		default:
			kinds[i] = 'g'
		}
	}
	hists := mixHistograms(list, kinds)
	d.mu.Unlock()
	r := rand.New(rand.NewPCG(1, 2))
	ticks := int(span / (10 * time.Second))
	for i := 1; i < ticks; i++ {
		ts := t0 + int64(i)*step10s
		for _, h := range hists {
			h.observe(r, vals)
		}
		d.mu.Lock()
		d.tick++
		for j, s := range list {
			switch kinds[j] {
			case 'c':
				if r.IntN(4) == 0 {
					vals[j] += float64(1 + r.IntN(3))
				}
			case 'g':
				if r.IntN(3) == 0 {
					vals[j] = math.Round(vals[j]*(1+0.01*r.NormFloat64())*100) / 100
				}
			}
			s.append(ts, vals[j])
		}
		d.mu.Unlock()
		if i%360 == 359 {
			if err := d.checkpoint(); err != nil {
				b.Fatal(err)
			}
		}
	}
	d.samples.Add(uint64(ticks * len(list)))
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	return t0 + int64(ticks-1)*step10s
}

// mixHistogram is one classic histogram of the mix: its _bucket series in le order, its
// _count and _sum (indexes into the series list, -1 when absent).
type mixHistogram struct {
	buckets    []int
	les        []float64
	count, sum int
}

// mixHistograms groups the _bucket, _count and _sum series of list into histograms and marks
// their kinds 'h', so that they grow together as a real histogram does: buckets cumulative,
// +Inf equal to _count, _sum growing by the observations' values.
func mixHistograms(list []*series, kinds []byte) []*mixHistogram {
	byKey := map[string]*mixHistogram{}
	var hists []*mixHistogram
	get := func(s *series, suffix string) *mixHistogram {
		name := s.lset.Get(model.MetricNameLabel)
		key := labels.NewBuilder(s.lset).Del(labels.BucketLabel).Set(model.MetricNameLabel, strings.TrimSuffix(name, suffix)).Labels().String()
		h := byKey[key]
		if h == nil {
			h = &mixHistogram{count: -1, sum: -1}
			byKey[key] = h
			hists = append(hists, h)
		}
		return h
	}
	for i, s := range list {
		name := s.lset.Get(model.MetricNameLabel)
		le := s.lset.Get(labels.BucketLabel)
		switch {
		case strings.HasSuffix(name, "_bucket") && le != "":
			v, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			h := get(s, "_bucket")
			h.buckets = append(h.buckets, i)
			h.les = append(h.les, v)
		case strings.HasSuffix(name, "_count"):
			get(s, "_count").count = i
		case strings.HasSuffix(name, "_sum"):
			get(s, "_sum").sum = i
		}
	}
	var out []*mixHistogram
	for _, h := range hists {
		if len(h.buckets) == 0 { // a summary's or a plain counter's _count/_sum
			continue
		}
		idx := make([]int, len(h.buckets))
		for k := range idx {
			idx[k] = k
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(h.les[a], h.les[b]) })
		bs, les := make([]int, len(idx)), make([]float64, len(idx))
		for k, j := range idx {
			bs[k], les[k] = h.buckets[j], h.les[j]
		}
		h.buckets, h.les = bs, les
		for _, j := range append(slices.Clone(bs), h.count, h.sum) {
			if j >= 0 {
				kinds[j] = 'h'
			}
		}
		out = append(out, h)
	}
	return out
}

// observe adds a tick's observations to the histogram in vals: each lands in one bucket and
// counts in every bucket at or above it, in _count and, by its value, in _sum.
func (h *mixHistogram) observe(r *rand.Rand, vals []float64) {
	if r.IntN(4) != 0 {
		return
	}
	for range 1 + r.IntN(3) {
		k := r.IntN(len(h.buckets))
		for _, j := range h.buckets[k:] {
			vals[j]++
		}
		if h.count >= 0 {
			vals[h.count]++
		}
		if h.sum >= 0 {
			v := h.les[k]
			if math.IsInf(v, 1) {
				v = 2 * h.les[max(k-1, 0)]
			}
			if k > 0 {
				v = (v + h.les[k-1]) / 2
			}
			if !math.IsInf(v, 0) {
				vals[h.sum] += v
			}
		}
	}
}

// cachedMix returns a history of span and one hour before it (so that a query's first
// rate window holds samples), built once and kept in os.TempDir between runs.
func cachedMix(b *testing.B, span time.Duration) (path string, end int64) {
	path = filepath.Join(os.TempDir(), fmt.Sprintf("gemini-flow-history-bench-v9-%s.db", spanName(span)))
	ticks := int64((span + time.Hour) / (10 * time.Second))
	end = t0 + (ticks-1)*step10s
	if _, err := os.Stat(path); err == nil {
		return path, end
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	start := time.Now()
	if got := buildMix(b, tmp, span+time.Hour); got != end {
		b.Fatalf("built up to %d, want %d", got, end)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s history in %v", spanName(span), time.Since(start))
	return path, end
}

// BenchmarkDashboardQueries runs every panel query of the shipped dashboard as the page
// does, over 24 h and 7 d of the binary's own series mix, with the engine options of the
// query API.
func BenchmarkDashboardQueries(b *testing.B) {
	exprs := dashboards.Targets()
	for _, span := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		path, end := cachedMix(b, span)
		d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
		if err != nil {
			b.Fatal(err)
		}
		eng := promql.NewEngine(promql.EngineOpts{Timeout: time.Minute, MaxSamples: 50_000_000, EnableAtModifier: true, EnableNegativeOffset: true})
		spanS := int(span.Seconds())
		step := max(10, (spanS+239)/240)
		endS := end / 1000
		startS := endS - int64(spanS/step*step)
		run := func(b *testing.B, expr string) int {
			qs := expandExpr(expr, step, 10)
			q, err := eng.NewRangeQuery(context.Background(), d, nil, qs,
				time.Unix(startS, 0), time.Unix(endS, 0), time.Duration(step)*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			res := q.Exec(context.Background())
			if res.Err != nil {
				b.Fatalf("%s: %v", expr, res.Err)
			}
			m, _ := res.Matrix()
			return len(m)
		}
		b.Run(spanName(span)+"/all", func(b *testing.B) {
			for range b.N {
				for _, e := range exprs {
					run(b, e)
				}
			}
			b.StopTimer()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
			b.ReportMetric(float64(d.Stats().Series), "series")
			b.ReportMetric(float64(len(exprs)), "panels")
		})
		for i, e := range exprs {
			b.Run(fmt.Sprintf("%s/panel%02d", spanName(span), i), func(b *testing.B) {
				n := 0
				for range b.N {
					n = run(b, e)
				}
				if n == 0 {
					b.Fatalf("%s: no series", e)
				}
				b.ReportMetric(float64(n), "result-series")
			})
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelectMix reads every sample of every series of 24 h of the mix through the
// querier, as the engine does under the dashboard's panels: the history's own share of a
// dashboard load (chunk lookup, decoding, iteration).
func BenchmarkSelectMix(b *testing.B) {
	path, end := cachedMix(b, 24*time.Hour)
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	start := end - (24 * time.Hour).Milliseconds()
	all := labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, ".+")
	samples := 0
	b.ResetTimer()
	for range b.N {
		q, err := d.Querier(start, end)
		if err != nil {
			b.Fatal(err)
		}
		set := q.Select(context.Background(), false, &storage.SelectHints{Start: start, End: end, Step: 360_000, Range: 370_000}, all)
		var it chunkenc.Iterator
		samples = 0
		for set.Next() {
			it = set.At().Iterator(it)
			for it.Next() == chunkenc.ValFloat {
				samples++
			}
			if it.Err() != nil {
				b.Fatal(it.Err())
			}
		}
		if set.Err() != nil {
			b.Fatal(set.Err())
		}
		_ = q.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
}
