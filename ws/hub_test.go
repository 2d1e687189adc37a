package ws

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func TestConnectAndDisconnectEvents(t *testing.T) {
	s := startServer(t, Options{})
	a := s.dial(t)
	b := s.dial(t)
	if a.id == b.id || !strings.HasPrefix(a.id, "client-") {
		t.Fatalf("client ids %q and %q", a.id, b.id)
	}
	s.connectedEquals(t, 2)

	b.closeCleanly(t)
	f := a.next(t)
	if f.Type != TypeDisconnected || f.ClientID != nil {
		t.Fatalf("got %q clientId %v, want %s with clientId null", f.Type, f.ClientID, TypeDisconnected)
	}
	var p disconnectedPayload
	if err := json.Unmarshal(f.Payload, &p); err != nil || p.ClientID != b.id {
		t.Fatalf("disconnected payload %s, want clientId %s", f.Payload, b.id)
	}
	if _, err := time.Parse(time.RFC3339, f.Timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", f.Timestamp, err)
	}
	s.connectedEquals(t, 1)
	if got := s.obs.count(Outbound, TypeConnected); got != 2 {
		t.Fatalf("outbound client.connected counted %d, want 2", got)
	}
}

// Each request frame gets one reply, addressed to the client that sent it.
func TestRequestReplies(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	f := func(send, wantType, wantCode, wantLabel string) {
		t.Helper()
		before := s.obs.count(Inbound, wantLabel)
		c.sendText(t, send)
		got := c.next(t)
		if got.Type != wantType {
			t.Fatalf("%s: reply %q, want %q", send, got.Type, wantType)
		}
		if got.ClientID == nil || *got.ClientID != c.id {
			t.Fatalf("%s: reply clientId %v, want %s", send, got.ClientID, c.id)
		}
		if wantCode != "" {
			if p := decodeError(t, got); p.Code != wantCode {
				t.Fatalf("%s: code %q, want %q", send, p.Code, wantCode)
			}
		}
		if after := s.obs.count(Inbound, wantLabel); after != before+1 {
			t.Fatalf("%s: inbound %q counted %d -> %d", send, wantLabel, before, after)
		}
	}
	f(`{"type":"ping"}`, TypePong, "", TypePing)
	f(`not json`, TypeError, CodeParseError, monitoring.Unknown)
	f(`{"type":`, TypeError, CodeParseError, monitoring.Unknown)
	f(`[1,2]`, TypeError, CodeParseError, monitoring.Unknown)
	f(`{"payload":{}}`, TypeError, CodeParseError, monitoring.Unknown)
	f(`{"type":7}`, TypeError, CodeParseError, monitoring.Unknown)
	f(`{"type":"subscribe","payload":{"topic":"secrets"}}`, TypeError, CodeInvalidTopic, TypeSubscribe)
	f(`{"type":"subscribe"}`, TypeError, CodeInvalidTopic, TypeSubscribe)
	f(`{"type":"unsubscribe","payload":"metrics"}`, TypeError, CodeParseError, TypeUnsubscribe)
	f(`{"type":"subscribe","payload":{"topic":"metrics"}}`, TypeSubscribe, "", TypeSubscribe)
	if got := s.obs.count(Outbound, TypePong); got != 1 {
		t.Fatalf("outbound pong counted %d, want 1", got)
	}
}

func TestUnknownTypeIgnoredAndCounted(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	c.sendText(t, `{"type":"attacker.chosen.label","payload":1}`)
	c.sendText(t, `{"type":"workflow.created"}`)
	c.sendText(t, `{"type":"ping"}`)
	// Frames are handled in order, so the first reply after the pings' pong proves nothing
	// was answered to the two ignored ones.
	if f := c.next(t); f.Type != TypePong {
		t.Fatalf("got %q, want pong only", f.Type)
	}
	if got := s.obs.count(Inbound, monitoring.Unknown); got != 1 {
		t.Fatalf("inbound unknown = %d, want 1", got)
	}
	if got := s.obs.count(Inbound, "workflow.created"); got != 1 {
		t.Fatalf("inbound workflow.created = %d, want 1", got)
	}
	if got := s.obs.count(Inbound, "attacker.chosen.label"); got != 0 {
		t.Fatalf("client text became a label")
	}
}

