package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// call sends one request and returns its status and body.
func call(t *testing.T, method, url, body string, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// expectStatus sends one request and fails the test unless the status is want.
func expectStatus(t *testing.T, want int, method, url, body string, header ...string) []byte {
	t.Helper()
	got, b := call(t, method, url, body, header...)
	if got != want {
		t.Fatalf("%s %s: status %d, want %d: %.300s", method, url, got, want, b)
	}
	return b
}

// createWorkflow posts a short-form workflow with n nodes and returns its id.
func createWorkflow(t *testing.T, base string, name string, n int) string {
	t.Helper()
	nodes := make([]map[string]any, n)
	for i := range nodes {
		nodes[i] = map[string]any{
			"id":       fmt.Sprintf("n%d", i),
			"position": map[string]any{"x": i * 10, "y": 0},
			"data":     map[string]any{"label": fmt.Sprintf("node %d", i)},
		}
	}
	body, _ := json.Marshal(map[string]any{"name": name, "nodes": nodes, "edges": []any{}})
	resp := expectStatus(t, http.StatusCreated, http.MethodPost, base+"/api/workflows", string(body))
	var env struct {
		Data struct {
			Metadata struct {
				ID string `json:"id"`
			} `json:"metadata"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp, &env); err != nil || env.Data.Metadata.ID == "" {
		t.Fatalf("create workflow: no data.metadata.id in %.300s", resp)
	}
	return env.Data.Metadata.ID
}

// wsURL is the WebSocket endpoint of a binary.
func wsURL(b *gfBinary) string { return "ws://" + b.Addr + "/ws" }

// dialWS opens a WebSocket to the binary.
func dialWS(t *testing.T, b *gfBinary) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(wsURL(b), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", wsURL(b), err, status)
	}
	return conn
}

// drain reads and discards frames until the connection fails; it closes done when it stops.
func drain(conn *websocket.Conn, done chan<- struct{}) {
	defer close(done)
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
}

// closeWS sends a close frame and closes the connection.
func closeWS(conn *websocket.Conn) {
	_ = conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	_ = conn.Close()
}

// wsSession connects, sends a ping and a subscribe, waits for the pong and closes cleanly.
func wsSession(t *testing.T, b *gfBinary) {
	t.Helper()
	conn := dialWS(t, b)
	defer closeWS(conn)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatalf("ws ping: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("ws: no pong: %v", err)
		}
		var f struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &f) == nil && f.Type == "pong" {
			return
		}
	}
}

// exposition is one scrape of /metrics: series (name and labels) to value.
type exposition map[string]float64

// scrape reads the binary's /metrics.
func scrape(t *testing.T, b *gfBinary) exposition {
	t.Helper()
	body := expectStatus(t, http.StatusOK, http.MethodGet, b.URL+"/metrics", "")
	return parseExposition(t, body)
}

// parseExposition reads the sample lines of a text exposition; a line's series is everything
// before the last space-separated value (the binary writes no timestamps).
func parseExposition(t *testing.T, body []byte) exposition {
	t.Helper()
	out := exposition{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("exposition line without value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// value returns the value of a series without labels, such as the WebSocket gauge.
func (e exposition) value(name string) (float64, bool) {
	v, ok := e[name]
	return v, ok
}

// parseSeries splits `name{a="x",b="y"}` into the name and its labels.
func parseSeries(s string) (string, map[string]string, error) {
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return s, map[string]string{}, nil
	}
	name, rest := s[:i], s[i+1:]
	labels := map[string]string{}
	for {
		rest = strings.TrimLeft(rest, ", ")
		if rest == "}" || rest == "" {
			return name, labels, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq < 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
			return "", nil, fmt.Errorf("bad labels in %q", s)
		}
		ln := rest[:eq]
		rest = rest[eq+2:]
		var val strings.Builder
		j := 0
		for ; j < len(rest); j++ {
			c := rest[j]
			if c == '\\' && j+1 < len(rest) {
				j++
				switch rest[j] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(rest[j])
				}
				continue
			}
			if c == '"' {
				break
			}
			val.WriteByte(c)
		}
		if j >= len(rest) {
			return "", nil, fmt.Errorf("unterminated label value in %q", s)
		}
		labels[ln] = val.String()
		rest = rest[j+1:]
	}
}

// steadyTraffic sends requests from one goroutine every tick until stop is closed, and
// reports how many it sent. Errors are counted, not fatal: the caller asserts on totals.
type steadyTraffic struct {
	wg   sync.WaitGroup
	stop chan struct{}
	mu   sync.Mutex
	sent int
	errs []error
}

func startSteadyTraffic(base string, tick time.Duration, requests []trafficRequest) *steadyTraffic {
	st := &steadyTraffic{stop: make(chan struct{})}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-st.stop:
				return
			case <-tk.C:
			}
			r := requests[i%len(requests)]
			err := r.send(base)
			st.mu.Lock()
			st.sent++
			if err != nil && len(st.errs) < 10 {
				st.errs = append(st.errs, err)
			}
			st.mu.Unlock()
		}
	}()
	return st
}

// finish stops the traffic and returns the number of requests sent and the first errors.
func (st *steadyTraffic) finish() (int, []error) {
	close(st.stop)
	st.wg.Wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sent, st.errs
}

// trafficRequest is one request of a traffic mix, with the status it must get.
type trafficRequest struct {
	Method, Path, Body string
	Want               int
}

func (r trafficRequest) send(base string) error {
	var rd io.Reader
	if r.Body != "" {
		rd = strings.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, base+r.Path, rd)
	if err != nil {
		return err
	}
	if r.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if r.Want != 0 && resp.StatusCode != r.Want {
		return fmt.Errorf("%s %s: status %d, want %d", r.Method, r.Path, resp.StatusCode, r.Want)
	}
	return nil
}

// mixedTraffic is a request mix touching several routes, the database and errors.
func mixedTraffic(existingID string) []trafficRequest {
	return []trafficRequest{
		{Method: http.MethodGet, Path: "/api/workflows", Want: http.StatusOK},
		{Method: http.MethodGet, Path: "/api/workflows/" + existingID, Want: http.StatusOK},
		{Method: http.MethodGet, Path: "/api/workflows/does-not-exist", Want: http.StatusNotFound},
		{Method: http.MethodPost, Path: "/api/workflows", Body: `{"name":"steady","nodes":[],"edges":[]}`, Want: http.StatusCreated},
		{Method: http.MethodPost, Path: "/api/workflows", Body: `{"name":`, Want: http.StatusBadRequest},
		{Method: http.MethodGet, Path: "/no/such/route", Want: http.StatusNotFound},
		{Method: http.MethodGet, Path: "/api/store/state", Want: http.StatusOK},
		{Method: http.MethodPut, Path: "/api/workflows/" + existingID, Body: `{"metadata":{"description":"steady"}}`, Want: http.StatusOK},
		{Method: http.MethodGet, Path: "/api/sessions", Want: http.StatusOK},
		{Method: http.MethodGet, Path: "/health", Want: http.StatusOK},
	}
}
