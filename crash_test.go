package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
)

// startServer runs the binary on the data directory and waits until it is ready.
func startServer(t *testing.T, dataDir string) *testkit.Binary {
	t.Helper()
	return testkit.StartBinary(t, nil, "--data-dir", dataDir, "--rate-limit", "0")
}

// acked is what the server acknowledged for one workflow: the last name answered 2xx, and the
// name of a request still in flight when the process died (which may or may not have landed).
type acked struct {
	name     string
	inFlight string
}

// TestCrashLosesNoAcknowledgedWrite kills the server with SIGKILL while clients create and
// update workflows, restarts it on the same data directory and checks every acknowledged write.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	for round := 1; round <= 3; round++ {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			dataDir := t.TempDir()
			bin := startServer(t, dataDir)
			base := bin.URL
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Second}

			const clients = 16
			var mu sync.Mutex
			state := map[string]*acked{}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for i := 0; ctx.Err() == nil; i++ {
						name := fmt.Sprintf("c%d-w%d-v0", c, i)
						body := fmt.Sprintf(`{"name":%q,"nodes":[{"id":"a","position":{"x":1,"y":2},"data":{"label":"A"}}],"edges":[]}`, name)
						id, ok := send(client, http.MethodPost, base+"/api/workflows", body, http.StatusCreated)
						if !ok {
							return
						}
						mu.Lock()
						state[id] = &acked{name: name}
						mu.Unlock()
						for v := 1; v <= 2 && ctx.Err() == nil; v++ {
							next := fmt.Sprintf("c%d-w%d-v%d", c, i, v)
							mu.Lock()
							state[id].inFlight = next
							mu.Unlock()
							if _, ok := send(client, http.MethodPut, base+"/api/workflows/"+id, fmt.Sprintf(`{"metadata":{"name":%q}}`, next), http.StatusOK); !ok {
								return
							}
							mu.Lock()
							state[id].name, state[id].inFlight = next, ""
							mu.Unlock()
						}
					}
				}(c)
			}
			time.Sleep(1500 * time.Millisecond)
			bin.Kill(t)
			cancel()
			wg.Wait()

			mu.Lock()
			defer mu.Unlock()
			if len(state) < 50 {
				t.Fatalf("only %d creates acknowledged before the kill; the test needs more traffic", len(state))
			}
			base = startServer(t, dataDir).URL
			lost := 0
			for id, a := range state {
				resp, err := client.Get(base + "/api/workflows/" + id)
				if err != nil {
					t.Fatal(err)
				}
				var env struct {
					Data struct {
						Metadata struct{ ID, Name string } `json:"metadata"`
						Nodes    []json.RawMessage         `json:"nodes"`
					} `json:"data"`
				}
				err = json.NewDecoder(resp.Body).Decode(&env)
				resp.Body.Close()
				got := env.Data.Metadata.Name
				if err != nil || resp.StatusCode != http.StatusOK || (got != a.name && (a.inFlight == "" || got != a.inFlight)) || len(env.Data.Nodes) != 1 {
					lost++
					if lost <= 5 {
						t.Errorf("workflow %s: status %d, name %q, want %q (in flight %q), %d nodes", id, resp.StatusCode, got, a.name, a.inFlight, len(env.Data.Nodes))
					}
				}
			}
			t.Logf("%d workflows acknowledged before SIGKILL, %d lost after restart", len(state), lost)
		})
	}
}

// send makes one request and reports the workflow id when the server answered want.
func send(client *http.Client, method, url, body string, want int) (string, bool) {
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		return "", false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return "", false
	}
	var env struct {
		Data struct {
			Metadata struct{ ID string } `json:"metadata"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Data.Metadata.ID == "" {
		return "", false
	}
	return env.Data.Metadata.ID, true
}
