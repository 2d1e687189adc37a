package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	ts := newTestServer(t)
	runScenarios(t, ts, []scenario{
		{Name: "unknown route", Method: "GET", URL: "/api/nothing/here", ExpectedStatus: 404, ExpectedContent: []string{`"NOT_FOUND"`}},
		{Name: "trailing slash is not redirected", Method: "GET", URL: "/api/workflows/", ExpectedStatus: 404},
		{Name: "root-level unknown", Method: "GET", URL: "/wp-admin.php", ExpectedStatus: 404, ExpectedContent: []string{`"NOT_FOUND"`}},
		{Name: "405 with Allow", Method: "DELETE", URL: "/api/workflows", ExpectedStatus: 405,
			ExpectedContent: []string{`"METHOD_NOT_ALLOWED"`}, ExpectedHeaders: map[string]string{"Allow": "GET, HEAD, OPTIONS, POST"}},
		{Name: "405 on item", Method: "POST", URL: "/api/workflows/x", ExpectedStatus: 405, ExpectedContent: []string{`"METHOD_NOT_ALLOWED"`}},
		{Name: "405 on item again", Method: "PATCH", URL: "/api/workflows/y", ExpectedStatus: 405},
		{Name: "no template under any method", Method: "PUT", URL: "/api/workflows/import/", ExpectedStatus: 404},
		// GET /api/workflows/{id} and POST /api/workflows/import both match: the static one labels.
		{Name: "405 on import", Method: "PATCH", URL: "/api/workflows/import", ExpectedStatus: 405},
		{Name: "405 on export", Method: "DELETE", URL: "/api/workflows/z/export", ExpectedStatus: 405},
	})
	m := ts.scrape(t)
	wantMetrics(t, m,
		`gemini_flow_http_requests_total{method="GET",route="unmatched",status_code="404"} 3`,
		`gemini_flow_http_requests_total{method="PUT",route="unmatched",status_code="404"} 1`,
		`gemini_flow_http_requests_total{method="DELETE",route="/api/workflows",status_code="405"} 1`,
		`gemini_flow_http_requests_total{method="POST",route="/api/workflows/{id}",status_code="405"} 1`,
		`gemini_flow_http_requests_total{method="PATCH",route="/api/workflows/{id}",status_code="405"} 1`,
		`gemini_flow_http_requests_total{method="PATCH",route="/api/workflows/import",status_code="405"} 1`,
		`gemini_flow_http_requests_total{method="DELETE",route="/api/workflows/{id}/export",status_code="405"} 1`,
		`gemini_flow_errors_total{type="not_found",path="unmatched"} 4`,
		`gemini_flow_errors_total{type="method_not_allowed",path="/api/workflows"} 1`,
		`gemini_flow_errors_total{type="method_not_allowed",path="/api/workflows/{id}"} 2`,
		`gemini_flow_errors_total{type="method_not_allowed",path="/api/workflows/import"} 1`,
		`gemini_flow_errors_total{type="method_not_allowed",path="/api/workflows/{id}/export"} 1`,
	)
	if strings.Contains(m, `type="method_not_allowed",path="unmatched"`) {
		t.Errorf("a 405 was labelled unmatched")
	}
	if strings.Contains(m, "wp-admin") || strings.Contains(m, `route="/"`) {
		t.Errorf("raw path leaked into labels")
	}
}

// TestRouteLabelAllocatesNothing resolves templates the way every request is labelled: under
// its method, under another one (a 405), and a static template before a parameter.
func TestRouteLabelAllocatesNothing(t *testing.T) {
	ts := newTestServer(t)
	for _, c := range []struct{ method, path, want string }{
		{"DELETE", "/api/workflows/some-id/export", "/api/workflows/{id}/export"},
		{"GET", "/api/workflows/some-id/export", "/api/workflows/{id}/export"},
		{"POST", "/api/workflows/import", "/api/workflows/import"},
		{"GET", "/api/workflows/import", "/api/workflows/{id}"},
		{"HEAD", "/api/workflows", "/api/workflows"},
		{"GET", "/no/such/route", monitoring.RouteUnmatched},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(c.path)
		ctx.Request.Header.SetMethod(c.method)
		resolve := func() {
			ctx.ResetUserValues()
			ts.Server.resolveRoute(&ctx, ctx.Method())
		}
		resolve()
		if got := routeOf(&ctx); got != c.want {
			t.Errorf("%s %s: route %q, want %q", c.method, c.path, got, c.want)
		}
		if n := testing.AllocsPerRun(100, resolve); n != 0 {
			t.Errorf("%s %s: %v allocations per resolution", c.method, c.path, n)
		}
	}
}

