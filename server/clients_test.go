package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// reactFlowWorkflow is a workflow as the React Flow editor holds it: full node objects with
// the keys React Flow adds (measured, positionAbsolute, parentId, extent), a group and its
// child, flags sent false, and its own edge and custom node types.
const reactFlowWorkflow = `{"metadata":{"id":"rf-1","name":"React Flow","version":"1.0.0","createdAt":1700000000000,"updatedAt":1700000000000,"tags":[]},
"nodes":[
 {"id":"g","type":"group","position":{"x":0,"y":0},"data":{"label":"Group"},"width":400,"height":300,"measured":{"width":400,"height":300},"selected":false,"dragging":false},
 {"id":"in","type":"input","position":{"x":10,"y":10},"positionAbsolute":{"x":10,"y":10},"parentId":"g","extent":"parent","data":{"label":"Start"},"measured":{"width":150,"height":40},"selected":true,"dragging":false},
 {"id":"c","type":"geminiPrompt","position":{"x":50,"y":90},"data":{"label":"Ask","prompt":{"temperature":0.2}},"selected":false}
],
"edges":[
 {"id":"e1","source":"in","target":"c","type":"simplebezier","animated":false,"selected":false,"sourceHandle":null},
 {"id":"e2","source":"c","target":"g","type":"smartEdge","animated":true,"label":"done"}
]}`

