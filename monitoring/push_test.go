package monitoring_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
	"github.com/gemini-flow/gemini-flow/monitoring"
)

type pushReceiver struct {
	mu     sync.Mutex
	bodies []string
	method string
	got    chan struct{}
}

func (p *pushReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.bodies = append(p.bodies, string(b))
	p.method = r.Method
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	select {
	case p.got <- struct{}{}:
	default:
	}
}

func TestStartPushSendsTheExpositionWithJobAndInstance(t *testing.T) {
	recv := &pushReceiver{got: make(chan struct{}, 1)}
	srv := httptest.NewServer(recv)
	defer srv.Close()

	r := monitoring.New(monitoring.Options{Version: "1.2.3"})
	r.ObserveHTTP("GET", "/api/workflows", 200, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.StartPush(ctx, srv.URL+"/api/v1/import/prometheus", 20*time.Millisecond, "gemini-flow-backend", "127.0.0.1:3001"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first push is immediate, the second one a tick later
		select {
		case <-recv.got:
		case <-time.After(10 * time.Second):
			t.Fatal("no push received")
		}
	}
	cancel()
	r.WaitPush()

	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.method != http.MethodPost {
		t.Errorf("pushed with %s, want POST", recv.method)
	}
	body := recv.bodies[0]
	for _, want := range []string{
		"# HELP gemini_flow_http_requests_total Total number of HTTP requests\n# TYPE gemini_flow_http_requests_total counter\n",
		`gemini_flow_http_requests_total{job="gemini-flow-backend",instance="127.0.0.1:3001",method="GET",route="/api/workflows",status_code="200"} 1` + "\n",
		`gemini_flow_websocket_connections_active{job="gemini-flow-backend",instance="127.0.0.1:3001"} 0` + "\n",
		`gemini_flow_build_info{job="gemini-flow-backend",instance="127.0.0.1:3001",version="1.2.3",`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("push body lacks %q", want)
		}
	}
	for line := range strings.Lines(body) {
		if !strings.HasPrefix(line, "#") && !strings.Contains(line, `job="gemini-flow-backend",instance="127.0.0.1:3001"`) {
			t.Errorf("sample without job and instance: %q", line)
		}
	}
}

func TestStartPushRefusesBadArguments(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	f := func(pushURL string, interval time.Duration, job, instance string) {
		t.Helper()
		if err := r.StartPush(t.Context(), pushURL, interval, job, instance); err == nil {
			t.Errorf("StartPush(%q, %s, %q, %q) accepted", pushURL, interval, job, instance)
		}
	}
	f("ftp://host/api/v1/import/prometheus", time.Second, "j", "i")
	f("http:///api/v1/import/prometheus", time.Second, "j", "i")
	f("://bad", time.Second, "j", "i")
	f("http://127.0.0.1:1/api/v1/import/prometheus", 0, "j", "i")
	f("http://127.0.0.1:1/api/v1/import/prometheus", time.Second, "", "i")
	f("http://127.0.0.1:1/api/v1/import/prometheus", time.Second, "j", "")
	r.WaitPush() // nothing was started
}

// A push that fails keeps the loop alive and ends with its context.
func TestStartPushSurvivesAnUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var logs bytes.Buffer
	var mu sync.Mutex
	r := monitoring.New(monitoring.Options{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.StartPush(ctx, "http://"+addr+"/api/v1/import/prometheus", 20*time.Millisecond, "j", "i"); err != nil {
		t.Fatal(err)
	}
	r.WaitPush()
	mu.Lock()
	defer mu.Unlock()
	// Several ticks failed; the outage is logged once.
	if n := strings.Count(logs.String(), "metrics push failed"); n != 1 {
		t.Errorf("outage logged %d times:\n%s", n, logs.String())
	}
}

// The series arrive in a real VictoriaMetrics.
func TestPushIntoVictoriaMetrics(t *testing.T) {
	bin := testkit.RequireTool(t, "victoria-metrics")
	addr := freeAddr(t)
	cmd := exec.Command(bin, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+addr, "-loggerLevel=ERROR")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := "http://" + addr
	waitFor(t, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, func() string { return logs.String() })

	r := monitoring.New(monitoring.Options{Version: "1.2.3", Logger: slog.New(slog.DiscardHandler)})
	r.ObserveHTTP("GET", "/api/workflows", 200, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.WaitPush() }()
	if err := r.StartPush(ctx, base+"/api/v1/import/prometheus", time.Second, "gemini-flow-backend", "test:1"); err != nil {
		t.Fatal(err)
	}
	var names []string
	waitFor(t, func() bool {
		if resp, err := http.Get(base + "/internal/force_flush"); err == nil {
			resp.Body.Close()
		}
		resp, err := http.Get(base + "/api/v1/series?match[]=" + url.QueryEscape(`{job="gemini-flow-backend",instance="test:1"}`))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var out struct {
			Data []map[string]string `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil {
			return false
		}
		names = names[:0]
		for _, s := range out.Data {
			names = append(names, s["__name__"])
		}
		return strings.Contains(strings.Join(names, " "), "gemini_flow_http_request_duration_seconds_bucket")
	}, func() string { return fmt.Sprint(names, "\n", logs.String()) })
	for _, want := range []string{"gemini_flow_http_requests_total", "gemini_flow_build_info", "gemini_flow_go_goroutines", "gemini_flow_workflows_total"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("series %s did not arrive; got %v", want, names)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, ok func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting:\n%s", why())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
