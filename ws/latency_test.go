package ws

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Delivery latency to normal clients, without and then with one client that stops reading.
// Timing ratios are only logged: speed is judged by the benchmarks, and the one bound here
// is far above anything but a hub that waits on the stalled client.
func TestLatencyWithStalledClient(t *testing.T) {
	const readers, messages = 20, 200
	s := startServer(t, Options{SendQueueBytes: 32 << 10})
	clients := make([]*testClient, readers)
	for i := range clients {
		clients[i] = s.dial(t)
	}
	blob := strings.Repeat("z", 2<<10)

	clean := lockstep(t, clients, messages, blob, s.hub.Broadcast)

	stalled := s.dial(t)
	stall(stalled)
	s.connectedEquals(t, readers+1)
	withStall := lockstep(t, clients, messages, blob, s.hub.Broadcast)
	s.connectedEquals(t, readers) // the stalled client was dropped, every reader got every message

	p := func(name string, d []time.Duration) time.Duration {
		slices.Sort(d)
		p50, p99 := d[len(d)/2], d[len(d)*99/100]
		t.Logf("%s: %d deliveries, p50 %v, p99 %v", name, len(d), p50, p99)
		return p99
	}
	p("without stalled client", clean)
	if p99 := p("with stalled client", withStall); p99 > 2*time.Second {
		t.Fatalf("p99 %v with a stalled client: the hub waited on it", p99)
	}
}
