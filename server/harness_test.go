package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/gemini"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/ws"
)

// testServer is the real server on a loopback port with a real bbolt file.
type testServer struct {
	URL     string
	Server  *Server
	Store   *store.Store
	Metrics *monitoring.Registry
	Hub     *ws.Hub
	client  *http.Client
}

type testOption func(*Config, *Deps)

const geminiTestKey = "AIza-test-upstream-key-0001"

// geminiUpstream speaks generateContent and echoes the prompt.
func geminiUpstream(t testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-goog-api-key") != geminiTestKey {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":{"code":403,"message":"API key not valid"}}`)
			return
		}
		var req struct {
			Contents []struct {
				Parts []struct{ Text string } `json:"parts"`
			} `json:"contents"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		prompt := req.Contents[0].Parts[0].Text
		if strings.Contains(prompt, "FAIL") {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"code":500,"message":"upstream broke"}}`)
			return
		}
		if strings.Contains(prompt, "SLOW") {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"candidates": []any{map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": "ran: " + prompt}}}}}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func withConfig(f func(*Config)) testOption { return func(c *Config, _ *Deps) { f(c) } }

func newTestServer(t testing.TB, opts ...testOption) *testServer {
	t.Helper()
	return newTestServerWith(t, nil, opts...)
}

// newTestServerWith lets setup register extra routes before the server starts answering.
func newTestServerWith(t testing.TB, setup func(*Server), opts ...testOption) *testServer {
	t.Helper()
	dir := t.TempDir()
	reg := monitoring.New(monitoring.Options{Version: "test", Revision: "abc"})
	st, err := store.Open(filepath.Join(dir, "gemini-flow.db"), store.Options{Metrics: reg})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	logger := slog.New(slog.DiscardHandler)
	hub := ws.NewHub(ws.Options{Metrics: reg, Logger: logger})
	cfg := Config{Version: "test-1", CORSOrigins: []string{"http://localhost:5173"}, RateLimit: 0}
	deps := Deps{
		Store: st, Hub: hub, Metrics: reg, Logger: logger,
		Gemini: gemini.New(gemini.Config{BaseURL: geminiUpstream(t), Model: "test-model", APIKey: geminiTestKey, Timeout: 300 * time.Millisecond, Metrics: reg}),
	}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	srv := New(cfg, deps)
	if setup != nil {
		setup(srv)
	}
	srv.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	ts := &testServer{URL: "http://" + ln.Addr().String(), Server: srv, Store: st, Metrics: deps.Metrics, Hub: hub,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return ts
}

// do sends one request and returns the status, headers and body.
func (ts *testServer) do(t testing.TB, method, url, body string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// decode unmarshals the success envelope's data into v.
func decodeData(t testing.TB, body string, v any) {
	t.Helper()
	var env struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || !env.Success {
		t.Fatalf("not a success envelope (%v): %s", err, body)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("data: %v: %s", err, body)
	}
}

// scenario is one request and what its answer must and must not contain.
type scenario struct {
	Name               string
	Method             string
	URL                string
	Body               string
	Headers            map[string]string
	ExpectedStatus     int
	ExpectedContent    []string
	NotExpectedContent []string
	ExpectedHeaders    map[string]string
	Before             func(t testing.TB, ts *testServer)
	After              func(t testing.TB, ts *testServer, body string)
}

func (sc scenario) run(t *testing.T, ts *testServer) {
	t.Helper()
	t.Run(sc.Name, func(t *testing.T) {
		if sc.Before != nil {
			sc.Before(t, ts)
		}
		status, hdr, body := ts.do(t, sc.Method, sc.URL, sc.Body, sc.Headers)
		if status != sc.ExpectedStatus {
			t.Errorf("status = %d, want %d; body %s", status, sc.ExpectedStatus, body)
		}
		for _, want := range sc.ExpectedContent {
			if !strings.Contains(body, want) {
				t.Errorf("body lacks %q: %s", want, body)
			}
		}
		for _, bad := range sc.NotExpectedContent {
			if strings.Contains(body, bad) {
				t.Errorf("body contains %q: %s", bad, body)
			}
		}
		for k, v := range sc.ExpectedHeaders {
			if got := hdr.Get(k); got != v {
				t.Errorf("header %s = %q, want %q", k, got, v)
			}
		}
		if hdr.Get("X-Request-ID") == "" {
			t.Errorf("no X-Request-ID")
		}
		// Probes answer in their own documented shapes; everything else in the one envelope.
		probe := sc.URL == "/health" || sc.URL == "/readyz"
		if status >= 400 && !probe && sc.Method != http.MethodHead {
			assertErrorEnvelope(t, body)
		}
		if sc.After != nil {
			sc.After(t, ts, body)
		}
	})
}

func runScenarios(t *testing.T, ts *testServer, list []scenario) {
	t.Helper()
	for _, sc := range list {
		sc.run(t, ts)
	}
}

// assertErrorEnvelope checks the one error shape.
func assertErrorEnvelope(t testing.TB, body string) {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	for _, k := range []string{"success", "data", "error", "message", "timestamp", "version"} {
		if _, ok := env[k]; !ok {
			t.Errorf("error envelope lacks %q: %s", k, body)
		}
	}
	if string(env["success"]) != "false" || string(env["data"]) != "null" {
		t.Errorf("error envelope success/data wrong: %s", body)
	}
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(env["error"], &e); err != nil || e.Code == "" || e.Message == "" {
		t.Errorf("error object incomplete: %s", body)
	}
	// Clients show body.message || body.error: the message must be there as text.
	var top string
	if err := json.Unmarshal(env["message"], &top); err != nil || top != e.Message {
		t.Errorf("top-level message %s, want the error's %q", env["message"], e.Message)
	}
}

// createWorkflow stores a workflow through the API and returns its id.
func (ts *testServer) createWorkflow(t testing.TB, body string) string {
	t.Helper()
	status, _, out := ts.do(t, http.MethodPost, "/api/workflows", body, nil)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, out)
	}
	var wf struct {
		Metadata struct{ ID string } `json:"metadata"`
	}
	decodeData(t, out, &wf)
	return wf.Metadata.ID
}

// scrape returns the /metrics text.
func (ts *testServer) scrape(t testing.TB) string {
	t.Helper()
	status, _, body := ts.do(t, http.MethodGet, "/metrics", "", nil)
	if status != http.StatusOK {
		t.Fatalf("scrape: %d", status)
	}
	return body
}

func fullWorkflow(id string) string {
	return `{"metadata":{"id":"` + id + `","name":"Flow ` + id + `","version":"1.0.0","createdAt":1700000000000,"updatedAt":1700000000000,"tags":["a"]},
	"nodes":[{"id":"n1","position":{"x":0,"y":0},"data":{"label":"Start"}},{"id":"n2","position":{"x":1,"y":1},"data":{"label":"End"}}],
	"edges":[{"id":"e1","source":"n1","target":"n2"}]}`
}
