package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// chain builds the pipeline: recover → request ID and log → metrics → Host → CORS → write
// guard → rate limit → auth → body limit → router.
func (s *Server) chain() fasthttp.RequestHandler {
	h := s.router.Handler
	h = s.bodyLimit(h)
	h = s.auth(h)
	h = s.rateLimit(h)
	h = s.writeGuard(h)
	h = s.cors(h)
	h = s.hostGuard(h)
	if s.deps.Metrics != nil {
		h = s.instrument(h)
	}
	h = s.requestLog(h)
	return s.recoverAll(h)
}

// recoverAll is the last line: a panic in the middleware itself still gets the envelope.
func (s *Server) recoverAll(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			if r := recover(); r != nil {
				s.panicked(ctx, r)
				if len(ctx.Response.Header.Peek("X-Request-ID")) == 0 {
					ctx.Response.Header.Set("X-Request-ID", newRequestID())
				}
			}
		}()
		next(ctx)
	}
}

// headerNoSniff keeps browsers from reading any answer as another content type.
const headerNoSniff = "X-Content-Type-Options"

var (
	requestIDHeader = []byte("X-Request-ID")
	requestIDKey    = &struct{ byte }{}
)

// saneRequestID accepts [A-Za-z0-9._-]{1,128}: anything else could forge log lines or headers.
func saneRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail on supported platforms.
	return hex.EncodeToString(b[:])
}

func requestID(ctx *fasthttp.RequestCtx) string {
	if id, ok := ctx.UserValue(requestIDKey).(string); ok {
		return id
	}
	return ""
}

// requestLog gives every request its ID (the client's when sane) and logs one line for it.
func (s *Server) requestLog(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		var id string
		if in := ctx.Request.Header.PeekBytes(requestIDHeader); saneRequestID(in) {
			id = string(in)
		} else {
			id = newRequestID()
		}
		ctx.SetUserValue(requestIDKey, id)
		s.resolveRoute(ctx, labelMethod(ctx))
		next(ctx)
		// Set after the handler so that nothing it resets can drop them.
		ctx.Response.Header.Set("X-Request-ID", id)
		ctx.Response.Header.Set(headerNoSniff, "nosniff")
		if s.log.Enabled(context.Background(), slog.LevelInfo) {
			s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
				slog.String("request_id", id),
				slog.String("method", monitoring.MethodLabel(ctx.Method())),
				slog.String("route", routeOf(ctx)),
				slog.Int("status", ctx.Response.StatusCode()),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
		}
	}
}

// instrument observes every request (whatever answered it) under its route template.
func (s *Server) instrument(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		next(ctx)
		s.observe(ctx, start)
	}
}

func (s *Server) observe(ctx *fasthttp.RequestCtx, start time.Time) {
	m := s.deps.Metrics
	if m == nil {
		return
	}
	route := routeOf(ctx)
	m.ObserveHTTP(monitoring.MethodLabel(ctx.Method()), route, ctx.Response.StatusCode(), time.Since(start))
	if ae, ok := ctx.UserValue(errKey).(*APIError); ok {
		m.IncError(ae.kind, route)
	}
}

// reject answers a request refused before routing; requestLog labelled it already with the
// route it would have hit.
func (s *Server) reject(ctx *fasthttp.RequestCtx, ae *APIError) { s.writeError(ctx, ae) }

// labelMethod is the method a request is labelled under: a preflight's is the one it asks for.
func labelMethod(ctx *fasthttp.RequestCtx) []byte {
	if m := ctx.Request.Header.Peek(fasthttp.HeaderAccessControlRequestMethod); ctx.IsOptions() && len(m) > 0 {
		return m
	}
	return ctx.Method()
}

const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
	corsHeaders = "Content-Type, Authorization, X-API-Key, X-Request-ID"
	corsExpose  = "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Content-Disposition"
)

// cors allows the configured origins and answers preflights with 204 before auth and rate
// limiting, since browsers send preflights without credentials.
func (s *Server) cors(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin)
		allowed := len(origin) > 0 && s.originAllowed(origin)
		// Every answer depends on Origin, so caches must key on it whatever it was.
		ctx.Response.Header.Set(fasthttp.HeaderVary, "Origin")
		if allowed {
			h := &ctx.Response.Header
			h.SetBytesV(fasthttp.HeaderAccessControlAllowOrigin, origin)
			h.Set(fasthttp.HeaderAccessControlExposeHeaders, corsExpose)
		}
		reqMethod := ctx.Request.Header.Peek(fasthttp.HeaderAccessControlRequestMethod)
		if ctx.IsOptions() && len(reqMethod) > 0 {
			if allowed {
				h := &ctx.Response.Header
				h.Set(fasthttp.HeaderAccessControlAllowMethods, corsMethods)
				h.Set(fasthttp.HeaderAccessControlAllowHeaders, corsHeaders)
				h.Set(fasthttp.HeaderAccessControlMaxAge, "600")
			}
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
		next(ctx)
	}
}

