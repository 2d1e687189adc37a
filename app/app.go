// Package app is the composition root of gemini-flow: it opens the stores, the history and
// the WebSocket hub, binds the server to them, and runs and stops them in order. The binary
// and the in-process tests of the whole stack both build it here.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/gemini-flow/gemini-flow/gemini"
	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/notify"
	"github.com/gemini-flow/gemini-flow/promapi"
	"github.com/gemini-flow/gemini-flow/remotewrite"
	"github.com/gemini-flow/gemini-flow/rules"
	"github.com/gemini-flow/gemini-flow/rulesapi"
	"github.com/gemini-flow/gemini-flow/server"
	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/workflow"
	"github.com/gemini-flow/gemini-flow/ws"
)

// shutdownTimeout bounds how long a stop waits for in-flight requests and WebSocket clients;
// with the history's last checkpoint after it, the whole stop fits Docker's 10 s.
const shutdownTimeout = 8 * time.Second

// Config is everything the stack is built from; the binary fills it from flags.
type Config struct {
	Addr                string // listen address; port 0 picks a free one (see App.Addr)
	DataDir             string // holds gemini-flow.db and history.db
	Version, Revision   string
	APIKeys             []string
	MetricsKey          string
	CORSOrigins         []string
	AllowedHosts        []string      // Host names answered besides loopback ones
	MaxConns            int           // open connections in total; 0: the server's default
	MaxConnsPerIP       int           // open connections from one address; 0: the server's default
	WriteTimeout        time.Duration // a response write stalled longer is cut; 0: the server's default
	WSMaxClients        int           // WebSocket clients at once; 0: the hub's default
	RateLimit           int           // requests per minute per client IP on /api/*; 0 = off
	HistoryInterval     time.Duration // 0: history off
	HistoryRetention    time.Duration
	PushURL             string
	PushInterval        time.Duration
	GeminiBaseURL       string
	GeminiModel         string
	GeminiAPIKey        string
	GeminiTimeout       time.Duration // 0: 30 s
	Limits              workflow.Limits
	RuleSources         []rules.Source    // rule files to evaluate on the history; nil: off
	AlertmanagerURLs    []string          // Alertmanagers the alerts go to
	WebhookURLs         []string          // receivers of Alertmanager's webhook payload
	AlertResendDelay    time.Duration     // 0: Prometheus's 1m
	AlertGracePeriod    time.Duration     // 0: Prometheus's 10m
	RemoteWriteURLs     []string          // remote-write receivers of every history sample
	RemoteWriteInterval time.Duration     // 0: the history interval
	RemoteWriteQueue    int               // samples held per receiver; 0: remotewrite's default
	QueryLimits         promapi.Limits    // zero fields take promapi.DefaultLimits
	QueryCacheBytes     int64             // range query result cache; 0: off
	Flags               map[string]string // shown by /api/v1/status/flags
	Logger              *slog.Logger      // nil: slog.Default()
}

// App is the built stack: every part open, nothing running until Run.
type App struct {
	Addr    string // the bound address, host:port; also the instance label
	Metrics *monitoring.Registry
	Store   *store.Store
	Hub     *ws.Hub
	History *history.DB // nil when the history is off
	Server  *server.Server
	Rules   *rules.Manager // nil while rule evaluation is off

	cfg      Config
	log      *slog.Logger
	ln       net.Listener
	notifier *notify.Notifier

	remoteWrite *remotewrite.Writer // nil without receivers
}

