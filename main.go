// Command gemini-flow is the gemini-flow backend: workflows, editor store, sessions, Gemini
// execution and live WebSocket sync on bbolt, with its own Prometheus metrics, metric history,
// PromQL API and a built-in metrics page.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gemini-flow/gemini-flow/app"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run starts the server and blocks until it stops; it returns the process exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr, isTerminal(os.Stderr))
	switch {
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errVersion):
		fmt.Fprintf(stdout, "gemini-flow %s (%s)\n", version, revision())
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "gemini-flow: %v\n", err)
		return 2
	}
	logger := newLogger(cfg, stderr)
	applyMemoryLimit(cfg.MemoryLimit, getenv, logger)
	if err := serve(cfg, logger); err != nil {
		fmt.Fprintf(stderr, "gemini-flow: %v\n", err)
		return 1
	}
	return 0
}

// serve runs the stack until SIGINT or SIGTERM; a second signal exits at once.
func serve(cfg config, logger *slog.Logger) error {
	a, err := app.Open(app.Config{
		Addr:                cfg.Addr,
		DataDir:             cfg.DataDir,
		Version:             version,
		Revision:            revision(),
		APIKeys:             cfg.APIKeys,
		MetricsKey:          cfg.MetricsKey,
		CORSOrigins:         cfg.CORSOrigins,
		AllowedHosts:        cfg.AllowedHosts,
		MaxConns:            cfg.MaxConns,
		MaxConnsPerIP:       cfg.MaxConnsPerIP,
		WriteTimeout:        cfg.WriteTimeout,
		WSMaxClients:        cfg.WSMaxClients,
		RateLimit:           cfg.RateLimit,
		HistoryInterval:     cfg.HistoryInterval,
		HistoryRetention:    cfg.HistoryRetention,
		PushURL:             cfg.PushURL,
		PushInterval:        cfg.PushInterval,
		GeminiBaseURL:       cfg.GeminiBaseURL,
		GeminiModel:         cfg.GeminiModel,
		GeminiAPIKey:        cfg.GeminiAPIKey,
		Limits:              cfg.Limits,
		RuleSources:         cfg.RuleSources,
		AlertmanagerURLs:    cfg.AlertmanagerURLs,
		WebhookURLs:         cfg.WebhookURLs,
		AlertResendDelay:    cfg.AlertResendDelay,
		AlertGracePeriod:    cfg.AlertGracePeriod,
		RemoteWriteURLs:     cfg.RemoteWrite.URLs,
		RemoteWriteInterval: cfg.RemoteWrite.Interval,
		RemoteWriteQueue:    cfg.RemoteWrite.Queue,
		QueryLimits:         cfg.QueryLimits,
		QueryCacheBytes:     cfg.QueryCacheBytes,
		Flags:               cfg.Flags,
		Logger:              logger,
	})
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		logger.Info("shutting down", "signal", sig.String())
		stop()
		sig = <-signals
		logger.Warn("second signal, exiting now", "signal", sig.String())
		os.Exit(1)
	}()
	if err := a.Run(ctx); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// applyMemoryLimit sets the runtime's soft memory limit, so that the heap a large request
// grew is returned; a GOMEMLIMIT in the environment was applied by the runtime and wins.
func applyMemoryLimit(limit int64, getenv func(string) string, logger *slog.Logger) {
	if getenv("GOMEMLIMIT") != "" || limit <= 0 {
		return
	}
	debug.SetMemoryLimit(limit)
	logger.Debug("memory limit", "bytes", limit)
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// revision is the VCS revision the binary was built from, when the toolchain recorded it.
func revision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
