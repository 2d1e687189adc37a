package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/gemini-flow/gemini-flow/ws"
)

type frame struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// nextOfType reads frames until one of type typ arrives.
func nextOfType(t *testing.T, conn *websocket.Conn, typ string) frame {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var f frame
		if err := conn.ReadJSON(&f); err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
	}
}

func TestWebSocketEvents(t *testing.T) {
	ts := newTestServer(t)
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	nextOfType(t, conn, "client.connected")

	id := ts.createWorkflow(t, `{"name":"Live"}`)
	f := nextOfType(t, conn, "workflow.created")
	if !strings.Contains(string(f.Payload), `"workflow":{"metadata":{"id":"`+id) || !strings.Contains(string(f.Payload), `"metadata":{"id":"`+id) {
		t.Errorf("created payload: %s", f.Payload)
	}
	ts.do(t, "PUT", "/api/workflows/"+id, `{"name":"Renamed"}`, nil)
	if f := nextOfType(t, conn, "workflow.updated"); !strings.Contains(string(f.Payload), `"name":"Renamed"`) {
		t.Errorf("updated payload: %s", f.Payload)
	}
	ts.do(t, "DELETE", "/api/workflows/"+id, "", nil)
	if f := nextOfType(t, conn, "workflow.deleted"); !strings.Contains(string(f.Payload), `"workflowId":"`+id+`"`) {
		t.Errorf("deleted payload: %s", f.Payload)
	}
	ts.do(t, "POST", "/api/workflows/import", fullWorkflow("imp"), nil)
	if f := nextOfType(t, conn, "workflow.created"); !strings.Contains(string(f.Payload), `"id":"imp"`) {
		t.Errorf("import payload: %s", f.Payload)
	}
	ts.do(t, "POST", "/api/store/nodes", `{"node":{"id":"a","position":{"x":0,"y":0},"data":{"label":"A"}}}`, nil)
	f = nextOfType(t, conn, "store.updated")
	var up struct {
		State      struct{ Nodes []any } `json:"state"`
		NodeCount  int                   `json:"nodeCount"`
		EdgeCount  int                   `json:"edgeCount"`
		LastUpdate int64                 `json:"lastUpdate"`
	}
	if err := json.Unmarshal(f.Payload, &up); err != nil || up.NodeCount != 1 || len(up.State.Nodes) != 1 || up.LastUpdate == 0 {
		t.Errorf("store.updated payload: %s", f.Payload)
	}
	ts.do(t, "POST", "/api/store/sync", `{"workflowId":"imp"}`, nil)
	if f := nextOfType(t, conn, "store.synced"); !strings.Contains(string(f.Payload), `"workflow":{"id":"imp"`) {
		t.Errorf("store.synced payload: %s", f.Payload)
	}
	if m := ts.scrape(t); !strings.Contains(m, `route="/ws",status_code="101"`) {
		t.Errorf("upgrade not counted under /ws")
	}
}

func TestWebSocketOrigin(t *testing.T) {
	ts := newTestServer(t)
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(wsURL, map[string][]string{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign origin accepted: %v", err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, map[string][]string{"Origin": {"http://localhost:5173"}})
	if err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	conn.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	conn, _, err = websocket.DefaultDialer.Dial(wsURL, map[string][]string{"Origin": {"http://" + host}})
	if err != nil {
		t.Fatalf("same-origin page refused: %v", err)
	}
	conn.Close()
}

func TestShutdownClosesClients(t *testing.T) {
	ts := newTestServer(t)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	nextOfType(t, conn, "client.connected")
	done := make(chan error, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Server.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if ts.Server.ready.Load() {
		t.Errorf("still ready after shutdown")
	}
	err = <-done
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("close = %v, want 1001", err)
	}
}

// TestWebSocketClientCap: past the hub's client cap an upgrade is refused with 503, and a
// place frees when a client leaves.
func TestWebSocketClientCap(t *testing.T) {
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.Hub = ws.NewHub(ws.Options{MaxClients: 2, Logger: d.Logger})
	})
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	var conns []*websocket.Conn
	for range 2 {
		conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		nextOfType(t, conn, "client.connected")
		conns = append(conns, conn)
	}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third client: err %v, response %v", err, resp)
	}
	conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for ts.Server.deps.Hub.Full() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("after one left: %v", err)
	}
	conn.Close()
}