// TestClientFaults holds one case per fault a real client met against this server; each case
// failed before the fix it names.
func TestClientFaults(t *testing.T) {
	ts := newTestServer(t)
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	many := func(n int) string {
		nodes := make([]string, n)
		for i := range nodes {
			nodes[i] = fmt.Sprintf(`{"id":"n%d","position":{"x":0,"y":0},"data":{}}`, i)
		}
		return `{"name":"big","nodes":[` + strings.Join(nodes, ",") + `]}`
	}
	runScenarios(t, ts, []scenario{
		{Name: "execute answers result and metadata at the top level", Method: "POST", URL: "/api/gemini/execute",
			Body:           `{"nodes":[{"id":"1","type":"input","position":{"x":0,"y":0},"data":{"label":"Hello there"},"measured":{"width":1,"height":1}}],"edges":[]}`,
			ExpectedStatus: 200,
			After: func(t testing.TB, _ *testServer, body string) {
				var top struct {
					Result   string
					Metadata struct{ NodesProcessed, EdgesProcessed, PromptLength int }
				}
				if err := json.Unmarshal([]byte(body), &top); err != nil || top.Result != "ran: Input: Hello there" ||
					top.Metadata.NodesProcessed != 1 || top.Metadata.PromptLength != len("Input: Hello there") {
					t.Errorf("the editor reads result/metadata at the top: %s", body)
				}
			}},
		{Name: "an error carries a top-level message", Method: "GET", URL: "/api/workflows/nope", ExpectedStatus: 404,
			ExpectedContent: []string{`"message":"workflow not found","timestamp"`}},
		{Name: "group node, simplebezier edge and custom types are stored", Method: "POST", URL: "/api/workflows",
			Body: reactFlowWorkflow, ExpectedStatus: 201},
		{Name: "PUT state missing an array is refused", Method: "PUT", URL: "/api/store/state",
			Body: `{"nodes":[],"selectedNodes":[],"selectedEdges":[]}`, ExpectedStatus: 400,
			ExpectedContent: []string{`"field":"edges"`},
			Before: func(t testing.TB, ts *testServer) {
				ts.do(t, "POST", "/api/store/nodes", `{"node":{"id":"keep","position":{"x":0,"y":0},"data":{"label":"K"}}}`, nil)
			},
			After: func(t testing.TB, ts *testServer, _ string) {
				if _, _, st := ts.do(t, "GET", "/api/store/state", "", nil); !strings.Contains(st, `"id":"keep"`) {
					t.Errorf("refused PUT changed the state: %s", st)
				}
			}},
		{Name: "HEAD /health", Method: "HEAD", URL: "/health", ExpectedStatus: 200},
		{Name: "HEAD /metrics", Method: "HEAD", URL: "/metrics", ExpectedStatus: 200},
		{Name: "HEAD /api/workflows", Method: "HEAD", URL: "/api/workflows", ExpectedStatus: 200,
			After: func(t testing.TB, _ *testServer, body string) {
				if body != "" {
					t.Errorf("HEAD answered a body: %q", body)
				}
			}},
		{Name: "limit over the range is refused, not clamped", Method: "GET", URL: "/api/workflows?limit=1000000000", ExpectedStatus: 400,
			ExpectedContent: []string{"from 1 to 500"}},
		{Name: "over the node limit, the limit comes first", Method: "POST", URL: "/api/workflows", Body: many(1001), ExpectedStatus: 400,
			After: func(t testing.TB, _ *testServer, body string) {
				var env struct {
					Error struct {
						Details []struct{ Field, Message string }
					}
				}
				_ = json.Unmarshal([]byte(body), &env)
				if d := env.Error.Details; len(d) == 0 || d[0].Field != "nodes" || !strings.Contains(d[0].Message, "at most 1000") {
					t.Errorf("first problem is not the limit: %.300s", body)
				}
			}},
		{Name: "every answer says nosniff", Method: "GET", URL: "/nowhere", ExpectedStatus: 404,
			ExpectedHeaders: map[string]string{"X-Content-Type-Options": "nosniff"}},
		{Name: "the page has its CSP", Method: "GET", URL: "/", ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}},
	})

	t.Run("get and export keep false flags and drop only unknown keys", func(t *testing.T) {
		_, _, got := ts.do(t, "GET", "/api/workflows/rf-1", "", nil)
		_, _, exported := ts.do(t, "GET", "/api/workflows/rf-1/export?prettyPrint=false", "", nil)
		body := got + "\n" + exported
		if !strings.Contains(got, strings.TrimSuffix(exported, "}")[1:]) {
			t.Errorf("get and export differ:\n%s\n%s", got, exported)
		}
		for _, want := range []string{`"id":"g","type":"group"`, `"selected":false,"dragging":false`, `"type":"simplebezier","animated":false`,
			`"selected":false}`, `"type":"smartEdge","animated":true,"label":"done"`, `"prompt":{"temperature":0.2}`, `"width":400,"height":300`, `"parentId":"g","extent":"parent"`} {
			if !strings.Contains(body, want) {
				t.Errorf("export lacks %s: %s", want, body)
			}
		}
		for _, gone := range []string{"measured", "positionAbsolute", "sourceHandle"} {
			if strings.Contains(body, gone) {
				t.Errorf("export kept unknown key %s", gone)
			}
		}
	})

	t.Run("pong carries an object", func(t *testing.T) {
		conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// As the editor's WebSocket client sends it.
		if err := conn.WriteJSON(map[string]any{"type": "ping", "payload": map[string]any{}, "timestamp": time.Now().UTC().Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
		if f := nextOfType(t, conn, "pong"); string(f.Payload) != "{}" {
			t.Errorf("pong payload %s, want {}", f.Payload)
		}
	})
}

// TestRateLimitMeansPerMinute: --rate-limit N lets a fresh client send N back to back (plus
// what refilled at N a minute meanwhile), then answers 429 with Retry-After; the headers say
// N and a Remaining consistent with what was sent.
func TestRateLimitMeansPerMinute(t *testing.T) {
	for _, n := range []int{100, 600} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ts := newTestServer(t, withConfig(func(c *Config) { c.RateLimit = n }))
			start := time.Now()
			refilled := func() int { return int(time.Since(start).Seconds()*float64(n)/60) + 1 }
			passed := 0
			for {
				status, hdr, body := ts.do(t, "GET", "/api/gemini/status", "", nil)
				if status == http.StatusTooManyRequests {
					if hdr.Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After")
					}
					break
				}
				if status != http.StatusOK {
					t.Fatalf("request %d: %d %s", passed+1, status, body)
				}
				passed++
				remaining, _ := strconv.Atoi(hdr.Get("X-RateLimit-Remaining"))
				if hdr.Get("X-RateLimit-Limit") != fmt.Sprint(n) || remaining < n-passed || remaining > n-passed+refilled() {
					t.Fatalf("request %d: Limit %s Remaining %d, want %d and about %d", passed, hdr.Get("X-RateLimit-Limit"), remaining, n, n-passed)
				}
				if passed > n+refilled() {
					t.Fatalf("%d requests passed a limit of %d", passed, n)
				}
			}
			if passed < n {
				t.Errorf("only %d of %d back-to-back requests passed", passed, n)
			}
		})
	}
}

