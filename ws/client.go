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
// goroutine of its own, and only the writer writes data frames.
type client struct {
	hub  *Hub
	id   string
	conn *websocket.Conn
	send chan outFrame // never closed: a late enqueue must not panic

	quit      chan struct{} // closed once, when the client must leave
	once      sync.Once
	closeCode int    // written before quit is closed
	reason    string // written before quit is closed

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
	c.once.Do(func() {
		c.closeCode, c.reason = code, reason
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

// enqueue never blocks: a client whose queue is full is dropped, so it cannot slow the hub.
func (c *client) enqueue(f outFrame) {
	if c.leaving() {
		return
	}
	select {
	case c.send <- f:
	default:
		c.hub.log.Warn("websocket client too slow, disconnecting", "clientId", c.id, "queue", cap(c.send))
		c.leave(closeAbort, "send queue full")
	}
}

// reply sends an event addressed to this client alone.
func (c *client) reply(eventType string, payload any) {
	f, err := encode(eventType, payload, &c.id)
	if err != nil {
		c.hub.log.Error("websocket reply", "clientId", c.id, "err", err)
		return
	}
	c.enqueue(f)
}

// readLoop reads until the socket fails or closes. During a closing handshake it keeps
// reading, answering nothing, so that the peer's close frame can end it.
func (c *client) readLoop() {
	h := c.hub
	for {
		_, r, err := c.conn.NextReader()
		if err != nil {
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
		c.reply(TypePong, nil)
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

// writeLoop owns data-frame writes and the heartbeat. A client that has not been heard from
// since the previous ping, a whole period ago, is dropped.
func (c *client) writeLoop(readerDone <-chan struct{}) {
	h := c.hub
	ticker := time.NewTicker(h.opts.PingInterval)
	defer ticker.Stop()
	var pinged int64
	for {
		select {
		case f := <-c.send:
			if !c.write(f, time.Now().Add(h.opts.WriteTimeout)) {
				c.leave(closeAbort, "write failed")
				return
			}
		case <-ticker.C:
			if pinged != 0 && c.lastHeard.Load() < pinged {
				c.leave(closeAbort, "heartbeat missed")
				return
			}
			if c.leaving() {
				continue // the quit case runs next
			}
			pinged = time.Now().UnixNano()
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.opts.WriteTimeout)); err != nil {
				c.leave(closeAbort, "ping failed")
				return
			}
		case <-c.quit:
			c.closeHandshake(readerDone)
			return
		}
	}
}

// closeHandshake flushes what is queued (the error that explains a 1009, say), sends the
// close frame and waits a little for the peer's own before cutting the socket. Cutting it
// with unread input would make the kernel send a reset that can destroy those last frames
// in the peer's receive buffer.
func (c *client) closeHandshake(readerDone <-chan struct{}) {
	if c.closeCode == closeAbort {
		return
	}
	h := c.hub
	deadline := time.Now().Add(h.opts.WriteTimeout)
	for flushing := true; flushing; {
		select {
		case f := <-c.send:
			if !c.write(f, deadline) {
				cut(c.conn)
				return
			}
		default:
			flushing = false
		}
	}
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, ""), deadline)
	t := time.NewTimer(h.closeWait)
	select {
	case <-readerDone:
	case <-t.C:
	}
	t.Stop()
	cut(c.conn)
}

// write sends one data frame and counts it once it is on the socket.
func (c *client) write(f outFrame, deadline time.Time) bool {
	if err := c.conn.SetWriteDeadline(deadline); err != nil {
		return false
	}
	// A cut that raced the deadline above must not leave this write waiting for it.
	if c.leaving() && c.closeCode == closeAbort {
		return false
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, f.data); err != nil {
		return false
	}
	c.hub.metrics.WSMessages(Outbound, f.label, 1)
	return true
}
