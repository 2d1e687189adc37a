package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/valyala/fasthttp"
)

// Query limits applied when the configuration leaves them at zero.
const (
	defaultQueryTimeout    = 10 * time.Second
	defaultQueryMaxSamples = 5_000_000
	// maxPointsPerSeries is Prometheus's resolution limit for range queries.
	maxPointsPerSeries = 11000
)

// promErrType is the errorType of Prometheus's API error envelope.
type promErrType string

const (
	promErrBadData     promErrType = "bad_data"
	promErrExecution   promErrType = "execution"
	promErrTimeout     promErrType = "timeout"
	promErrCanceled    promErrType = "canceled"
	promErrUnavailable promErrType = "unavailable"
	promErrInternal    promErrType = "internal"
)

// promError is an error of the /api/v1 surface; its type decides the HTTP status.
type promError struct {
	typ promErrType
	err error
}

func (e *promError) Error() string { return string(e.typ) + ": " + e.err.Error() }

func (e *promError) status() int {
	switch e.typ {
	case promErrBadData:
		return fasthttp.StatusBadRequest
	case promErrExecution:
		return fasthttp.StatusUnprocessableEntity
	case promErrTimeout, promErrCanceled, promErrUnavailable:
		return fasthttp.StatusServiceUnavailable
	default:
		return fasthttp.StatusInternalServerError
	}
}

// errTruncated warns that a result was cut to the request's limit.
var errTruncated = errors.New("results truncated due to limit")

// errHistoryOff answers every query while the built-in history is turned off.
var errHistoryOff = &promError{typ: promErrUnavailable, err: errors.New("the metrics history is turned off (history interval 0)")}

// promResult is what a handler hands to the envelope writer.
type promResult struct {
	data     func(*jsoniter.Stream)
	err      *promError
	warnings annotations.Annotations
	query    string // named in warnings, as Prometheus does
}

// promMetadata is one entry of /api/v1/metadata.
type promMetadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// promBuildInfo is /api/v1/status/buildinfo's data.
type promBuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// promAPI answers the Prometheus HTTP API over one storage.Queryable with Prometheus's engine.
type promAPI struct {
	queryable storage.Queryable // nil while history is off
	base      context.Context
	engine    *promql.Engine
	parser    parser.Parser
	metadata  func() map[string][]promMetadata
	build     promBuildInfo
	logger    *slog.Logger
}

type promAPIOptions struct {
	Engine     *promql.Engine // nil: NewEngine(Timeout, MaxSamples, Logger)
	Queryable  storage.Queryable
	Base       context.Context // queries end with it; nil: never
	Timeout    time.Duration
	MaxSamples int
	Metadata   func() map[string][]promMetadata
	Build      promBuildInfo
	Logger     *slog.Logger
}

