package history

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fileBreakdown reports where the pages of the file go.
func fileBreakdown(b *testing.B, d *DB) string {
	var out string
	err := d.bdb.View(func(tx *bolt.Tx) error {
		ps := int64(tx.DB().Info().PageSize)
		out = fmt.Sprintf("pages=%d freeN=%d pendingN=%d", tx.Size()/ps, d.bdb.Stats().FreePageN, d.bdb.Stats().PendingPageN)
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			st := bk.Stats()
			out += fmt.Sprintf("\n  %-7s keys=%d branch=%d leaf=%d overflow=%d leafInuse=%d/%d inline=%d buckets=%d",
				name, st.KeyN, st.BranchPageN, st.LeafPageN, st.LeafOverflowN, st.LeafInuse, int64(st.LeafPageN+st.LeafOverflowN)*ps, st.InlineBucketN, st.BucketN)
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkBytesPerSampleMix samples the binary's own series mix (a real
// monitoring.Registry under synthetic traffic) every 10 s for a simulated day and week
// through Append, checkpointing every simulated minute and
// enforcing retention as Run does.
// The week takes about five minutes; -bench 'Mix/1d' runs the day alone.
func BenchmarkBytesPerSampleMix(b *testing.B) {
	for _, days := range []int{1, 7} {
		b.Run(fmt.Sprintf("%dd", days), func(b *testing.B) {
			for range b.N {
				path := filepath.Join(b.TempDir(), "history.db")
				d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
				if err != nil {
					b.Fatal(err)
				}
				d.bdb.NoSync = true
				m := newDefaultMix()
				start := time.Now()
				peakFree := 0
				ticks := days * 8640
				for i := range ticks {
					m.step()
					ts := t0 + int64(i)*step10s
					if err := d.Append(ts, m.exposition()); err != nil {
						b.Fatal(err)
					}
					if i%6 == 5 {
						if err := d.checkpoint(); err != nil {
							b.Fatal(err)
						}
						peakFree = max(peakFree, d.bdb.Stats().FreePageN)
					}
					if i%60 == 59 {
						if err := d.enforceRetention(ts - d.opts.Retention.Milliseconds()); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := d.checkpoint(); err != nil {
					b.Fatal(err)
				}
				samples := float64(d.Stats().SamplesAppended)
				b.Log(fileBreakdown(b, d))
				series := d.Stats().Series
				if err := d.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(series), "series")
				b.ReportMetric(float64(peakFree), "peak-free-pages")
				b.ReportMetric(samples, "samples")
				b.ReportMetric(float64(fileSize(b, path))/samples, "file-B/sample")
				b.ReportMetric(time.Since(start).Seconds(), "build-s")
			}
		})
	}
}

// BenchmarkSamplerTickMix measures parse + append of one tick of the binary's own series
// mix.
func BenchmarkSamplerTickMix(b *testing.B) {
	m := newDefaultMix()
	for range 360 {
		m.step()
	}
	expo := make([][]byte, 64)
	for i := range expo {
		m.step()
		expo[i] = append([]byte(nil), m.exposition()...)
	}
	d, err := Open(Options{Path: filepath.Join(b.TempDir(), "history.db"), Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.ReportAllocs()
	for i := range b.N {
		if err := d.Append(t0+int64(i)*step10s, expo[i%len(expo)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(d.Stats().Series), "series")
}
