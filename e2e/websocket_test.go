package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// raiseFileLimit lifts the soft open-file limit to the hard one; the binary inherits it.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatalf("setrlimit: %v", err)
		}
	}
	if lim.Cur < need {
		t.Fatalf("open-file limit %d is below the %d this test needs", lim.Cur, need)
	}
}

// healthClients reads components.websocket.clientsConnected from /health.
func healthClients(t *testing.T, b *gfBinary) (float64, bool) {
	t.Helper()
	st, body := call(t, http.MethodGet, b.URL+"/health", "")
	if st != http.StatusOK {
		return -1, false
	}
	var h struct {
		Components struct {
			WebSocket struct {
				ClientsConnected *float64 `json:"clientsConnected"`
			} `json:"websocket"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &h); err != nil || h.Components.WebSocket.ClientsConnected == nil {
		t.Fatalf("/health without components.websocket.clientsConnected: %.300s", body)
	}
	return *h.Components.WebSocket.ClientsConnected, true
}

func TestWebSocketGaugeTruth(t *testing.T) {
	const clients = 500
	raiseFileLimit(t, 3*clients)
	b := startBinary(t)

	conns := make([]*websocket.Conn, clients)
	done := make([]chan struct{}, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	sem := make(chan struct{}, 32)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := d.Dial(wsURL(b), nil)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			done[i] = make(chan struct{})
			// Every client reads, so that join and leave broadcasts never fill a send queue
			// and get a survivor dropped as a slow client.
			go drain(c, done[i])
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		for i, c := range conns {
			if c != nil {
				_ = c.Close()
				<-done[i]
			}
		}
	})

	gauge := func() (float64, bool) {
		return scrape(t, b).value("gemini_flow_websocket_connections_active")
	}
	waitUntil := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			g, gok := gauge()
			h, hok := healthClients(t, b)
			if gok && hok && g == want && h == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 15s: gemini_flow_websocket_connections_active = %v, /health clientsConnected = %v; want %v", g, h, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitUntil(clients)

	// A third leave with a close frame, a third vanish with a TCP reset, a third stay.
	survivors := 0
	for i, c := range conns {
		switch i % 3 {
		case 0:
			closeWS(c)
		case 1:
			if tcp, ok := c.NetConn().(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			} else {
				t.Fatalf("client %d: underlying connection is %T, not *net.TCPConn", i, c.NetConn())
			}
			_ = c.NetConn().Close()
		default:
			survivors++
			continue
		}
		<-done[i]
		conns[i] = nil
	}
	waitUntil(float64(survivors))

	// The survivors are really connected: each still gets answers.
	for i, c := range conns {
		if c == nil || i%30 != 2 {
			continue
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
			t.Errorf("survivor %d: %v", i, err)
		}
	}
	for i, c := range conns {
		if c != nil {
			select {
			case <-done[i]:
				t.Errorf("survivor %d was disconnected", i)
			default:
			}
		}
	}
	g, _ := gauge()
	if g != float64(survivors) {
		t.Errorf("gauge %v after pinging survivors, want %d", g, survivors)
	}
}
