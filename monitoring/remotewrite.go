package monitoring

import "github.com/VictoriaMetrics/metrics"

// The reasons a remote write drops samples, the values of the reason label.
const (
	DropQueueFull = "queue_full" // the queue was at its bound: the oldest samples went
	DropRejected  = "rejected"   // the receiver answered 4xx (not 429): retrying cannot help
)

// RemoteWriteRecorder counts what one remote-write destination does. Its methods are safe
// for concurrent use; a nil recorder records nothing.
type RemoteWriteRecorder struct {
	sent, droppedFull, droppedRejected, retries *metrics.Counter
	queue                                       *metrics.Gauge
}

// RemoteWrite returns the recorder of the destination url, which must be the redacted URL
// the operator configured (never a value from a request).
func (r *Registry) RemoteWrite(url string) *RemoteWriteRecorder {
	return &RemoteWriteRecorder{
		sent:            r.sets[famRemoteWriteSent].GetOrCreateCounter(seriesName(famRemoteWriteSent, url)),
		droppedFull:     r.sets[famRemoteWriteDropped].GetOrCreateCounter(seriesName(famRemoteWriteDropped, url, DropQueueFull)),
		droppedRejected: r.sets[famRemoteWriteDropped].GetOrCreateCounter(seriesName(famRemoteWriteDropped, url, DropRejected)),
		retries:         r.sets[famRemoteWriteRetries].GetOrCreateCounter(seriesName(famRemoteWriteRetries, url)),
		queue:           r.sets[famRemoteWriteQueue].GetOrCreateGauge(seriesName(famRemoteWriteQueue, url), nil),
	}
}

// Sent counts n samples the receiver accepted.
func (rw *RemoteWriteRecorder) Sent(n int) {
	if rw != nil {
		rw.sent.Add(n)
	}
}

// Dropped counts n samples given up on for reason (DropQueueFull or DropRejected).
func (rw *RemoteWriteRecorder) Dropped(reason string, n int) {
	if rw == nil {
		return
	}
	switch reason {
	case DropQueueFull:
		rw.droppedFull.Add(n)
	default:
		rw.droppedRejected.Add(n)
	}
}

// Retried counts one retried request.
func (rw *RemoteWriteRecorder) Retried() {
	if rw != nil {
		rw.retries.Inc()
	}
}

// Queued sets the number of samples waiting.
func (rw *RemoteWriteRecorder) Queued(n int) {
	if rw != nil {
		rw.queue.Set(float64(n))
	}
}
