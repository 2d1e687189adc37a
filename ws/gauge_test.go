package ws

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// However clients leave (closing handshake, TCP reset, or not at all), Count and the gauge
// settle on the clients really connected.
func TestGaugeEqualsSurvivors(t *testing.T) {
	const total = 500
	// Each survivor is sent one client.disconnected per departure, 333 of them in a burst,
	// which the default queue must absorb.
	s := startServer(t, Options{})

	clients := s.dialMany(t, total)
	readerDone := make([]chan struct{}, total)
	var wg sync.WaitGroup

	// Every client drains what it is sent (the others' client.disconnected), as a browser would.
	for i, c := range clients {
		readerDone[i] = make(chan struct{})
		_ = c.conn.SetReadDeadline(time.Time{})
		go func() {
			defer close(readerDone[i])
			for {
				if _, _, err := c.conn.NextReader(); err != nil {
					return
				}
			}
		}()
	}

	survivors := 0
	for i, c := range clients {
		switch i % 3 {
		case 0: // closing handshake; the reader goroutine sees the echo and ends
			wg.Go(func() {
				_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
				<-readerDone[i]
				_ = c.conn.Close()
			})
		case 1: // abrupt reset: RST instead of FIN, no close frame
			tcp := c.conn.NetConn().(*net.TCPConn)
			if err := tcp.SetLinger(0); err != nil {
				t.Fatal(err)
			}
			_ = tcp.Close()
			<-readerDone[i]
		default:
			survivors++
		}
	}
	wg.Wait()
	s.connectedEquals(t, survivors)
	t.Logf("%d clients, %d survivors", total, survivors)
}
