package ws

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// fasthttp refreshes its Date header from one process-wide goroutine that never ends.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
}

// recorder is an Observer that keeps what the hub reported.
type recorder struct {
	gauge atomic.Int64
	mu    sync.Mutex
	msgs  map[[2]string]int
}

func newRecorder() *recorder { return &recorder{msgs: make(map[[2]string]int)} }

func (r *recorder) WSConnected()    { r.gauge.Add(1) }
func (r *recorder) WSDisconnected() { r.gauge.Add(-1) }
func (r *recorder) WSMessages(direction, eventType string, n int) {
	r.mu.Lock()
	r.msgs[[2]string{direction, eventType}] += n
	r.mu.Unlock()
}

func (r *recorder) count(direction, eventType string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs[[2]string{direction, eventType}]
}

// testServer is a real fasthttp server on 127.0.0.1 upgrading /ws into the hub, as the
// server package does.
type testServer struct {
	hub *Hub
	obs *recorder
	url string
}

func startServer(t testing.TB, opts Options) *testServer {
	t.Helper()
	obs := newRecorder()
	if opts.Metrics == nil {
		opts.Metrics = obs
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	hub := NewHub(opts)
	upgrader := websocket.FastHTTPUpgrader{CheckOrigin: func(*fasthttp.RequestCtx) bool { return true }}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if err := upgrader.Upgrade(ctx, hub.Serve); err != nil {
				t.Errorf("upgrade: %v", err)
			}
		},
		// The worker pool's cleaner notices Shutdown only after one idle period.
		MaxIdleWorkerDuration: 50 * time.Millisecond,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(smallSendBuffers{ln.(*net.TCPListener)})
	}()
	t.Cleanup(func() {
		hub.Close()
		_ = srv.Shutdown()
		<-served
	})
	return &testServer{hub: hub, obs: obs, url: "ws://" + ln.Addr().String() + "/ws"}
}

// smallSendBuffers caps the kernel send buffer of accepted sockets, so that a client that
// stops reading fills what lies between it and the hub within a few hundred KiB rather than
// the several MiB Linux would otherwise buffer.
type smallSendBuffers struct{ *net.TCPListener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	_ = c.SetWriteBuffer(32 << 10)
	return c, nil
}

// wireFrame is a frame as a client decodes it.
type wireFrame struct {
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload"`
	Timestamp string          `json:"timestamp"`
	ClientID  *string         `json:"clientId"`
}

// testClient is a real WebSocket client; dial returns it after its client.connected frame.
type testClient struct {
	conn *websocket.Conn
	id   string
}

func (s *testServer) dial(t testing.TB) *testClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, s.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &testClient{conn: conn}
	f := c.next(t)
	if f.Type != TypeConnected {
		t.Fatalf("first frame %q, want %s", f.Type, TypeConnected)
	}
	var p connectedPayload
	if err := json.Unmarshal(f.Payload, &p); err != nil || p.ClientID == "" {
		t.Fatalf("client.connected payload %s: %v", f.Payload, err)
	}
	c.id = p.ClientID
	return c
}

// next reads one data frame within 5 s.
func (c *testClient) next(t testing.TB) wireFrame {
	t.Helper()
	f, err := c.read()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return f
}

func (c *testClient) read() (wireFrame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		return wireFrame{}, err
	}
	var f wireFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return wireFrame{}, err
	}
	return f, nil
}

func (c *testClient) sendText(t testing.TB, s string) {
	t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// closeCleanly runs the client side of the closing handshake.
func (c *testClient) closeCleanly(t testing.TB) {
	t.Helper()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatalf("write close: %v", err)
	}
	for {
		if _, err := c.read(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Errorf("close echo: %v", err)
			}
			break
		}
	}
	_ = c.conn.Close()
}

// eventually polls cond every 5 ms for up to 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialMany dials n clients, 16 at a time, and waits until all n are counted.
func (s *testServer) dialMany(t testing.TB, n int) []*testClient {
	t.Helper()
	clients := make([]*testClient, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range next {
				clients[i] = s.dial(t)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	s.connectedEquals(t, n)
	return clients
}

// connectedEquals waits until Count and the observer's gauge both equal n.
func (s *testServer) connectedEquals(t testing.TB, n int) {
	t.Helper()
	eventually(t, "connected clients", func() bool {
		return s.hub.Count() == n && s.obs.gauge.Load() == int64(n)
	})
}

func decodeError(t testing.TB, f wireFrame) errorPayload {
	t.Helper()
	if f.Type != TypeError {
		t.Fatalf("frame %q, want error", f.Type)
	}
	var p errorPayload
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		t.Fatalf("error payload %s: %v", f.Payload, err)
	}
	if p.Message == "" || p.Details == nil {
		t.Fatalf("error payload lacks message or details: %s", f.Payload)
	}
	return p
}
