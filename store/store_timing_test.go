package store

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// fill stores n workflows of 10 nodes each.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	for i := range n {
		w := sample(fmt.Sprintf("wf-%05d", i), 10, int64(i))
		if i%10 == 0 {
			w.Metadata.Name = "Report digest"
		}
		if err := s.Workflows.Put(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := openTest(b, Options{})
	fill(b, s, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Workflows.Get(fmt.Sprintf("wf-%05d", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList50Of1000(b *testing.B) {
	s := openTest(b, Options{})
	fill(b, s, 1000)
	f := func(name string, q ListQuery, want int) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				list, total, err := s.Workflows.List(q)
				if err != nil || total != want {
					b.Fatalf("total %d, %v", total, err)
				}
				if len(list) > 50 {
					b.Fatal(len(list))
				}
			}
		})
	}
	f("all", ListQuery{Limit: 50, Offset: 500}, 1000)
	f("search", ListQuery{Search: "DIGEST", Limit: 50}, 100)
	f("tags", ListQuery{Tags: []string{"none", "demo"}, Limit: 50}, 1000)
}

// BenchmarkAppendList50Of1000 is what GET /api/workflows costs in the store: the index picks
// the page and the stored bytes are copied into the answer, nothing decoded.
func BenchmarkAppendList50Of1000(b *testing.B) {
	s := openTest(b, Options{})
	fill(b, s, 1000)
	f := func(name string, q ListQuery, want int) {
		b.Run(name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var total int
				var err error
				buf, total, err = s.Workflows.AppendList(buf[:0], q)
				if err != nil || total != want {
					b.Fatalf("total %d, %v", total, err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
	f("all", ListQuery{Limit: 50, Offset: 500}, 1000)
	f("search", ListQuery{Search: "DIGEST", Limit: 50}, 100)
	f("tags", ListQuery{Tags: []string{"none", "demo"}, Limit: 50}, 1000)
	f("no-match", ListQuery{Search: "nothing like it", Limit: 50}, 0)
}

// BenchmarkAppendJSON is GET one workflow in the store: the stored bytes, copied.
func BenchmarkAppendJSON(b *testing.B) {
	s := openTest(b, Options{})
	fill(b, s, 1000)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("wf-%05d", i)
	}
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var err error
		if buf, err = s.Workflows.AppendJSON(buf[:0], ids[i%1000]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen1000 is the start-up scan that counts and indexes 1,000 stored workflows.
func BenchmarkOpen1000(b *testing.B) {
	s := openTest(b, Options{})
	fill(b, s, 1000)
	path := s.path + ".copy"
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Backup(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s2, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = s2.Close()
	}
}

// BenchmarkCreateParallel shows group commit: concurrent writers share one fsync per batch.
func BenchmarkCreateParallel(b *testing.B) {
	s := openTest(b, Options{})
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			if err := s.Workflows.Create(sample(fmt.Sprint("c", i), 10, i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkCreateSerial(b *testing.B) {
	s := openTest(b, Options{})
	b.ReportAllocs()
	for i := range b.N {
		if err := s.Workflows.Create(sample(fmt.Sprint("c", i), 10, int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := openTest(b, Options{})
	fill(b, s, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_, err := s.Workflows.Update(fmt.Sprintf("wf-%05d", i%1000), func(w *workflow.Workflow) error {
			w.Metadata.Description = fmt.Sprint("rev ", i)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
