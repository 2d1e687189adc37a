package rules_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/rules"
)

const restoreRules = `groups:
  - name: restore
    interval: 1m
    rules:
      - alert: Slow
        expr: level > 10
        for: 20m
`

// pendingAlert is the one alert of the manager's only rule, or fails.
func onlyAlert(t *testing.T, m *rules.Manager) rules.Alert {
	t.Helper()
	alerts := m.Groups()[0].Rules()[0].(*rules.AlertingRule).Alerts()
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(alerts), alerts)
	}
	return alerts[0]
}

// TestRestoreForState stops the binary's evaluator with an alert pending for half its
// `for`, reopens the history as a restart does, and checks Prometheus's restore: the
// alert is pending again with its ActiveAt moved forward by exactly the time the
// evaluator was down (Prometheus does not count an outage as pending time), and it fires
// once the rest of its `for` has passed.
func TestRestoreForState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	srcs := []rules.Source{{File: "restore.yml", Data: []byte(restoreRules)}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	level := func(db *history.DB, at time.Time) {
		db.AppendSamples(at.UnixMilli(), []history.Sample{{Labels: mustLabels(`level{instance="a"}`), Value: 50}})
	}

	db, err := history.Open(history.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, db, srcs, time.Minute)
	m.Restored()
	var ts time.Time
	for i := 0; i <= 10; i++ { // pending from t0, for 10 of its 20 minutes
		ts = t0.Add(time.Duration(i) * time.Minute)
		level(db, ts)
		m.EvalAll(context.Background(), ts)
	}
	before := onlyAlert(t, m)
	if before.State != rules.StatePending || !before.ActiveAt.Equal(t0) {
		t.Fatalf("before the restart: %v since %v, want pending since %v", before.State, before.ActiveAt, t0)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Restarted 3 minutes later: a new history handle and evaluator on the same file.
	db, err = history.Open(history.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m = newManager(t, db, srcs, time.Minute)
	down := 3 * time.Minute
	restart := ts.Add(down)
	for i := 0; i < 2; i++ { // two evaluations, then the restore, as Prometheus's group does
		at := restart.Add(time.Duration(i) * time.Minute)
		level(db, at)
		m.EvalAll(context.Background(), at)
	}
	restoreAt := restart.Add(time.Minute)
	m.Groups()[0].RestoreForState(context.Background(), restoreAt)
	after := onlyAlert(t, m)
	// downAt is the last ALERTS_FOR_STATE sample (ts); ActiveAt moves by restoreAt - downAt.
	wantActive := t0.Add(restoreAt.Sub(ts))
	if after.State != rules.StatePending || !after.ActiveAt.Equal(wantActive) {
		t.Fatalf("after the restart: %v since %v, want pending since %v", after.State, after.ActiveAt, wantActive)
	}
	fireAt := wantActive.Add(20 * time.Minute)
	for at := restoreAt.Add(time.Minute); !at.After(fireAt); at = at.Add(time.Minute) {
		level(db, at)
		m.EvalAll(context.Background(), at)
		got := onlyAlert(t, m)
		if want := at.Equal(fireAt); (got.State == rules.StateFiring) != want {
			t.Fatalf("at %v: %v, want firing only from %v", at, got.State, fireAt)
		}
	}
}
