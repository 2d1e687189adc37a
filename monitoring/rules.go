package monitoring

import (
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// The state label values of gemini_flow_alerts, also the alertstate of ALERTS and the state
// of /api/v1/alerts.
const (
	AlertStatePending = "pending"
	AlertStateFiring  = "firing"
)

// ruleSeries holds the always-present series of rule evaluation and notifications.
type ruleSeries struct {
	pending, firing *metrics.Gauge
	dropped         *metrics.Counter
	queueLen        atomic.Int64
	queueCap        atomic.Int64
}

func (r *Registry) initRules() {
	r.rules.pending = r.sets[famAlerts].NewGauge(seriesName(famAlerts, AlertStatePending), nil)
	r.rules.firing = r.sets[famAlerts].NewGauge(seriesName(famAlerts, AlertStateFiring), nil)
	r.rules.dropped = r.sets[famNotificationsDropped].NewCounter(seriesName(famNotificationsDropped))
	r.sets[famNotificationsQueueLength].NewGauge(seriesName(famNotificationsQueueLength), func() float64 { return float64(r.rules.queueLen.Load()) })
	r.sets[famNotificationsQueueCapacity].NewGauge(seriesName(famNotificationsQueueCapacity), func() float64 { return float64(r.rules.queueCap.Load()) })
}

// RuleEvaluated counts one rule evaluation of a group (named file;group, from the
// operator's rule files), and its failure.
func (r *Registry) RuleEvaluated(group string, failed bool) {
	r.sets[famRuleEvaluations].GetOrCreateCounter(seriesName(famRuleEvaluations, group)).Inc()
	c := r.sets[famRuleEvaluationFailures].GetOrCreateCounter(seriesName(famRuleEvaluationFailures, group))
	if failed {
		c.Inc()
	}
}

// RuleGroupEvaluated records when a group was last evaluated and how long it took.
func (r *Registry) RuleGroupEvaluated(group string, ts time.Time, d time.Duration) {
	r.sets[famRuleGroupLastEvaluation].GetOrCreateGauge(seriesName(famRuleGroupLastEvaluation, group), nil).Set(float64(ts.UnixMilli()) / 1e3)
	r.sets[famRuleGroupLastDuration].GetOrCreateGauge(seriesName(famRuleGroupLastDuration, group), nil).Set(d.Seconds())
}

// AlertsActive sets the number of pending and firing alerts.
func (r *Registry) AlertsActive(pending, firing int) {
	r.rules.pending.Set(float64(pending))
	r.rules.firing.Set(float64(firing))
}

// NotificationsSent counts alerts delivered to a target (a configured URL).
func (r *Registry) NotificationsSent(target string, n int) {
	r.sets[famNotificationsSent].GetOrCreateCounter(seriesName(famNotificationsSent, target)).Add(n)
}

// NotificationErrors counts a send to a target that failed after its retries.
func (r *Registry) NotificationErrors(target string) {
	r.sets[famNotificationsErrors].GetOrCreateCounter(seriesName(famNotificationsErrors, target)).Inc()
}

// NotificationsDropped counts alerts that were never delivered.
func (r *Registry) NotificationsDropped(n int) { r.rules.dropped.Add(n) }

// NotificationQueue records the length and capacity of the notification queues.
func (r *Registry) NotificationQueue(length, capacity int) {
	r.rules.queueLen.Store(int64(length))
	r.rules.queueCap.Store(int64(capacity))
}