func TestMetricsLabelsEveryRequest(t *testing.T) {
	ts := newTestServerWith(t, func(s *Server) {
		s.handle(http.MethodGet, "/api/test/panic/{id}", func(*fasthttp.RequestCtx) error { panic("boom") })
		s.handle(http.MethodGet, "/api/test/fail", func(*fasthttp.RequestCtx) error { return errors.New("secret internals") })
	})
	ts.createWorkflow(t, fullWorkflow("m1"))
	runScenarios(t, ts, []scenario{
		{Name: "bad json", Method: "POST", URL: "/api/workflows", Body: `{`, ExpectedStatus: 400},
		{Name: "validation", Method: "POST", URL: "/api/workflows", Body: `{}`, ExpectedStatus: 400},
		{Name: "conflict", Method: "POST", URL: "/api/workflows", Body: fullWorkflow("m1"), ExpectedStatus: 409},
		{Name: "item", Method: "GET", URL: "/api/workflows/m1", ExpectedStatus: 200},
		{Name: "item missing", Method: "GET", URL: "/api/workflows/none", ExpectedStatus: 404},
		{Name: "panic", Method: "GET", URL: "/api/test/panic/7", ExpectedStatus: 500, ExpectedContent: []string{`"INTERNAL_ERROR"`}, NotExpectedContent: []string{"boom"}},
		{Name: "unknown error", Method: "GET", URL: "/api/test/fail", ExpectedStatus: 500, ExpectedContent: []string{`"INTERNAL_ERROR"`}, NotExpectedContent: []string{"secret"}},
		{Name: "preflight", Method: "OPTIONS", URL: "/api/workflows/m1", ExpectedStatus: 204,
			Headers: map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"}},
	})
	m := ts.scrape(t)
	wantMetrics(t, m,
		`gemini_flow_http_requests_total{method="POST",route="/api/workflows",status_code="400"} 2`,
		`gemini_flow_http_requests_total{method="POST",route="/api/workflows",status_code="409"} 1`,
		`gemini_flow_http_requests_total{method="GET",route="/api/workflows/{id}",status_code="200"} 1`,
		`gemini_flow_http_requests_total{method="GET",route="/api/test/panic/{id}",status_code="500"} 1`,
		`gemini_flow_http_requests_total{method="OPTIONS",route="/api/workflows/{id}",status_code="204"} 1`,
		`gemini_flow_errors_total{type="invalid_json",path="/api/workflows"} 1`,
		`gemini_flow_errors_total{type="validation",path="/api/workflows"} 1`,
		`gemini_flow_errors_total{type="conflict",path="/api/workflows"} 1`,
		`gemini_flow_errors_total{type="not_found",path="/api/workflows/{id}"} 1`,
		`gemini_flow_errors_total{type="internal",path="/api/test/panic/{id}"} 1`,
		`gemini_flow_errors_total{type="internal",path="/api/test/fail"} 1`,
	)
}

func TestBodyLimit(t *testing.T) {
	ts := newTestServer(t)
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	scenario{Name: "just over 1 MiB", Method: "POST", URL: "/api/workflows", Body: big, ExpectedStatus: 413,
		ExpectedContent: []string{`"PAYLOAD_TOO_LARGE"`}}.run(t, ts)

	// Far beyond: the client announces 8 MiB and gets the JSON 413 without sending it.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "POST /api/workflows HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8388608\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(body), `"PAYLOAD_TOO_LARGE"`) || resp.Header.Get("X-Request-ID") == "" {
		t.Errorf("oversized: %d %s", resp.StatusCode, body)
	}
	if n := workflowCount(t, ts); n != 0 {
		t.Errorf("stored %d", n)
	}
	if m := ts.scrape(t); !strings.Contains(m, `gemini_flow_errors_total{type="payload_too_large",path="/api/workflows"} 2`) {
		t.Errorf("413s not counted under the route")
	}
}

