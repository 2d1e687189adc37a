package e2e

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// The bounded label sets of API.md.
var (
	allowedMethods = set("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER")
	allowedWSTypes = set("client.connected", "client.disconnected", "ping", "pong", "error", "subscribe",
		"unsubscribe", "workflow.created", "workflow.updated", "workflow.deleted", "store.updated",
		"store.synced", "metrics.sampled", "unknown")
	allowedErrorTypes = set("validation", "invalid_json", "not_found", "method_not_allowed", "conflict",
		"unauthorized", "rate_limited", "payload_too_large", "database", "upstream", "internal")
	statusCode = regexp.MustCompile(`^[1-5][0-9][0-9]$`)
)

func set(vals ...string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

func randomToken(r *rand.Rand) string {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return "zq" + hex.EncodeToString(b)
}

func TestCardinalityBounded(t *testing.T) {
	b := startBinary(t)
	sampleTraffic(t, b)
	knownTraffic(t, b)
	before := scrape(t, b)
	beforeRoutes := map[string]bool{}
	for s := range before {
		_, labels, err := parseSeries(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"route", "path"} {
			if v, ok := labels[l]; ok {
				beforeRoutes[v] = true
			}
		}
	}

	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var tokens []string
	token := func() string {
		tk := randomToken(r)
		tokens = append(tokens, tk)
		return tk
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "PROPFIND", token()[:6]}
	for i := 0; i < 1000; i++ {
		m := strings.ToUpper(methods[r.IntN(len(methods))])
		path := "/" + token() + "/" + token()
		if r.IntN(4) == 0 {
			path += "?q=" + token()
		}
		if st, body := call(t, m, b.URL+path, ""); st >= 500 || st < 400 && st != http.StatusNoContent {
			t.Fatalf("%s %s: status %d: %.200s", m, path, st, body)
		}
	}
	for i := 0; i < 300; i++ {
		id := token()
		expectStatus(t, http.StatusNotFound, http.MethodGet, b.URL+"/api/workflows/"+id, "")
		st, _ := call(t, http.MethodPut, b.URL+"/api/workflows/"+token(), `{"metadata":{"name":"`+token()+`"}}`)
		if st != http.StatusNotFound && st != http.StatusBadRequest {
			t.Fatalf("PUT unknown workflow: status %d", st)
		}
		call(t, http.MethodDelete, b.URL+"/api/workflows/"+token(), "")
		call(t, http.MethodGet, b.URL+"/api/sessions/"+token(), "")
	}

	conn := dialWS(t, b)
	pongs := make(chan struct{}, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var f struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(msg, &f) == nil && f.Type == "pong" {
				select {
				case pongs <- struct{}{}:
				default:
				}
			}
		}
	}()
	// Frames go in batches closed by a ping whose pong proves the server read the batch, so
	// the replies never outgrow the server's per-client send queue (a client that lets them
	// is dropped as slow, by design).
	const frames, batch = 1000, 100
	for i := 0; i < frames; i++ {
		var frame []byte
		switch {
		case i%20 == 7:
			frame = []byte("not json " + token())
		case i%20 == 13:
			frame, _ = json.Marshal(map[string]any{"type": "subscribe", "payload": map[string]any{"topic": token()}})
		default:
			frame, _ = json.Marshal(map[string]any{"type": token(), "payload": map[string]any{"id": token()}})
		}
		if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatalf("ws write %d: %v", i, err)
		}
		if i%batch == batch-1 {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
				t.Fatalf("ws ping: %v", err)
			}
			select {
			case <-pongs:
			case <-done:
				t.Fatalf("the server closed the WebSocket after %d frames", i+1)
			case <-time.After(10 * time.Second):
				t.Fatalf("no pong after %d frames", i+1)
			}
		}
	}
	if v := scrape(t, b)[`gemini_flow_websocket_messages_total{direction="inbound",type="unknown"}`]; v < 900 {
		t.Errorf(`inbound messages of type "unknown" = %v after 900 frames of random types, want at least 900`, v)
	}
	closeWS(conn)
	<-done

	after := scrape(t, b)
	var grown []string
	tuples := map[string]bool{}
	statuses := map[string]bool{}
	for s := range after {
		for _, tk := range tokens {
			if strings.Contains(s, tk) {
				t.Fatalf("series %s carries a client-supplied string", s)
			}
		}
		name, labels, err := parseSeries(s)
		if err != nil {
			t.Fatal(err)
		}
		for l, v := range labels {
			var ok bool
			switch l {
			case "method":
				ok = allowedMethods[v]
			case "route", "path":
				// A template the random ids may have reached for the first time is fine; a raw
				// path would carry a token and is caught above.
				ok = beforeRoutes[v] || v == "unmatched" || v == "/metrics" || strings.Contains(v, "{")
			case "type":
				if strings.HasPrefix(name, "gemini_flow_websocket_") {
					ok = allowedWSTypes[v]
				} else {
					ok = allowedErrorTypes[v]
				}
			case "status_code":
				ok = statusCode.MatchString(v)
			default:
				ok = true // other families' labels hold no request data: checked by the token scan
			}
			if !ok {
				t.Errorf("series %s: label %s=%q is outside its bounded set", s, l, v)
			}
		}
		if _, ok := before[s]; !ok {
			grown = append(grown, s)
			if labels["method"] != "" {
				tuples[labels["method"]+" "+labels["route"]] = true
			}
			if v, ok := labels["status_code"]; ok {
				statuses[v] = true
			}
		}
	}
	sort.Strings(grown)
	// Bound: every new HTTP series is one (method, route, status) combination of the 8 method
	// labels and the 4 route labels the requests could reach, times the 13 series a request
	// adds (one counter, 9 buckets, +Inf, _sum, _count); plus the WebSocket counter's 2x14 and
	// the error counter's 11 types on those routes.
	bound := 8*4*len(statuses)*13 + 2*len(allowedWSTypes) + len(allowedErrorTypes)*4
	if len(tuples) > 8*4 {
		t.Errorf("%d new (method, route) pairs, want at most 32: %v", len(tuples), tuples)
	}
	if len(grown) > bound {
		t.Errorf("%d new series after %d random strings, want at most %d:\n%s", len(grown), len(tokens), bound, strings.Join(grown, "\n"))
	}
	t.Logf("series: %d before, %d after (%d new, bound %d) for %d random strings sent", len(before), len(after), len(grown), bound, len(tokens))
	if len(grown) == 0 {
		t.Errorf("no new series at all: the unknown routes, methods and WebSocket types were not counted")
	}
}