func newPromAPI(o promAPIOptions) *promAPI {
	if o.Timeout <= 0 {
		o.Timeout = defaultQueryTimeout
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = defaultQueryMaxSamples
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Base == nil {
		o.Base = context.Background()
	}
	if o.Metadata == nil {
		o.Metadata = func() map[string][]promMetadata { return map[string][]promMetadata{} }
	}
	if o.Engine == nil {
		o.Engine = NewEngine(o.Timeout, o.MaxSamples, o.Logger)
	}
	return &promAPI{
		queryable: o.Queryable,
		base:      o.Base,
		engine:    o.Engine,
		parser:    engineParser,
		metadata:  o.Metadata,
		build:     o.Build,
		logger:    o.Logger,
	}
}

// engineParser is the PromQL parser of the query API and its engine.
var engineParser = parser.NewParser(parser.Options{})

// NewEngine is the PromQL engine of the query API; zero limits take the defaults.
func NewEngine(timeout time.Duration, maxSamples int, logger *slog.Logger) *promql.Engine {
	if timeout <= 0 {
		timeout = defaultQueryTimeout
	}
	if maxSamples <= 0 {
		maxSamples = defaultQueryMaxSamples
	}
	if logger == nil {
		logger = slog.Default()
	}
	return promql.NewEngine(promql.EngineOpts{
		Logger:               logger.With("component", "promql"),
		Timeout:              timeout,
		MaxSamples:           maxSamples,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               engineParser,
	})
}

// bindPromAPI registers the Prometheus-compatible query API, GET and form POST alike.
func (s *Server) bindPromAPI() {
	var q storage.Queryable
	if s.deps.History != nil { // a nil *history.DB in the interface would not compare to nil
		q = s.deps.History
	}
	api := newPromAPI(promAPIOptions{
		Engine:     s.deps.Engine,
		Queryable:  q,
		Base:       s.base,
		Timeout:    s.cfg.QueryTimeout,
		MaxSamples: s.cfg.QueryMaxSamples,
		Metadata:   s.promMetadata,
		Build:      buildInfo(s.cfg.Version, s.cfg.Revision),
		Logger:     s.deps.Logger,
	})
	for template, h := range api.routes() {
		s.handleRaw(fasthttp.MethodGet, template, h)
		s.handleRaw(fasthttp.MethodPost, template, h)
	}
}

func (p *promAPI) routes() map[string]fasthttp.RequestHandler {
	return map[string]fasthttp.RequestHandler{
		"/api/v1/query":               p.wrap(p.query),
		"/api/v1/query_range":         p.wrap(p.queryRange),
		"/api/v1/series":              p.wrap(p.series),
		"/api/v1/labels":              p.wrap(p.labelNames),
		"/api/v1/label/{name}/values": p.wrap(p.labelValues),
		"/api/v1/metadata":            p.wrap(p.metricMetadata),
		"/api/v1/status/buildinfo":    p.wrap(p.buildInfo),
	}
}

// promMetadata answers /api/v1/metadata: what the history has seen in the exposition
// (runtime and process families included), or the catalogue while history is off.
func (s *Server) promMetadata() map[string][]promMetadata {
	out := map[string][]promMetadata{}
	if s.deps.History != nil {
		for name, ms := range s.deps.History.Metadata() {
			for _, m := range ms {
				out[name] = append(out[name], promMetadata(m))
			}
		}
		return out
	}
	if s.deps.Metrics != nil {
		for _, f := range s.deps.Metrics.Families() {
			out[f.Name] = []promMetadata{{Type: f.Type, Help: f.Help}}
		}
	}
	return out
}

// buildInfo fills what the binary knows about its own build.
func buildInfo(version, revision string) promBuildInfo {
	b := promBuildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
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

// wrap writes a handler's result in Prometheus's envelope.
func (p *promAPI) wrap(f func(*fasthttp.RequestCtx) promResult) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		res := f(ctx)
		warnings, infos := res.warnings.AsStrings(res.query, 10, 10)
		st := promJSON.BorrowStream(nil)
		defer promJSON.ReturnStream(st)
		if res.err != nil {
			writeFailure(st, string(res.err.typ), res.err.err.Error(), warnings, infos)
			ctx.SetStatusCode(res.err.status())
		} else {
			writeSuccess(st, res.data, warnings, infos)
			ctx.SetStatusCode(fasthttp.StatusOK)
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(st.Buffer())
	}
}

// queryContext bounds a query by the request's timeout parameter, if any.
func queryContext(base context.Context, ctx *fasthttp.RequestCtx) (context.Context, context.CancelFunc, *promError) {
	timeout, perr := queryTimeoutParam(ctx)
	if perr != nil {
		return nil, nil, perr
	}
	// Not the RequestCtx (see Server.base); the engine's own timeout bounds each query.
	c := base
	if timeout > 0 {
		cc, cancel := context.WithTimeout(c, timeout)
		return cc, cancel, nil
	}
	return c, func() {}, nil
}

func (p *promAPI) queryOpts(ctx *fasthttp.RequestCtx) (promql.QueryOpts, *promError) {
	d, err := lookbackDeltaParam(ctx)
	if err != nil {
		return nil, badData(err)
	}
	return promql.NewPrometheusQueryOpts(false, d, nil), nil
}

func (p *promAPI) query(ctx *fasthttp.RequestCtx) promResult {
	limit, err := parseLimitParam(formValue(ctx, "limit"))
	if err != nil {
		return promResult{err: invalidParam(err, "limit")}
	}
	ts, err := parseTimeParam(ctx, "time", time.Now())
	if err != nil {
		return promResult{err: invalidParam(err, "time")}
	}
	return p.runQuery(ctx, limit, func(qc context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return p.engine.NewInstantQuery(qc, p.queryable, opts, qs, ts)
	})
}

func (p *promAPI) queryRange(ctx *fasthttp.RequestCtx) promResult {
	limit, err := parseLimitParam(formValue(ctx, "limit"))
	if err != nil {
		return promResult{err: invalidParam(err, "limit")}
	}
	start, err := parsePromTime(formValue(ctx, "start"))
	if err != nil {
		return promResult{err: invalidParam(err, "start")}
	}
	end, err := parsePromTime(formValue(ctx, "end"))
	if err != nil {
		return promResult{err: invalidParam(err, "end")}
	}
	if end.Before(start) {
		return promResult{err: invalidParam(errors.New("end timestamp must not be before start time"), "end")}
	}
	step, err := parsePromDuration(formValue(ctx, "step"))
	if err != nil {
		return promResult{err: invalidParam(err, "step")}
	}
	if step <= 0 {
		return promResult{err: invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")}
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		return promResult{err: badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))}
	}
	return p.runQuery(ctx, limit, func(qc context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return p.engine.NewRangeQuery(qc, p.queryable, opts, qs, start, end, step)
	})
}

