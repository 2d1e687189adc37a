package history

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/export"
	"github.com/prometheus/prometheus/model/labels"
)

// countingWriter counts the bytes an export writes and drops them.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// heapPeak samples the live heap every millisecond (runtime/metrics, without stopping the
// world) until stop is called, and returns its peak.
func heapPeak() (stop func() uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done, finished := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		once.Do(func() { close(done) })
		<-finished
		return peak
	}
}

func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkExportMix streams 7 days of the binary's own series mix (about 1,700 series at
// 10 s) through the export in both formats, and reports the samples written per second and
// the growth of the live heap over what it was before the export began.
func BenchmarkExportMix(b *testing.B) {
	path, end := cachedMix(b, 7*24*time.Hour)
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	meta := func(family string) (string, string, bool) {
		m, ok := d.FamilyMetadata(family)
		return m.Type, m.Help, ok
	}
	req := export.Request{
		Matchers: [][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchEqual, "job", testJob)}},
		Start:    end - (7 * 24 * time.Hour).Milliseconds(),
		End:      end,
	}
	for _, f := range []export.Format{export.JSONLines, export.OpenMetrics} {
		b.Run(string(f), func(b *testing.B) {
			req.Format = f
			base := liveHeap()
			stop := heapPeak()
			var samples int
			var w countingWriter
			b.ResetTimer()
			for range b.N {
				st, err := export.Write(context.Background(), &w, d, meta, req)
				if err != nil {
					b.Fatal(err)
				}
				samples += st.Samples
			}
			b.StopTimer()
			peak := stop()
			b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(samples)/float64(b.N), "samples/op")
			b.ReportMetric(float64(w.n)/float64(b.N)/float64(samples/b.N), "B/sample")
			b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "heap-growth-MiB")
		})
	}
}
