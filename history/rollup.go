package history

import (
	"math"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// promqlParser parses with the options of the query API's engine.
var promqlParser = parser.NewParser(parser.Options{})

// RollupLabel names the label that sets a rollup's series apart from its members. A
// selection sees rollup series only when one of its matchers names this label.
const RollupLabel = "__rollup__"

// Rollup is a sum the history keeps at sampling time: every series of Metric summed by
// the labels By and by job and instance. A query `sum by (By) (rate(Metric[r]))`, or
// increase, then reads one series per group instead of every member (see Rewrite).
type Rollup struct {
	Metric string
	By     []string // sorted, without job and instance
}

// key is the value of RollupLabel on the rollup's series.
func (r Rollup) key() string { return "sum by (" + strings.Join(r.By, ", ") + ")" }

// id names the rollup among all: its metric and key.
func (r Rollup) id() string { return r.Metric + " " + r.key() }

// RollupsOf returns a rollup for every `sum by (…) (rate|increase(metric{…}[…]))` in exprs
// that sums away at least one label of the metric, as labelNames tells them (a metric it
// does not know is skipped). Expressions that do not parse are skipped.
func RollupsOf(exprs []string, labelNames func(metric string) ([]string, bool)) []Rollup {
	var out []Rollup
	seen := map[string]bool{}
	for _, e := range exprs {
		expr, err := promqlParser.ParseExpr(e)
		if err != nil {
			continue
		}
		parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
			vs, by, ok := rollupShape(n, path)
			if !ok {
				return nil
			}
			names, known := labelNames(vs.Name)
			if !known || !slices.ContainsFunc(names, func(l string) bool { return !slices.Contains(by, l) && l != "job" && l != "instance" }) {
				return nil // summing by every label it has: the rollup would be the members themselves
			}
			if r := (Rollup{Metric: vs.Name, By: by}); !seen[r.id()] {
				seen[r.id()] = true
				out = append(out, r)
			}
			return nil
		})
	}
	return out
}

// rollupShape reports whether n is `sum by (by…) (rate|increase(vs[…]))` outside any
// subquery, with vs naming its metric, no @ modifier, and matchers on the metric name,
// job, instance and grouping labels only. by comes back sorted, without job and instance.
func rollupShape(n parser.Node, path []parser.Node) (vs *parser.VectorSelector, by []string, ok bool) {
	agg, isAgg := n.(*parser.AggregateExpr)
	if !isAgg || agg.Op != parser.SUM || agg.Without || agg.Param != nil {
		return nil, nil, false
	}
	for _, p := range path {
		if _, sub := p.(*parser.SubqueryExpr); sub {
			return nil, nil, false
		}
	}
	call, isCall := agg.Expr.(*parser.Call)
	if !isCall || (call.Func.Name != "rate" && call.Func.Name != "increase") || len(call.Args) != 1 {
		return nil, nil, false
	}
	ms, isMatrix := call.Args[0].(*parser.MatrixSelector)
	if !isMatrix {
		return nil, nil, false
	}
	vs, isVS := ms.VectorSelector.(*parser.VectorSelector)
	if !isVS || vs.Name == "" || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return nil, nil, false
	}
	for _, l := range agg.Grouping {
		if l != "job" && l != "instance" && !slices.Contains(by, l) {
			by = append(by, l)
		}
	}
	slices.Sort(by)
	for _, m := range vs.LabelMatchers {
		switch {
		case m.Name == model.MetricNameLabel:
			if m.Type != labels.MatchEqual || m.Value != vs.Name {
				return nil, nil, false
			}
		case m.Name == "job", m.Name == "instance", slices.Contains(by, m.Name):
		default:
			return nil, nil, false // a matcher on a summed-away label selects members, not groups
		}
	}
	return vs, by, true
}

// rollupDef is a rollup the DB keeps, and since when it has kept it without a break.
type rollupDef struct {
	Rollup
	key   string
	since int64 // ms of its first sample; 0 until it has one
}

// setRollups indexes the rollups to keep, and keeps the since times the file holds (by
// id) for those among them it kept before. Caller holds d.mu or owns d.
func (d *DB) setRollups(rs []Rollup, since map[string]int64) {
	d.rollupsByName = map[string][]*rollupDef{}
	for _, r := range rs {
		def := &rollupDef{Rollup: r, key: r.key(), since: since[r.id()]}
		d.rollupsToStart = d.rollupsToStart || def.since == 0
		d.rollupsByName[r.Metric] = append(d.rollupsByName[r.Metric], def)
	}
	if len(d.rollupSinces()) != len(since) {
		d.rollupsDirty = true // forget rollups no longer kept: their series will have a gap
	}
}