// runQuery builds a query under the request's timeout and lookback options, then runs it.
func (p *promAPI) runQuery(ctx *fasthttp.RequestCtx, limit int, build func(context.Context, promql.QueryOpts, string) (promql.Query, error)) promResult {
	qc, cancel, perr := queryContext(p.base, ctx)
	if perr != nil {
		return promResult{err: perr}
	}
	defer cancel()
	opts, perr := p.queryOpts(ctx)
	if perr != nil {
		return promResult{err: perr}
	}
	if p.queryable == nil {
		return promResult{err: errHistoryOff}
	}
	qs := formValue(ctx, "query")
	qry, err := build(qc, opts, qs)
	if err != nil {
		return promResult{err: queryConstructionError(err)}
	}
	return p.run(qc, qry, qs, limit)
}

// run executes a built query and renders its value before the query's memory is released.
func (p *promAPI) run(ctx context.Context, qry promql.Query, qs string, limit int) promResult {
	res := qry.Exec(ctx)
	if res.Err != nil {
		qry.Close()
		return promResult{err: execError(res.Err), warnings: res.Warnings, query: qs}
	}
	warnings := res.Warnings
	if limit > 0 {
		if truncateResult(res, limit) {
			warnings = warnings.Add(errTruncated)
		}
	}
	// The value's memory is pooled by the engine: encode it now, then close the query.
	st := promJSON.BorrowStream(nil)
	writeQueryData(st, res.Value)
	body := slices.Clone(st.Buffer())
	promJSON.ReturnStream(st)
	qry.Close()
	return promResult{data: func(s *jsoniter.Stream) { s.WriteRaw(string(body)) }, warnings: warnings, query: qs}
}

func truncateResult(res *promql.Result, limit int) bool {
	switch v := res.Value.(type) {
	case promql.Matrix:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	case promql.Vector:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	}
	return false
}

