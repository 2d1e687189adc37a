package rules

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gemini-flow/gemini-flow/history"
)

// Rule is an alerting or a recording rule.
type Rule interface {
	Name() string
	Query() string
	Labels() labels.Labels
	Status() Status
	record(ts time.Time, d time.Duration, err error)
}

// Group is a rule group: its rules evaluated in order at every interval.
type Group struct {
	name, file string
	interval   time.Duration
	opts       evalOptions
	rules      []Rule
	m          *Manager

	// prevSeries holds, per rule, the series it wrote at the previous evaluation, so that
	// the ones it stops writing get a staleness marker as Prometheus writes one.
	prevSeries []map[uint64]labels.Labels

	statusMu sync.Mutex
	lastEval time.Time
	duration time.Duration
}

// evalOptions are a group's `limit` and `query_offset`, as Prometheus applies them: the
// rules query (and their samples are written) query_offset in the past, and a rule whose
// result exceeds the limit fails.
type evalOptions struct {
	limit       int
	queryOffset time.Duration
}

// Name is the group's name.
func (g *Group) Name() string { return g.name }

// File is the rule file the group comes from.
func (g *Group) File() string { return g.file }

// Interval is how often the group is evaluated.
func (g *Group) Interval() time.Duration { return g.interval }

// Limit is the group's `limit` on alerts or series per rule; 0: none.
func (g *Group) Limit() int { return g.opts.limit }

// Rules are the group's rules in file order.
func (g *Group) Rules() []Rule { return g.rules }

// Key is the group's identity in metrics, as Prometheus writes it: file;name.
func (g *Group) Key() string { return g.file + ";" + g.name }

// LastEvaluation is when the group was last evaluated and how long that took.
func (g *Group) LastEvaluation() (time.Time, time.Duration) {
	g.statusMu.Lock()
	defer g.statusMu.Unlock()
	return g.lastEval, g.duration
}

// Eval evaluates every rule at ts, writes their samples into the history and hands the
// alerts due for sending to the notifier.
func (g *Group) Eval(ctx context.Context, ts time.Time) {
	start := time.Now()
	var samples []history.Sample
	for i, rule := range g.rules {
		ruleStart := time.Now()
		vec, err := g.evalRule(ctx, rule, ts)
		rule.record(ts, time.Since(ruleStart), err)
		g.m.metrics.RuleEvaluated(g.Key(), err != nil)
		if err != nil {
			g.m.log.Warn("rule evaluation failed", "group", g.name, "file", g.file, "rule", rule.Name(), "err", err)
			continue
		}
		samples = g.appendWithStaleness(samples, i, vec, ts)
	}
	if len(samples) > 0 && g.m.opts.Appender != nil {
		g.m.opts.Appender.AppendSamples(ts.Add(-g.opts.queryOffset).UnixMilli(), samples)
	}
	d := time.Since(start)
	g.statusMu.Lock()
	g.lastEval, g.duration = ts, d
	g.statusMu.Unlock()
	g.m.metrics.RuleGroupEvaluated(g.Key(), ts, d)
	g.m.countAlerts()
}

func (g *Group) evalRule(ctx context.Context, rule Rule, ts time.Time) (promql.Vector, error) {
	switch r := rule.(type) {
	case *AlertingRule:
		vec, err := r.eval(ctx, ts, g.opts, g.m.query, g.m.externalURL)
		if err != nil {
			return nil, err
		}
		if due := r.dueAlerts(ts, g.m.opts.ResendDelay, g.interval); len(due) > 0 && g.m.opts.Notifier != nil {
			g.m.opts.Notifier.Send(g.m.notifications(r, due)...)
		}
		return vec, nil
	case *RecordingRule:
		return r.eval(ctx, ts, g.opts, g.m.query)
	}
	panic("rules: unknown rule type")
}

// appendWithStaleness adds rule i's samples, and a staleness marker for every series the
// rule wrote at its previous evaluation but not at this one.
func (g *Group) appendWithStaleness(out []history.Sample, i int, vec promql.Vector, ts time.Time) []history.Sample {
	cur := make(map[uint64]labels.Labels, len(vec))
	for _, s := range vec {
		cur[s.Metric.Hash()] = s.Metric
		out = append(out, history.Sample{Labels: s.Metric, Value: s.F})
	}
	stale := math.Float64frombits(value.StaleNaN)
	for h, lset := range g.prevSeries[i] {
		if _, ok := cur[h]; !ok {
			out = append(out, history.Sample{Labels: lset, Value: stale})
		}
	}
	g.prevSeries[i] = cur
	return out
}

// offset is where in each interval the group evaluates, spread by its identity as
// Prometheus spreads groups.
func (g *Group) offset() time.Duration {
	h := labels.New(labels.Label{Name: "name", Value: g.name}, labels.Label{Name: "file", Value: g.file}).Hash()
	return time.Duration(h % uint64(g.interval))
}

// nextEval is the first evaluation time of the group after now.
func (g *Group) nextEval(now time.Time) time.Time {
	off := int64(g.offset())
	iv := int64(g.interval)
	adj := now.UnixNano() - off
	base := adj - adj%iv
	return time.Unix(0, base+off+iv)
}

// run evaluates the group at every interval until ctx ends. The `for` state of its alerts
// is restored after the second evaluation, as Prometheus does, so that recording rules
// and samples have caught up.
func (g *Group) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 0; ; n++ {
		next := g.nextEval(time.Now())
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		g.Eval(ctx, next)
		if n == 1 {
			g.RestoreForState(ctx, time.Now())
		}
	}
}

// RestoreForState gives every pending alert back the progress of its `for` from the
// ALERTS_FOR_STATE series written before a restart, with Prometheus's rules: an alert
// that was firing keeps its ActiveAt; one whose `for` is shorter than the grace period
// starts over; one with less than the grace period left fires a grace period from ts;
// otherwise ActiveAt moves forward by the time the binary was down.
func (g *Group) RestoreForState(ctx context.Context, ts time.Time) {
	defer func() {
		for _, r := range g.rules {
			if ar, ok := r.(*AlertingRule); ok {
				ar.setRestored()
			}
		}
	}()
	if g.m.opts.Queryable == nil {
		return
	}
	q, err := g.m.opts.Queryable.Querier(ts.Add(-g.m.opts.OutageTolerance).UnixMilli(), ts.UnixMilli())
	if err != nil {
		g.m.log.Error("restore alert state: querier", "group", g.name, "err", err)
		return
	}
	defer q.Close()
	for _, r := range g.rules {
		ar, ok := r.(*AlertingRule)
		if !ok {
			continue
		}
		last := map[string]forState{} // by labels without __name__
		ss := q.Select(ctx, false, nil,
			labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, alertForStateMetricName),
			labels.MustNewMatcher(labels.MatchEqual, labels.AlertName, ar.name))
		for ss.Next() {
			s := ss.At()
			var t int64
			var v float64
			it := s.Iterator(nil)
			for it.Next() == chunkenc.ValFloat {
				t, v = it.At()
			}
			if it.Err() == nil && t != 0 {
				last[labels.NewBuilder(s.Labels()).Del(model.MetricNameLabel).Labels().String()] = forState{t: t, activeAt: v}
			}
		}
		if err := ss.Err(); err != nil {
			g.m.log.Error("restore alert state: select", "alertname", ar.name, "err", err)
			continue
		}
		ar.restoreFrom(last, ts, g.m.opts.ForGracePeriod)
	}
}
