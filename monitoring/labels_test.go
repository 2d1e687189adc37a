package monitoring_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func TestMethodLabel(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := monitoring.MethodLabel([]byte(in)); got != want {
			t.Errorf("MethodLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		f(m, m)
	}
	f("BREW", "OTHER")
	f("get", "OTHER")
	f("", "OTHER")
	f("CONNECT", "OTHER")
	f("GET /evil", "OTHER")

	method := []byte("PATCH")
	if n := testing.AllocsPerRun(100, func() { _ = monitoring.MethodLabel(method) }); n != 0 {
		t.Errorf("MethodLabel allocates %v times", n)
	}
}

func TestWSEventType(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := monitoring.WSEventType(in); got != want {
			t.Errorf("WSEventType(%q) = %q, want %q", in, got, want)
		}
	}
	for _, known := range []string{"client.connected", "client.disconnected", "ping", "pong", "error", "subscribe",
		"unsubscribe", "workflow.created", "workflow.updated", "workflow.deleted", "store.updated", "store.synced", "metrics.sampled"} {
		f(known, known)
	}
	f("x", "unknown")
	f("", "unknown")
	f("Ping", "unknown")
	f("workflow.created ", "unknown")
}

// Values from outside a bounded set become the set's catch-all in the exposition.
func TestLabelValuesAreBounded(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	r.ObserveHTTP("BREW", "", 418, time.Millisecond)
	r.ObserveHTTP("GET", "/health", 0, time.Millisecond)
	r.ObserveHTTP("GET", "/health", 1234, time.Millisecond)
	r.IncError("teapot", "")
	r.WSMessages("sideways", "x", 2)
	r.WSMessages(monitoring.Inbound, "ping", 0) // nothing to count
	r.ObserveDB("scan", "users", nil, time.Millisecond)
	r.ObserveGemini("maybe", time.Second)
	r.RateLimited("")
	e := scrape(t, r)
	for _, series := range []string{
		`gemini_flow_http_requests_total{method="OTHER", route="unmatched", status_code="418"}`,
		`gemini_flow_http_requests_total{method="GET", route="/health", status_code="200"}`,
		`gemini_flow_http_requests_total{method="GET", route="/health", status_code="000"}`,
		`gemini_flow_errors_total{path="unmatched", type="unknown"}`,
		`gemini_flow_websocket_messages_total{direction="unknown", type="unknown"}`,
		`gemini_flow_db_operations_total{collection="unknown", operation="unknown", status="success"}`,
		`gemini_flow_gemini_requests_total{outcome="unknown"}`,
		`gemini_flow_rate_limit_rejections_total{route="unmatched"}`,
	} {
		if got := e.value(t, series); got != 1 && got != 2 {
			t.Errorf("%s = %v", series, got)
		}
	}
	if e.has(t, `gemini_flow_websocket_messages_total{direction="inbound", type="ping"}`) {
		t.Error("WSMessages with n=0 created a series")
	}
}

// A route with characters the text format escapes still parses back to the same value.
func TestRouteEscaping(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	r.ObserveHTTP("GET", `/a"b\c`, 200, time.Millisecond)
	e := scrape(t, r)
	e.value(t, `gemini_flow_http_requests_total{method="GET", route="/a\"b\\c", status_code="200"}`)
}

func TestCountsPerLabelSet(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	for range 3 {
		r.ObserveHTTP("GET", "/api/workflows", 200, time.Millisecond)
	}
	r.ObserveHTTP("GET", "/api/workflows", 500, time.Millisecond)
	r.IncError(monitoring.ErrNotFound, "/api/workflows/{id}")
	r.IncError(monitoring.ErrNotFound, "/api/workflows/{id}")
	r.WSConnected()
	r.WSConnected()
	r.WSDisconnected()
	r.WSMessages(monitoring.Outbound, "store.updated", 5)
	r.WSMessages(monitoring.Outbound, "store.updated", 2)
	r.ObserveDB(monitoring.OpDelete, monitoring.CollStore, errors.New("x"), time.Millisecond)
	r.ObserveDB(monitoring.OpDelete, monitoring.CollStore, nil, time.Millisecond)
	r.ObserveDB(monitoring.OpDelete, monitoring.CollStore, nil, time.Millisecond)
	r.ObserveGemini(monitoring.OutcomeTimeout, 30*time.Second)
	e := scrape(t, r)
	f := func(series string, want float64) {
		t.Helper()
		if got := e.value(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	f(`gemini_flow_http_requests_total{method="GET", route="/api/workflows", status_code="200"}`, 3)
	f(`gemini_flow_http_requests_total{method="GET", route="/api/workflows", status_code="500"}`, 1)
	f(`gemini_flow_http_request_duration_seconds_count{method="GET", route="/api/workflows", status_code="200"}`, 3)
	f(`gemini_flow_errors_total{path="/api/workflows/{id}", type="not_found"}`, 2)
	f(`gemini_flow_websocket_connections_active`, 1)
	f(`gemini_flow_websocket_messages_total{direction="outbound", type="store.updated"}`, 7)
	f(`gemini_flow_db_operations_total{collection="store", operation="delete", status="error"}`, 1)
	f(`gemini_flow_db_operations_total{collection="store", operation="delete", status="success"}`, 2)
	f(`gemini_flow_db_operation_duration_seconds_count{collection="store", operation="delete"}`, 3)
	f(`gemini_flow_gemini_requests_total{outcome="timeout"}`, 1)
	f(`gemini_flow_gemini_request_duration_seconds_bucket{le="10", outcome="timeout"}`, 0)
	f(`gemini_flow_gemini_request_duration_seconds_bucket{le="30", outcome="timeout"}`, 1)
}

func TestObserveHTTPDoesNotAllocateAfterWarmUp(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	r.ObserveHTTP("GET", "/api/workflows/{id}", 200, time.Millisecond)
	if n := testing.AllocsPerRun(200, func() { r.ObserveHTTP("GET", "/api/workflows/{id}", 200, time.Millisecond) }); n != 0 {
		t.Errorf("ObserveHTTP allocates %v times per call", n)
	}
}
