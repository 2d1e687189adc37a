package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"
)

// TestBrowserSafetyWithoutKey: with no key, neither a cross-site page nor one behind DNS
// rebinding changes anything or reads a backup, while the same-origin page and plain
// clients keep working.
func TestBrowserSafetyWithoutKey(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.AllowedHosts = []string{"gf.example"} }))
	self := strings.TrimPrefix(ts.URL, "http://")
	node := `{"node":{"id":"keep","type":"default","position":{"x":0,"y":0},"data":{"label":"Keep"}}}`
	if status, _, body := ts.do(t, http.MethodPost, "/api/store/nodes", node, nil); status != http.StatusCreated {
		t.Fatalf("add node: %d %s", status, body)
	}

	cases := []struct {
		name, method, url, body string
		headers                 map[string]string
		want                    int
	}{
		{"text/plain create", "POST", "/api/workflows", fullWorkflow("plain"), map[string]string{"Content-Type": "text/plain"}, 415},
		{"form clear", "POST", "/api/store/clear", "a=b", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"cross-site clear", "POST", "/api/store/clear", "", map[string]string{"Origin": "https://evil.example"}, 403},
		{"cross-site json create", "POST", "/api/workflows", fullWorkflow("cross"), map[string]string{"Origin": "https://evil.example"}, 403},
		{"null origin delete", "DELETE", "/api/store/nodes/keep", "", map[string]string{"Origin": "null"}, 403},
		{"rebound backup", "GET", "/api/admin/backup", "", map[string]string{"Host": "rebind.evil.example"}, 403},
		{"rebound list", "GET", "/api/workflows", "", map[string]string{"Host": "rebind.evil.example:3001"}, 403},
		{"rebound clear", "POST", "/api/store/clear", "", map[string]string{"Host": "rebind.evil.example", "Origin": "http://rebind.evil.example"}, 403},
		{"listed host", "GET", "/api/workflows", "", map[string]string{"Host": "gf.example:3001"}, 200},
		{"localhost name", "GET", "/health", "", map[string]string{"Host": "localhost"}, 200},
		{"same-origin page write", "POST", "/api/workflows", fullWorkflow("same"), map[string]string{"Origin": "http://" + self}, 201},
		{"allowed CORS origin write", "POST", "/api/workflows", fullWorkflow("cors"), map[string]string{"Origin": "http://localhost:5173"}, 201},
		{"charset parameter", "POST", "/api/workflows", fullWorkflow("charset"), map[string]string{"Content-Type": "application/json; charset=utf-8"}, 201},
	}
	for _, c := range cases {
		status, _, body := ts.do(t, c.method, c.url, c.body, c.headers)
		if status != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, status, c.want, body)
		}
	}

	// Nothing the refused requests asked for happened.
	_, _, state := ts.do(t, http.MethodGet, "/api/store/state", "", nil)
	if !strings.Contains(state, `"keep"`) {
		t.Errorf("editor state lost its node: %s", state)
	}
	_, _, list := ts.do(t, http.MethodGet, "/api/workflows", "", nil)
	for _, id := range []string{"plain", "cross"} {
		if strings.Contains(list, `"`+id+`"`) {
			t.Errorf("refused workflow %q was stored: %s", id, list)
		}
	}

	// A rebound page cannot open the live feed; the server's own page can.
	wsURL := "ws://" + self + "/ws"
	if conn, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Host": {"rebind.evil.example"}, "Origin": {"http://rebind.evil.example"}}); err == nil {
		conn.Close()
		t.Error("websocket upgraded for a rebound host")
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"http://" + self}})
	if err != nil {
		t.Fatalf("same-origin websocket: %v", err)
	}
	conn.Close()
}

// TestHostRuleFollowsTheBind: names are only checked on a loopback bind or with a list.
func TestHostRuleFollowsTheBind(t *testing.T) {
	cases := []struct {
		host     string
		listed   []string
		loopback bool
		want     bool
	}{
		{"rebind.evil.example", nil, true, false},
		{"127.0.0.1:3001", nil, true, true},
		{"[::1]:3001", nil, true, true},
		{"app.localhost", nil, true, true},
		{"10.0.0.5:3001", nil, true, false},
		{"gf.example", []string{"GF.example"}, true, true},
		{"anything.example", []string{"*"}, true, true},
		{"myhost.lan", nil, false, true},
		{"myhost.lan", []string{"gf.example"}, false, false},
		{"10.0.0.5:3001", []string{"gf.example"}, false, true},
	}
	for _, c := range cases {
		s := New(Config{AllowedHosts: c.listed}, Deps{})
		s.loopbackBind.Store(c.loopback)
		if got := s.hostAllowed([]byte(c.host)); got != c.want {
			t.Errorf("host %q listed %v loopback %v: %v, want %v", c.host, c.listed, c.loopback, got, c.want)
		}
	}
}

// TestVaryOriginOnEveryAnswer: an answer differs by Origin (allowed or not), so caches must
// key on it whatever the Origin was.
func TestVaryOriginOnEveryAnswer(t *testing.T) {
	ts := newTestServer(t)
	for _, origin := range []string{"", "https://evil.example", "http://localhost:5173"} {
		headers := map[string]string{}
		if origin != "" {
			headers["Origin"] = origin
		}
		_, hdr, _ := ts.do(t, http.MethodGet, "/api/workflows", "", headers)
		if !strings.Contains(hdr.Get("Vary"), "Origin") {
			t.Errorf("Origin %q: Vary %q", origin, hdr.Get("Vary"))
		}
	}
}
