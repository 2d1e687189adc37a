// Package server is the HTTP side of gemini-flow: routes, middleware, the JSON envelopes, the
// API handlers, health and metrics endpoints, and the WebSocket upgrade.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fasthttp/router"
	"github.com/prometheus/prometheus/promql"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/gemini"
	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/promapi"
	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/workflow"
	"github.com/gemini-flow/gemini-flow/ws"
)

// Config is the server's behaviour; zero values serve the open, single-user local case.
type Config struct {
	Version, Revision string
	APIKeys           []string          // none: /api/* and /ws are open
	MetricsKey        string            // "": /metrics and /api/v1/* are open
	CORSOrigins       []string          // allowed browser origins; "*" allows any
	AllowedHosts      []string          // Host names answered besides loopback ones; "*" allows any
	RateLimit         int               // requests per minute per client IP on /api/* (not /api/v1/*); 0 = off
	Limits            workflow.Limits   // zero fields take workflow.DefaultLimits
	WriteTimeout      time.Duration     // longest a response write may stall; 0 -> 30s
	MaxConns          int               // open connections in total; 0 -> 4096
	MaxConnsPerIP     int               // open connections from one client address; 0 -> 1024
	QueryTimeout      time.Duration     // PromQL evaluation limit
	QueryMaxSamples   int               // PromQL samples limit
	QueryLimits       promapi.Limits    // query length, nesting, points, match[] and concurrency bounds
	QueryCache        int64             // bytes of the range query result cache; 0: off
	Retention         time.Duration     // the history's, shown by /api/v1/status/runtimeinfo
	Flags             map[string]string // the binary's settings, shown by /api/v1/status/flags
}

// Deps are the parts the server drives. Metrics nil turns the HTTP instrumentation off.
type Deps struct {
	Store    *store.Store
	Hub      *ws.Hub
	History  *history.DB // nil when history is off
	Gemini   *gemini.Client
	Metrics  *monitoring.Registry
	Logger   *slog.Logger
	Job      string
	Instance string

	Engine      *promql.Engine // the query API's engine, shared with the rules; nil: built here
	Routes      []Route        // handlers of other packages, mounted behind the same middleware
	RulesHealth func() any     // components.rules of /health; nil: left out
}

// Route is a handler mounted from outside the package.
type Route struct {
	Method, Path string
	Handler      fasthttp.RequestHandler
}

// handlerFunc is an API handler; a returned error becomes the one error envelope.
type handlerFunc func(ctx *fasthttp.RequestCtx) error

// Server is the gemini-flow HTTP server.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	lim     workflow.Limits
	started time.Time
	ready   atomic.Bool

	versionJSON []byte // cfg.Version encoded once for envelopes written by hand

	router    *router.Router
	templates []routeTemplate // every registered template once, in registration order: the labels
	handler   fasthttp.RequestHandler
	srv       *fasthttp.Server

	lnMu     sync.Mutex
	ln       net.Listener // the listener Serve was given, closed by Shutdown
	shutDown bool         // Shutdown has begun: a later Serve returns at once

	apiKeys    [][]byte
	metricsKey []byte
	origins    map[string]bool
	anyOrigin  bool

	allowedHosts map[string]bool
	allowAnyHost bool
	loopbackBind atomic.Bool // Serve's listener is on a loopback address
	serving      atomic.Bool // Serve has been given a listener

	storageFullAt atomic.Int64 // Unix ns of the last write refused for a full disk; 0: none
	limiter       *ipLimiter

	// base is the context of work a request starts beyond the handler (upstream calls,
	// queries); it ends when shutdown stops waiting for in-flight requests. The RequestCtx
	// is no such context: fasthttp reuses it once the handler returns, while a context
	// derived from it keeps a goroutine that reads it.
	base     context.Context
	stopBase context.CancelFunc
}

// userValue keys; pointers so that boxing them allocates nothing.
var (
	routeKey = &struct{ byte }{}
	errKey   = &struct{ byte }{}
)