// queryConstructionError maps an error from building a query as Prometheus does.
func queryConstructionError(err error) *promError {
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
func execError(err error) *promError {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
		es  promql.ErrStorage
		ets promql.ErrTooManySeries
		etr promql.ErrTooManySamplesRead
	)
	switch {
	case errors.As(err, &eqc):
		return &promError{typ: promErrCanceled, err: err}
	case errors.As(err, &eqt):
		return &promError{typ: promErrTimeout, err: err}
	case errors.As(err, &ets), errors.As(err, &etr):
		return executionError(err)
	case errors.As(err, &es):
		return &promError{typ: promErrInternal, err: err}
	case errors.Is(err, context.Canceled):
		return &promError{typ: promErrCanceled, err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &promError{typ: promErrTimeout, err: err}
	}
	return executionError(err)
}

// matchedRange is what the metadata-style endpoints read from the request.
type matchedRange struct {
	start, end time.Time
	sets       [][]*labels.Matcher
	limit      int
}

// matchRange reads limit, start, end and match[] shared by the metadata-style endpoints.
// A bad match[] is reported as onBadMatch says: /series names the parameter, the label
// endpoints do not (as in Prometheus).
func (p *promAPI) matchRange(ctx *fasthttp.RequestCtx, onBadMatch func(error) *promError) (matchedRange, *promError) {
	var r matchedRange
	var err error
	if r.limit, err = parseLimitParam(formValue(ctx, "limit")); err != nil {
		return r, invalidParam(err, "limit")
	}
	if r.start, err = parseTimeParam(ctx, "start", promMinTime); err != nil {
		return r, invalidParam(err, "start")
	}
	if r.end, err = parseTimeParam(ctx, "end", promMaxTime); err != nil {
		return r, invalidParam(err, "end")
	}
	if r.sets, err = p.parseMatchers(formValues(ctx, "match[]")); err != nil {
		return r, onBadMatch(err)
	}
	return r, nil
}

func (p *promAPI) series(ctx *fasthttp.RequestCtx) promResult {
	if len(formValues(ctx, "match[]")) == 0 {
		return promResult{err: badData(errors.New("no match[] parameter provided"))}
	}
	onBadMatch := func(err error) *promError { return invalidParam(err, "match[]") }
	return p.withQuerier(ctx, onBadMatch, execError, func(q storage.Querier, r matchedRange) promResult {
		hints := &storage.SelectHints{Start: r.start.UnixMilli(), End: r.end.UnixMilli(), Func: "series", Limit: toHintLimit(r.limit)}
		var set storage.SeriesSet
		if len(r.sets) > 1 {
			var all []storage.SeriesSet
			for _, ms := range r.sets {
				all = append(all, q.Select(ctx, true, hints, ms...))
			}
			set = storage.NewMergeSeriesSet(all, 0, storage.ChainedSeriesMerge)
		} else {
			set = q.Select(ctx, false, hints, r.sets[0]...)
		}
		metrics := []labels.Labels{}
		warnings := set.Warnings()
		for set.Next() {
			metrics = append(metrics, set.At().Labels())
			if r.limit > 0 && len(metrics) > r.limit {
				metrics = metrics[:r.limit]
				warnings = warnings.Add(errTruncated)
				break
			}
		}
		if err := set.Err(); err != nil {
			return promResult{err: execError(err), warnings: warnings}
		}
		return promResult{data: func(st *jsoniter.Stream) { writeLabelSets(st, metrics) }, warnings: warnings}
	})
}

// withQuerier reads the request's range and match[] sets, opens a querier over that range
// and hands both to fn. onBadMatch maps a bad match[]; querierErr a failure to open the querier.
func (p *promAPI) withQuerier(ctx *fasthttp.RequestCtx, onBadMatch, querierErr func(error) *promError, fn func(storage.Querier, matchedRange) promResult) promResult {
	r, perr := p.matchRange(ctx, onBadMatch)
	if perr != nil {
		return promResult{err: perr}
	}
	if p.queryable == nil {
		return promResult{err: errHistoryOff}
	}
	q, err := p.queryable.Querier(r.start.UnixMilli(), r.end.UnixMilli())
	if err != nil {
		return promResult{err: querierErr(err)}
	}
	defer q.Close()
	return fn(q, r)
}

func (p *promAPI) labelNames(ctx *fasthttp.RequestCtx) promResult {
	return p.labelQuery(ctx, execError, func(q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(ctx, hints, ms...)
	})
}

func (p *promAPI) labelValues(ctx *fasthttp.RequestCtx) promResult {
	name, _ := ctx.UserValue("name").(string)
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return promResult{err: badData(fmt.Errorf("invalid label name: %q", name))}
	}
	// Prometheus reports any querier error here as an execution error, unmapped.
	return p.labelQuery(ctx, executionError, func(q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(ctx, name, hints, ms...)
	})
}

