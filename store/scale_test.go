package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// scaleSizes are the store sizes BenchmarkScale compares.
var scaleSizes = []int{1_000, 10_000, 100_000}

// scaleWorkflow is the i-th workflow of a seeded store: a few nodes, an id in time order as
// the server makes them, and one in a hundred with the description word "quarterly" and the
// tag "Finance" (the 1 % that the search and tag figures select).
func scaleWorkflow(i int) *workflow.Workflow {
	created := int64(1_700_000_000_000 + i)
	w := sample(fmt.Sprintf("workflow-%d-%012x", created, i*7919), 3, created)
	w.Metadata.Name = fmt.Sprintf("Load %d", i)
	w.Metadata.Description = "bench flow"
	w.Metadata.Tags = []string{"load"}
	if i%100 == 0 {
		w.Metadata.Description = "Quarterly bench flow"
		w.Metadata.Tags = []string{"load", "Finance"}
	}
	return w
}

// seed writes n workflows through the store's own record and summary encoding, 1,000 to a
// transaction, so that 100,000 take seconds rather than one fsync each.
func seed(tb testing.TB, s *Store, n int) {
	tb.Helper()
	for lo := 0; lo < n; lo += 1000 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i := lo; i < min(n, lo+1000); i++ {
				w := scaleWorkflow(i)
				data, sum, err := encodeWithSummary(w)
				if err != nil {
					return err
				}
				if err := putWorkflow(tx, []byte(w.Metadata.ID), data, sum); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// storedBytes sums the keys and values of a bucket.
func storedBytes(tb testing.TB, s *Store, bucket []byte) int64 {
	var n int64
	must(tb, s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			n += int64(len(k) + len(v))
			return nil
		})
	}))
	return n
}

func fileSize(tb testing.TB, s *Store) int64 {
	fi, err := os.Stat(s.path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// cpuTime is the process's CPU time so far: on a shared machine it measures the work done
// where wall time also measures the wait for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scaleFigure is one measured figure at one size.
type scaleFigure struct {
	name  string
	unit  string
	value float64
}

// BenchmarkScale seeds 1 k, 10 k and 100 k workflows and measures, at each size, what the
// issue of growth is about: time to open, index heap, file size against the bytes stored
// (after seeding in time order and after a mix of updates and deletes), search and tag
// filters selecting 1 %, a page of 50, one workflow, and durable creates from concurrent
// writers. It ends with a table of each figure at each size and the ratio of the largest
// size to the smallest.
func BenchmarkScale(b *testing.B) {
	figures := map[int][]scaleFigure{}
	for _, n := range scaleSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			figures[n] = measureScale(b, n)
		})
	}
	if len(figures) != len(scaleSizes) {
		return // a -bench pattern chose some sizes only
	}
	var t strings.Builder
	lo, hi := scaleSizes[0], scaleSizes[len(scaleSizes)-1]
	fmt.Fprintf(&t, "\n%-28s", "figure")
	for _, n := range scaleSizes {
		fmt.Fprintf(&t, " %12s", fmt.Sprint(n))
	}
	fmt.Fprintf(&t, " %10s\n", fmt.Sprintf("%d/%d", hi, lo))
	for i, f := range figures[lo] {
		fmt.Fprintf(&t, "%-28s", f.name+" ("+f.unit+")")
		for _, n := range scaleSizes {
			fmt.Fprintf(&t, " %12.2f", figures[n][i].value)
		}
		fmt.Fprintf(&t, " %10.2f\n", figures[hi][i].value/f.value)
	}
	b.Log(t.String())
}

