// Package promapi answers Prometheus's HTTP query API (/api/v1/query, query_range, series,
// labels, …) over any storage.Queryable with Prometheus's own engine, inside bounds that no
// single request can break: query length and nesting, evaluation points, match[] count,
// concurrency, and one timeout and samples limit for every endpoint.
package promapi

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/valyala/fasthttp"
)

// Query limits applied when the options leave them at zero.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxSamples = 5_000_000
	// maxPointsPerSeries is Prometheus's resolution limit for range queries; Cortex applies it
	// to each subquery as well.
	maxPointsPerSeries = 11000
	// noStepSubqueryInterval is the step of a subquery written without one ([1h:]):
	// Prometheus's default global evaluation interval.
	noStepSubqueryInterval = time.Minute
)

// errorType is the errorType of Prometheus's API error envelope.
type errorType string

const (
	errBadData     errorType = "bad_data"
	errExecution   errorType = "execution"
	errTimeout     errorType = "timeout"
	errCanceled    errorType = "canceled"
	errUnavailable errorType = "unavailable"
	errInternal    errorType = "internal"
)

// apiError is an error of the /api/v1 surface; its type decides the HTTP status.
type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return string(e.typ) + ": " + e.err.Error() }

func (e *apiError) status() int {
	switch e.typ {
	case errBadData:
		return fasthttp.StatusBadRequest
	case errExecution:
		return fasthttp.StatusUnprocessableEntity
	case errTimeout, errCanceled, errUnavailable:
		return fasthttp.StatusServiceUnavailable
	default:
		return fasthttp.StatusInternalServerError
	}
}

// errTruncated warns that a result was cut to the request's limit.
var errTruncated = errors.New("results truncated due to limit")

// errStorageOff answers every query while there is no storage (the history is turned off).
var errStorageOff = &apiError{typ: errUnavailable, err: errors.New("the metrics history is turned off (history interval 0)")}

// result is what a handler hands to the envelope writer.
type result struct {
	data     func(*jsoniter.Stream)
	err      *apiError
	warnings annotations.Annotations
	query    string // named in warnings, as Prometheus does
	finalize func() // runs once the body is written (releases the engine's pooled memory)
}

// Metadata is one entry of /api/v1/metadata.
type Metadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// BuildInfo is /api/v1/status/buildinfo's data.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// Options configure an API; zero values take the defaults.
type Options struct {
	Queryable  storage.Queryable // nil: every query answers 503 (the history is off)
	Engine     *promql.Engine    // nil: NewEngine(Timeout, MaxSamples, Logger)
	Base       context.Context   // queries end with it; nil: never
	Timeout    time.Duration     // every endpoint's evaluation limit
	MaxSamples int               // samples a query may hold; series a /series answer may list
	Limits     Limits
	Metadata   func() map[string][]Metadata
	Build      BuildInfo
	Flags      map[string]string // /api/v1/status/flags
	Retention  time.Duration     // /api/v1/status/runtimeinfo's storageRetention; 0: not shown
	// CacheBytes bounds the range query result cache; 0 turns it off, as does a nil Watermark.
	CacheBytes int64
	// Watermark reports the time (Unix ms) at or before which the storage holds every sample
	// it ever will, and a generation that changes whenever that stops being true (a write at
	// or before it, retention). nil: nothing is cached.
	Watermark func() (int64, uint64)
	Logger    *slog.Logger
}

// API answers the Prometheus HTTP API over one storage.Queryable with Prometheus's engine.
type API struct {
	queryable  storage.Queryable
	base       context.Context
	timeout    time.Duration
	maxSamples int
	limits     Limits
	engine     *promql.Engine
	parser     parser.Parser
	gate       *gate
	cache      *resultCache // nil: off
	watermark  func() (int64, uint64)
	metadata   func() map[string][]Metadata
	build      BuildInfo
	flags      map[string]string
	retention  time.Duration
	started    time.Time
	logger     *slog.Logger
}

// New returns an API over o.Queryable.
func New(o Options) *API {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Base == nil {
		o.Base = context.Background()
	}
	if o.Metadata == nil {
		o.Metadata = func() map[string][]Metadata { return map[string][]Metadata{} }
	}
	if o.Engine == nil {
		o.Engine = NewEngine(o.Timeout, o.MaxSamples, o.Logger)
	}
	o.Limits = o.Limits.withDefaults()
	var cache *resultCache
	if o.CacheBytes > 0 && o.Watermark != nil {
		cache = newResultCache(o.CacheBytes)
	}
	return &API{
		cache:      cache,
		watermark:  o.Watermark,
		queryable:  o.Queryable,
		base:       o.Base,
		timeout:    o.Timeout,
		maxSamples: o.MaxSamples,
		limits:     o.Limits,
		engine:     o.Engine,
		parser:     boundedParser{Parser: parser.NewParser(parser.Options{}), limits: o.Limits},
		gate:       newGate(o.Limits.MaxConcurrency, o.Limits.MaxQueued),
		metadata:   o.Metadata,
		build:      o.Build,
		flags:      o.Flags,
		retention:  o.Retention,
		started:    time.Now(),
		logger:     o.Logger,
	}
}

// CacheStats reports the range query result cache; all zero while it is off.
func (a *API) CacheStats() CacheStats {
	if a.cache == nil {
		return CacheStats{}
	}
	return a.cache.stats()
}

