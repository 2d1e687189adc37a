package e2e

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// The seed issue's example queries. seedErrorRate is kept exactly as the seed wrote it: it
// divides errors_total{type,path} by http_requests_total{method,route,status_code}, whose
// label sets never match, so it returns nothing; the corrected forms aggregate first.
const (
	seedAvgDuration    = "rate(gemini_flow_http_request_duration_seconds_sum[5m])\n/\nrate(gemini_flow_http_request_duration_seconds_count[5m])"
	seedErrorRate      = "100 * rate(gemini_flow_errors_total[5m])\n/\nrate(gemini_flow_http_requests_total[5m])"
	seedP95            = "histogram_quantile(0.95,\nrate(gemini_flow_http_request_duration_seconds_bucket[5m])\n)"
	seedWSActive       = "gemini_flow_websocket_connections_active"
	fixedErrorRate     = "100 * sum(rate(gemini_flow_errors_total[5m])) / sum(rate(gemini_flow_http_requests_total[5m]))"
	fixedErrorRateByRt = `100 * sum by (route) (label_replace(rate(gemini_flow_errors_total[5m]), "route", "$1", "path", "(.*)")) / sum by (route) (rate(gemini_flow_http_requests_total[5m]))`
)

// withWindow replaces the seed queries' [5m] windows.
func withWindow(expr, window string) string { return strings.ReplaceAll(expr, "[5m]", "["+window+"]") }

// knownTraffic sends a fixed set of requests over several routes, including every kind of
// error response, and returns how many HTTP requests it sent.
func knownTraffic(t *testing.T, b *gfBinary) int {
	t.Helper()
	n := 0
	send := func(want int, method, path, body string, header ...string) []byte {
		n++
		return expectStatus(t, want, method, b.URL+path, body, header...)
	}
	var ids []string
	for i := 0; i < 6; i++ {
		n++
		ids = append(ids, createWorkflow(t, b.URL, fmt.Sprintf("known-%d", i), i*7))
	}
	for i := 0; i < 10; i++ {
		send(http.StatusOK, http.MethodGet, "/api/workflows", "")
		send(http.StatusOK, http.MethodGet, "/api/workflows/"+ids[i%len(ids)], "")
	}
	for i := 0; i < 3; i++ {
		send(http.StatusOK, http.MethodPut, "/api/workflows/"+ids[i], `{"metadata":{"description":"updated"}}`)
	}
	send(http.StatusOK, http.MethodDelete, "/api/workflows/"+ids[5], "")
	for i := 0; i < 5; i++ {
		send(http.StatusNotFound, http.MethodGet, "/api/workflows/missing-"+fmt.Sprint(i), "")
		send(http.StatusNotFound, http.MethodGet, "/no/such/page", "")
	}
	for i := 0; i < 3; i++ {
		send(http.StatusMethodNotAllowed, http.MethodPatch, "/api/workflows", `{}`)
		send(http.StatusBadRequest, http.MethodPost, "/api/workflows", `{"name":`)
		send(http.StatusBadRequest, http.MethodPost, "/api/workflows", `{"metadata":{"id":"x"},"nodes":[{"id":"a"}],"edges":[]}`)
	}
	send(http.StatusRequestEntityTooLarge, http.MethodPost, "/api/workflows", `{"name":"`+strings.Repeat("x", 1<<20+1024)+`"}`)
	for i := 0; i < 2; i++ {
		send(http.StatusNoContent, http.MethodOptions, "/api/workflows", "",
			"Origin", "http://localhost:5173", "Access-Control-Request-Method", "POST")
	}
	for i := 0; i < 3; i++ {
		send(http.StatusOK, http.MethodGet, "/api/store/state", "")
		send(http.StatusOK, http.MethodGet, "/health", "")
	}
	send(http.StatusServiceUnavailable, http.MethodPost, "/api/gemini/execute", `{"nodes":[{"id":"a","type":"input","position":{"x":0,"y":0},"data":{"label":"hello"}}],"edges":[]}`)
	// The WebSocket upgrade is an HTTP request too, answered 101.
	n++
	wsSession(t, b)
	return n
}

// probeRoutes are the routes of requests the test harness and Prometheus make themselves.
const probeRoutes = `route!~"/metrics|/readyz"`