// measureScale seeds n workflows and returns the figures, in a fixed order.
func measureScale(b *testing.B, n int) []scaleFigure {
	dir := b.TempDir()
	path := filepath.Join(dir, FileName)
	s, err := Open(path, Options{})
	must(b, err)
	seed(b, s, n)
	must(b, s.Close())

	var figs []scaleFigure
	add := func(name, unit string, v float64) {
		figs = append(figs, scaleFigure{name, unit, v})
		b.ReportMetric(v, strings.ReplaceAll(name, " ", "-")+"-"+unit)
	}
	start, cpu := time.Now(), cpuTime()
	s, err = Open(path, Options{})
	must(b, err)
	add("open", "ms", float64(time.Since(start).Microseconds())/1000)
	add("open CPU", "ms", float64((cpuTime()-cpu).Microseconds())/1000)
	// The index's heap: the live heap with the store open less the live heap once it is not.
	open := heapInUse()
	must(b, s.Close())
	s = nil
	closed := heapInUse()
	heap := max(open, closed) - closed
	add("index heap", "MB", float64(heap)/1e6)
	add("index heap", "B/workflow", float64(heap)/float64(n))
	s, err = Open(path, Options{})
	must(b, err)
	defer func() { must(b, s.Close()) }()

	records := storedBytes(b, s, bucketWorkflows)
	summaries := storedBytes(b, s, bucketSummaries)
	add("file / records", "x", float64(fileSize(b, s))/float64(records))
	add("file / (records+summaries)", "x", float64(fileSize(b, s))/float64(records+summaries))

	perSec := func(name string, want int, fn func(i int) int) {
		const rounds = 2000
		start, cpu := time.Now(), cpuTime()
		for i := range rounds {
			if got := fn(i); want >= 0 && got != want {
				b.Fatalf("%s: %d results, want %d", name, got, want)
			}
		}
		add(name, "k/s", rounds/time.Since(start).Seconds()/1000)
		add(name+" CPU", "µs/op", float64((cpuTime()-cpu).Microseconds())/rounds)
	}
	var buf []byte
	appendList := func(q ListQuery) int {
		var total int
		buf, total, err = s.Workflows.AppendList(buf[:0], q)
		must(b, err)
		return total
	}
	perSec("search 1%", n/100, func(int) int { return appendList(ListQuery{Search: "QUARTERLY", Limit: 50}) })
	perSec("tags 1%", n/100, func(int) int { return appendList(ListQuery{Tags: []string{"finance"}, Limit: 50}) })
	perSec("list 50", n, func(i int) int { return appendList(ListQuery{Offset: i * 7919 % n, Limit: 50}) })
	perSec("get one", -1, func(i int) int {
		buf, err = s.Workflows.AppendJSON(buf[:0], scaleWorkflow(i*7919%n).Metadata.ID)
		must(b, err)
		return 0
	})

	// Durable creates: concurrent writers sharing commits, each commit synced.
	var seq atomic.Int64
	const writers, creates = 64, 4000
	start = time.Now()
	done := make(chan struct{})
	for range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				i := seq.Add(1)
				if i > creates {
					return
				}
				if err := s.Workflows.Create(scaleWorkflow(n + int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	add("durable creates", "k/s", creates/time.Since(start).Seconds()/1000)

	// A mix of writes: a tenth of the workflows renamed with a longer description, a tenth
	// deleted.
	s.db.NoSync = true // the file's layout is measured, not the writes' speed
	for i := 0; i < n; i += 10 {
		_, err := s.Workflows.Update(scaleWorkflow(i).Metadata.ID, func(w *workflow.Workflow) error {
			w.Metadata.Name += " (renamed)"
			w.Metadata.Description += " with a longer description than before"
			return nil
		})
		must(b, err)
		_, err = s.Workflows.Delete(scaleWorkflow(i + 5).Metadata.ID)
		must(b, err)
	}
	s.db.NoSync = false
	records = storedBytes(b, s, bucketWorkflows)
	summaries = storedBytes(b, s, bucketSummaries)
	add("after mix: file / records", "x", float64(fileSize(b, s))/float64(records))
	add("after mix: file / (r+s)", "x", float64(fileSize(b, s))/float64(records+summaries))
	return figs
}

// BenchmarkOpen100k is Open of a file holding 100,000 workflows: the summaries read and the
// index built.
func BenchmarkOpen100k(b *testing.B) {
	path := filepath.Join(b.TempDir(), FileName)
	s, err := Open(path, Options{})
	must(b, err)
	seed(b, s, 100_000)
	must(b, s.Close())
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(path, Options{})
		must(b, err)
		must(b, s.Close())
	}
}

// BenchmarkSearchDense compares a search made only of trigrams every workflow holds ("flow"),
// which checks every workflow, with the same search when Open posts those trigrams.
func BenchmarkSearchDense(b *testing.B) {
	path := filepath.Join(b.TempDir(), FileName)
	s, err := Open(path, Options{})
	must(b, err)
	seed(b, s, 20_000)
	must(b, s.Close())
	for _, posted := range []bool{true, false} {
		b.Run(fmt.Sprint("posted=", posted), func(b *testing.B) {
			if posted {
				defer func(min int) { denseGrams.minEntries = min }(denseGrams.minEntries)
				denseGrams.minEntries = 1 << 30
			}
			s, err := Open(path, Options{})
			must(b, err)
			defer s.Close()
			for b.Loop() {
				if _, total, err := s.Workflows.AppendList(nil, ListQuery{Search: "flow", Limit: 50}); err != nil || total != 20_000 {
					b.Fatal(total, err)
				}
			}
		})
	}
}
