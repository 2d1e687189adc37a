package ws

import (
	"encoding/json"
	"sync"
	"testing"
)

// When most clients leave at once, the burst of client.disconnected events reaches every
// survivor in full and costs none of them its connection.
func TestDepartureBurstKeepsSurvivors(t *testing.T) {
	const total, leaving = 300, 250
	s := startServer(t, Options{})
	clients := s.dialMany(t, total)
	var wg sync.WaitGroup

	gone := make(map[string]bool, leaving)
	for _, c := range clients[:leaving] {
		gone[c.id] = true
	}
	survivors := clients[leaving:]
	seen := make([]map[string]bool, len(survivors))
	errs := make(chan error, len(survivors))
	for i, c := range survivors {
		seen[i] = make(map[string]bool, leaving)
		wg.Go(func() {
			for len(seen[i]) < leaving {
				f, err := c.read()
				if err != nil {
					errs <- err
					return
				}
				if f.Type != TypeDisconnected {
					continue
				}
				var p disconnectedPayload
				if err := json.Unmarshal(f.Payload, &p); err != nil {
					errs <- err
					return
				}
				seen[i][p.ClientID] = true
			}
		})
	}
	for _, c := range clients[:leaving] {
		_ = c.conn.Close()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("survivor stopped reading: %v", err)
	}
	for i, c := range survivors {
		for id := range gone {
			if !seen[i][id] {
				t.Fatalf("survivor %s missed client.disconnected for %s", c.id, id)
			}
		}
		if len(seen[i]) != leaving {
			t.Fatalf("survivor %s saw %d departures, want %d", c.id, len(seen[i]), leaving)
		}
	}
	s.connectedEquals(t, len(survivors))
	// Every survivor still answers: its connection was not cut behind the last event read.
	for _, c := range survivors {
		c.sendText(t, `{"type":"ping"}`)
		for {
			f := c.next(t)
			if f.Type == TypePong {
				break
			}
		}
	}
	// Departing clients may have been written some before they went; never more than all.
	if got, least, most := s.obs.count(Outbound, TypeDisconnected), leaving*len(survivors), leaving*(total-1); got < least || got > most {
		t.Fatalf("outbound client.disconnected counted %d, want %d..%d", got, least, most)
	}
}
