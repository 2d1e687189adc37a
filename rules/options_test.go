package rules_test

import (
	"context"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/rules"
)

// TestGroupLimitAndQueryOffset: a rule with more alerts than the group's limit fails and
// keeps none; query_offset reads and writes that far in the past. (promtool 2.42, the
// Debian one, knows no query_offset and fails a test on a rule error, so these are checked
// here only.)
func TestGroupLimitAndQueryOffset(t *testing.T) {
	db := openHistory(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		at := t0.Add(time.Duration(i) * time.Minute)
		db.AppendSamples(at.UnixMilli(), []history.Sample{
			{Labels: mustLabels(`busy{instance="a"}`), Value: 1},
			{Labels: mustLabels(`busy{instance="b"}`), Value: float64(i / 2)}, // 0 0 1 1
			{Labels: mustLabels(`level`), Value: float64(10 * i)},
		})
	}
	m := newManager(t, db, []rules.Source{{File: "opts.yml", Data: []byte(`groups:
  - name: limited
    limit: 1
    rules:
      - alert: TooMany
        expr: busy > 0
  - name: offset
    query_offset: 1m
    rules:
      - record: level:offset
        expr: level
`)}}, time.Minute)
	m.Restored()
	ctx := context.Background()
	tooMany := m.Groups()[0].Rules()[0].(*rules.AlertingRule)
	m.EvalAll(ctx, t0.Add(time.Minute))
	if n := len(tooMany.Alerts()); n != 1 || tooMany.Status().Health != rules.HealthGood {
		t.Fatalf("one alert under the limit: %d alerts, %+v", n, tooMany.Status())
	}
	m.EvalAll(ctx, t0.Add(2*time.Minute))
	if st := tooMany.Status(); len(tooMany.Alerts()) != 0 || st.Health != rules.HealthBad || st.LastError != "exceeded limit of 1 with 2 alerts" {
		t.Fatalf("two alerts over the limit: %d alerts, %+v", len(tooMany.Alerts()), st)
	}

	// At 3m the recording rule reads level at 2m (20) and writes it at 2m.
	v, err := rules.EngineQueryFunc(newEngine(), db)(ctx, "level:offset", t0.Add(2*time.Minute))
	if err != nil || len(v) != 1 || v[0].F != 10 || v[0].T != t0.Add(2*time.Minute).UnixMilli() {
		t.Fatalf("level:offset at 2m before the 3m evaluation: %v %v", v, err)
	}
	m.EvalAll(ctx, t0.Add(3*time.Minute))
	v, err = rules.EngineQueryFunc(newEngine(), db)(ctx, "level:offset", t0.Add(2*time.Minute))
	if err != nil || len(v) != 1 || v[0].F != 20 {
		t.Fatalf("level:offset at 2m after the 3m evaluation: %v %v", v, err)
	}
}
