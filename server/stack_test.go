package server_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/app"
	"github.com/gemini-flow/gemini-flow/internal/testkit"
)

// liveStack is the whole binary in-process, built by the composition root the binary uses:
// store, hub, metrics, history sampling every interval, and the server on a loopback port.
type liveStack struct {
	*app.App
	URL string
}

// waitSample waits for the history's next sample.
func (ls *liveStack) waitSample(t *testing.T) {
	t.Helper()
	last := ls.History.Stats().LastSample
	testkit.PollUntil(t, "the history's next sample", 10*time.Second, func() bool {
		return ls.History.Stats().LastSample.After(last)
	})
}

// startLiveStack starts the stack sampling every interval (0: history off); configure, when
// given, adjusts its Config first.
func startLiveStack(t *testing.T, interval time.Duration, configure ...func(*app.Config)) *liveStack {
	t.Helper()
	cfg := app.Config{
		Addr:            "127.0.0.1:0",
		DataDir:         t.TempDir(),
		Version:         "test",
		Revision:        "e2e",
		HistoryInterval: interval,
		Logger:          slog.New(slog.DiscardHandler),
	}
	for _, f := range configure {
		f(&cfg)
	}
	a, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack stopped with %v", err)
		}
	})
	ls := &liveStack{App: a, URL: "http://" + a.Addr}
	testkit.PollUntil(t, "/readyz", 10*time.Second, func() bool { return testkit.StatusOK(ls.URL + "/readyz") })
	return ls
}

// requireTool is testkit.RequireTool.
func requireTool(t *testing.T, name string) string { return testkit.RequireTool(t, name) }