// An oversized message gets the error frame first, then close 1009, and the client leaves.
func TestMessageTooLarge(t *testing.T) {
	const limit = 1024
	s := startServer(t, Options{MaxMessageBytes: limit})
	c := s.dial(t)
	c.sendText(t, `{"type":"ping","payload":"`+strings.Repeat("x", 200)+`"}`)
	if f := c.next(t); f.Type != TypePong {
		t.Fatalf("message under the limit: got %q", f.Type)
	}
	c.sendText(t, `{"type":"ping","payload":"`+strings.Repeat("x", 4*limit)+`"}`)
	if p := decodeError(t, c.next(t)); p.Code != CodeMessageTooLarge {
		t.Fatalf("code %q, want %s", p.Code, CodeMessageTooLarge)
	}
	_, err := c.read()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("after the error: %v, want close 1009", err)
	}
	s.connectedEquals(t, 0)
	if got := s.obs.count(Inbound, monitoring.Unknown); got != 1 {
		t.Fatalf("inbound unknown = %d, want 1", got)
	}
}

func TestTopics(t *testing.T) {
	s := startServer(t, Options{})
	sub := s.dial(t)
	editor := s.dial(t)
	sub.sendText(t, `{"type":"subscribe","payload":{"topic":"metrics"}}`)
	ack := sub.next(t)
	var p subscriptionPayload
	if err := json.Unmarshal(ack.Payload, &p); ack.Type != TypeSubscribe || err != nil || !p.Subscribed || p.Topic != TopicMetrics {
		t.Fatalf("subscribe ack %q %s", ack.Type, ack.Payload)
	}

	s.hub.Publish(TopicMetrics, TypeMetrics, map[string]int{"series": 1})
	s.hub.Broadcast(TypeMetrics, map[string]int{"series": 2}) // topic-bound even when broadcast
	s.hub.Publish("nope", TypeMetrics, nil)                   // unknown topic reaches nobody
	s.hub.Broadcast("store.updated", map[string]int{"nodeCount": 0})
	for _, want := range []string{TypeMetrics, TypeMetrics, "store.updated"} {
		if f := sub.next(t); f.Type != want {
			t.Fatalf("subscriber got %q, want %q", f.Type, want)
		}
	}
	if f := editor.next(t); f.Type != "store.updated" {
		t.Fatalf("editor got %q, want store.updated only", f.Type)
	}

	sub.sendText(t, `{"type":"unsubscribe","payload":{"topic":"metrics"}}`)
	if f := sub.next(t); f.Type != TypeUnsubscribe {
		t.Fatalf("unsubscribe ack %q", f.Type)
	}
	s.hub.Publish(TopicMetrics, TypeMetrics, nil)
	s.hub.Broadcast("store.synced", nil)
	if f := sub.next(t); f.Type != "store.synced" {
		t.Fatalf("after unsubscribe got %q, want store.synced", f.Type)
	}
	if got := s.obs.count(Outbound, TypeMetrics); got != 2 {
		t.Fatalf("outbound metrics.sampled = %d, want 2", got)
	}
}

// A client that never answers pings is dropped; one that does stays.
func TestHeartbeatDropsSilentClient(t *testing.T) {
	// Long enough that a reading client under -race on a busy machine always answers in time.
	const interval = 200 * time.Millisecond
	s := startServer(t, Options{PingInterval: interval})
	live := s.dial(t)
	silent := s.dial(t)
	silent.conn.SetPingHandler(func(string) error { return nil })

	liveErr := make(chan error, 1)
	_ = live.conn.SetReadDeadline(time.Time{})
	go func() {
		for {
			if _, _, err := live.conn.NextReader(); err != nil {
				liveErr <- err
				return
			}
		}
	}()
	s.connectedEquals(t, 1)
	// The silent client's socket was cut: reading what is left ends in an error, not a timeout.
	for {
		_, err := silent.read()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("silent client still connected")
		}
		if err != nil {
			break
		}
	}
	time.Sleep(6 * interval) // several more heartbeats for the live client
	select {
	case err := <-liveErr:
		t.Fatalf("live client dropped: %v", err)
	default:
	}
	if n := s.hub.Count(); n != 1 {
		t.Fatalf("live client dropped: count %d", n)
	}
	_ = live.conn.Close()
	if err := <-liveErr; err == nil {
		t.Fatal("live reader ended without error")
	}
	s.connectedEquals(t, 0)
}

