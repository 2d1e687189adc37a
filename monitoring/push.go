package monitoring

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// StartPush pushes WritePrometheus's output, with job and instance labels added to every
// sample, to pushURL (VictoriaMetrics' /api/v1/import/prometheus) now and then every
// interval, until ctx is done. Failures are logged and retried at the next tick; only a bad
// URL, interval or label value is returned. WaitPush waits for the pushing to end.
func (r *Registry) StartPush(ctx context.Context, pushURL string, interval time.Duration, job, instance string) error {
	u, err := url.Parse(pushURL)
	if err != nil {
		return fmt.Errorf("push url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("push url %q: want http(s)://host/path", u.Redacted())
	}
	if interval <= 0 {
		return fmt.Errorf("push interval %s: must be positive", interval)
	}
	if job == "" || instance == "" {
		return fmt.Errorf("push: job and instance must not be empty")
	}
	opts := &metrics.PushOptions{
		ExtraLabels: `job="` + escapeLabelValue(job) + `",instance="` + escapeLabelValue(instance) + `"`,
		Method:      http.MethodPost,
	}
	if err := metrics.ValidateMetric("push{" + opts.ExtraLabels + "}"); err != nil {
		return fmt.Errorf("push labels: %w", err)
	}
	r.pushWG.Add(1)
	go r.push(ctx, pushURL, u.Redacted(), interval, opts)
	return nil
}

// WaitPush blocks until every push started by StartPush has seen its context end.
func (r *Registry) WaitPush() { r.pushWG.Wait() }

func (r *Registry) push(ctx context.Context, pushURL, redacted string, interval time.Duration, opts *metrics.PushOptions) {
	defer r.pushWG.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := metrics.PushMetricsExt(pctx, pushURL, r.WritePrometheus, opts)
		cancel()
		switch {
		case ctx.Err() != nil:
		case err != nil && !failing:
			// One line per outage, not one per tick.
			r.logger.Warn("metrics push failed", "url", redacted, "err", err)
			failing = true
		case err == nil && failing:
			r.logger.Info("metrics push recovered", "url", redacted)
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
