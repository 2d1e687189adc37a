package notify

import "sync"

// queue is a bounded FIFO of alerts; when full, the oldest are dropped, as Prometheus's
// notifier drops them.
type queue struct {
	mu    sync.Mutex
	items []Alert
	cap   int
	ready chan struct{} // holds one token while items is not empty
}

func newQueue(capacity int) *queue {
	return &queue{cap: capacity, ready: make(chan struct{}, 1)}
}

// push adds alerts and returns how many old ones it dropped to make room.
func (q *queue) push(alerts []Alert) (dropped int) {
	q.mu.Lock()
	if len(alerts) > q.cap {
		dropped += len(alerts) - q.cap
		alerts = alerts[len(alerts)-q.cap:]
	}
	if over := len(q.items) + len(alerts) - q.cap; over > 0 {
		dropped += over
		q.items = q.items[over:]
	}
	q.items = append(q.items, alerts...)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped
}

// pop takes up to max alerts from the front.
func (q *queue) pop(max int) []Alert {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.items))
	out := append([]Alert(nil), q.items[:n]...)
	q.items = q.items[n:]
	if len(q.items) > 0 {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return out
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
