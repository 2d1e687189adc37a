package remotewrite

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// Backoff between retries of one request, doubling from minBackoff up to maxBackoff, as
// Prometheus's remote-write queue does.
const (
	minBackoff = 30 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// destination is one receiver: its queue and the loop that sends it.
type destination struct {
	url      string // as configured
	redacted string // without credentials: logs and the url label
	client   *http.Client
	agent    string
	q        *queue
	rec      *monitoring.RemoteWriteRecorder
	log      *slog.Logger
	failing  bool // an outage was logged and has not ended
}

// run sends queued batches in order until ctx is done.
func (d *destination) run(ctx context.Context) {
	for {
		b, ok := d.q.pop(ctx)
		if !ok {
			return
		}
		d.send(ctx, b)
	}
}

// send posts one batch until the receiver takes it (2xx) or refuses it for good (any
// other status but 429 and 5xx); transport errors, 429 and 5xx are retried with backoff,
// honouring Retry-After.
func (d *destination) send(ctx context.Context, b batch) {
	backoff := minBackoff
	for {
		status, retryAfter, err := d.post(ctx, b.data)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && status/100 == 2:
			d.rec.Sent(b.samples)
			if d.failing {
				d.failing = false
				d.log.Info("remote write recovered", "url", d.redacted)
			}
			return
		case err == nil && status != http.StatusTooManyRequests && status/100 != 5:
			d.rec.Dropped(monitoring.DropRejected, b.samples)
			d.log.Warn("remote write rejected; samples dropped", "url", d.redacted, "status", status, "samples", b.samples)
			return
		}
		if !d.failing {
			// One line per outage, not one per retry.
			d.failing = true
			d.log.Warn("remote write failing; retrying", "url", d.redacted, "status", status, "err", err)
		}
		d.rec.Retried()
		wait := backoff
		if retryAfter > 0 {
			wait = min(retryAfter, maxBackoff)
		}
		backoff = min(2*backoff, maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// post sends one request with the remote-write 1.0 headers.
func (d *destination) post(ctx context.Context, body []byte) (status int, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", d.agent)
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, retryAfter, nil
}