// labelQuery answers the label endpoints: one querier over the requested range, the sorted
// union of lookup over the match[] sets, cut to the limit. querierErr maps a failure to open
// the querier.
func (p *promAPI) labelQuery(ctx *fasthttp.RequestCtx, querierErr func(error) *promError, lookup func(storage.Querier, *storage.LabelHints, []*labels.Matcher) ([]string, annotations.Annotations, error)) promResult {
	return p.withQuerier(ctx, badData, querierErr, func(q storage.Querier, r matchedRange) promResult {
		hints := &storage.LabelHints{Limit: toHintLimit(r.limit)}
		vals, warnings, err := collectLabels(r.sets, func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
			return lookup(q, hints, ms)
		})
		if err != nil {
			return promResult{err: executionError(err), warnings: warnings}
		}
		if r.limit > 0 && len(vals) > r.limit {
			vals = vals[:r.limit]
			warnings = warnings.Add(errTruncated)
		}
		return promResult{data: func(st *jsoniter.Stream) { writeStrings(st, vals) }, warnings: warnings}
	})
}

// collectLabels runs a label lookup once per matcher set (or once with none) and returns
// the sorted union, never nil.
func collectLabels(sets [][]*labels.Matcher, lookup func([]*labels.Matcher) ([]string, annotations.Annotations, error)) ([]string, annotations.Annotations, error) {
	if len(sets) <= 1 {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		vals, warnings, err := lookup(ms)
		if err != nil {
			return nil, warnings, err
		}
		vals = slices.Clone(vals)
		if vals == nil {
			vals = []string{}
		}
		slices.Sort(vals)
		return vals, warnings, nil
	}
	var warnings annotations.Annotations
	seen := map[string]struct{}{}
	for _, ms := range sets {
		vals, w, err := lookup(ms)
		if err != nil {
			return nil, warnings, err
		}
		warnings.Merge(w)
		for _, v := range vals {
			seen[v] = struct{}{}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, warnings, nil
}

func (p *promAPI) metricMetadata(ctx *fasthttp.RequestCtx) promResult {
	limit := -1
	if s := formValue(ctx, "limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return promResult{err: badData(errors.New("limit must be a number"))}
		}
		limit = n
	}
	if s := formValue(ctx, "limit_per_metric"); s != "" {
		if _, err := strconv.Atoi(s); err != nil {
			return promResult{err: badData(errors.New("limit_per_metric must be a number"))}
		}
	}
	all := p.metadata()
	metric := formValue(ctx, "metric")
	names := make([]string, 0, len(all))
	for n := range all {
		if metric == "" || n == metric {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if limit >= 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make(map[string][]promMetadata, len(names))
	for _, n := range names {
		out[n] = all[n]
	}
	return promResult{data: func(st *jsoniter.Stream) { st.WriteVal(out) }}
}

func (p *promAPI) buildInfo(*fasthttp.RequestCtx) promResult {
	b := p.build
	return promResult{data: func(st *jsoniter.Stream) { st.WriteVal(b) }}
}

func badData(err error) *promError { return &promError{typ: promErrBadData, err: err} }

func executionError(err error) *promError { return &promError{typ: promErrExecution, err: err} }