// rollupSinces returns, by id, when each rollup kept began, as the file holds them.
// Caller holds d.mu or owns d.
func (d *DB) rollupSinces() map[string]int64 {
	out := map[string]int64{}
	for _, defs := range d.rollupsByName {
		for _, def := range defs {
			if def.since != 0 {
				out[def.id()] = def.since
			}
		}
	}
	return out
}

// groupsOf returns the rollup series a member series feeds. Caller holds d.mu.
func (d *DB) groupsOf(lset labels.Labels) []*series {
	defs := d.rollupsByName[lset.Get(model.MetricNameLabel)]
	if len(defs) == 0 || lset.Has(RollupLabel) {
		return nil
	}
	out := make([]*series, 0, len(defs))
	for _, def := range defs {
		b := labels.NewBuilder(lset)
		b.Keep(append([]string{model.MetricNameLabel, "job", "instance"}, def.By...)...)
		b.Set(RollupLabel, def.key)
		out = append(out, d.getOrCreate(b.Labels()))
	}
	return out
}

// feedRollups adds one sample of a member series to the sums it feeds. A sum grows by
// what its members grow, as rate and increase see them: a member's first value in this
// process counts only when its group starts with it (a rate does not count a series'
// first sample), and a member that decreased counts again from zero. A member that comes
// back after a restart, within a window of its last sample, is where the two differ: the
// rate over the member counts its new value as a reset, the rollup does not. Caller
// holds d.mu.
func (d *DB) feedRollups(m *series, v float64) {
	if math.IsNaN(v) {
		return
	}
	inc, first := 0.0, !m.rollSeen
	switch {
	case first:
	case v >= m.rollLast:
		inc = v - m.rollLast
	default:
		inc = v
	}
	m.rollSeen, m.rollLast = true, v
	for _, g := range m.rollups {
		if g.rollTick != d.tick {
			if g.rollBorn == 0 {
				g.rollBorn, g.rollValue = d.tick, 0
			}
			g.rollTick = d.tick
			d.rolled = append(d.rolled, g)
		}
		if first && g.rollBorn == d.tick {
			g.rollValue += v
		} else {
			g.rollValue += inc
		}
	}
}

// appendRollups appends this tick's sums at ts, adds their series to cur and returns the
// samples added. Caller holds d.mu.
func (d *DB) appendRollups(ts int64, cur []*series) ([]*series, uint64) {
	var added uint64
	for _, g := range d.rolled {
		g.lastTick = d.tick
		cur = append(cur, g)
		if g.append(ts, g.rollValue) {
			added++
		}
	}
	if len(d.rolled) > 0 && d.rollupsToStart {
		for _, defs := range d.rollupsByName {
			for _, def := range defs {
				if def.since == 0 {
					def.since, d.rollupsDirty = ts, true
				}
			}
		}
		d.rollupsToStart = false
	}
	d.rolled = d.rolled[:0]
	return cur, added
}

// Rewrite returns the query qs with every `sum by (…) (rate|increase(…))` that a rollup
// answers reading the rollup's series, when the rollup covers every sample the selection
// reads for evaluations from start (ms) on: it began before the earliest, or no member
// holds a sample from before it began. The rollup's rate is the sum of its members' but
// in windows where a member appears or restarts, and where one climbs from near zero (by
// less than one sampling interval's share of the window there). qs comes back unchanged
// when it does not parse or nothing applies.
func (d *DB) Rewrite(qs string, start int64) string {
	d.mu.Lock()
	empty := len(d.rollupsByName) == 0
	d.mu.Unlock()
	if empty {
		return qs
	}
	expr, err := promqlParser.ParseExpr(qs)
	if err != nil {
		return qs
	}
	changed := false
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		vs, by, ok := rollupShape(n, path)
		if !ok {
			return nil
		}
		ms := n.(*parser.AggregateExpr).Expr.(*parser.Call).Args[0].(*parser.MatrixSelector)
		earliest := start - ms.Range.Milliseconds() - max(vs.OriginalOffset.Milliseconds(), 0)
		key := Rollup{Metric: vs.Name, By: by}.key()
		d.mu.Lock()
		var since int64
		for _, def := range d.rollupsByName[vs.Name] {
			if def.key == key {
				since = def.since
			}
		}
		covered := since != 0 && (earliest >= since || d.oldestMember(vs.Name) >= since)
		d.mu.Unlock()
		if !covered {
			return nil
		}
		vs.LabelMatchers = append(vs.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, RollupLabel, key))
		changed = true
		return nil
	})
	if !changed {
		return qs
	}
	return expr.String()
}

// oldestMember returns the time of the oldest sample of any member series of metric, or
// MaxInt64 when none holds one. Caller holds d.mu.
func (d *DB) oldestMember(metric string) int64 {
	oldest := int64(math.MaxInt64)
	for _, s := range d.byName[metric] {
		if !s.hidden {
			oldest = min(oldest, s.minT)
		}
	}
	return oldest
}
