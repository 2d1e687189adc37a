// Package notify sends alerts to Alertmanager (POST /api/v2/alerts, as Prometheus's
// notifier does) and to webhook receivers (the payload Alertmanager posts to them). Sending
// never blocks the caller: every target has a bounded queue, retries with backoff, and
// counts what it drops.
package notify

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Alert is one alert as Alertmanager's POST /api/v2/alerts takes it.
type Alert struct {
	Labels       labels.Labels `json:"labels"`
	Annotations  labels.Labels `json:"annotations"`
	StartsAt     time.Time     `json:"startsAt"`
	EndsAt       time.Time     `json:"endsAt"`
	GeneratorURL string        `json:"generatorURL"`
}

// Resolved reports whether the alert has ended by now.
func (a *Alert) Resolved(now time.Time) bool {
	return !a.EndsAt.IsZero() && !a.EndsAt.After(now)
}

// Metrics counts what the notifier does, per target URL.
type Metrics interface {
	NotificationsSent(target string, n int)
	NotificationErrors(target string)
	NotificationsDropped(n int)
	NotificationQueue(length, capacity int)
}

type noMetrics struct{}

func (noMetrics) NotificationsSent(string, int) {}
func (noMetrics) NotificationErrors(string)     {}
func (noMetrics) NotificationsDropped(int)      {}
func (noMetrics) NotificationQueue(int, int)    {}
