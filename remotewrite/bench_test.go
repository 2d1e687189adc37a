package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
)

// mixExposition renders n series shaped like the binary's: histogram buckets and counters
// with method, route and status labels, every value moving each tick.
func mixExposition(n, tick int) []byte {
	var b bytes.Buffer
	les := []string{"0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "2", "5", "+Inf"}
	for i := range n {
		fmt.Fprintf(&b, "gemini_flow_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/route/%d\",status_code=\"200\",le=%q} %d\n",
			i/len(les), les[i%len(les)], tick*(1+i%len(les)))
	}
	return b.Bytes()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTickMix is one remote-write interval at 1 s sampling of 1,700 series: read the
// tick's samples from the history, encode and compress them, and send them to a loopback
// receiver that decodes nothing. cpu-%-at-1s is the process CPU time (this side and the
// receiver's) per interval, as a share of one core; appending the tick is not counted.
func BenchmarkTickMix(b *testing.B) {
	const series = 1700
	d, err := history.Open(history.Options{Path: filepath.Join(b.TempDir(), "history.db"), Job: "gemini-flow-backend", Instance: "127.0.0.1:3001"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	reg := monitoring.New(monitoring.Options{})
	w, err := New(Options{URLs: []string{rcv.URL}, Interval: time.Second, Source: d, Metrics: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	dest := w.dests[0]
	t0 := time.Now().Truncate(time.Second).UnixMilli()
	tick := func(i int) int64 {
		ts := t0 + int64(i)*1000
		if err := d.Append(ts, mixExposition(series, i)); err != nil {
			b.Fatal(err)
		}
		return ts
	}
	for i := range 60 { // a minute of history before, as the look-behind reads
		tick(i)
		if err := w.collect(ctx, t0+int64(i)*1000-w.behind); err != nil {
			b.Fatal(err)
		}
		for dest.q.samples > 0 {
			bt, _ := dest.q.pop(ctx)
			dest.send(ctx, bt)
		}
	}
	var cpu time.Duration
	sent, queuedBytes := 0, 0
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		ts := tick(60 + i)
		b.StartTimer()
		c := cpuTime()
		if err := w.collect(ctx, ts-w.behind); err != nil {
			b.Fatal(err)
		}
		for dest.q.samples > 0 {
			bt, _ := dest.q.pop(ctx)
			sent += bt.samples
			queuedBytes += len(bt.data)
			dest.send(ctx, bt)
		}
		cpu += cpuTime() - c
	}
	b.StopTimer()
	if sent != b.N*series {
		b.Fatalf("sent %d samples, want %d", sent, b.N*series)
	}
	b.ReportMetric(float64(cpu)/float64(b.N)/float64(time.Second)*100, "cpu-%-at-1s")
	b.ReportMetric(float64(sent)/float64(b.N), "samples/op")
	b.ReportMetric(float64(queuedBytes)/float64(sent), "queued-B/sample")
}
