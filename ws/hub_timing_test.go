package ws

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkBroadcast measures events from Broadcast until every connected real client has
// read them: one at a time (burst=1), and in bursts of small events sent back to back, as
// when many clients leave at once (burst=200).
func BenchmarkBroadcast(b *testing.B) {
	for _, bc := range []struct{ clients, burst int }{{100, 1}, {1000, 1}, {100, 200}, {1000, 200}} {
		b.Run(fmt.Sprintf("clients=%d/burst=%d", bc.clients, bc.burst), func(b *testing.B) {
			s := startServer(b, Options{})
			conns := make([]*testClient, bc.clients)
			for i := range conns {
				conns[i] = s.dial(b)
			}
			got := make(chan struct{}, bc.clients)
			stop := make(chan struct{})
			var readers sync.WaitGroup
			for _, c := range conns {
				_ = c.conn.SetReadDeadline(time.Time{})
				readers.Go(func() {
					for {
						if _, _, err := c.conn.NextReader(); err != nil {
							return
						}
						select {
						case got <- struct{}{}:
						case <-stop:
							return
						}
					}
				})
			}
			b.Cleanup(func() {
				close(stop)
				for _, c := range conns {
					_ = c.conn.Close()
				}
				readers.Wait()
			})
			payload := map[string]any{"nodeCount": 3, "edgeCount": 2, "lastUpdate": time.Now().UnixMilli()}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for range bc.burst {
					s.hub.Broadcast("store.updated", payload)
				}
				for range bc.clients * bc.burst {
					<-got
				}
			}
			b.StopTimer()
			if n := s.hub.Count(); n != bc.clients {
				b.Fatalf("%d of %d clients still connected", n, bc.clients)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.clients*bc.burst), "ns/delivery")
		})
	}
}