func TestPrometheusScrapesSeedQueries(t *testing.T) {
	// History on, so that its health families (which an alert reads) are exposed; it samples
	// in-process and adds no HTTP requests to the count below.
	b, prom, target := startScrapedBinary(t)

	// Prometheus's rate() cannot see the increments that happened before a series' first
	// scrape, so a first pass creates every series and a second pass, scrapes later, moves them.
	sent := knownTraffic(t, b)
	time.Sleep(2500 * time.Millisecond)
	sent += knownTraffic(t, b)

	// The binary's own count of what the test sent, as Prometheus scraped it, must be exact.
	total := fmt.Sprintf(`sum(gemini_flow_http_requests_total{job="gemini-flow-backend",instance=%q,%s})`, b.Addr, probeRoutes)
	var last float64
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, ok := scalarOf(mustInstant(t, prom.URL, total))
		if ok && v == float64(sent) {
			break
		}
		last = v
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v in Prometheus, want exactly the %d requests sent", total, last, sent)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A few more scrapes so every rate has samples after the traffic.
	time.Sleep(3 * time.Second)

	t.Run("seed queries", func(t *testing.T) {
		for _, q := range []string{seedAvgDuration, seedP95, seedWSActive, fixedErrorRate, fixedErrorRateByRt} {
			if res := mustInstant(t, prom.URL, q); len(res) == 0 {
				t.Errorf("query returned no data:\n%s", q)
			}
		}
		if res := mustInstant(t, prom.URL, seedErrorRate); len(res) != 0 {
			t.Errorf("the seed's own error-rate query returned %d series; its label sets were expected never to match", len(res))
		}
		v, ok := scalarOf(mustInstant(t, prom.URL, fixedErrorRate))
		if !ok || !(v > 0 && v < 100) {
			t.Errorf("error rate = %v%%, want between 0 and 100 with errors and successes sent", v)
		}
		byRoute := map[string]float64{}
		for _, s := range mustInstant(t, prom.URL, fixedErrorRateByRt) {
			byRoute[s.Metric["route"]] = s.Points[0].V
		}
		// Every unmatched request was a 404, so that route's error rate is all of it, give or
		// take the scrape falling between the error and the request being counted.
		if v, ok := byRoute["unmatched"]; !ok || !(math.Abs(v-100) <= 10) {
			t.Errorf("per-route error rate of route unmatched = %v, want 100 (all: %v)", v, byRoute)
		}
		if v, ok := scalarOf(mustInstant(t, prom.URL, seedWSActive+target)); !ok || v != 0 {
			t.Errorf("%s = %v after the WebSocket session closed, want 0", seedWSActive, v)
		}
	})

	names := metricNameSet(t, prom.URL)

	t.Run("dashboard", func(t *testing.T) {
		for _, q := range dashboardQueries(t) {
			expr := expandGrafana(q.Expr, "15s")
			if _, err := parser.NewParser(parser.Options{}).ParseExpr(expr); err != nil {
				t.Errorf("panel %q %s: %v", q.Title, q.RefID, err)
				continue
			}
			res, err := instantQuery(prom.URL, expr, time.Time{})
			if err != nil {
				t.Errorf("panel %q %s: %v", q.Title, q.RefID, err)
				continue
			}
			if len(res) == 0 {
				t.Errorf("panel %q %s returned no data: %s", q.Title, q.RefID, expr)
			}
		}
	})

	t.Run("alerts", func(t *testing.T) {
		promtool := requireTool(t, "promtool")
		if out, code := runTool(t, nil, promtool, "check", "rules", alertsPath); code != 0 {
			t.Fatalf("promtool check rules %s: exit %d\n%s", alertsPath, code, out)
		}
		withData := 0
		for _, r := range alertRules(t) {
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("rule %s: %v", r.Name, err)
				continue
			}
			used, inAbsent := metricNames(expr)
			for _, n := range used {
				if !names[n] && !inAbsent[n] {
					t.Errorf("rule %s selects %s, which Prometheus never scraped from the binary", r.Name, n)
				}
			}
			// A threshold hides the data while the alert does not fire; its value side shows
			// that the expression computes something on real scrapes.
			side := valueSide(expr).String()
			res, err := instantQuery(prom.URL, side, time.Time{})
			if err != nil {
				t.Errorf("rule %s value side %s: %v", r.Name, side, err)
				continue
			}
			if len(res) > 0 {
				withData++
			}
			t.Logf("rule %s: value side returns %d series: %s", r.Name, len(res), side)
		}
		if withData == 0 {
			t.Errorf("no rule's value side returned data")
		}
	})
}

// metricNameSet lists every metric name Prometheus holds.
func metricNameSet(t *testing.T, base string) map[string]bool {
	t.Helper()
	vals, err := labelValues(base, "__name__", time.Time{}, time.Time{})
	if err != nil {
		t.Fatalf("metric names: %v", err)
	}
	set := make(map[string]bool, len(vals))
	for _, v := range vals {
		set[v] = true
	}
	if !set["gemini_flow_http_requests_total"] {
		sort.Strings(vals)
		t.Fatalf("Prometheus holds no gemini_flow_http_requests_total; names: %v", vals)
	}
	return set
}