// New builds the server with every route bound. It is not ready until SetReady(true).
func New(cfg Config, deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4096
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = 1024
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, lim: cfg.Limits.WithDefaults(), started: time.Now()}
	s.base, s.stopBase = context.WithCancel(context.Background())
	s.versionJSON, _ = json.Marshal(cfg.Version) // a string always encodes
	for _, k := range cfg.APIKeys {
		if k != "" {
			s.apiKeys = append(s.apiKeys, []byte(k))
		}
	}
	if cfg.MetricsKey != "" {
		s.metricsKey = []byte(cfg.MetricsKey)
	}
	s.log = slog.New(newRedactor(deps.Logger.Handler(), append(s.apiKeys, s.metricsKey)))
	s.origins = make(map[string]bool, len(cfg.CORSOrigins))
	for _, o := range cfg.CORSOrigins {
		if o == "*" {
			s.anyOrigin = true
		}
		s.origins[o] = true
	}
	s.allowedHosts = make(map[string]bool, len(cfg.AllowedHosts))
	for _, h := range cfg.AllowedHosts {
		s.allowAnyHost = s.allowAnyHost || h == allowedHostsAnyone
		s.allowedHosts[hostOnly(h)] = true
	}
	if cfg.RateLimit > 0 {
		s.limiter = newIPLimiter(cfg.RateLimit, maxLimiters)
	}

	s.router = newRouter()
	s.router.NotFound = s.notFound
	s.router.MethodNotAllowed = s.methodNotAllowed
	s.router.GlobalOPTIONS = func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNoContent) }

	s.bindWorkflows()
	s.bindEditor()
	s.bindSessions()
	s.bindGemini()
	s.bindHealth()
	s.bindBackup()
	s.bindMetrics()
	s.bindWS()
	s.bindPromAPI()
	s.bindExport()
	s.bindPage()
	for _, r := range deps.Routes {
		s.handleRaw(r.Method, r.Path, r.Handler)
	}

	s.handler = s.chain()
	s.srv = &fasthttp.Server{
		Handler:               s.handler,
		Name:                  "gemini-flow",
		NoDefaultServerHeader: true,
		// Above the API's limit so that the body-limit middleware, not a dropped connection,
		// answers most oversized bodies with the JSON 413; beyond it ErrorHandler still does.
		MaxRequestBodySize: 2 * s.lim.MaxBodyBytes,
		// The request line and headers may take 16 KiB; beyond that transportError answers 431.
		ReadBufferSize: maxHeaderBytes,
		ReadTimeout:    60 * time.Second,
		WriteTimeout:   cfg.WriteTimeout,
		IdleTimeout:    120 * time.Second,
		Concurrency:    cfg.MaxConns,
		MaxConnsPerIP:  cfg.MaxConnsPerIP,
		ErrorHandler:   s.transportError,
		Logger:         fasthttpLogger{s.log},
	}
	return s
}

func newRouter() *router.Router {
	r := router.New()
	// Redirects would answer outside the one envelope; a wrong path is a 404.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	return r
}

// handle registers an API handler under its route template; a returned error is written as
// the error envelope.
func (s *Server) handle(method, template string, h handlerFunc) {
	s.handleRaw(method, template, func(ctx *fasthttp.RequestCtx) {
		if err := h(ctx); err != nil {
			s.writeError(ctx, err)
		}
	})
}

// handleRaw registers a handler that writes its own response; a GET route answers HEAD too
// (fasthttp drops the body). The template is recorded once for labelling (resolveRoute).
func (s *Server) handleRaw(method, template string, h fasthttp.RequestHandler) {
	handler := func(ctx *fasthttp.RequestCtx) {
		defer s.recoverHandler(ctx)
		h(ctx)
	}
	methods := []string{method}
	if method == fasthttp.MethodGet {
		methods = append(methods, fasthttp.MethodHead)
	}
	for _, m := range methods {
		s.router.Handle(m, template, handler)
		s.recordTemplate(template, m)
	}
}

// routeOf is the metrics label of the request: its template, or monitoring.RouteUnmatched.
func routeOf(ctx *fasthttp.RequestCtx) string {
	if r, ok := ctx.UserValue(routeKey).(string); ok {
		return r
	}
	return monitoring.RouteUnmatched
}

func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.lnMu.Lock()
	if s.shutDown {
		s.lnMu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	s.lnMu.Unlock()
	s.loopbackBind.Store(isLoopbackAddr(ln.Addr()))
	s.serving.Store(true)
	for _, w := range s.exposure() {
		s.log.Warn(w, "addr", ln.Addr().String())
	}
	if s.deps.Store != nil && s.deps.Store.Degraded() != "" {
		s.log.Error("database opened degraded", "problem", s.deps.Store.Degraded())
	}
	return s.srv.Serve(retryListener{Listener: ln, log: s.log})
}

// SetReady flips /readyz.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Shutdown stops answering /readyz and stops taking connections first; then, side by side,
// closes WebSocket clients with 1001 and waits for in-flight requests, both until ctx ends,
// when upstream calls and queries are cancelled and the clients left are cut off.
func (s *Server) Shutdown(ctx context.Context) error {
	s.SetReady(false)
	s.lnMu.Lock()
	s.shutDown = true
	ln := s.ln
	s.lnMu.Unlock()
	if ln != nil {
		// fasthttp's Shutdown only stops listeners its Serve has registered; one that
		// Serve received but had not registered yet would keep Serve running forever.
		_ = ln.Close()
	}
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		if s.deps.Hub != nil {
			s.deps.Hub.Shutdown(ctx)
		}
	}()
	stop := context.AfterFunc(ctx, s.stopBase)
	defer stop()
	defer s.stopBase()
	err := s.srv.ShutdownWithContext(ctx)
	<-hubDone
	if errors.Is(err, net.ErrClosed) { // the listener closed above
		err = nil
	}
	return err
}

// isLoopbackAddr reports whether a listener's address is on loopback only.
func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func (s *Server) broadcast(eventType string, payload any) {
	if s.deps.Hub != nil {
		s.deps.Hub.Broadcast(eventType, payload)
	}
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug("fasthttp", "message", fmt.Sprintf(format, args...))
}
