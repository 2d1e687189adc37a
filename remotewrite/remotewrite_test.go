package remotewrite_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/remotewrite"
	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// receiver is a remote-write endpoint that decodes what it gets and answers with the
// status its respond function picks.
type receiver struct {
	mu       sync.Mutex
	samples  map[string][]prompb.Sample // by series text
	requests int
	respond  func(n int) int // status for the n-th request (from 1)
	headerOK bool
	srv      *httptest.Server
}

func newReceiver(t *testing.T, respond func(n int) int) *receiver {
	r := &receiver{samples: map[string][]prompb.Sample{}, respond: respond, headerOK: true}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if req.Header.Get("Content-Encoding") != "snappy" || req.Header.Get("Content-Type") != "application/x-protobuf" ||
		req.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" || req.Method != http.MethodPost {
		r.headerOK = false
	}
	status := r.respond(r.requests)
	if status/100 != 2 {
		w.WriteHeader(status)
		return
	}
	raw, err := snappy.Decode(nil, body)
	var wr prompb.WriteRequest
	if err == nil {
		err = wr.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, ts := range wr.Timeseries {
		var b strings.Builder
		for i, l := range ts.Labels {
			if i > 0 && ts.Labels[i-1].Name >= l.Name {
				r.headerOK = false // labels must come sorted
			}
			fmt.Fprintf(&b, "%s=%q,", l.Name, l.Value)
		}
		r.samples[b.String()] = append(r.samples[b.String()], ts.Samples...)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.samples {
		n += len(s)
	}
	return n
}

// live is a history fed by hand at timestamps just after now.
type live struct {
	d    *history.DB
	next int64 // timestamp of the next tick: set after the writer started
}

func newLive(t *testing.T) *live {
	d, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "j", Instance: "i"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &live{d: d}
}

// tick appends one exposition of n series "g{k="0"}"… at the next millisecond.
func (l *live) tick(t *testing.T, n int, v float64) {
	var b bytes.Buffer
	for k := range n {
		fmt.Fprintf(&b, "g{k=\"%d\"} %g\n", k, v)
	}
	if err := l.d.Append(l.next, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	l.next++
}

func start(t *testing.T, o remotewrite.Options) context.CancelFunc {
	t.Helper()
	w, err := remotewrite.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	time.Sleep(20 * time.Millisecond) // Run's cursor starts at its start: samples come after
	t.Cleanup(func() { cancel(); <-done })
	return cancel
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric reads one series of the registry's exposition; 0 when absent.
func metric(reg *monitoring.Registry, series string) float64 {
	var b bytes.Buffer
	reg.WritePrometheus(&b)
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// Every sample reaches the receiver with its timestamp and value, the staleness marker of a
// series that went away included, in a remote-write 1.0 request.
func TestSendsEverySample(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusNoContent })
	l := newLive(t)
	reg := monitoring.New(monitoring.Options{})
	start(t, remotewrite.Options{URLs: []string{rcv.srv.URL + "/api/v1/write"}, Interval: 10 * time.Millisecond, Source: l.d, Metrics: reg})
	l.next = time.Now().UnixMilli() + 1
	first := l.next
	for i := range 30 {
		n := 3
		if i >= 20 {
			n = 2 // g{k="2"} goes stale at tick 20
		}
		l.tick(t, n, float64(i))
		time.Sleep(2 * time.Millisecond)
	}
	want := 20*3 + 10*2 + 1
	waitFor(t, "every sample", func() bool { return rcv.count() >= want })
	time.Sleep(50 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if !rcv.headerOK {
		t.Error("a request lacked the remote-write 1.0 method, headers or sorted labels")
	}
	for k := range 3 {
		s := rcv.samples[fmt.Sprintf(`__name__="g",instance="i",job="j",k="%d",`, k)]
		n := 30
		if k == 2 {
			n = 21
		}
		if len(s) != n {
			t.Fatalf("series k=%d: %d samples, want %d: %v", k, len(s), n, s)
		}
		for i, smp := range s {
			if smp.Timestamp != first+int64(i) {
				t.Fatalf("series k=%d sample %d at %d, want %d", k, i, smp.Timestamp, first+int64(i))
			}
			if k == 2 && i == 20 {
				if !value.IsStaleNaN(smp.Value) {
					t.Fatalf("want a staleness marker after the last sample, got %v", smp.Value)
				}
			} else if smp.Value != float64(i) {
				t.Fatalf("series k=%d sample %d = %v", k, i, smp.Value)
			}
		}
	}
	if got := metric(reg, `gemini_flow_remote_write_samples_sent_total{url="`+rcv.srv.URL+`/api/v1/write"}`); got != float64(want) {
		t.Errorf("sent counter %v, want %d", got, want)
	}
}

// 5xx and 429 are retried until accepted; other 4xx drop the request; a queue beyond its
// bound drops its oldest samples. Every sample is either sent or counted as dropped.
func TestRetriesAndDrops(t *testing.T) {
	tests := []struct {
		name        string
		respond     func(n int) int
		queue       int
		ticks       int
		wantSent    func(total int) bool
		wantRetries bool
		dropReason  string
	}{
		{"5xx then success", func(n int) int { return map[bool]int{true: 503, false: 204}[n <= 3] }, 1000, 10,
			func(total int) bool { return true }, true, ""},
		{"429 then success", func(n int) int { return map[bool]int{true: 429, false: 200}[n <= 2] }, 1000, 10,
			func(total int) bool { return true }, true, ""},
		{"4xx drops", func(n int) int { return map[bool]int{true: 400, false: 204}[n <= 1] }, 1000, 10,
			nil, false, monitoring.DropRejected},
		{"queue bound", nil, 20, 40, nil, true, monitoring.DropQueueFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var down sync.Mutex
			respond := tt.respond
			if respond == nil {
				// Down until the test has appended every tick.
				down.Lock()
				respond = func(int) int {
					if down.TryLock() {
						down.Unlock()
						return 204
					}
					return 503
				}
			}
			rcv := newReceiver(t, respond)
			l := newLive(t)
			reg := monitoring.New(monitoring.Options{})
			u := rcv.srv.URL + "/w"
			start(t, remotewrite.Options{URLs: []string{u}, Interval: 5 * time.Millisecond, QueueSamples: tt.queue, Source: l.d, Metrics: reg})
			l.next = time.Now().UnixMilli() + 1
			for i := range tt.ticks {
				l.tick(t, 2, float64(i))
				time.Sleep(5 * time.Millisecond)
			}
			if tt.respond == nil {
				down.Unlock()
			}
			total := 2 * tt.ticks
			sent := func() float64 { return metric(reg, `gemini_flow_remote_write_samples_sent_total{url="`+u+`"}`) }
			dropped := func() float64 {
				return metric(reg, `gemini_flow_remote_write_samples_dropped_total{url="`+u+`",reason="queue_full"}`) +
					metric(reg, `gemini_flow_remote_write_samples_dropped_total{url="`+u+`",reason="rejected"}`)
			}
			waitFor(t, "every sample sent or dropped", func() bool { return sent()+dropped() == float64(total) })
			if got := rcv.count(); float64(got) != sent() {
				t.Errorf("receiver holds %d samples, sent counter says %v", got, sent())
			}
			retries := metric(reg, `gemini_flow_remote_write_retries_total{url="`+u+`"}`)
			if (retries > 0) != tt.wantRetries {
				t.Errorf("retries %v", retries)
			}
			if tt.dropReason == "" && dropped() != 0 {
				t.Errorf("dropped %v, want none", dropped())
			}
			if tt.dropReason != "" && metric(reg, `gemini_flow_remote_write_samples_dropped_total{url="`+u+`",reason="`+tt.dropReason+`"}`) == 0 {
				t.Errorf("nothing dropped for %s", tt.dropReason)
			}
			if tt.dropReason == monitoring.DropQueueFull && sent() > float64(tt.queue+2*2) {
				// The queue holds its bound; one request may be in flight beside it.
				t.Errorf("sent %v after the outage, more than the bound %d allows", sent(), tt.queue)
			}
			if q := metric(reg, `gemini_flow_remote_write_queue_samples{url="`+u+`"}`); q != 0 {
				t.Errorf("queue gauge %v after draining", q)
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	l := newLive(t)
	tests := []remotewrite.Options{
		{Interval: time.Second, Source: l.d},
		{URLs: []string{"ftp://x/w"}, Interval: time.Second, Source: l.d},
		{URLs: []string{"http://x/w"}, Source: l.d},
		{URLs: []string{"http://x/w"}, Interval: time.Second},
	}
	for i, o := range tests {
		if _, err := remotewrite.New(o); err == nil {
			t.Errorf("%d: %+v accepted", i, o)
		}
	}
}

// A sample that reaches the history after a later tick was read (a rule result stamped with
// the tick it was evaluated for) is still sent, once.
func TestSendsLateSamples(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusNoContent })
	l := newLive(t)
	start(t, remotewrite.Options{URLs: []string{rcv.srv.URL}, Interval: 10 * time.Millisecond, Source: l.d})
	l.next = time.Now().UnixMilli() + 1
	late := l.next
	l.tick(t, 1, 1)
	l.next += 100
	l.tick(t, 1, 2)
	waitFor(t, "the ticks", func() bool { return rcv.count() == 2 })
	lset := labels.FromStrings("__name__", "rule:recorded", "job", "j")
	if n := l.d.AppendSamples(late, []history.Sample{{Labels: lset, Value: 7}}); n != 1 {
		t.Fatalf("appended %d", n)
	}
	waitFor(t, "the late sample", func() bool { return rcv.count() == 3 })
	time.Sleep(50 * time.Millisecond)
	if n := rcv.count(); n != 3 {
		t.Fatalf("%d samples sent, want 3", n)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if s := rcv.samples[`__name__="rule:recorded",job="j",`]; len(s) != 1 || s[0].Timestamp != late || s[0].Value != 7 {
		t.Fatalf("late sample sent as %v", s)
	}
}
