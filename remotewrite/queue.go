package remotewrite

import (
	"context"
	"sync"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// batch is one encoded, compressed WriteRequest and the samples it holds.
type batch struct {
	data    []byte
	samples int
}

// queue holds batches waiting to be sent, at most limit samples: a push beyond the bound
// drops the oldest batches (the receiver is behind; the newest samples matter most) and
// reports how many samples went.
type queue struct {
	mu      sync.Mutex
	list    []batch
	samples int
	limit   int
	ready   chan struct{} // holds a token while list is not empty
	rec     *monitoring.RemoteWriteRecorder
}

func newQueue(limit int, rec *monitoring.RemoteWriteRecorder) *queue {
	return &queue{limit: limit, ready: make(chan struct{}, 1), rec: rec}
}

// push adds b, dropping the oldest batches to stay within the bound, and counts what it
// dropped; it never blocks.
func (q *queue) push(b batch) {
	q.mu.Lock()
	defer q.mu.Unlock()
	dropped := 0
	defer func() {
		q.rec.Queued(q.samples)
		if dropped > 0 {
			q.rec.Dropped(monitoring.DropQueueFull, dropped)
		}
	}()
	if b.samples > q.limit {
		dropped = b.samples
		return
	}
	n := 0
	for q.samples+b.samples > q.limit {
		dropped += q.list[n].samples
		q.samples -= q.list[n].samples
		q.list[n] = batch{}
		n++
	}
	q.list = append(q.list[n:], b)
	q.samples += b.samples
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop waits for the oldest batch; ok is false once ctx is done.
func (q *queue) pop(ctx context.Context) (b batch, ok bool) {
	for {
		q.mu.Lock()
		if len(q.list) > 0 {
			b = q.list[0]
			q.list[0] = batch{}
			q.list = q.list[1:]
			q.samples -= b.samples
			if len(q.list) > 0 {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			q.rec.Queued(q.samples)
			q.mu.Unlock()
			return b, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return batch{}, false
		case <-q.ready:
		}
	}
}
