// Package ws is the WebSocket hub of gemini-flow: it registers clients, fans events out to
// them (all, or the subscribers of a topic), keeps them alive with a heartbeat, drops the
// silent and the slow, and counts connections and frames into an Observer.
//
// Behaviour a client can rely on:
//   - The first frame is client.connected; replies (pong, error, the subscribe and
//     unsubscribe acknowledgements) carry the client's id in clientId, broadcasts carry null.
//   - A message over MaxMessageBytes is answered with an error frame (MESSAGE_TOO_LARGE),
//     then close code 1009; the hub enforces the limit itself, rather than through the
//     library's read limit, because the library would close before the error could be sent.
//   - The hub pings every PingInterval; a client heard from neither by frame, ping nor pong
//     since the previous ping is cut off.
//   - A client's send queue is bounded in bytes, not frames, so that a burst of small events
//     (hundreds of client.disconnected when many leave at once) never overflows a healthy
//     client. A client whose queue would pass SendQueueBytes, or whose oldest queued frame has
//     waited longer than WriteTimeout, is cut off at once, without a close frame, since a
//     close frame would have to wait behind the data it is not reading.
//   - A client's frames are read only while at most ReplyQueueBytes wait for it, so a client
//     that sends (pings, say) without reading holds no more than that in replies; TCP then
//     stops it sending.
//   - The writer takes everything queued in one go and writes it with one vectored write,
//     each event still its own WebSocket message; only the writer writes to the socket, pongs
//     and close replies included.
//   - Data frames are counted by direction and event type when read or written to the
//     socket; protocol control frames (ping, pong, close) are not messages and are not counted.
package ws

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"
)

// Options configures a Hub; every zero value means the default named beside it.
type Options struct {
	SendQueueBytes  int           // backlog per client before it counts as slow; 0 -> 4 MiB
	ReplyQueueBytes int           // backlog past which a client's frames are not read; 0 -> 64 KiB
	MaxMessageBytes int64         // largest inbound message; 0 -> 64 KiB
	PingInterval    time.Duration // heartbeat period; 0 -> 30s
	WriteTimeout    time.Duration // bound on one socket write; 0 -> 10s
	MaxClients      int           // clients connected at once; 0 -> no cap
	Metrics         Observer      // connection and frame counts; nil -> none
	Logger          *slog.Logger  // nil -> slog.Default()
}

func (o Options) withDefaults() Options {
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = 4 << 20
	}
	if o.ReplyQueueBytes <= 0 {
		o.ReplyQueueBytes = 64 << 10
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 64 << 10
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Hub is the set of connected clients; its methods are safe for concurrent use.
type Hub struct {
	opts      Options
	metrics   Observer
	log       *slog.Logger
	closeWait time.Duration // how long a closing handshake waits for the peer's close frame

	mu      sync.RWMutex
	clients map[*client]struct{}
	closed  bool

	serving  sync.WaitGroup // one per registered client, done when its Serve returns
	goneOnce sync.Once
	gone     chan struct{} // closed when serving reaches zero after Close
}

// NewHub returns a hub ready to Serve connections.
func NewHub(opts Options) *Hub {
	opts = opts.withDefaults()
	return &Hub{
		opts:      opts,
		metrics:   observerOrNop(opts.Metrics),
		log:       opts.Logger,
		closeWait: min(opts.WriteTimeout, time.Second),
		clients:   make(map[*client]struct{}),
		gone:      make(chan struct{}),
	}
}

// Full reports whether the hub has as many clients as it takes; an upgrade is refused then.
func (h *Hub) Full() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.fullLocked()
}

func (h *Hub) fullLocked() bool {
	return h.opts.MaxClients > 0 && len(h.clients) >= h.opts.MaxClients
}

// Serve runs one upgraded connection until the client leaves, whatever the way; it is the
// only place a client is unregistered, so Count and the gauge always match.
func (h *Hub) Serve(conn *websocket.Conn) {
	c := h.register(conn)
	if c == nil {
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(h.closeWait))
		cut(conn)
		return
	}
	defer h.unregister(c)

	// The HTTP server's read timeout must not cut a long-lived socket; the heartbeat judges it.
	_ = conn.SetReadDeadline(time.Time{})
	conn.SetPongHandler(func(string) error { c.heard(); return nil })
	// The library would answer pings and close frames from the reader; here the writer does,
	// as the only goroutine that writes to the socket.
	conn.SetPingHandler(func(data string) error { c.heard(); c.queuePong(data); return nil })
	conn.SetCloseHandler(func(int, string) error { return nil })

	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(readerDone)
	}()
	c.readLoop()
	close(readerDone)
	<-writerDone
}

