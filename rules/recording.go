package rules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// RecordingRule writes its expression's result into the history as the series `record`.
type RecordingRule struct {
	ruleStatus
	name   string
	expr   parser.Expr
	labels labels.Labels
}

// Name is the recorded metric name.
func (r *RecordingRule) Name() string { return r.name }

// Query is the rule's expression as the engine prints it.
func (r *RecordingRule) Query() string { return r.expr.String() }

// Labels are the labels the rule sets on every recorded series.
func (r *RecordingRule) Labels() labels.Labels { return r.labels }

// eval runs the expression at ts and renames its result.
func (r *RecordingRule) eval(ctx context.Context, ts time.Time, o evalOptions, q QueryFunc) (promql.Vector, error) {
	vec, err := q(ctx, r.expr.String(), ts.Add(-o.queryOffset))
	if err != nil {
		return nil, err
	}
	if o.limit > 0 && len(vec) > o.limit {
		return nil, fmt.Errorf("exceeded limit %d with %d series", o.limit, len(vec))
	}
	seen := make(map[uint64]struct{}, len(vec))
	for i := range vec {
		lb := labels.NewBuilder(vec[i].Metric).Set(model.MetricNameLabel, r.name)
		r.labels.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
		vec[i].Metric = lb.Labels()
		h := vec[i].Metric.Hash()
		if _, dup := seen[h]; dup {
			return nil, errors.New("vector contains metrics with the same labelset after applying rule labels")
		}
		seen[h] = struct{}{}
	}
	return vec, nil
}