// TestLongRequestLineAlwaysAnswered sends 300 requests with a 10,000-character path, each on
// a fresh connection: every one gets an HTTP answer (no reset), and a request line over
// 16 KiB gets the 431 envelope.
func TestLongRequestLineAlwaysAnswered(t *testing.T) {
	ts := newTestServer(t)
	addr := strings.TrimPrefix(ts.URL, "http://")
	send := func(path string) (int, string, error) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return 0, "", err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr); err != nil {
			return 0, "", err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		return resp.StatusCode, b.String(), nil
	}
	long := "/api/workflows/" + strings.Repeat("x", 10000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	sem := make(chan struct{}, 8)
	for i := 0; i < 300; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			status, _, err := send(long)
			if err != nil || status != http.StatusBadRequest {
				mu.Lock()
				if failures++; failures <= 3 {
					t.Errorf("10,000-character id: status %d, err %v", status, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	status, body, err := send("/api/workflows/" + strings.Repeat("x", 17<<10))
	if err != nil || status != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(body, `"HEADERS_TOO_LARGE"`) {
		t.Errorf("17 KiB request line: %d %v %s", status, err, body)
	}
}

// TestTerminalClientStoreRoutes replays the terminal client's store adapter: it reads the
// answer's top-level nodes, edges and selections (response.nodes…), and errors' message.
func TestTerminalClientStoreRoutes(t *testing.T) {
	ts := newTestServer(t)
	type adapterView struct {
		Nodes         []struct{ ID string }
		Edges         []struct{ ID string }
		SelectedNodes []string
		SelectedEdges []string
		Message       string
	}
	call := func(method, path, body string, want int) adapterView {
		t.Helper()
		status, _, out := ts.do(t, method, "/api"+path, body, nil)
		if status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, out)
		}
		var v adapterView
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return v
	}
	node := func(id string) string {
		return `{"id":"` + id + `","type":"default","position":{"x":1,"y":2},"data":{"label":"` + id + `"}}`
	}
	if v := call("PUT", "/store/nodes", `{"nodes":[`+node("a")+`,`+node("b")+`]}`, 200); len(v.Nodes) != 2 {
		t.Errorf("setNodes: adapter sees %d nodes", len(v.Nodes))
	}
	if v := call("PUT", "/store/edges", `{"edges":[{"id":"ab","source":"a","target":"b"}]}`, 200); len(v.Edges) != 1 {
		t.Errorf("setEdges: adapter sees %d edges", len(v.Edges))
	}
	if v := call("POST", "/store/nodes", `{"node":`+node("c")+`}`, 201); len(v.Nodes) != 3 {
		t.Errorf("addNode: adapter sees %d nodes", len(v.Nodes))
	}
	call("PATCH", "/store/nodes/c", `{"updates":{"data":{"label":"C"}}}`, 200)
	if v := call("DELETE", "/store/nodes/a", "", 200); len(v.Nodes) != 2 || len(v.Edges) != 0 {
		t.Errorf("deleteNode: adapter sees %d nodes, %d edges", len(v.Nodes), len(v.Edges))
	}
	v := call("POST", "/store/workflow", `{"nodes":[`+node("x")+`],"edges":[],"metadata":{"id":"w","name":"W"}}`, 200)
	if len(v.Nodes) != 1 || v.Nodes[0].ID != "x" || v.SelectedNodes == nil {
		t.Errorf("loadWorkflow: adapter sees %+v", v)
	}
	if v := call("GET", "/store/state", "", 200); len(v.Nodes) != 1 || v.SelectedEdges == nil {
		t.Errorf("fetchRemoteState: adapter sees %+v", v)
	}
	if v := call("POST", "/store/clear", "", 200); len(v.Nodes) != 0 {
		t.Errorf("clearWorkflow: adapter sees %d nodes", len(v.Nodes))
	}
	if v := call("PATCH", "/store/nodes/ghost", `{"updates":{}}`, 404); v.Message != "node not found" {
		t.Errorf("the adapter throws errorData.message: %q", v.Message)
	}
}