func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.RateLimit = 3; c.APIKeys = []string{"k1"} }))
	key := map[string]string{"X-API-Key": "k1"}
	for i := range 3 {
		status, hdr, body := ts.do(t, "GET", "/api/workflows", "", key)
		if status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
		if hdr.Get("X-RateLimit-Limit") != "3" || hdr.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) || hdr.Get("X-RateLimit-Reset") == "" {
			t.Errorf("request %d headers: %v", i, hdr)
		}
	}
	// A valid key does not exempt the client.
	scenario{Name: "limited with a valid key", Method: "GET", URL: "/api/workflows/x", Headers: key, ExpectedStatus: 429,
		ExpectedContent: []string{`"RATE_LIMIT_EXCEEDED"`}, ExpectedHeaders: map[string]string{"Retry-After": "20", "X-RateLimit-Remaining": "0"}}.run(t, ts)
	scenario{Name: "limited without key too", Method: "POST", URL: "/api/workflows", Body: `{"name":"n"}`, ExpectedStatus: 429}.run(t, ts)
	scenario{Name: "health never limited", Method: "GET", URL: "/health", ExpectedStatus: 200}.run(t, ts)
	scenario{Name: "metrics never limited", Method: "GET", URL: "/metrics", ExpectedStatus: 200}.run(t, ts)
	m := ts.scrape(t)
	wantMetrics(t, m,
		`gemini_flow_rate_limit_rejections_total{route="/api/workflows/{id}"} 1`,
		`gemini_flow_errors_total{type="rate_limited",path="/api/workflows"} 1`,
		`gemini_flow_http_requests_total{method="GET",route="/api/workflows/{id}",status_code="429"} 1`,
	)
	if n := workflowCount(t, ts); n != 0 {
		t.Errorf("a rate-limited create was stored")
	}
}

func TestLimiterTableBounded(t *testing.T) {
	l := newIPLimiter(60, 100)
	now := time.Now()
	for i := range 1000 {
		l.take("10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), now)
	}
	if n := l.size(); n > 100 {
		t.Errorf("table holds %d buckets, bound is 100", n)
	}
	// Idle buckets go at the next sweep once they would be full again.
	later := now.Add(l.idleFor() + time.Minute)
	l.take("192.0.2.1", later)
	if n := l.size(); n != 1 {
		t.Errorf("after idle sweep %d buckets remain, want 1", n)
	}
}

func TestCORS(t *testing.T) {
	ts := newTestServer(t)
	pre := map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
	runScenarios(t, ts, []scenario{
		{Name: "preflight allowed", Method: "OPTIONS", URL: "/api/workflows", Headers: pre, ExpectedStatus: 204,
			ExpectedHeaders: map[string]string{"Access-Control-Allow-Origin": "http://localhost:5173", "Access-Control-Allow-Methods": corsMethods, "Access-Control-Allow-Headers": corsHeaders}},
		{Name: "preflight other origin", Method: "OPTIONS", URL: "/api/workflows", ExpectedStatus: 204,
			Headers:         map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
			ExpectedHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}},
		{Name: "simple request allowed", Method: "GET", URL: "/api/workflows", Headers: map[string]string{"Origin": "http://localhost:5173"}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"Access-Control-Allow-Origin": "http://localhost:5173", "Vary": "Origin"}},
	})
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t)
	f := func(sent string, keep bool) {
		t.Helper()
		_, hdr, _ := ts.do(t, "GET", "/api/nothing", "", map[string]string{"X-Request-ID": sent})
		got := hdr.Get("X-Request-ID")
		if keep && got != sent {
			t.Errorf("sent %q, got %q", sent, got)
		}
		if !keep && (got == sent || !saneRequestID([]byte(got))) {
			t.Errorf("sent %q, got %q, want a new id", sent, got)
		}
	}
	f("abc-123_x.y", true)
	f(strings.Repeat("a", 128), true)
	f(strings.Repeat("a", 129), false)
	f("has space", false)
	f("quote\"", false)
	f("", false)
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.APIKeys = []string{"key-one", "key-two"}; c.MetricsKey = "scrape-key" }))
	runScenarios(t, ts, []scenario{
		{Name: "no key", Method: "GET", URL: "/api/workflows", ExpectedStatus: 401, ExpectedContent: []string{`"UNAUTHORIZED"`}},
		{Name: "wrong key", Method: "GET", URL: "/api/workflows", Headers: map[string]string{"X-API-Key": "key-three"}, ExpectedStatus: 401},
		{Name: "prefix of a key", Method: "GET", URL: "/api/workflows", Headers: map[string]string{"X-API-Key": "key-"}, ExpectedStatus: 401},
		{Name: "query key not for API", Method: "GET", URL: "/api/workflows?apiKey=key-one", ExpectedStatus: 401},
		{Name: "X-API-Key", Method: "GET", URL: "/api/workflows", Headers: map[string]string{"X-API-Key": "key-two"}, ExpectedStatus: 200},
		{Name: "Bearer", Method: "GET", URL: "/api/workflows", Headers: map[string]string{"Authorization": "Bearer key-one"}, ExpectedStatus: 200},
		{Name: "unauthenticated create stores nothing", Method: "POST", URL: "/api/workflows", Body: `{"name":"x"}`, ExpectedStatus: 401},
		{Name: "backup needs a key", Method: "GET", URL: "/api/admin/backup", ExpectedStatus: 401},
		{Name: "backup with a key", Method: "GET", URL: "/api/admin/backup", Headers: map[string]string{"X-API-Key": "key-one"}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"Content-Type": "application/octet-stream"}},
		{Name: "health open", Method: "GET", URL: "/health", ExpectedStatus: 200},
		{Name: "metrics needs its key", Method: "GET", URL: "/metrics", ExpectedStatus: 401},
		{Name: "API key does not open metrics", Method: "GET", URL: "/metrics", Headers: map[string]string{"Authorization": "Bearer key-one"}, ExpectedStatus: 401},
		{Name: "metrics key", Method: "GET", URL: "/metrics", Headers: map[string]string{"Authorization": "Bearer scrape-key"}, ExpectedStatus: 200,
			ExpectedContent: []string{"gemini_flow_http_requests_total"}, NotExpectedContent: []string{"key-one", "key-two", "scrape-key"}},
		{Name: "prom API needs metrics key", Method: "GET", URL: "/api/v1/status/buildinfo", Headers: map[string]string{"X-API-Key": "key-one"}, ExpectedStatus: 401},
	})
	if n := workflowCount(t, ts); n != 0 {
		t.Errorf("unauthenticated create stored")
	}
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("ws without key: err %v resp %v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	assertErrorEnvelope(t, string(body))
	_, resp, err = websocket.DefaultDialer.Dial(wsURL+"?apiKey=nope", nil)
	if err == nil || resp.StatusCode != 401 {
		t.Errorf("ws with wrong key: %v", err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL+"?apiKey=key-two", nil)
	if err != nil {
		t.Fatalf("ws with key: %v", err)
	}
	conn.Close()
	conn, _, err = websocket.DefaultDialer.Dial(wsURL, http.Header{"X-API-Key": {"key-one"}})
	if err != nil {
		t.Fatalf("ws with header key: %v", err)
	}
	conn.Close()
}

func TestMetricsEndpoint(t *testing.T) {
	ts := newTestServer(t)
	req, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip") // set by hand, so the transport hands back the raw gzip
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Errorf("gzip not honoured: %v", resp.Header)
	}
	status, hdr, body := ts.do(t, "GET", "/metrics", "", nil)
	if status != 200 || hdr.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" || !strings.Contains(body, "# HELP gemini_flow_http_requests_total") {
		t.Errorf("plain scrape: %d %v", status, hdr)
	}
}

