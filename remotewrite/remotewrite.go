// Package remotewrite sends every sample the metric history records to Prometheus
// remote-write 1.0 receivers (Prometheus with --web.enable-remote-write-receiver,
// VictoriaMetrics' /api/v1/write, vmagent, Mimir…): prompb.WriteRequest, snappy block
// compressed. Each interval it reads from the history each series' samples newer than the
// last one it read (staleness markers and rule results included, as a Prometheus sends
// them), encodes them once and queues them for every receiver. Each receiver has its own bounded queue and
// sender: 5xx, 429 and transport errors are retried with backoff, other 4xx drop the
// request, a full queue drops its oldest samples, all counted. Reading never waits on a
// receiver, so a dead one slows neither requests nor sampling.
package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Defaults of Options.
const (
	DefaultQueueSamples = 1_000_000
	defaultTimeout      = 30 * time.Second
	// maxSamplesPerSend bounds one request, as Prometheus's max_samples_per_send does.
	maxSamplesPerSend = 5000
	// lookBehind is how far before the newest sample read each read looks again: rule
	// results reach the history a little after the tick they are stamped with.
	lookBehind = time.Minute
)

// Options configures a Writer.
type Options struct {
	URLs         []string          // receivers; at least one
	Interval     time.Duration     // how often the history is read; required
	QueueSamples int               // samples each receiver's queue holds; 0 -> DefaultQueueSamples
	Timeout      time.Duration     // per request; 0 -> 30 s
	Source       storage.Queryable // the history
	Metrics      *monitoring.Registry
	UserAgent    string
	Logger       *slog.Logger
}

// Writer reads the history and feeds every receiver.
type Writer struct {
	interval time.Duration
	behind   int64 // how far back each read looks, ms
	src      storage.Queryable
	dests    []*destination
	log      *slog.Logger
	sent     map[uint64]int64 // newest timestamp read per series (label hash), within behind

	// reused by collect
	req   prompb.WriteRequest
	pb    []byte
	it    chunkenc.Iterator
	match []*labels.Matcher
}

// New checks the options and builds a Writer; Run starts it.
func New(o Options) (*Writer, error) {
	switch {
	case len(o.URLs) == 0:
		return nil, errors.New("remote write: no URL")
	case o.Interval <= 0:
		return nil, fmt.Errorf("remote write interval %s: must be positive", o.Interval)
	case o.Source == nil:
		return nil, errors.New("remote write: needs the metric history (history interval > 0)")
	}
	if o.QueueSamples <= 0 {
		o.QueueSamples = DefaultQueueSamples
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.UserAgent == "" {
		o.UserAgent = "gemini-flow"
	}
	w := &Writer{
		interval: o.Interval,
		behind:   max(2*o.Interval, lookBehind).Milliseconds(),
		sent:     map[uint64]int64{},
		src:      o.Source,
		log:      o.Logger,
		match:    []*labels.Matcher{labels.MustNewMatcher(labels.MatchNotEqual, model.MetricNameLabel, "")},
	}
	client := &http.Client{Timeout: o.Timeout}
	for _, raw := range o.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("remote write url: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("remote write url %q: want http(s)://host/path", u.Redacted())
		}
		redacted := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		d := &destination{url: raw, redacted: redacted, client: client, agent: o.UserAgent, log: o.Logger}
		if o.Metrics != nil {
			d.rec = o.Metrics.RemoteWrite(redacted)
		}
		d.q = newQueue(o.QueueSamples, d.rec)
		w.dests = append(w.dests, d)
	}
	return w, nil
}

// Run sends the samples recorded from now on until ctx is done; samples still queued then
// are not sent.
func (w *Writer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, d := range w.dests {
		wg.Add(1)
		go func() { defer wg.Done(); d.run(ctx) }()
	}
	defer wg.Wait()
	since := time.Now().UnixMilli() // samples recorded from now on
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.collect(ctx, max(since, time.Now().UnixMilli()-w.behind)); err != nil {
			w.log.Warn("remote write: read history", "err", err)
		}
	}
}

// collect reads the samples from mint (Unix ms) on that were not read before, and queues
// them for every receiver in requests of at most maxSamplesPerSend samples. Each series
// remembers the newest timestamp read, so a sample that reaches the history late (a rule
// result stamped with its tick) is still sent once, if it is no older than mint.
func (w *Writer) collect(ctx context.Context, mint int64) error {
	q, err := w.src.Querier(mint, math.MaxInt64)
	if err != nil {
		return err
	}
	defer q.Close()
	set := q.Select(ctx, false, &storage.SelectHints{Start: mint, End: math.MaxInt64}, w.match...)
	pending := 0
	w.req.Timeseries = w.req.Timeseries[:0]
	for set.Next() {
		s := set.At()
		h := s.Labels().Hash()
		last, ok := w.sent[h]
		if !ok || last < mint {
			last = mint - 1
		}
		w.it = s.Iterator(w.it)
		ts := w.nextSeries()
		ts.Samples = ts.Samples[:0]
		for vt := w.it.Seek(last + 1); vt != chunkenc.ValNone; vt = w.it.Next() {
			if vt != chunkenc.ValFloat {
				continue
			}
			t, v := w.it.At()
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t, Value: v})
		}
		if err := w.it.Err(); err != nil {
			return err
		}
		if len(ts.Samples) == 0 {
			w.req.Timeseries = w.req.Timeseries[:len(w.req.Timeseries)-1]
			continue
		}
		w.sent[h] = ts.Samples[len(ts.Samples)-1].Timestamp
		ts.Labels = ts.Labels[:0]
		s.Labels().Range(func(l labels.Label) {
			ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value})
		})
		pending += len(ts.Samples)
		if pending >= maxSamplesPerSend {
			w.enqueue(pending)
			pending = 0
		}
	}
	if err := set.Err(); err != nil {
		return err
	}
	if pending > 0 {
		w.enqueue(pending)
	}
	for h, last := range w.sent {
		if last < mint {
			delete(w.sent, h) // any later sample is newer than mint anyway
		}
	}
	return nil
}

// nextSeries appends a series to the request, reusing the slices of an earlier one.
func (w *Writer) nextSeries() *prompb.TimeSeries {
	n := len(w.req.Timeseries)
	if n < cap(w.req.Timeseries) {
		w.req.Timeseries = w.req.Timeseries[:n+1]
	} else {
		w.req.Timeseries = append(w.req.Timeseries, prompb.TimeSeries{})
	}
	return &w.req.Timeseries[n]
}

// enqueue encodes the request built so far, queues it for every receiver and empties it.
func (w *Writer) enqueue(samples int) {
	size := w.req.Size()
	if cap(w.pb) < size {
		w.pb = make([]byte, size)
	}
	n, err := w.req.MarshalToSizedBuffer(w.pb[:size])
	w.req.Timeseries = w.req.Timeseries[:0]
	if err != nil { // cannot happen: the buffer has the size Size computed
		w.log.Error("remote write: encode", "err", err)
		return
	}
	b := batch{data: snappy.Encode(nil, w.pb[size-n:size]), samples: samples}
	for _, d := range w.dests {
		d.q.push(b)
	}
}