// Open builds the stack and binds its listener; on error everything it opened is closed.
func Open(cfg Config) (a *App, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.GeminiTimeout <= 0 {
		cfg.GeminiTimeout = 30 * time.Second
	}
	a = &App{cfg: cfg, log: cfg.Logger}
	a.Metrics = monitoring.New(monitoring.Options{Version: cfg.Version, Revision: cfg.Revision})
	built := a // an error return sets a to nil
	defer func() {
		if err != nil {
			if built.ln != nil {
				built.ln.Close()
			}
			built.close()
		}
	}()

	a.Store, err = store.Open(filepath.Join(cfg.DataDir, "gemini-flow.db"), store.Options{Timeout: time.Second, Metrics: a.Metrics})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	a.Addr = a.ln.Addr().String()
	a.Hub = ws.NewHub(ws.Options{Metrics: a.Metrics, Logger: a.log, MaxClients: cfg.WSMaxClients})

	if cfg.HistoryInterval > 0 {
		a.History, err = history.Open(history.Options{
			Path:      filepath.Join(cfg.DataDir, "history.db"),
			Interval:  cfg.HistoryInterval,
			Retention: cfg.HistoryRetention,
			Job:       monitoring.Job,
			Instance:  a.Addr,
			Source:    a.Metrics.WritePrometheus,
			OnSample: func(ts time.Time, series int) {
				a.Hub.Publish(ws.TopicMetrics, ws.TypeMetrics, map[string]any{"timestamp": ts.UnixMilli(), "series": series})
			},
			Logger: a.log,
		})
		if err != nil {
			return nil, fmt.Errorf("open history: %w", err)
		}
		a.Metrics.SetHistoryStats(a.History.Stats)
	}

	engine := promapi.NewEngine(0, 0, a.log)
	if err := a.openRules(engine); err != nil {
		return nil, err
	}
	if err := a.openRemoteWrite(); err != nil {
		return nil, err
	}

	a.Server = server.New(server.Config{
		Version:       cfg.Version,
		Revision:      cfg.Revision,
		APIKeys:       cfg.APIKeys,
		MetricsKey:    cfg.MetricsKey,
		CORSOrigins:   cfg.CORSOrigins,
		AllowedHosts:  cfg.AllowedHosts,
		MaxConns:      cfg.MaxConns,
		MaxConnsPerIP: cfg.MaxConnsPerIP,
		WriteTimeout:  cfg.WriteTimeout,
		RateLimit:     cfg.RateLimit,
		Limits:        cfg.Limits,
		QueryLimits:   cfg.QueryLimits,
		QueryCache:    cfg.QueryCacheBytes,
		Retention:     cfg.HistoryRetention,
		Flags:         cfg.Flags,
	}, server.Deps{
		Store:    a.Store,
		Hub:      a.Hub,
		History:  a.History,
		Gemini:   gemini.New(gemini.Config{BaseURL: cfg.GeminiBaseURL, Model: cfg.GeminiModel, APIKey: cfg.GeminiAPIKey, Timeout: cfg.GeminiTimeout, Metrics: a.Metrics}),
		Metrics:  a.Metrics,
		Logger:   a.log,
		Job:      monitoring.Job,
		Instance: a.Addr,

		Engine:      engine,
		Routes:      rulesRoutes(rulesapi.New(a.Rules)),
		RulesHealth: func() any { return a.Rules.Summary() },
	})
	return a, nil
}

// Run serves, samples the history and pushes metrics until ctx ends or serving fails; then it
// stops in order (requests drained, history sampled last and closed, database closed).
func (a *App) Run(ctx context.Context) error {
	bg, stop := context.WithCancel(context.Background())
	defer stop()
	if a.cfg.PushURL != "" {
		if err := a.Metrics.StartPush(bg, a.cfg.PushURL, a.cfg.PushInterval, monitoring.Job, a.Addr); err != nil {
			a.ln.Close()
			a.close()
			return fmt.Errorf("start push: %w", err)
		}
	}
	histDone := make(chan struct{})
	if a.History != nil {
		go func() { defer close(histDone); a.History.Run(bg) }()
	} else {
		close(histDone)
	}
	rulesDone := a.runRules(bg)
	remoteWriteDone := a.runRemoteWrite(bg)

	serveErr := make(chan error, 1)
	go func() { serveErr <- a.Server.Serve(a.ln) }()
	a.Server.SetReady(true)
	a.log.Info("listening", "addr", a.Addr, "data_dir", a.cfg.DataDir, "history_interval", a.cfg.HistoryInterval.String(), "version", a.cfg.Version)

	var err error
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if serr := a.Server.Shutdown(shutdownCtx); serr != nil {
			a.log.Warn("shutdown", "err", serr)
		}
		cancel()
		<-serveErr
	}
	stop()
	<-histDone
	<-rulesDone
	<-remoteWriteDone
	a.Metrics.WaitPush()
	return errors.Join(err, a.close())
}

// close closes the history and the database; parts that were never opened are skipped.
func (a *App) close() error {
	var errs []error
	if a.History != nil {
		if err := a.History.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close history: %w", err))
		}
	}
	if a.Store != nil {
		if err := a.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	return errors.Join(errs...)
}
