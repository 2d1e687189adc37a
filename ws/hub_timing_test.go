package ws

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkBroadcast measures one event from Broadcast until every connected real client
// has read it.
func BenchmarkBroadcast(b *testing.B) {
	for _, clients := range []int{100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := startServer(b, Options{})
			conns := make([]*testClient, clients)
			for i := range conns {
				conns[i] = s.dial(b)
			}
			got := make(chan struct{}, clients)
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
				s.hub.Broadcast("store.updated", payload)
				for range clients {
					<-got
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*clients), "ns/delivery")
		})
	}
}
