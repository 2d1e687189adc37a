package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of Options, Prometheus's where it has one.
const (
	defaultQueueCapacity = 10000
	defaultTimeout       = 10 * time.Second
	maxBatchSize         = 256
	sendAttempts         = 3
	firstBackoff         = 500 * time.Millisecond
	alertsPath           = "/api/v2/alerts" // appended to an Alertmanager URL that lacks it
)

// Options configures a Notifier.
type Options struct {
	AlertmanagerURLs []string // Alertmanager base URLs; alerts go to <url>/api/v2/alerts
	WebhookURLs      []string // receivers of Alertmanager's webhook payload
	ExternalURL      string   // the binary's own URL, the webhook payload's externalURL
	QueueCapacity    int      // per target; 0 -> 10000
	Timeout          time.Duration
	Metrics          Metrics // nil: not counted
	Logger           *slog.Logger
	Client           *http.Client // nil: a client with Timeout
}

// Notifier hands alerts to every configured target.
type Notifier struct {
	opts    Options
	log     *slog.Logger
	metrics Metrics
	targets []*target
}

// target is one URL with its queue and the way it posts a batch.
type target struct {
	url   string
	queue *queue
	post  func(ctx context.Context, batch []Alert) error
}

// New returns a Notifier for the configured URLs; with none, Send does nothing.
func New(opts Options) *Notifier {
	if opts.QueueCapacity <= 0 {
		opts.QueueCapacity = defaultQueueCapacity
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.Timeout}
	}
	n := &Notifier{opts: opts, log: opts.Logger, metrics: opts.Metrics}
	if n.metrics == nil {
		n.metrics = noMetrics{}
	}
	for _, u := range opts.AlertmanagerURLs {
		endpoint := strings.TrimSuffix(strings.TrimSuffix(u, "/"), alertsPath) + alertsPath
		n.targets = append(n.targets, &target{url: u, queue: newQueue(opts.QueueCapacity),
			post: func(ctx context.Context, batch []Alert) error { return n.postJSON(ctx, endpoint, batch) }})
	}
	for _, u := range opts.WebhookURLs {
		w := newWebhook(u, opts.ExternalURL)
		n.targets = append(n.targets, &target{url: u, queue: newQueue(opts.QueueCapacity),
			post: func(ctx context.Context, batch []Alert) error {
				for _, msg := range w.messages(batch, time.Now()) {
					if err := n.postJSON(ctx, u, msg); err != nil {
						return err
					}
				}
				return nil
			}})
	}
	return n
}

// Enabled reports whether any target is configured.
func (n *Notifier) Enabled() bool { return len(n.targets) > 0 }

// Send queues alerts for every target without waiting for any of them.
func (n *Notifier) Send(alerts ...Alert) {
	if len(alerts) == 0 {
		return
	}
	for _, t := range n.targets {
		if d := t.queue.push(alerts); d > 0 {
			n.metrics.NotificationsDropped(d)
		}
		n.metrics.NotificationQueue(t.queue.len(), n.opts.QueueCapacity)
	}
}

// Run delivers queued alerts until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range n.targets {
		wg.Add(1)
		go func() { defer wg.Done(); n.deliver(ctx, t) }()
	}
	wg.Wait()
}

func (n *Notifier) deliver(ctx context.Context, t *target) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.queue.ready:
		}
		batch := t.queue.pop(maxBatchSize)
		n.metrics.NotificationQueue(t.queue.len(), n.opts.QueueCapacity)
		if len(batch) == 0 {
			continue
		}
		if err := n.sendWithRetries(ctx, t, batch); err != nil {
			n.log.Warn("notification failed", "target", t.url, "alerts", len(batch), "err", err)
			n.metrics.NotificationErrors(t.url)
			n.metrics.NotificationsDropped(len(batch))
			continue
		}
		n.metrics.NotificationsSent(t.url, len(batch))
	}
}

// sendWithRetries posts a batch, trying again with a doubling backoff.
func (n *Notifier) sendWithRetries(ctx context.Context, t *target, batch []Alert) error {
	backoff := firstBackoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = t.post(ctx, batch); err == nil || attempt == sendAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func (n *Notifier) postJSON(ctx context.Context, url string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gemini-flow")
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: bad response status %s", url, resp.Status)
	}
	return nil
}
