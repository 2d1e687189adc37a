package ws

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// closeAbort marks a departure without a closing handshake: the socket is shut at once.
const closeAbort = 0

// client is one connected socket: its reader runs in Serve's goroutine, its writer in one
// goroutine of its own, and only the writer writes to the socket.
type client struct {
	hub  *Hub
	id   string
	conn *websocket.Conn

	qmu    sync.Mutex
	queue  *frameBatch   // nil while nothing waits, so an idle client holds no buffer
	queued int           // bytes in queue
	oldest int64         // Unix nanoseconds when the first frame in queue was queued
	pong   *string       // payload of the latest unanswered ping
	wake   chan struct{} // one slot: the writer has something to take
	room   chan struct{} // one slot: the writer has taken the queue, the reader may go on

	quit       chan struct{} // closed once, when the client must leave
	once       sync.Once
	closeCode  int    // written before quit is closed
	reason     string // written before quit is closed
	peerClosed bool   // written before quit is closed: the close frame is an echo, queued data is moot

	topics    atomic.Uint32 // bit i set: subscribed to topics[i]
	lastHeard atomic.Int64  // Unix nanoseconds of the last frame, ping or pong read
}

func (c *client) heard() { c.lastHeard.Store(time.Now().UnixNano()) }

func (c *client) leaving() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// leave starts the client's departure; the first call wins. With closeAbort the socket is
// closed here, which also frees a writer blocked on a client that stopped reading.
func (c *client) leave(code int, reason string) {
	c.depart(code, reason, false)
}

func (c *client) depart(code int, reason string, peerClosed bool) {
	c.once.Do(func() {
		c.closeCode, c.reason, c.peerClosed = code, reason, peerClosed
		close(c.quit)
		if code == closeAbort {
			cut(c.conn)
		}
	})
}

// cut shuts a socket at once. fasthttp hands out hijacked connections whose Close does
// nothing unless the server keeps hijacked connections, so the raw connection is closed
// instead, and past deadlines wake a reader or writer blocked on it in any case.
func cut(conn *websocket.Conn) {
	nc := conn.NetConn()
	_ = nc.SetDeadline(time.Unix(1, 0))
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	_ = nc.Close()
}

// enqueue never blocks: a client that is SendQueueBytes behind, or whose oldest queued frame
// has waited WriteTimeout, is dropped, so it cannot slow the hub. Bounding bytes rather than
// frames lets a burst of small events through to every client that is reading.
func (c *client) enqueue(f outFrame, now int64) {
	if c.leaving() {
		return
	}
	h := c.hub
	c.qmu.Lock()
	if c.queue == nil {
		c.queue = batches.Get().(*frameBatch)
		c.oldest = now
	}
	// One frame larger than the bound still goes to a client with nothing waiting.
	over := c.queued > 0 && c.queued+len(f.data) > h.opts.SendQueueBytes
	late := now-c.oldest > int64(h.opts.WriteTimeout)
	if !over && !late {
		c.queue.frames = append(c.queue.frames, f)
		c.queued += len(f.data)
	}
	queued, frames := c.queued, len(c.queue.frames)
	c.qmu.Unlock()
	if over || late {
		h.log.Warn("websocket client too slow, disconnecting", "clientId", c.id,
			"queuedBytes", queued, "queuedFrames", frames, "late", late)
		reason := "send queue full"
		if late {
			reason = "send queue stale"
		}
		c.leave(closeAbort, reason)
		return
	}
	c.signal()
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // the writer is already due to look
	}
}

// queuePong asks the writer to answer a ping; only the latest one needs an answer.
func (c *client) queuePong(data string) {
	c.qmu.Lock()
	c.pong = &data
	c.qmu.Unlock()
	c.signal()
}

// take hands the writer everything queued (nil when only a pong is due); the writer gives
// the batch back to the pool once written.
func (c *client) take() (*frameBatch, *string) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q, p := c.queue, c.pong
	c.queue, c.queued, c.pong = nil, 0, nil
	select {
	case c.room <- struct{}{}:
	default:
	}
	return q, p
}

// frameBatch is a client's queue; batches are pooled across clients, since only clients
// with frames waiting need one.
type frameBatch struct{ frames []outFrame }

var batches = sync.Pool{New: func() any { return new(frameBatch) }}

// release returns a written batch to the pool, letting go of its frames.
func (b *frameBatch) release() {
	clear(b.frames)
	b.frames = b.frames[:0]
	if cap(b.frames) > 4096 { // an outsized burst is not kept for good
		return
	}
	batches.Put(b)
}

// reply sends an event addressed to this client alone.
func (c *client) reply(eventType string, payload any) {
	f, err := encode(eventType, payload, &c.id)
	if err != nil {
		c.hub.log.Error("websocket reply", "clientId", c.id, "err", err)
		return
	}
	c.enqueue(f, time.Now().UnixNano())
}

// readLoop reads until the socket fails or closes. During a closing handshake it keeps
// reading, answering nothing, so that the peer's close frame can end it.
func (c *client) readLoop() {
	h := c.hub
	for {
		c.waitForRoom()
		_, r, err := c.conn.NextReader()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				// The writer echoes the close frame, as the protocol asks.
				c.depart(ce.Code, "closed by client", true)
				return
			}
			c.leave(closeAbort, readFailure(err))
			return
		}
		c.heard()
		// Reading at most one byte past the limit bounds memory whatever length the frame claims.
		data, err := io.ReadAll(io.LimitReader(r, h.opts.MaxMessageBytes+1))
		if err != nil {
			c.leave(closeAbort, readFailure(err))
			return
		}
		act := handleFrame(data, h.opts.MaxMessageBytes)
		h.metrics.WSMessages(Inbound, act.label, 1)
		if !c.leaving() {
			c.apply(act)
		}
	}
}

// waitForRoom pauses reading while more than ReplyQueueBytes wait for the peer: every frame
// read may queue a reply, so a peer that sends without reading would otherwise grow its queue
// to SendQueueBytes with replies alone. Paused, its frames wait in the kernel's buffers, and
// TCP makes it wait in turn.
func (c *client) waitForRoom() {
	for {
		c.qmu.Lock()
		queued := c.queued
		c.qmu.Unlock()
		if queued <= c.hub.opts.ReplyQueueBytes {
			return
		}
		select {
		case <-c.room:
		case <-c.quit:
			return // during a closing handshake the reader reads on, answering nothing
		}
	}
}

func readFailure(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return "closed by client"
	}
	return "read failed"
}

func (c *client) apply(act action) {
	switch act.kind {
	case actPong:
		c.reply(TypePong, struct{}{})
	case actError:
		c.reply(TypeError, act.err)
		if act.close {
			// The error frame is queued first; the writer flushes the queue before the close frame.
			c.leave(websocket.CloseMessageTooBig, "message too large")
		}
	case actSubscribe:
		c.topics.Or(1 << uint(topicIndex(act.topic)))
		c.reply(TypeSubscribe, subscriptionPayload{Topic: act.topic, Subscribed: true})
	case actUnsubscribe:
		c.topics.And(^uint32(1 << uint(topicIndex(act.topic))))
		c.reply(TypeUnsubscribe, subscriptionPayload{Topic: act.topic, Subscribed: false})
	}
}
