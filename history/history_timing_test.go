package history

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"
)

// synth is a deterministic, realistic series mix: counters that grow at their own
// pace, gauges that wobble, and histograms whose buckets mostly stay constant.
type synth struct {
	r      *rand.Rand
	lsets  []labels.Labels
	values []float64
	groups []synthGroup
}

type synthGroup struct {
	kind   byte // 'c' counter, 'g' gauge, 'h' histogram
	first  int  // index of the group's first series in values
	n      int  // series in the group
	chance float64
}

var synthBuckets = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}

// newSynth builds about n series: a tenth counters, a tenth gauges, the rest histograms.
func newSynth(n int) *synth {
	s := &synth{r: rand.New(rand.NewPCG(7, 11))}
	add := func(kind byte, chance float64, lsets ...labels.Labels) {
		s.groups = append(s.groups, synthGroup{kind: kind, first: len(s.lsets), n: len(lsets), chance: chance})
		s.lsets = append(s.lsets, lsets...)
		for range lsets {
			s.values = append(s.values, 0)
		}
	}
	scrape := func(kv ...string) labels.Labels {
		return labels.FromStrings(append(kv, "job", testJob, "instance", testInstance)...)
	}
	for i := 0; len(s.lsets) < n/10; i++ {
		route := "/api/r" + strconv.Itoa(i)
		add('c', 0, scrape("__name__", "app_http_requests_total", "route", route, "status", "200"))
		add('c', 0, scrape("__name__", "app_http_requests_total", "route", route, "status", "500"))
	}
	for i := 0; len(s.lsets) < n/5; i++ {
		add('g', 0, scrape("__name__", "app_gauge", "i", strconv.Itoa(i)))
	}
	for i := 0; len(s.lsets)+len(synthBuckets)+2 <= n; i++ {
		route := "/api/r" + strconv.Itoa(i)
		var ls []labels.Labels
		for _, le := range synthBuckets {
			ls = append(ls, scrape("__name__", "app_http_request_duration_seconds_bucket", "route", route, "le", le))
		}
		ls = append(ls,
			scrape("__name__", "app_http_request_duration_seconds_sum", "route", route),
			scrape("__name__", "app_http_request_duration_seconds_count", "route", route))
		add('h', 0.05+0.3*float64(i%4)/3, ls...)
	}
	for i, g := range s.groups {
		if g.kind == 'g' {
			s.values[g.first] = 1e6 * float64(i)
		}
	}
	return s
}

// step advances every series by one tick.
func (s *synth) step() {
	for _, g := range s.groups {
		switch g.kind {
		case 'c':
			s.values[g.first] += float64(s.r.IntN(6))
		case 'g':
			v := &s.values[g.first]
			*v = math.Round(*v + float64(s.r.IntN(2001)-1000))
		case 'h':
			if s.r.Float64() >= g.chance {
				continue
			}
			k := min(s.r.IntN(8), s.r.IntN(len(synthBuckets)))
			for b := k; b < len(synthBuckets); b++ {
				s.values[g.first+b]++
			}
			s.values[g.first+len(synthBuckets)] += 0.003 * float64(k+1)
			s.values[g.first+len(synthBuckets)+1]++
		}
	}
}

// exposition renders the current values as a text exposition.
func (s *synth) exposition(buf []byte) []byte {
	buf = buf[:0]
	for i, ls := range s.lsets {
		buf = append(buf, ls.Get("__name__")...)
		buf = append(buf, '{')
		first := true
		ls.Range(func(l labels.Label) {
			if l.Name == "__name__" || l.Name == "job" || l.Name == "instance" {
				return
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, l.Name...)
			buf = append(buf, '=')
			buf = strconv.AppendQuote(buf, l.Value)
		})
		buf = append(buf, "} "...)
		buf = strconv.AppendFloat(buf, s.values[i], 'g', -1, 64)
		buf = append(buf, '\n')
	}
	return buf
}

