package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runTool runs an external tool with a time limit and returns its combined output and exit code.
func runTool(t *testing.T, stdin []byte, path string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("%s %v: %v\n%s", path, args, err, out)
		return "", -1
	}
}

// sampleTraffic touches every kind of request the metrics describe: workflow CRUD, a 404,
// a 405, a bad JSON body and a WebSocket session.
func sampleTraffic(t *testing.T, b *gfBinary) {
	t.Helper()
	id := createWorkflow(t, b.URL, "promtool", 3)
	expectStatus(t, http.StatusOK, http.MethodGet, b.URL+"/api/workflows", "")
	expectStatus(t, http.StatusOK, http.MethodGet, b.URL+"/api/workflows/"+id, "")
	expectStatus(t, http.StatusOK, http.MethodPut, b.URL+"/api/workflows/"+id, `{"metadata":{"name":"renamed"}}`)
	gone := createWorkflow(t, b.URL, "short-lived", 1)
	expectStatus(t, http.StatusOK, http.MethodDelete, b.URL+"/api/workflows/"+gone, "")
	expectStatus(t, http.StatusNotFound, http.MethodGet, b.URL+"/api/workflows/"+gone, "")
	expectStatus(t, http.StatusNotFound, http.MethodGet, b.URL+"/nowhere", "")
	expectStatus(t, http.StatusMethodNotAllowed, http.MethodPatch, b.URL+"/api/workflows", `{}`)
	expectStatus(t, http.StatusBadRequest, http.MethodPost, b.URL+"/api/workflows", `{"name":`)
	wsSession(t, b)
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := requireTool(t, "promtool")
	b := startBinary(t)
	sampleTraffic(t, b)

	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(acceptGzip bool) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodGet, b.URL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if acceptGzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: status %d", resp.StatusCode)
		}
		return resp, body
	}

	resp, plain := get(false)
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/plain; version=0.0.4; charset=utf-8", ct)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("Content-Encoding = %q without Accept-Encoding", ce)
	}

	out, code := runTool(t, plain, promtool, "check", "metrics")
	findings := nonEmptyLines(out)
	// The seed names a gauge gemini_flow_workflows_total; the name is the contract, so this one
	// lint finding is expected and every other finding is a fault.
	if len(findings) != 1 || !strings.Contains(findings[0], "gemini_flow_workflows_total") || !strings.Contains(findings[0], "_total") {
		t.Errorf("promtool check metrics (exit %d) reported %d findings, want only the one about gemini_flow_workflows_total:\n%s",
			code, len(findings), out)
	}
	if code == 0 {
		t.Errorf("promtool check metrics exited 0, want the lint exit code for the _total gauge")
	}
	for _, family := range []string{
		"gemini_flow_http_requests_total", "gemini_flow_http_request_duration_seconds_bucket",
		"gemini_flow_websocket_connections_active", "gemini_flow_websocket_messages_total",
		"gemini_flow_db_operation_duration_seconds_bucket", "gemini_flow_db_operations_total",
		"gemini_flow_workflows_total", "gemini_flow_workflow_nodes_bucket", "gemini_flow_errors_total",
	} {
		if !bytes.Contains(plain, []byte("\n"+family)) {
			t.Errorf("/metrics after traffic has no %s series", family)
		}
	}

	resp, compressed := get(true)
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("Content-Encoding = %q with Accept-Encoding: gzip, want gzip", ce)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("gzip Content-Type = %q", ct)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if len(compressed) >= len(unzipped) {
		t.Errorf("gzip body %d bytes is not smaller than the %d it holds", len(compressed), len(unzipped))
	}
	// The two scrapes differ in counter values, not in the set of series.
	a, z := parseExposition(t, plain), parseExposition(t, unzipped)
	for s := range a {
		if _, ok := z[s]; !ok && !strings.HasPrefix(s, "gemini_flow_http_") {
			t.Errorf("series %s missing from the gzip scrape", s)
		}
	}
	if out, code := runTool(t, unzipped, promtool, "check", "metrics"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("gzip scrape: promtool check metrics (exit %d), want the one finding:\n%s", code, out)
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func TestPromtoolQueriesBinary(t *testing.T) {
	promtool := requireTool(t, "promtool")
	b := startBinary(t, "--history-interval", "1s")
	sampleTraffic(t, b)
	start := time.Now().Truncate(time.Second)
	traffic := startSteadyTraffic(b.URL, 50*time.Millisecond, []trafficRequest{
		{Method: http.MethodGet, Path: "/api/workflows", Want: http.StatusOK},
		{Method: http.MethodGet, Path: "/missing", Want: http.StatusNotFound},
	})
	time.Sleep(5 * time.Second)
	if _, errs := traffic.finish(); len(errs) > 0 {
		t.Fatalf("traffic: %v", errs)
	}
	time.Sleep(1500 * time.Millisecond)
	end := time.Now().Truncate(time.Second)

	out, code := runTool(t, nil, promtool, "query", "instant", b.URL, "gemini_flow_http_requests_total")
	if code != 0 {
		t.Fatalf("promtool query instant exit %d:\n%s", code, out)
	}
	for _, want := range []string{`gemini_flow_http_requests_total{`, `route="/api/workflows"`, `route="unmatched"`, `job="gemini-flow-backend"`, fmt.Sprintf(`instance=%q`, b.Addr), "=>"} {
		if !strings.Contains(out, want) {
			t.Errorf("promtool query instant output lacks %s:\n%s", want, out)
		}
	}

	out, code = runTool(t, nil, promtool, "query", "range",
		"--start="+start.UTC().Format(time.RFC3339), "--end="+end.UTC().Format(time.RFC3339), "--step=1s",
		b.URL, `rate(gemini_flow_http_requests_total{route="/api/workflows"}[10s])`)
	if code != 0 {
		t.Fatalf("promtool query range exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, `route="/api/workflows"`) || !strings.Contains(out, "@[") {
		t.Fatalf("promtool query range printed no series with points:\n%s", out)
	}
	// One line per point, "value @[unix seconds]"; during the traffic the rate is about 10/s.
	points, positive := 0, 0
	for _, f := range strings.Split(out, "\n") {
		f = strings.TrimSpace(f)
		if !strings.Contains(f, " @[") {
			continue
		}
		points++
		var v float64
		if _, err := fmt.Sscanf(f, "%g @[", &v); err == nil && v > 0 {
			positive++
		}
	}
	if points < 3 || positive == 0 {
		t.Errorf("promtool query range: %d points, %d positive, want several with a positive rate:\n%s", points, positive, out)
	}
}
