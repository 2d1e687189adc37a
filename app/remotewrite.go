package app

import (
	"context"
	"fmt"

	"github.com/gemini-flow/gemini-flow/remotewrite"
)

// openRemoteWrite builds the writer that sends every history sample to the configured
// remote-write receivers; it needs the history.
func (a *App) openRemoteWrite() error {
	if len(a.cfg.RemoteWriteURLs) == 0 {
		return nil
	}
	if a.History == nil {
		return fmt.Errorf("remote write reads the metric history, which is off")
	}
	interval := a.cfg.RemoteWriteInterval
	if interval <= 0 {
		interval = a.cfg.HistoryInterval
	}
	w, err := remotewrite.New(remotewrite.Options{
		URLs:         a.cfg.RemoteWriteURLs,
		Interval:     interval,
		QueueSamples: a.cfg.RemoteWriteQueue,
		Source:       a.History,
		Metrics:      a.Metrics,
		UserAgent:    "gemini-flow/" + a.cfg.Version,
		Logger:       a.log,
	})
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	a.remoteWrite = w
	return nil
}

// runRemoteWrite sends until ctx ends; the returned channel closes once it has stopped.
func (a *App) runRemoteWrite(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if a.remoteWrite == nil {
		close(done)
		return done
	}
	go func() { defer close(done); a.remoteWrite.Run(ctx) }()
	return done
}