// storedBytes sums the chunk bytes in the file: full chunks and checkpointed open ones.
func storedBytes(b *testing.B, d *DB) (chunkBytes int64) {
	err := d.bdb.View(func(tx *bolt.Tx) error {
		_ = tx.Bucket(bucketHead).ForEach(func(_, v []byte) error {
			chunkBytes += int64(len(v))
			return nil
		})
		return tx.Bucket(bucketBlocks).ForEach(func(_, v []byte) error {
			chunkBytes += int64(len(v))
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return chunkBytes
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkBytesPerSample samples ~300 series every 10 s for a simulated day through the
// text parser, checkpointing every simulated minute as Run does.
func BenchmarkBytesPerSample(b *testing.B) {
	for range b.N {
		path := filepath.Join(b.TempDir(), "history.db")
		d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
		if err != nil {
			b.Fatal(err)
		}
		d.bdb.NoSync = true // the file's size does not depend on fsync
		s := newSynth(300)
		var buf []byte
		start := time.Now()
		const ticks = 8640
		for i := range ticks {
			s.step()
			buf = s.exposition(buf)
			if err := d.Append(t0+int64(i)*step10s, buf); err != nil {
				b.Fatal(err)
			}
			if i%6 == 5 {
				if err := d.checkpoint(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := d.checkpoint(); err != nil {
			b.Fatal(err)
		}
		samples := float64(d.Stats().SamplesAppended)
		chunkBytes := storedBytes(b, d)
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(s.lsets)), "series")
		b.ReportMetric(samples, "samples")
		b.ReportMetric(float64(fileSize(b, path))/samples, "file-B/sample")
		b.ReportMetric(float64(chunkBytes)/samples, "chunk-B/sample")
		b.ReportMetric(time.Since(start).Seconds(), "build-s")
	}
}

// BenchmarkSamplerTick measures parse + append of a 1,000-series exposition per tick, and
// the allocations of early ticks against ticks after several chunk cuts.
func BenchmarkSamplerTick(b *testing.B) {
	d, err := Open(Options{Path: filepath.Join(b.TempDir(), "history.db"), Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	s := newSynth(1000)
	// Pre-rendered expositions: the benchmark measures the history, not the renderer.
	expo := make([][]byte, 64)
	for i := range expo {
		s.step()
		expo[i] = s.exposition(nil)
	}
	tick := 0
	run := func(n int) (perTick time.Duration, allocs float64) {
		if n <= 0 {
			return 0, 0
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := time.Now()
		for range n {
			if err := d.Append(t0+int64(tick)*step10s, expo[tick%len(expo)]); err != nil {
				b.Fatal(err)
			}
			tick++
		}
		el := time.Since(start)
		runtime.ReadMemStats(&m1)
		return el / time.Duration(n), float64(m1.Mallocs-m0.Mallocs) / float64(n)
	}
	b.ResetTimer()
	for range b.N {
		if tick >= 10 {
			break // the measured windows below need the early ticks
		}
		_, _ = run(1)
	}
	b.StopTimer()
	// Chunks are cut every 720 ticks (at 720, 1440, ...): early and late windows both
	// avoid a cut; the third spans one, so it shows the cut's cost amortised.
	run(10 - tick)
	early, earlyAllocs := run(200)
	run(3000 - tick)
	late, lateAllocs := run(200)
	window, windowAllocs := run(720)
	b.ReportMetric(float64(early.Microseconds()), "early-µs/tick")
	b.ReportMetric(earlyAllocs, "early-allocs/tick")
	b.ReportMetric(float64(late.Microseconds()), "late-µs/tick")
	b.ReportMetric(lateAllocs, "late-allocs/tick")
	b.ReportMetric(float64(window.Microseconds()), "with-cut-µs/tick")
	b.ReportMetric(windowAllocs, "with-cut-allocs/tick")
}

// buildWeek writes 7 days of 10 s samples for ~n series straight into the series (no
// parsing), in time order, checkpointing every simulated hour.
func buildWeek(b *testing.B, path string, n int) (*DB, int64) {
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	d.bdb.NoSync = true
	s := newSynth(n)
	d.mu.Lock()
	list := make([]*series, len(s.lsets))
	for i, ls := range s.lsets {
		list[i] = d.getOrCreate(ls)
	}
	d.mu.Unlock()
	const ticks = 7 * 8640
	for i := range ticks {
		s.step()
		ts := t0 + int64(i)*step10s
		d.mu.Lock()
		for j, sr := range list {
			sr.append(ts, s.values[j])
		}
		d.mu.Unlock()
		if i%360 == 359 {
			if err := d.checkpoint(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := d.checkpoint(); err != nil {
		b.Fatal(err)
	}
	d.samples.Add(uint64(ticks * len(list)))
	return d, t0 + (ticks-1)*step10s
}

var weekQueries = []struct{ name, expr string }{
	{"rate-sum-by-route", `sum by (route) (rate(app_http_requests_total[5m]))`},
	{"p99-all", `histogram_quantile(0.99, sum by (le) (rate(app_http_request_duration_seconds_bucket[5m])))`},
	{"p90-by-route", `histogram_quantile(0.9, sum by (le, route) (rate(app_http_request_duration_seconds_bucket[5m])))`},
}

// BenchmarkWeek builds 7 days × 1,000 series once, then measures query_range over 24 h
// and 7 d, and the heap after a restart.
func BenchmarkWeek(b *testing.B) {
	path := filepath.Join(b.TempDir(), "history.db")
	start := time.Now()
	d, end := buildWeek(b, path, 1000)
	build := time.Since(start)
	samples := float64(d.Stats().SamplesAppended)
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("build", func(b *testing.B) {
		b.ReportMetric(build.Seconds(), "build-s")
		b.ReportMetric(samples, "samples")
		b.ReportMetric(float64(fileSize(b, path))/(1<<20), "file-MiB")
		b.ReportMetric(float64(fileSize(b, path))/samples, "file-B/sample")
	})

	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.Run("heap", func(b *testing.B) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-inuse-MiB")
		b.ReportMetric(float64(fileSize(b, path))/(1<<20), "file-MiB")
		b.ReportMetric(float64(d.Stats().Series), "series")
	})
	for _, span := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		for _, q := range weekQueries {
			b.Run(fmt.Sprintf("%s/%s", spanName(span), q.name), func(b *testing.B) {
				step := span / 240
				startMs := end - span.Milliseconds()
				for range b.N {
					m := rangeQuery(b, d, q.expr, startMs, end, step)
					if len(m) == 0 {
						b.Fatal("empty result")
					}
				}
			})
		}
	}
	b.Run("heap-after-queries", func(b *testing.B) {
		for _, span := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
			for _, q := range weekQueries {
				if len(rangeQuery(b, d, q.expr, end-span.Milliseconds(), end, span/240)) == 0 {
					b.Fatal("empty result")
				}
			}
		}
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-inuse-MiB")
	})
}

func spanName(d time.Duration) string {
	if d >= 48*time.Hour {
		return strconv.Itoa(int(d.Hours()/24)) + "d"
	}
	return strconv.Itoa(int(d.Hours())) + "h"
}
