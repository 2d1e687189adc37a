package notify

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// countingMetrics records what the notifier counts.
type countingMetrics struct {
	sent, errors, dropped atomic.Int64
}

func (m *countingMetrics) NotificationsSent(_ string, n int) { m.sent.Add(int64(n)) }
func (m *countingMetrics) NotificationErrors(string)         { m.errors.Add(1) }
func (m *countingMetrics) NotificationsDropped(n int)        { m.dropped.Add(int64(n)) }
func (m *countingMetrics) NotificationQueue(int, int)        {}

func alert(name string, ends time.Time) Alert {
	return Alert{Labels: labels.FromStrings("alertname", name, "instance", "a"), Annotations: labels.FromStrings("summary", "s"),
		StartsAt: time.Unix(1000, 0).UTC(), EndsAt: ends}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestQueueDropsOldest: a full queue keeps the newest alerts and reports what it dropped.
func TestQueueDropsOldest(t *testing.T) {
	tests := []struct {
		cap, have, push, wantDropped, wantLen int
	}{
		{cap: 3, have: 0, push: 2, wantDropped: 0, wantLen: 2},
		{cap: 3, have: 2, push: 2, wantDropped: 1, wantLen: 3},
		{cap: 3, have: 0, push: 5, wantDropped: 2, wantLen: 3},
	}
	for _, tt := range tests {
		q := newQueue(tt.cap)
		mk := func(n, from int) []Alert {
			var out []Alert
			for i := range n {
				out = append(out, Alert{GeneratorURL: string(rune('a' + from + i))})
			}
			return out
		}
		q.push(mk(tt.have, 0))
		if d := q.push(mk(tt.push, tt.have)); d != tt.wantDropped || q.len() != tt.wantLen {
			t.Errorf("%+v: dropped %d, len %d", tt, d, q.len())
		}
		got := q.pop(100)
		if last := got[len(got)-1].GeneratorURL; last != string(rune('a'+tt.have+tt.push-1)) {
			t.Errorf("%+v: newest alert lost, last is %q", tt, last)
		}
	}
}

// TestRetriesThenSucceeds: a receiver failing twice gets the batch on the third attempt.
func TestRetriesThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	var got []Alert
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" || r.Method != http.MethodPost {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewDecoder(r.Body).Decode(&got)
	}))
	defer srv.Close()
	m := &countingMetrics{}
	n := New(Options{AlertmanagerURLs: []string{srv.URL + "/"}, Metrics: m})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	n.Send(alert("A", time.Unix(2000, 0).UTC()))
	waitUntil(t, "the third attempt", func() bool { return m.sent.Load() == 1 })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if calls.Load() != 3 || len(got) != 1 || got[0].Labels.Get("alertname") != "A" || !got[0].EndsAt.Equal(time.Unix(2000, 0)) {
		t.Fatalf("calls %d, got %+v", calls.Load(), got)
	}
	if m.errors.Load() != 0 || m.dropped.Load() != 0 {
		t.Fatalf("errors %d dropped %d", m.errors.Load(), m.dropped.Load())
	}
}

// TestDeadAlertmanagerNeverBlocks: with nothing listening, Send returns at once, every
// batch is counted as an error and its alerts as dropped.
func TestDeadAlertmanagerNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	m := &countingMetrics{}
	n := New(Options{AlertmanagerURLs: []string{dead}, Metrics: m, QueueCapacity: 10})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	start := time.Now()
	for range 1000 {
		n.Send(alert("A", time.Time{}))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("1000 sends took %v", d)
	}
	waitUntil(t, "a failed send", func() bool { return m.errors.Load() >= 1 })
	cancel()
	<-done
	if m.dropped.Load() < 990 || m.sent.Load() != 0 {
		t.Fatalf("dropped %d sent %d", m.dropped.Load(), m.sent.Load())
	}
}

// TestWebhookGroups: a group is posted when an alert starts firing and when it resolves,
// not on every resend, and again after the repeat interval.
func TestWebhookGroups(t *testing.T) {
	w := newWebhook("http://hook", "http://gf")
	now := time.Unix(10_000, 0).UTC()
	firing := alert("A", now.Add(4*time.Minute))
	steps := []struct {
		at     time.Duration
		batch  []Alert
		status []string // one per message, "" for none
	}{
		{0, []Alert{firing}, []string{"firing"}},
		{time.Minute, []Alert{firing}, nil},
		{2 * time.Minute, []Alert{firing, alert("B", now.Add(6*time.Minute))}, []string{"firing"}},
		{3 * time.Minute, []Alert{alert("A", now.Add(3*time.Minute))}, []string{"resolved"}},
		{4 * time.Minute, []Alert{alert("A", now.Add(3*time.Minute))}, nil},
		{5*time.Minute + repeatInterval, []Alert{alert("B", now.Add(repeatInterval+9*time.Minute))}, []string{"firing"}},
	}
	for _, s := range steps {
		msgs := w.messages(s.batch, now.Add(s.at))
		var got []string
		for _, m := range msgs {
			got = append(got, m.Status)
			if m.Version != "4" || m.Receiver == "" || m.GroupLabels["alertname"] == "" || m.ExternalURL != "http://gf" {
				t.Errorf("at %v: message %+v", s.at, m)
			}
		}
		if len(got) != len(s.status) || (len(got) > 0 && got[0] != s.status[0]) {
			t.Errorf("at %v: messages %v, want %v", s.at, got, s.status)
		}
	}
}

// BenchmarkSendToDeadAlertmanager is what evaluation pays per batch handed over while the
// only Alertmanager is down: a queue push, whatever the delivery goroutine is doing.
func BenchmarkSendToDeadAlertmanager(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	n := New(Options{AlertmanagerURLs: []string{dead}, Metrics: &countingMetrics{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	batch := []Alert{alert("A", time.Time{}), alert("B", time.Time{})}
	for b.Loop() {
		n.Send(batch...)
	}
}
