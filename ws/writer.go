package ws

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// writeLoop owns every write to the socket and the heartbeat. A client that has not been
// heard from since the previous ping, a whole period ago, is dropped.
func (c *client) writeLoop(readerDone <-chan struct{}) {
	h := c.hub
	ticker := time.NewTicker(h.opts.PingInterval)
	defer ticker.Stop()
	var pinged int64
	for {
		select {
		case <-c.wake:
			if !c.flush(time.Now().Add(h.opts.WriteTimeout)) {
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
// in the peer's receive buffer. When the peer closed first, its close frame is echoed at
// once: it reads nothing more.
func (c *client) closeHandshake(readerDone <-chan struct{}) {
	if c.closeCode == closeAbort {
		return
	}
	h := c.hub
	deadline := time.Now().Add(h.opts.WriteTimeout)
	if !c.peerClosed {
		if !c.flush(deadline) {
			cut(c.conn)
			return
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

// flush answers a pending ping, then writes everything queued, counting each frame once it
// is on the socket.
func (c *client) flush(deadline time.Time) bool {
	batch, pong := c.take()
	if pong != nil {
		if err := c.conn.WriteControl(websocket.PongMessage, []byte(*pong), deadline); err != nil {
			return false
		}
	}
	if batch == nil {
		return true
	}
	defer batch.release()
	nc := c.conn.NetConn()
	if err := nc.SetWriteDeadline(deadline); err != nil {
		return false
	}
	// A cut that raced the deadline above must not leave this write waiting for it.
	if c.leaving() && c.closeCode == closeAbort {
		return false
	}
	w := writers.Get().(*batchWriter)
	written, err := w.write(rawConn(nc), batch.frames)
	writers.Put(w)
	c.count(batch.frames[:written])
	return err == nil
}

// count reports written frames, one call per run of the same event type.
func (c *client) count(frames []outFrame) {
	for i := 0; i < len(frames); {
		j := i + 1
		for j < len(frames) && frames[j].label == frames[i].label {
			j++
		}
		c.hub.metrics.WSMessages(Outbound, frames[i].label, j-i)
		i = j
	}
}

// rawConn is the TCP connection under fasthttp's hijacked wrapper, whose Write is a plain
// pass-through, so that net.Buffers can reach writev.
func rawConn(nc net.Conn) net.Conn {
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		return u.UnsafeConn()
	}
	return nc
}

var writers = sync.Pool{New: func() any { return new(batchWriter) }}

// maxHeader is the largest header of an unmasked server frame.
const maxHeader = 10

// batchWriter frames a batch of text messages by hand (server frames are unmasked, and the
// hub never negotiates compression) and writes them in one vectored write. Its scratch
// space is pooled across clients rather than kept by each.
type batchWriter struct {
	headers []byte
	bufs    net.Buffers
	out     net.Buffers // what WriteTo consumes; a field, so that passing it does not allocate
	ends    []int64     // cumulative bytes after each frame
}

// write sends every frame as one WebSocket message each and returns how many frames were
// completely written.
func (w *batchWriter) write(conn net.Conn, batch []outFrame) (int, error) {
	w.headers = w.headers[:0]
	w.bufs = w.bufs[:0]
	w.ends = w.ends[:0]
	var total int64
	for _, f := range batch {
		start := len(w.headers)
		w.headers = appendHeader(w.headers, len(f.data))
		total += int64(len(w.headers)-start) + int64(len(f.data))
		w.ends = append(w.ends, total)
	}
	start := 0
	for _, f := range batch {
		end := start + headerLen(len(f.data))
		w.bufs = append(w.bufs, w.headers[start:end:end], f.data)
		start = end
	}
	var n int64
	var err error
	if _, vectored := conn.(*net.TCPConn); vectored || len(batch) == 1 {
		w.out = w.bufs
		n, err = w.out.WriteTo(conn)
		w.out = nil
	} else {
		// Without writev the pieces would go out as separate writes; one buffer keeps a
		// frame whole against a write from elsewhere.
		var one []byte
		for _, b := range w.bufs {
			one = append(one, b...)
		}
		var m int
		m, err = conn.Write(one)
		n = int64(m)
	}
	written := len(batch)
	if err != nil {
		written = 0
		for written < len(w.ends) && w.ends[written] <= n {
			written++
		}
	}
	clear(w.bufs)           // no reference to sent frames outlives the write
	if cap(w.bufs) > 8192 { // an outsized burst is not kept for good
		*w = batchWriter{}
	}
	return written, err
}

func headerLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return maxHeader
	}
}

// appendHeader appends the header of a final, unmasked text frame of n payload bytes.
func appendHeader(b []byte, n int) []byte {
	const finText = 0x80 | websocket.TextMessage
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, finText, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
	}
}
