package ws

import (
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// queuedBytes is what waits in every client's send queue.
func (h *Hub) queuedBytes() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	total := 0
	for c := range h.clients {
		c.qmu.Lock()
		total += c.queued
		c.qmu.Unlock()
	}
	return total
}

// Clients that send pings as fast as they can and never read hold at most ReplyQueueBytes of
// pongs each in the hub, instead of growing to SendQueueBytes.
func TestSendersThatNeverReadHoldLittle(t *testing.T) {
	const clients, flood = 20, 1500 * time.Millisecond
	s := startServer(t, Options{})
	limit := s.hub.opts.ReplyQueueBytes
	conns := make([]*testClient, clients)
	for i := range conns {
		conns[i] = s.dial(t)
		stall(conns[i])
	}
	stop := make(chan struct{})
	var peak int
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peak = max(peak, s.hub.queuedBytes())
			}
		}
	}()
	var wg sync.WaitGroup
	sent := make([]int, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.conn.SetWriteDeadline(time.Now().Add(flood))
			for c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) == nil {
				sent[i]++
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	total := 0
	for _, n := range sent {
		total += n
	}
	// A reply is well under 1 KiB; one may pass the bound before reading pauses.
	if bound := clients * (limit + 1<<10); peak > bound {
		t.Fatalf("%d clients sending %d pings without reading queued %d bytes at peak, want at most %d", clients, total, peak, bound)
	}
	if total < clients*limit/100 {
		t.Fatalf("only %d pings sent: the flood did not fill a reply queue", total)
	}
	t.Logf("%d pings sent by %d clients that never read; peak queued %d bytes (bound %d)", total, clients, peak, clients*(limit+1<<10))
}
