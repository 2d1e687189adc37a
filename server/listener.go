package server

import (
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// retryListener keeps accepting through errors that pass: out of file descriptors (EMFILE,
// ENFILE), out of buffers, a connection aborted before it was taken. It waits 5 ms, doubling to
// 1 s, between tries, as net/http's Server does, and returns any other error.
type retryListener struct {
	net.Listener
	log *slog.Logger
}

const (
	acceptRetryFirst = 5 * time.Millisecond
	acceptRetryMax   = time.Second
)

func (l retryListener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil || !acceptErrorPasses(err) {
			return c, err
		}
		wait = min(max(2*wait, acceptRetryFirst), acceptRetryMax)
		l.log.Warn("accept failed; retrying", "error", err.Error(), "retry_in", wait.String())
		time.Sleep(wait)
	}
}

// acceptErrorPasses reports whether an Accept error is one that waiting can cure.
func acceptErrorPasses(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
