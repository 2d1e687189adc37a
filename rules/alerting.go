package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// resolvedRetention is how long a resolved alert is kept, and resent, after it resolved.
const resolvedRetention = 15 * time.Minute

// The series the alerting rules write into the history, named as Prometheus names them.
const (
	alertMetricName         = "ALERTS"
	alertForStateMetricName = "ALERTS_FOR_STATE"
	alertStateLabel         = "alertstate"
)

// AlertingRule turns the label sets its expression returns into alerts, pending for `for`,
// then firing, and held for `keep_firing_for` after the expression stops returning them.
type AlertingRule struct {
	ruleStatus
	name          string
	expr          parser.Expr
	holdDuration  time.Duration
	keepFiringFor time.Duration
	labels        labels.Labels
	annotations   labels.Labels
	log           *slog.Logger

	mu       sync.Mutex
	active   map[uint64]*Alert // by the hash of the alert's labels
	restored bool              // the `for` state was restored; ALERTS are written from then on
}

// Name is the alert's name (the alertname label).
func (r *AlertingRule) Name() string { return r.name }

// Query is the rule's expression as the engine prints it.
func (r *AlertingRule) Query() string { return r.expr.String() }

// HoldDuration is the rule's `for`.
func (r *AlertingRule) HoldDuration() time.Duration { return r.holdDuration }

// KeepFiringFor is the rule's `keep_firing_for`.
func (r *AlertingRule) KeepFiringFor() time.Duration { return r.keepFiringFor }

// Labels are the rule's labels, before templating.
func (r *AlertingRule) Labels() labels.Labels { return r.labels }

// Annotations are the rule's annotations, before templating.
func (r *AlertingRule) Annotations() labels.Labels { return r.annotations }

// eval runs the expression at ts, moves every alert through its states, and returns the
// ALERTS and ALERTS_FOR_STATE samples to write (none before the state was restored).
func (r *AlertingRule) eval(ctx context.Context, ts time.Time, o evalOptions, q QueryFunc, externalURL *url.URL) (promql.Vector, error) {
	res, err := q(ctx, r.expr.String(), ts.Add(-o.queryOffset))
	if err != nil {
		return nil, err
	}
	found := make(map[uint64]*Alert, len(res))
	for _, smpl := range res {
		a, err := r.alertOf(ctx, smpl, ts, q, externalURL)
		if err != nil {
			return nil, err
		}
		h := a.Labels.Hash()
		if _, dup := found[h]; dup {
			return nil, errors.New("vector contains metrics with the same labelset after applying alert labels")
		}
		found[h] = a
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for h, a := range found {
		if old, ok := r.active[h]; ok && old.State != StateInactive {
			old.Value, old.Annotations = a.Value, a.Annotations
			continue
		}
		r.active[h] = a
	}
	var vec promql.Vector
	active := 0
	for h, a := range r.active {
		if _, ok := found[h]; ok {
			a.KeepFiringSince = time.Time{}
		} else if !r.stepGone(h, a, ts) {
			continue
		}
		active++
		if a.State == StatePending && ts.Sub(a.ActiveAt) >= r.holdDuration {
			a.State, a.FiredAt = StateFiring, ts
		}
		if a.State == StateFiring && ts.Sub(a.ActiveAt) < r.holdDuration { // `for` grew on reload, or a restore moved ActiveAt
			a.State, a.FiredAt, a.LastSentAt, a.KeepFiringSince = StatePending, time.Time{}, time.Time{}, time.Time{}
		}
		if r.restored {
			at := ts.Add(-o.queryOffset)
			vec = append(vec, alertSample(a, at), forStateSample(a, at))
		}
	}
	if o.limit > 0 && active > o.limit {
		r.active = map[uint64]*Alert{}
		return nil, fmt.Errorf("exceeded limit of %d with %d alerts", o.limit, active)
	}
	return vec, nil
}

// stepGone moves an alert the expression no longer returns: a pending one is forgotten, a
// firing one held for keep_firing_for and then resolved, a resolved one forgotten after
// resolvedRetention. It reports whether the alert is still active (held by keep_firing_for).
func (r *AlertingRule) stepGone(h uint64, a *Alert, ts time.Time) bool {
	keepFiring := false
	if a.State == StateFiring && r.keepFiringFor > 0 {
		if a.KeepFiringSince.IsZero() {
			a.KeepFiringSince = ts
		}
		keepFiring = ts.Sub(a.KeepFiringSince) < r.keepFiringFor
	}
	if a.State == StatePending || (!a.ResolvedAt.IsZero() && ts.Sub(a.ResolvedAt) > resolvedRetention) {
		delete(r.active, h)
	}
	if a.State != StateInactive && !keepFiring {
		a.State, a.ResolvedAt = StateInactive, ts
	}
	return keepFiring
}

// alertOf builds the alert one sample of the result stands for, its labels and
// annotations templated.
func (r *AlertingRule) alertOf(ctx context.Context, smpl promql.Sample, ts time.Time, q QueryFunc, externalURL *url.URL) (*Alert, error) {
	if smpl.H != nil {
		return nil, errors.New("alerting rules on native histograms are not supported")
	}
	exp := newExpander(ctx, r.name, smpl, ts, q, externalURL)
	lb := labels.NewBuilder(smpl.Metric).Del(model.MetricNameLabel)
	r.labels.Range(func(l labels.Label) { lb.Set(l.Name, exp.expand(l.Value)) })
	lb.Set(labels.AlertName, r.name)
	annotations := exp.expandAll(r.annotations)
	if err := exp.err(); err != nil {
		r.log.Warn("alerting rule template", "alertname", r.name, "err", err)
	}
	return &Alert{Labels: lb.Labels(), Annotations: annotations, ActiveAt: ts, State: StatePending, Value: smpl.F}, nil
}

// alertSample is the alert's ALERTS sample: its labels, alertstate, value 1.
func alertSample(a *Alert, ts time.Time) promql.Sample {
	lb := labels.NewBuilder(a.Labels).Set(model.MetricNameLabel, alertMetricName).Set(alertStateLabel, a.State.String())
	return promql.Sample{Metric: lb.Labels(), T: ts.UnixMilli(), F: 1}
}

// forStateSample is the alert's ALERTS_FOR_STATE sample: its labels, the Unix second it became active.
func forStateSample(a *Alert, ts time.Time) promql.Sample {
	lb := labels.NewBuilder(a.Labels).Set(model.MetricNameLabel, alertForStateMetricName)
	return promql.Sample{Metric: lb.Labels(), T: ts.UnixMilli(), F: float64(a.ActiveAt.Unix())}
}

// State is the largest state of the rule's alerts.
func (r *AlertingRule) State() AlertState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := StateInactive
	for _, a := range r.active {
		s = max(s, a.State)
	}
	return s
}

