package server

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/history"
)

func TestHealthRoutes(t *testing.T) {
	ts := newTestServer(t)
	ts.createWorkflow(t, fullWorkflow("h1"))
	runScenarios(t, ts, []scenario{
		{Name: "health", Method: "GET", URL: "/health", ExpectedStatus: 200,
			ExpectedContent: []string{`"status":"healthy"`, `"service":"gemini-flow-backend"`, `"version":"test-1"`, `"uptimeSeconds":`,
				`"workflowCount":1`, `"nodeCount":2`, `"edgeCount":1`, `"sessionCount":0`, `"lastStoreUpdate":`, `"fileSizeBytes":`, `"clientsConnected":0`},
			NotExpectedContent: []string{`"history"`}},
		{Name: "livez", Method: "GET", URL: "/livez", ExpectedStatus: 200},
		{Name: "readyz", Method: "GET", URL: "/readyz", ExpectedStatus: 200},
		{Name: "not ready", Method: "GET", URL: "/readyz", ExpectedStatus: 503,
			Before: func(_ testing.TB, ts *testServer) { ts.Server.SetReady(false) },
			After:  func(_ testing.TB, ts *testServer, _ string) { ts.Server.SetReady(true) }},
	})
}

func TestHealthWithHistory(t *testing.T) {
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		h, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Interval: time.Hour, Retention: time.Hour, Source: d.Metrics.WritePrometheus})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		if err := h.Append(time.Now().UnixMilli(), []byte("up 1\n")); err != nil {
			t.Fatal(err)
		}
		d.History = h
	})
	scenario{Name: "history component", Method: "GET", URL: "/health", ExpectedStatus: 200,
		ExpectedContent: []string{`"history":{"status":"healthy","series":1`, `"lastSample":"`}}.run(t, ts)
}

// TestHealthDatabaseUnreadable: when the database no longer answers, /health says so with a
// 503 and /readyz drops out, instead of the 200 the original gave.
func TestHealthDatabaseUnreadable(t *testing.T) {
	ts := newTestServer(t)
	ts.createWorkflow(t, fullWorkflow("c1"))
	if err := ts.Store.Close(); err != nil {
		t.Fatal(err)
	}
	status, _, body := ts.do(t, http.MethodGet, "/health", "", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"status":"unhealthy"`) || !strings.Contains(body, `"stats":null`) {
		t.Errorf("unreadable database: %d %s", status, body)
	}
	if status, _, _ := ts.do(t, http.MethodGet, "/readyz", "", nil); status != http.StatusServiceUnavailable {
		t.Errorf("readyz over an unreadable database = %d", status)
	}
	// API calls fail as database errors, in the envelope.
	status, _, body = ts.do(t, http.MethodGet, "/api/workflows/c1", "", nil)
	if status != http.StatusInternalServerError || !strings.Contains(body, `"INTERNAL_ERROR"`) {
		t.Errorf("get over a closed database: %d %s", status, body)
	}
	if m := ts.scrape(t); !strings.Contains(m, `gemini_flow_errors_total{type="database",path="/api/workflows/{id}"} 1`) {
		t.Errorf("database error not counted")
	}
}
