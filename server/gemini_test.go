package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/gemini"
)

func TestGeminiRoutes(t *testing.T) {
	ts := newTestServer(t)
	flow := func(a, b string) string {
		return `{"nodes":[{"id":"2","position":{"x":0,"y":0},"data":{"label":"` + b + `"}},{"id":"1","type":"input","position":{"x":0,"y":0},"data":{"label":"` + a + `"}}],"edges":[{"id":"e","source":"1","target":"2"}]}`
	}
	runScenarios(t, ts, []scenario{
		{Name: "status", Method: "GET", URL: "/api/gemini/status", ExpectedStatus: 200,
			ExpectedContent: []string{`"hasApiKey":true`, `"model":"test-model"`, `"status":"ready"`}, NotExpectedContent: []string{geminiTestKey[:8]}},
		{Name: "execute in edge order", Method: "POST", URL: "/api/gemini/execute", Body: flow("first", "second"), ExpectedStatus: 200,
			ExpectedContent: []string{`"result":"ran: Input: first\nStep 2: second"`, `"model":"test-model"`, `"latencyMs":`}},
		{Name: "upstream 500", Method: "POST", URL: "/api/gemini/execute", Body: flow("FAIL", "x"), ExpectedStatus: 502,
			ExpectedContent: []string{`"UPSTREAM_ERROR"`, `"upstreamStatus":500`}, NotExpectedContent: []string{geminiTestKey}},
		{Name: "upstream timeout", Method: "POST", URL: "/api/gemini/execute", Body: flow("SLOW", "x"), ExpectedStatus: 502,
			ExpectedContent: []string{`"UPSTREAM_ERROR"`, `"timeout":true`}, NotExpectedContent: []string{geminiTestKey}},
		{Name: "no nodes", Method: "POST", URL: "/api/gemini/execute", Body: `{"nodes":[],"edges":[]}`, ExpectedStatus: 400},
		{Name: "no input node", Method: "POST", URL: "/api/gemini/execute", Body: `{"nodes":[{"id":"a"}],"edges":[]}`, ExpectedStatus: 400,
			ExpectedContent: []string{"no input node"}},
		{Name: "no edges", Method: "POST", URL: "/api/gemini/execute", Body: `{"nodes":[{"id":"a","type":"input"}]}`, ExpectedStatus: 400},
		{Name: "bad json", Method: "POST", URL: "/api/gemini/execute", Body: `nodes`, ExpectedStatus: 400, ExpectedContent: []string{"INVALID_JSON"}},
	})
	m := ts.scrape(t)
	for _, outcome := range []string{"success", "error", "timeout"} {
		if !strings.Contains(m, `outcome="`+outcome+`"`) {
			t.Errorf("no gemini outcome %q in metrics", outcome)
		}
	}
	if !strings.Contains(m, `gemini_flow_errors_total{type="upstream",path="/api/gemini/execute"}`) {
		t.Errorf("upstream errors not counted under the route")
	}
}

func TestGeminiWithoutKey(t *testing.T) {
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.Gemini = gemini.New(gemini.Config{BaseURL: "http://127.0.0.1:1", Model: "m"})
	})
	runScenarios(t, ts, []scenario{
		{Name: "status", Method: "GET", URL: "/api/gemini/status", ExpectedStatus: 200, ExpectedContent: []string{`"hasApiKey":false`, `"status":"unconfigured"`}},
		{Name: "execute unavailable", Method: "POST", URL: "/api/gemini/execute",
			Body: `{"nodes":[{"id":"a","type":"input","position":{"x":0,"y":0},"data":{"label":"A"}}],"edges":[]}`, ExpectedStatus: 503, ExpectedContent: []string{`"UPSTREAM_UNAVAILABLE"`}},
	})
}

// TestShutdownCancelsUpstreamCalls checks that an upstream call still running when
// shutdown stops waiting is cancelled then, and its request answered, instead of holding
// the process until the upstream replies or the client's own timeout.
func TestShutdownCancelsUpstreamCalls(t *testing.T) {
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.Gemini = gemini.New(gemini.Config{BaseURL: geminiUpstream(t), Model: "test-model", APIKey: geminiTestKey, Timeout: time.Minute, Metrics: d.Metrics})
	})
	body := `{"nodes":[{"id":"1","type":"input","position":{"x":0,"y":0},"data":{"label":"SLOW"}}],"edges":[]}`
	type answer struct {
		status int
		body   string
	}
	answered := make(chan answer, 1)
	go func() {
		status, _, b := ts.do(t, "POST", "/api/gemini/execute", body, nil)
		answered <- answer{status, b}
	}()
	time.Sleep(100 * time.Millisecond) // the call reaches the upstream, which holds it 3 s
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = ts.Server.Shutdown(ctx) // ends with ctx: the request was still in flight
	a := <-answered
	if a.status != 502 || !strings.Contains(a.body, "request canceled") {
		t.Fatalf("in-flight call answered %d %s, want 502 request canceled", a.status, a.body)
	}
}
