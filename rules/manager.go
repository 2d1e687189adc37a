// Package rules evaluates Prometheus alerting and recording rules on the binary's own
// history, with Prometheus's semantics: rule files in Prometheus's format, groups evaluated
// at their interval, alerts moving inactive → pending → firing → resolved under `for` and
// `keep_firing_for`, the ALERTS and ALERTS_FOR_STATE series written to the history, the
// `for` state restored from them after a restart, and firing alerts resent to the
// notifier every resend delay with Prometheus's endsAt.
package rules

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/notify"
)

// Prometheus's defaults for the timing of notifications and of the `for` restore.
const (
	DefaultResendDelay     = time.Minute
	DefaultOutageTolerance = time.Hour
	DefaultForGracePeriod  = 10 * time.Minute
)

// QueryFunc runs an instant query at a time, as the rules engine and templates do.
type QueryFunc func(ctx context.Context, qs string, t time.Time) (promql.Vector, error)

// Appender takes the samples the rules write (the history's AppendSamples).
type Appender interface {
	AppendSamples(ts int64, samples []history.Sample) int
}

// Notifier takes the alerts due for sending (a *notify.Notifier).
type Notifier interface {
	Send(alerts ...notify.Alert)
}

// Metrics counts evaluations and alerts.
type Metrics interface {
	RuleEvaluated(group string, failed bool)
	RuleGroupEvaluated(group string, ts time.Time, d time.Duration)
	AlertsActive(pending, firing int)
}

// Options configures a Manager.
type Options struct {
	Sources         []Source
	Interval        time.Duration // a group's interval when it names none
	Engine          *promql.Engine
	Parser          parser.Parser // nil: the default parser
	Queryable       storage.Queryable
	Appender        Appender // nil: nothing written
	Notifier        Notifier // nil: nothing sent
	ExternalURL     string   // the binary's URL, for $externalURL and generator URLs
	ResendDelay     time.Duration
	OutageTolerance time.Duration
	ForGracePeriod  time.Duration
	Metrics         Metrics // nil: not counted
	Logger          *slog.Logger
}

// Manager holds the rule groups and runs them.
type Manager struct {
	opts        Options
	log         *slog.Logger
	groups      []*Group
	query       QueryFunc
	externalURL *url.URL
	metrics     Metrics
}

// New parses the rule files; the error names the file and line of the first problem.
func New(opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Parser == nil {
		opts.Parser = parser.NewParser(parser.Options{})
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.ResendDelay <= 0 {
		opts.ResendDelay = DefaultResendDelay
	}
	if opts.OutageTolerance <= 0 {
		opts.OutageTolerance = DefaultOutageTolerance
	}
	if opts.ForGracePeriod <= 0 {
		opts.ForGracePeriod = DefaultForGracePeriod
	}
	if opts.Engine == nil {
		return nil, errors.New("rules: no engine")
	}
	m := &Manager{opts: opts, log: opts.Logger, metrics: opts.Metrics}
	if m.metrics == nil {
		m.metrics = noMetrics{}
	}
	if opts.ExternalURL != "" {
		u, err := url.Parse(opts.ExternalURL)
		if err != nil {
			return nil, err
		}
		m.externalURL = u
	}
	m.query = EngineQueryFunc(opts.Engine, opts.Queryable)
	groups, err := parseSources(opts.Sources, opts.Interval, opts.Parser, opts.Logger)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		g.m = m
	}
	m.groups = groups
	return m, nil
}