type connectedPayload struct {
	ClientID  string `json:"clientId"`
	Timestamp string `json:"timestamp"`
}

type disconnectedPayload struct {
	ClientID string `json:"clientId"`
}

func (h *Hub) register(conn *websocket.Conn) *client {
	c := &client{
		hub:  h,
		id:   "client-" + uuid.NewString(),
		conn: conn,
		wake: make(chan struct{}, 1),
		room: make(chan struct{}, 1),
		quit: make(chan struct{}),
	}
	c.heard()
	// Queued before the client is visible to broadcasts, so it is always the first frame.
	c.reply(TypeConnected, connectedPayload{ClientID: c.id, Timestamp: timestamp(time.Now())})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.fullLocked() {
		return nil
	}
	h.clients[c] = struct{}{}
	h.serving.Add(1)
	h.metrics.WSConnected()
	return c
}

func (h *Hub) unregister(c *client) {
	defer h.serving.Done()
	h.mu.Lock()
	delete(h.clients, c)
	closed := h.closed
	h.metrics.WSDisconnected()
	h.mu.Unlock()
	h.log.Debug("websocket client left", "clientId", c.id, "reason", c.reason)
	if !closed {
		h.fanout(0, TypeDisconnected, disconnectedPayload{ClientID: c.id})
	}
}

// Broadcast sends an event to every client (to a topic's subscribers for a topic-bound
// type such as metrics.sampled); it marshals once and never blocks on a client.
func (h *Hub) Broadcast(eventType string, payload any) {
	if topic, ok := topicOfEvent[eventType]; ok {
		h.Publish(topic, eventType, payload)
		return
	}
	h.fanout(0, eventType, payload)
}

// Publish sends an event only to the clients subscribed to topic.
func (h *Hub) Publish(topic, eventType string, payload any) {
	i := topicIndex(topic)
	if i < 0 {
		h.log.Error("websocket publish to unknown topic", "topic", topic)
		return
	}
	h.fanout(1<<uint(i), eventType, payload)
}

// fanout queues one shared encoding to every client whose topics intersect mask (all when 0).
func (h *Hub) fanout(mask uint32, eventType string, payload any) {
	if h.Count() == 0 {
		return // no one to tell: not even the encoding is needed
	}
	f, err := encode(eventType, payload, nil)
	if err != nil {
		h.log.Error("websocket broadcast", "err", err)
		return
	}
	now := time.Now().UnixNano()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if mask == 0 || c.topics.Load()&mask != 0 {
			c.enqueue(f, now)
		}
	}
}

// Count returns the number of clients connected now.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// Close sends close code 1001 to every client and waits, bounded, until all are gone; any
// Serve call after it closes its connection at once.
func (h *Hub) Close() { h.Shutdown(context.Background()) }

// Shutdown is Close within ctx: clients still there when ctx is about to end (or after the
// write timeout) are cut off, so a client that never reads cannot hold a stop past ctx.
func (h *Hub) Shutdown(ctx context.Context) {
	h.mu.Lock()
	h.closed = true
	leaving := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		leaving = append(leaving, c)
	}
	h.mu.Unlock()
	h.goneOnce.Do(func() {
		go func() {
			h.serving.Wait()
			close(h.gone)
		}()
	})

	for _, c := range leaving {
		c.leave(websocket.CloseGoingAway, "server going away")
	}
	grace := h.opts.WriteTimeout + h.closeWait
	if deadline, ok := ctx.Deadline(); ok {
		// Half the time left: a client that has not closed by then is not reading, and the
		// rest of the stop (the request drain runs alongside) keeps its share.
		grace = max(0, min(grace, time.Until(deadline)/2))
	}
	if h.waitGone(grace) {
		return
	}
	h.log.Warn("websocket clients slow to close, cutting them off", "remaining", h.Count())
	h.mu.RLock()
	for c := range h.clients {
		cut(c.conn)
	}
	h.mu.RUnlock()
	if !h.waitGone(h.closeWait) {
		h.log.Error("websocket clients still registered after close", "remaining", h.Count())
	}
}

func (h *Hub) waitGone(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.gone:
		return true
	case <-t.C:
		return false
	}
}
