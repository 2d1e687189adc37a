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
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/gemini-flow/gemini-flow/gemini"
	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/server"
	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/ws"
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
	if err := serve(cfg, logger); err != nil {
		fmt.Fprintf(stderr, "gemini-flow: %v\n", err)
		return 1
	}
	return 0
}

func serve(cfg config, logger *slog.Logger) error {
	metrics := monitoring.New(monitoring.Options{Version: version, Revision: revision()})

	db, err := store.Open(filepath.Join(cfg.DataDir, "gemini-flow.db"), store.Options{Timeout: time.Second, Metrics: metrics})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	instance := ln.Addr().String()

	hub := ws.NewHub(ws.Options{Metrics: metrics, Logger: logger})

	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	var hist *history.DB
	if cfg.HistoryInterval > 0 {
		hist, err = history.Open(history.Options{
			Path:      filepath.Join(cfg.DataDir, "history.db"),
			Interval:  cfg.HistoryInterval,
			Retention: cfg.HistoryRetention,
			Job:       monitoring.Job,
			Instance:  instance,
			Source:    metrics.WritePrometheus,
			OnSample: func(ts time.Time, series int) {
				hub.Publish("metrics", "metrics.sampled", map[string]any{"timestamp": ts.UnixMilli(), "series": series})
			},
			Logger: logger,
		})
		if err != nil {
			ln.Close()
			return fmt.Errorf("open history: %w", err)
		}
		metrics.SetHistoryStats(hist.Stats)
	}

	if cfg.PushURL != "" {
		if err := metrics.StartPush(ctx, cfg.PushURL, cfg.PushInterval, monitoring.Job, instance); err != nil {
			ln.Close()
			return fmt.Errorf("start push: %w", err)
		}
	}

	srv := server.New(server.Config{
		Version:         version,
		Revision:        revision(),
		APIKeys:         cfg.APIKeys,
		MetricsKey:      cfg.MetricsKey,
		CORSOrigins:     cfg.CORSOrigins,
		RateLimit:       cfg.RateLimit,
		Limits:          cfg.Limits,
		ShutdownTimeout: 10 * time.Second,
	}, server.Deps{
		Store:    db,
		Hub:      hub,
		History:  hist,
		Gemini:   gemini.New(gemini.Config{BaseURL: cfg.GeminiBaseURL, Model: cfg.GeminiModel, APIKey: cfg.GeminiAPIKey, Timeout: 30 * time.Second, Metrics: metrics}),
		Metrics:  metrics,
		Logger:   logger,
		Job:      monitoring.Job,
		Instance: instance,
	})

	histDone := make(chan struct{})
	if hist != nil {
		go func() { defer close(histDone); hist.Run(ctx) }()
	} else {
		close(histDone)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	srv.SetReady(true)
	logger.Info("listening", "addr", instance, "data_dir", cfg.DataDir, "history_interval", cfg.HistoryInterval.String(), "version", version)

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-serveErr:
		stop()
		<-histDone
		closeHistory(hist, logger)
		return fmt.Errorf("serve: %w", err)
	case sig := <-signals:
		logger.Info("shutting down", "signal", sig.String())
	}
	go func() {
		sig := <-signals
		logger.Warn("second signal, exiting now", "signal", sig.String())
		os.Exit(1)
	}()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	stop()
	<-histDone
	closeHistory(hist, logger)
	logger.Info("stopped")
	return nil
}

func closeHistory(hist *history.DB, logger *slog.Logger) {
	if hist == nil {
		return
	}
	if err := hist.Close(); err != nil {
		logger.Warn("close history", "err", err)
	}
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
