package history

import (
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
	"github.com/prometheus/prometheus/promql"
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
	d.mu.Unlock()
	r := rand.New(rand.NewPCG(1, 2))
	ticks := int(span / (10 * time.Second))
	for i := 1; i < ticks; i++ {
		ts := t0 + int64(i)*step10s
		d.mu.Lock()
		d.tick++
		for j, s := range list {
			switch kinds[j] {
			case 'c':
				if r.IntN(4) == 0 {
					vals[j] += float64(1 + r.IntN(3))
				}
			default:
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

// cachedMix returns a history of span and one hour before it (so that a query's first
// rate window holds samples), built once and kept in os.TempDir between runs.
func cachedMix(b *testing.B, span time.Duration) (path string, end int64) {
	path = filepath.Join(os.TempDir(), fmt.Sprintf("gemini-flow-history-bench-v8-%s.db", spanName(span)))
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