// A client that stops reading is dropped once its queue fills; the others get every message.
func TestSlowClientDropped(t *testing.T) {
	s := startServer(t, Options{SendQueueBytes: 64 << 10})
	fast := []*testClient{s.dial(t), s.dial(t), s.dial(t)}
	slow := s.dial(t)
	stall(slow)
	s.connectedEquals(t, 4)
	// 200 x 8 KiB is far more than the kernel buffers between the hub and the stalled client.
	lockstep(t, fast, 200, strings.Repeat("y", 8<<10), s.hub.Broadcast)
	s.connectedEquals(t, 3)
}

// stall makes a client stop reading, with a small receive buffer so that the hub's writes
// to it block sooner.
func stall(c *testClient) {
	if tcp, ok := c.conn.NetConn().(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(4096)
	}
}

type seqPayload struct {
	Seq  int    `json:"seq"`
	Sent int64  `json:"sent"`
	Blob string `json:"blob,omitempty"`
}

// lockstep broadcasts n numbered store.updated events, each once every reader has received
// the one before, checks that every reader gets all of them in order, and returns the
// delivery latencies (n per reader).
func lockstep(t testing.TB, readers []*testClient, n int, blob string, broadcast func(string, any)) []time.Duration {
	t.Helper()
	got := make(chan time.Duration, len(readers))
	failed := make(chan error, len(readers))
	for _, c := range readers {
		go func() {
			if err := receiveSequence(c, n, got); err != nil {
				failed <- err
			}
		}()
	}
	latencies := make([]time.Duration, 0, n*len(readers))
	for i := range n {
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			broadcast("store.updated", seqPayload{Seq: i, Sent: time.Now().UnixNano(), Blob: blob})
		}()
		timeout := time.NewTimer(10 * time.Second)
		select {
		case <-returned:
		case <-timeout.C:
			t.Fatalf("message %d: Broadcast blocked", i)
		}
		for range readers {
			select {
			case d := <-got:
				latencies = append(latencies, d)
			case err := <-failed:
				t.Fatalf("message %d: %v", i, err)
			case <-timeout.C:
				t.Fatalf("message %d: not delivered to every reader within 10s", i)
			}
		}
		timeout.Stop()
	}
	return latencies
}

// receiveSequence reads store.updated frames until it has seen seq 0..n-1 in order,
// reporting each one's latency.
func receiveSequence(c *testClient, n int, got chan<- time.Duration) error {
	for want := 0; want < n; {
		f, err := c.read()
		if err != nil {
			return err
		}
		if f.Type != "store.updated" {
			continue
		}
		var p seqPayload
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			return err
		}
		if p.Seq != want {
			return fmt.Errorf("got message %d, want %d", p.Seq, want)
		}
		got <- time.Duration(time.Now().UnixNano() - p.Sent)
		want++
	}
	return nil
}

func TestCloseSendsGoingAway(t *testing.T) {
	s := startServer(t, Options{})
	clients := []*testClient{s.dial(t), s.dial(t), s.dial(t)}
	deaf := s.dial(t) // never reads, so never answers the close frame: Close must not wait on it
	s.connectedEquals(t, 4)
	ended := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			for {
				if _, err := c.read(); err != nil {
					ended <- err
					return
				}
			}
		}()
	}
	s.hub.Close()
	if n, g := s.hub.Count(), s.obs.gauge.Load(); n != 0 || g != 0 {
		t.Fatalf("after Close: count %d gauge %d", n, g)
	}
	for range clients {
		if err := <-ended; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("client got %v, want close 1001", err)
		}
	}
	if _, err := deaf.read(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("deaf client got %v, want close 1001 in its buffer", err)
	}
	// A connection arriving after Close is turned away the same way.
	conn, _, err := websocket.DefaultDialer.Dial(s.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("late client got %v, want close 1001", err)
	}
	if n, g := s.hub.Count(), s.obs.gauge.Load(); n != 0 || g != 0 {
		t.Fatalf("late client counted: count %d gauge %d", n, g)
	}
}