func (s *Server) originAllowed(origin []byte) bool {
	return s.anyOrigin || s.origins[string(origin)]
}

// Path classes: which key guards a path, and whether it is rate limited.
var (
	prefixAPI     = []byte("/api/")
	prefixPromAPI = []byte("/api/v1/")
	pathMetrics   = []byte("/metrics")
	pathWS        = []byte("/ws")
)

func isAPI(path []byte) bool {
	return bytes.HasPrefix(path, prefixAPI) && !bytes.HasPrefix(path, prefixPromAPI)
}

func isMetricsPath(path []byte) bool {
	return bytes.Equal(path, pathMetrics) || bytes.HasPrefix(path, prefixPromAPI)
}

// rateLimit applies the per-IP budget to /api/* (a valid key does not exempt a client) and
// reports it on every response.
func (s *Server) rateLimit(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if s.limiter == nil {
		return next
	}
	limit := strconv.Itoa(s.cfg.RateLimit)
	return func(ctx *fasthttp.RequestCtx) {
		if !isAPI(ctx.Path()) {
			next(ctx)
			return
		}
		d := s.limiter.take(ctx.RemoteIP().String(), time.Now())
		h := &ctx.Response.Header
		h.Set("X-RateLimit-Limit", limit)
		h.Set("X-RateLimit-Remaining", strconv.Itoa(d.remaining))
		h.Set("X-RateLimit-Reset", strconv.Itoa(d.resetSeconds))
		if !d.allowed {
			h.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(d.retryAfterSeconds))
			s.reject(ctx, errRateLimited)
			if s.deps.Metrics != nil {
				s.deps.Metrics.RateLimited(routeOf(ctx))
			}
			return
		}
		next(ctx)
	}
}

var (
	headerAPIKey = []byte("X-API-Key")
	bearerPrefix = []byte("Bearer ")
	queryAPIKey  = []byte("apiKey")
)

// auth checks API keys on /api/* and /ws, and the metrics key on /metrics and /api/v1/*.
func (s *Server) auth(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if len(s.apiKeys) == 0 && s.metricsKey == nil {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		path := ctx.Path()
		var ok bool
		switch {
		case isMetricsPath(path):
			ok = s.metricsKey == nil || keyMatches(bearer(ctx), s.metricsKey)
		case isAPI(path):
			ok = s.apiKeyOK(ctx, false)
		case bytes.Equal(path, pathWS):
			ok = s.apiKeyOK(ctx, true)
		default:
			ok = true
		}
		if !ok {
			ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, "Bearer")
			s.reject(ctx, errUnauthorized)
			return
		}
		next(ctx)
	}
}

func (s *Server) apiKeyOK(ctx *fasthttp.RequestCtx, allowQuery bool) bool {
	if len(s.apiKeys) == 0 {
		return true
	}
	key := ctx.Request.Header.PeekBytes(headerAPIKey)
	if len(key) == 0 {
		key = bearer(ctx)
	}
	if len(key) == 0 && allowQuery {
		key = ctx.QueryArgs().PeekBytes(queryAPIKey)
	}
	if len(key) == 0 {
		return false
	}
	got := sha256.Sum256(key)
	match := 0
	for _, k := range s.apiKeys {
		// Every key is compared, as digests of one length, so timing reveals neither which
		// key matched nor how long the keys are.
		want := sha256.Sum256(k)
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

func bearer(ctx *fasthttp.RequestCtx) []byte {
	v := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(v) > len(bearerPrefix) && bytes.EqualFold(v[:len(bearerPrefix)], bearerPrefix) {
		return bytes.TrimSpace(v[len(bearerPrefix):])
	}
	return nil
}

func keyMatches(got, want []byte) bool {
	g, w := sha256.Sum256(got), sha256.Sum256(want)
	return len(got) > 0 && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// bodyLimit refuses bodies over the API's limit with the JSON 413.
func (s *Server) bodyLimit(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	max := s.lim.MaxBodyBytes
	return func(ctx *fasthttp.RequestCtx) {
		if ctx.Request.Header.ContentLength() > max || len(ctx.Request.Body()) > max {
			s.reject(ctx, errTooLarge)
			return
		}
		next(ctx)
	}
}
