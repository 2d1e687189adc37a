package history

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunSamplesOnAlignedTicks(t *testing.T) {
	const interval = 50 * time.Millisecond
	var (
		mu    sync.Mutex
		ticks []time.Time
		sizes []int
		calls atomic.Int64
	)
	d := openTest(t, tempPath(t), func(o *Options) {
		o.Interval = interval
		o.CheckpointInterval = 100 * time.Millisecond
		o.Source = func(w io.Writer) {
			n := calls.Add(1)
			fmt.Fprintf(w, "# TYPE up_total counter\nup_total %d\n", n)
			if n < 3 {
				fmt.Fprintln(w, "transient 1")
			}
		}
		o.OnSample = func(ts time.Time, series int) {
			mu.Lock()
			defer mu.Unlock()
			ticks = append(ticks, ts)
			sizes = append(sizes, series)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(ticks)
		mu.Unlock()
		if n >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	mu.Lock()
	defer mu.Unlock()
	if len(ticks) < 6 {
		t.Fatalf("%d ticks in 10 s at %v", len(ticks), interval)
	}
	for i, ts := range ticks {
		if ms := ts.UnixMilli(); ms%interval.Milliseconds() != 0 {
			t.Fatalf("tick %d at %d ms is not aligned to %v", i, ms, interval)
		}
		if i > 0 && !ts.After(ticks[i-1]) {
			t.Fatalf("tick %d not after tick %d", i, i-1)
		}
	}
	if sizes[0] != 2 || sizes[len(sizes)-1] != 1 {
		t.Fatalf("series per tick = %v, want 2 first and 1 last", sizes)
	}
	st := d.Stats()
	if !st.LastSample.Equal(ticks[len(ticks)-1]) {
		t.Fatalf("Stats.LastSample = %v, want %v", st.LastSample, ticks[len(ticks)-1])
	}
	// Two samples of "transient", one staleness marker, one sample of up_total per tick.
	if want := uint64(len(ticks) + 3); st.SamplesAppended != want {
		t.Fatalf("SamplesAppended = %d, want %d", st.SamplesAppended, want)
	}
	v := instantQuery(t, d, `transient`, ticks[len(ticks)-1].UnixMilli())
	if len(v) != 0 {
		t.Fatalf("transient series not stale: %v", v)
	}
}

func TestRunWithoutIntervalReturnsAtOnce(t *testing.T) {
	called := false
	d := openTest(t, tempPath(t), func(o *Options) {
		o.Interval = 0
		o.Source = func(io.Writer) { called = true }
	})
	done := make(chan struct{})
	go func() { defer close(done); d.Run(context.Background()) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run with a zero interval kept running")
	}
	if called {
		t.Fatal("Run with a zero interval sampled")
	}
}
