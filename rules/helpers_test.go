package rules_test

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/rules"
)

// newEngine is an engine with the query API's options.
func newEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{Timeout: 10 * time.Second, MaxSamples: 5_000_000, EnableAtModifier: true, EnableNegativeOffset: true})
}

func newManager(t *testing.T, db *history.DB, srcs []rules.Source, interval time.Duration) *rules.Manager {
	t.Helper()
	m, err := rules.New(rules.Options{Sources: srcs, Interval: interval, Engine: newEngine(), Queryable: db, Appender: db})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustLabels(s string) labels.Labels {
	ls, err := parser.NewParser(parser.Options{}).ParseMetric(s)
	if err != nil {
		panic(err)
	}
	return ls
}
