package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// bigWorkflow is a workflow of about 900 kB, under the API's body limit.
func bigWorkflow(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"metadata":{"id":%q,"name":"Big %s","version":"1.0.0","createdAt":1700000000000,"updatedAt":1700000000000},"nodes":[`, id, id)
	label := strings.Repeat("x", 850)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"n%d","position":{"x":%d,"y":0},"data":{"label":"%s"}}`, i, i, label)
	}
	b.WriteString(`],"edges":[]}`)
	return b.String()
}

// TestStalledBackupBlocksNoWriter: a client that starts a backup and stops reading neither
// holds back writes that grow the file nor /health, and is cut after the write timeout.
func TestStalledBackupBlocksNoWriter(t *testing.T) {
	const stall = 5 * time.Second
	ts := newTestServer(t, withConfig(func(c *Config) { c.WriteTimeout = stall }))
	for i := range 12 {
		ts.createWorkflow(t, bigWorkflow(fmt.Sprintf("before-%d", i)))
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(conn, "GET /api/admin/backup HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Read the status line only, then stop reading.
	status, err := bufio.NewReaderSize(conn, 16).ReadString('\n')
	if err != nil || !strings.Contains(status, "200") {
		t.Fatalf("backup status line %q: %v", status, err)
	}

	stalled := time.Now()
	// Writes that outgrow the file's map (bbolt remaps it) and /health answer meanwhile.
	done := make(chan error, 1)
	go func() {
		for i := range 12 {
			id := fmt.Sprintf("after-%d", i)
			if status, _, body := ts.do(t, http.MethodPost, "/api/workflows", bigWorkflow(id), nil); status != http.StatusCreated {
				done <- fmt.Errorf("create %s: %d %.200s", id, status, body)
				return
			}
			if status, _, _ := ts.do(t, http.MethodGet, "/health", "", nil); status != http.StatusOK {
				done <- fmt.Errorf("health: %d", status)
				return
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Before the stalled client is cut, not because it was.
	if waited := time.Since(stalled); waited >= stall {
		t.Fatalf("writes waited %s, until the stalled backup was cut", waited)
	}
	t.Logf("writes done %s into the stall", time.Since(stalled))
	// The stalled client was cut: the server holds no connection once idle ones are closed.
	ts.client.CloseIdleConnections()
	deadline := stalled.Add(2 * stall)
	for ts.Server.srv.GetOpenConnectionsCount() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled backup was never cut: %d connections open", ts.Server.srv.GetOpenConnectionsCount())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
