package rules_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/rules"
)

// mixHistory fills a history with an hour of the binary's own exposition at the default
// 10 s interval, under traffic over 50 routes with a few statuses each (about 1,700 series).
func mixHistory(b *testing.B) (*history.DB, time.Time) {
	b.Helper()
	reg := monitoring.New(monitoring.Options{Version: "1", Revision: "r"})
	db, err := history.Open(history.Options{Path: filepath.Join(b.TempDir(), "history.db"), Job: monitoring.Job, Instance: "127.0.0.1:3001"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	resources := []string{"workflows", "sessions", "store", "nodes", "edges", "templates", "runs", "users", "keys", "exports"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	var ts time.Time
	for tick := range 360 {
		for _, r := range resources {
			for i, rt := range []struct {
				method, route string
				statuses      []int
			}{{"GET", "/api/" + r, []int{200, 304, 500}}, {"POST", "/api/" + r, []int{201, 400}}, {"GET", "/api/" + r + "/{id}", []int{200, 404, 500}},
				{"PUT", "/api/" + r + "/{id}", []int{200, 400}}, {"DELETE", "/api/" + r + "/{id}", []int{204, 404}}} {
				for _, st := range rt.statuses {
					reg.ObserveHTTP(rt.method, rt.route, st, time.Duration(1+(tick+i)%40)*time.Millisecond)
				}
				reg.IncError(monitoring.ErrNotFound, rt.route)
				reg.ObserveDB(monitoring.OpRead, monitoring.CollWorkflows, nil, time.Millisecond)
			}
		}
		ts = t0.Add(time.Duration(tick) * 10 * time.Second)
		buf.Reset()
		reg.WritePrometheus(&buf)
		if err := db.Append(ts.UnixMilli(), buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
	return db, ts
}

// BenchmarkShippedRules evaluates dashboards/alerts.yml once, as every 10 s interval does;
// core-% is the share of one core that costs at that interval.
func BenchmarkShippedRules(b *testing.B) {
	db, ts := mixHistory(b)
	m, err := rules.New(rules.Options{Sources: []rules.Source{{File: dashboards.AlertsFile, Data: dashboards.Alerts()}},
		Interval: 10 * time.Second, Engine: newEngine(), Queryable: db, Appender: db})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.EvalAll(ctx, ts.Add(time.Duration(i)*time.Millisecond))
	}
	b.ReportMetric(float64(db.Stats().Series), "series")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(10*time.Second)*100, "core-%")
}
