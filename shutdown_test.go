package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestSIGTERMWithStalledWebSocket: a WebSocket client that never reads does not hold SIGTERM
// past 10 s, and every write acknowledged meanwhile is there after a restart.
func TestSIGTERMWithStalledWebSocket(t *testing.T) {
	dataDir := t.TempDir()
	bin := startServer(t, dataDir)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 15 * time.Second}

	// A small receive buffer set before connecting, so that the window it advertises is small.
	small := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	dialer := websocket.Dialer{NetDialContext: small.DialContext}
	stalled, _, err := dialer.Dial("ws"+strings.TrimPrefix(bin.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	// About 7 MB of broadcasts: the sockets hold 4 MB, the writer blocks on the next frame,
	// and what is left stays under the client's 4 MiB queue, so it is not dropped as slow.
	label := strings.Repeat("x", 800)
	for i := range 8 {
		var nodes []string
		for j := range 1000 {
			nodes = append(nodes, fmt.Sprintf(`{"id":"n%d","position":{"x":0,"y":0},"data":{"label":%q}}`, j, label))
		}
		body := fmt.Sprintf(`{"name":"big-%d","nodes":[%s],"edges":[]}`, i, strings.Join(nodes, ","))
		if _, ok := send(client, http.MethodPost, bin.URL+"/api/workflows", body, http.StatusCreated); !ok {
			t.Fatalf("big workflow %d refused", i)
		}
	}

	var mu sync.Mutex
	var acked []string
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`{"name":"c%d-%d","nodes":[],"edges":[]}`, c, i)
				if id, ok := send(client, http.MethodPost, bin.URL+"/api/workflows", body, http.StatusCreated); ok {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := bin.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bin.Exited():
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20 s after SIGTERM")
	}
	took := time.Since(start)
	cancel()
	wg.Wait()
	if took >= 10*time.Second {
		t.Errorf("SIGTERM took %s with a stalled WebSocket client; Docker kills at 10 s", took)
	}
	if code := bin.ExitCode(); code != 0 {
		t.Errorf("exit code %d", code)
	}

	base := startServer(t, dataDir).URL
	lost := 0
	for _, id := range acked {
		resp, err := client.Get(base + "/api/workflows/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			lost++
		}
	}
	t.Logf("stopped in %s; %d writes acknowledged, %d lost", took, len(acked), lost)
	if lost > 0 || len(acked) == 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(acked))
	}
}
