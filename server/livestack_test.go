package server

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/ws"
)

// liveStack is the whole binary in-process: store, hub, metrics, history sampling every
// interval and publishing metrics.sampled, and the server on a loopback port.
type liveStack struct {
	URL     string
	History *history.DB
	Hub     *ws.Hub
}

// waitSample waits for the history's next sample.
func (ls *liveStack) waitSample(t *testing.T) {
	t.Helper()
	last := ls.History.Stats().LastSample
	deadline := time.Now().Add(10 * time.Second)
	for !ls.History.Stats().LastSample.After(last) {
		if time.Now().After(deadline) {
			t.Fatal("history took no sample in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startLiveStack starts the stack; configure, when given, adjusts the server's Config.
func startLiveStack(t *testing.T, interval time.Duration, configure ...func(*Config)) *liveStack {
	t.Helper()
	dir := t.TempDir()
	reg := monitoring.New(monitoring.Options{Version: "test", Revision: "e2e"})
	st, err := store.Open(filepath.Join(dir, "gemini-flow.db"), store.Options{Metrics: reg})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	hub := ws.NewHub(ws.Options{Metrics: reg, Logger: quiet})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	hist, err := history.Open(history.Options{
		Path:     filepath.Join(dir, "history.db"),
		Interval: interval,
		Job:      monitoring.Job,
		Instance: addr,
		Source:   reg.WritePrometheus,
		Logger:   quiet,
		OnSample: func(ts time.Time, series int) {
			hub.Publish("metrics", "metrics.sampled", map[string]any{"timestamp": ts.UnixMilli(), "series": series})
		},
	})
	if err != nil {
		t.Fatalf("open history: %v", err)
	}
	reg.SetHistoryStats(hist.Stats)
	ctx, cancel := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		hist.Run(ctx)
	}()
	cfg := Config{Version: "test", Revision: "e2e"}
	for _, f := range configure {
		f(&cfg)
	}
	srv := New(cfg, Deps{
		Store: st, Hub: hub, History: hist, Metrics: reg, Job: monitoring.Job, Instance: addr, Logger: quiet,
	})
	srv.SetReady(true)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		<-served
		cancel()
		<-sampled
		if err := hist.Close(); err != nil {
			t.Errorf("close history: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &liveStack{URL: "http://" + addr, History: hist, Hub: hub}
}

// requireTool returns the path of an external tool, skipping only outside CI.
func requireTool(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not installed (CI unset): %v", path, err)
		}
		t.Fatalf("%s is required in CI: %v", path, err)
	}
	return path
}