func TestBackupStreamsDatabase(t *testing.T) {
	ts := newTestServer(t)
	ts.createWorkflow(t, fullWorkflow("b1"))
	status, hdr, body := ts.do(t, "GET", "/api/admin/backup", "", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Disposition"), `attachment; filename="gemini-flow-`) {
		t.Fatalf("backup: %d %v", status, hdr)
	}
	st, _ := ts.Store.Stats()
	if int64(len(body)) < 4096 || !strings.Contains(body, "b1") || int64(len(body)) > st.FileSizeBytes {
		t.Errorf("backup of %d bytes (file %d)", len(body), st.FileSizeBytes)
	}
}

// lockedBuffer collects log output from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRequestLogNeverHoldsKeys(t *testing.T) {
	var logs lockedBuffer
	ts := newTestServer(t, func(c *Config, d *Deps) {
		c.APIKeys = []string{"very-secret-key"}
		d.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	ts.do(t, "GET", "/api/workflows", "", map[string]string{"X-API-Key": "very-secret-key", "X-Request-ID": "trace-1"})
	ts.do(t, "GET", "/api/workflows/x?apiKey=very-secret-key", "", map[string]string{"Authorization": "Bearer very-secret-key"})
	ts.do(t, "GET", "/api/workflows", "", map[string]string{"X-API-Key": "wrong-secret-key"})
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?apiKey=very-secret-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	out := logs.String()
	for _, want := range []string{`"request_id":"trace-1"`, `"route":"/api/workflows"`, `"route":"/api/workflows/{id}"`, `"status":401`, `"route":"/ws"`, `"duration_ms":`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("a key reached the log:\n%s", out)
	}
}

// wantMetrics reports each line of want that the exposition m lacks.
func wantMetrics(t *testing.T, m string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(m, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}