// NewEngine is the PromQL engine of the query API, shareable with rule evaluation; zero
// limits take the defaults. The API bounds a query's text and points itself, so any engine
// can serve it.
func NewEngine(timeout time.Duration, maxSamples int, logger *slog.Logger) *promql.Engine {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxSamples <= 0 {
		maxSamples = DefaultMaxSamples
	}
	if logger == nil {
		logger = slog.Default()
	}
	return promql.NewEngine(promql.EngineOpts{
		Logger:                   logger.With("component", "promql"),
		Timeout:                  timeout,
		MaxSamples:               maxSamples,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		NoStepSubqueryIntervalFn: func(int64) int64 { return noStepSubqueryInterval.Milliseconds() },
	})
}

// Route is one path of the API and its handler; it answers GET and form POST alike.
type Route struct {
	Path    string
	Handler fasthttp.RequestHandler
}

// Routes lists the API's paths in a fixed order.
func (a *API) Routes() []Route {
	return []Route{
		{"/api/v1/query", a.wrap(a.query)},
		{"/api/v1/query_range", a.wrap(a.queryRange)},
		{"/api/v1/query_exemplars", a.wrap(a.queryExemplars)},
		{"/api/v1/format_query", a.wrap(a.formatQuery)},
		{"/api/v1/series", a.wrap(a.series)},
		{"/api/v1/labels", a.wrap(a.labelNames)},
		{"/api/v1/label/{name}/values", a.wrap(a.labelValues)},
		{"/api/v1/metadata", a.wrap(a.metricMetadata)},
		{"/api/v1/status/buildinfo", a.wrap(a.buildInfo)},
		{"/api/v1/status/runtimeinfo", a.wrap(a.runtimeInfo)},
		{"/api/v1/status/flags", a.wrap(a.statusFlags)},
	}
}

// ReadBuildInfo fills what the binary knows about its own build.
func ReadBuildInfo(version, revision string) BuildInfo {
	b := BuildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Revision == "" {
					b.Revision = s.Value
				}
			case "vcs.time":
				b.BuildDate = s.Value
			}
		}
	}
	return b
}

// BadData answers 400 in Prometheus's error shape, for the other /api/v1 endpoints.
func BadData(ctx *fasthttp.RequestCtx, err error) { writeError(ctx, badData(err)) }

// Unavailable answers 503 in Prometheus's error shape, for the other /api/v1 endpoints.
func Unavailable(ctx *fasthttp.RequestCtx, err error) {
	writeError(ctx, &apiError{typ: errUnavailable, err: err})
}

func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	st := jsonAPI.BorrowStream(nil)
	defer jsonAPI.ReturnStream(st)
	writeFailure(st, string(e.typ), e.err.Error(), nil, nil)
	ctx.SetStatusCode(e.status())
	ctx.SetContentType("application/json")
	ctx.SetBody(st.Buffer())
}

// wrap writes a handler's result in Prometheus's envelope.
func (a *API) wrap(f func(*fasthttp.RequestCtx) result) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		res := f(ctx)
		if res.finalize != nil {
			defer res.finalize()
		}
		warnings, infos := res.warnings.AsStrings(res.query, 10, 10)
		st := jsonAPI.BorrowStream(nil)
		defer jsonAPI.ReturnStream(st)
		if res.err != nil {
			writeFailure(st, string(res.err.typ), res.err.err.Error(), warnings, infos)
			ctx.SetStatusCode(res.err.status())
		} else {
			writeSuccess(st, res.data, warnings, infos)
			ctx.SetStatusCode(fasthttp.StatusOK)
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(st.Buffer()) // copies, so the stream and the query's memory can go back
	}
}

// requestContext bounds a request by the API's timeout and the request's timeout parameter.
// It derives from the API's base context, not the RequestCtx, which fasthttp reuses.
func (a *API) requestContext(ctx *fasthttp.RequestCtx) (context.Context, context.CancelFunc, *apiError) {
	timeout, perr := queryTimeoutParam(ctx)
	if perr != nil {
		return nil, nil, perr
	}
	if timeout <= 0 || timeout > a.timeout {
		timeout = a.timeout
	}
	c, cancel := context.WithTimeout(a.base, timeout)
	return c, cancel, nil
}

func badData(err error) *apiError { return &apiError{typ: errBadData, err: err} }

func executionError(err error) *apiError { return &apiError{typ: errExecution, err: err} }

// queryConstructionError maps an error from building a query as Prometheus does.
func queryConstructionError(err error) *apiError {
	var (
		eqt promql.ErrQueryTimeout
		eqc promql.ErrQueryCanceled
	)
	if errors.As(err, &eqt) || errors.As(err, &eqc) {
		return execError(err)
	}
	return invalidParam(err, "query")
}

// execError maps an engine or storage error to its errorType.
func execError(err error) *apiError {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
		es  promql.ErrStorage
		ets promql.ErrTooManySeries
		etr promql.ErrTooManySamplesRead
	)
	switch {
	case errors.As(err, &eqc):
		return &apiError{typ: errCanceled, err: err}
	case errors.As(err, &eqt):
		return &apiError{typ: errTimeout, err: err}
	case errors.As(err, &ets), errors.As(err, &etr):
		return executionError(err)
	case errors.As(err, &es):
		return &apiError{typ: errInternal, err: err}
	case errors.Is(err, context.Canceled):
		return &apiError{typ: errCanceled, err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{typ: errTimeout, err: err}
	}
	return executionError(err)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