// Alerts returns copies of the rule's pending and firing alerts, ordered by labels.
func (r *AlertingRule) Alerts() []Alert {
	r.mu.Lock()
	out := make([]Alert, 0, len(r.active))
	for _, a := range r.active {
		if a.State != StateInactive {
			out = append(out, *a)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Alert) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

// dueAlerts marks the alerts due for sending at ts as sent and returns copies of them,
// each valid for four resend delays or evaluation intervals, whichever is longer.
func (r *AlertingRule) dueAlerts(ts time.Time, resendDelay, interval time.Duration) []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Alert
	for _, a := range r.active {
		if !a.needsSending(ts, resendDelay) {
			continue
		}
		a.LastSentAt = ts
		a.ValidUntil = ts.Add(4 * max(resendDelay, interval))
		out = append(out, *a)
	}
	return out
}

func (r *AlertingRule) setRestored() {
	r.mu.Lock()
	r.restored = true
	r.mu.Unlock()
}

// forState is the last ALERTS_FOR_STATE sample of an alert: when it was written (ms) and
// the Unix second the alert had become active.
type forState struct {
	t        int64
	activeAt float64
}

// restoreFrom applies the last ALERTS_FOR_STATE samples (by labels) to the active alerts.
func (r *AlertingRule) restoreFrom(last map[string]forState, ts time.Time, gracePeriod time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.active {
		fs, ok := last[a.Labels.String()]
		if !ok || value.IsStaleNaN(fs.activeAt) {
			continue
		}
		downAt := time.Unix(fs.t/1000, 0).UTC()
		activeAt := time.Unix(int64(fs.activeAt), 0).UTC()
		remaining := r.holdDuration - downAt.Sub(activeAt)
		switch {
		case remaining <= 0: // it was firing: the next evaluation fires it again
		case r.holdDuration < gracePeriod:
			continue
		case remaining < gracePeriod:
			activeAt = ts.Add(gracePeriod).Add(-r.holdDuration)
		default:
			activeAt = activeAt.Add(ts.Sub(downAt))
		}
		a.ActiveAt = activeAt
	}
}