// EngineQueryFunc runs instant queries with engine over q, as Prometheus's rule manager
// does: a scalar becomes a one-sample vector without labels.
func EngineQueryFunc(engine *promql.Engine, q storage.Queryable) QueryFunc {
	return func(ctx context.Context, qs string, t time.Time) (promql.Vector, error) {
		if q == nil {
			return nil, errors.New("no history to query")
		}
		query, err := engine.NewInstantQuery(ctx, q, nil, qs, t)
		if err != nil {
			return nil, err
		}
		res := query.Exec(ctx)
		if res.Err != nil {
			return nil, res.Err
		}
		switch v := res.Value.(type) {
		case promql.Vector:
			return v, nil
		case promql.Scalar:
			return promql.Vector{promql.Sample{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
		default:
			return nil, errors.New("rule result is not a vector or scalar")
		}
	}
}

// Groups are the rule groups in file order.
func (m *Manager) Groups() []*Group { return m.groups }

// Run evaluates every group at its interval until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, g := range m.groups {
		wg.Add(1)
		go func() { defer wg.Done(); g.run(ctx) }()
	}
	wg.Wait()
}

// EvalAll evaluates every group once at ts, in order, as promtool's test runner does.
func (m *Manager) EvalAll(ctx context.Context, ts time.Time) {
	for _, g := range m.groups {
		g.Eval(ctx, ts)
	}
}

// Restored marks every alerting rule restored without reading ALERTS_FOR_STATE, so that
// ALERTS are written from the first evaluation on, as promtool's test runner does.
func (m *Manager) Restored() {
	for _, g := range m.groups {
		for _, r := range g.rules {
			if ar, ok := r.(*AlertingRule); ok {
				ar.setRestored()
			}
		}
	}
}

// countAlerts updates the alerts-by-state metric.
func (m *Manager) countAlerts() {
	pending, firing := 0, 0
	for _, g := range m.groups {
		for _, r := range g.rules {
			if ar, ok := r.(*AlertingRule); ok {
				for _, a := range ar.Alerts() {
					if a.State == StateFiring {
						firing++
					} else {
						pending++
					}
				}
			}
		}
	}
	m.metrics.AlertsActive(pending, firing)
}

// Summary summarises the rules for /health.
type Summary struct {
	Status         string     `json:"status"` // healthy, degraded (a rule failing) or disabled
	Groups         int        `json:"groups"`
	Rules          int        `json:"rules"`
	FailingRules   int        `json:"failingRules"`
	LastEvaluation *time.Time `json:"lastEvaluation"`
}

// Summary counts groups (on a nil Manager: disabled), rules and failing rules, and finds the newest evaluation.
func (m *Manager) Summary() Summary {
	if m == nil {
		return Summary{Status: "disabled"}
	}
	h := Summary{Status: "healthy", Groups: len(m.groups)}
	for _, g := range m.groups {
		h.Rules += len(g.rules)
		for _, r := range g.rules {
			if r.Status().Health == HealthBad {
				h.FailingRules++
				h.Status = "degraded"
			}
		}
		if last, _ := g.LastEvaluation(); !last.IsZero() && (h.LastEvaluation == nil || last.After(*h.LastEvaluation)) {
			t := last.UTC()
			h.LastEvaluation = &t
		}
	}
	return h
}

type noMetrics struct{}

func (noMetrics) RuleEvaluated(string, bool)                          {}
func (noMetrics) RuleGroupEvaluated(string, time.Time, time.Duration) {}
func (noMetrics) AlertsActive(int, int)                               {}

// notifications turns alerts due for sending into what Alertmanager takes, as
// Prometheus's SendAlerts does: startsAt is when the alert fired, endsAt when it resolved
// or, while it fires, how long this send keeps it alive.
func (m *Manager) notifications(r *AlertingRule, due []Alert) []notify.Alert {
	out := make([]notify.Alert, 0, len(due))
	gen := m.opts.ExternalURL + "/?g0.expr=" + url.QueryEscape(r.Query()) + "&g0.tab=1"
	for _, a := range due {
		n := notify.Alert{StartsAt: a.FiredAt, EndsAt: a.ValidUntil, Labels: a.Labels, Annotations: a.Annotations, GeneratorURL: gen}
		if !a.ResolvedAt.IsZero() {
			n.EndsAt = a.ResolvedAt
		}
		out = append(out, n)
	}
	return out
}
