package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/workflow"
)

// Error codes of the API.
const (
	CodeValidation           = "VALIDATION_ERROR"
	CodeInvalidJSON          = "INVALID_JSON"
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeForbidden            = "FORBIDDEN"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeConflict             = "CONFLICT"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeHeadersTooLarge      = "HEADERS_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeRateLimitExceeded    = "RATE_LIMIT_EXCEEDED"
	CodeInternal             = "INTERNAL_ERROR"
	CodeUpstreamError        = "UPSTREAM_ERROR"
	CodeUpstreamUnavailable  = "UPSTREAM_UNAVAILABLE"
	CodeStorageFull          = "STORAGE_FULL"
	CodeUnavailable          = "SERVICE_UNAVAILABLE"
)

// APIError is every failure the API reports: it becomes the one error envelope.
type APIError struct {
	Status  int
	Code    string
	Message string
	Details any // object, array or nil

	kind  monitoring.ErrorType // the errors_total type
	cause error                // logged for 500s, never sent
}

// Error implements error.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Unwrap exposes the cause for errors.Is.
func (e *APIError) Unwrap() error { return e.cause }

func newError(status int, code, msg string, details any) *APIError {
	return &APIError{Status: status, Code: code, Message: msg, Details: details, kind: kindOf(code, status)}
}

func kindOf(code string, status int) monitoring.ErrorType {
	switch code {
	case CodeValidation:
		return monitoring.ErrValidation
	case CodeInvalidJSON:
		return monitoring.ErrInvalidJSON
	case CodeUnauthorized, CodeForbidden:
		return monitoring.ErrUnauthorized
	case CodeNotFound:
		return monitoring.ErrNotFound
	case CodeMethodNotAllowed:
		return monitoring.ErrMethodNotAllowed
	case CodeConflict:
		return monitoring.ErrConflict
	case CodePayloadTooLarge, CodeHeadersTooLarge:
		return monitoring.ErrPayloadTooLarge
	case CodeRateLimitExceeded:
		return monitoring.ErrRateLimited
	case CodeUpstreamError, CodeUpstreamUnavailable:
		return monitoring.ErrUpstream
	}
	if status < 500 {
		return monitoring.ErrValidation
	}
	return monitoring.ErrInternal
}

func errValidation(msg string, problems []workflow.Problem) *APIError {
	var details any = []workflow.Problem{}
	if problems != nil {
		details = problems
	}
	return newError(http.StatusBadRequest, CodeValidation, msg, details)
}

// errProblem is a validation error of one field.
func errProblem(field, msg string) *APIError {
	return errValidation("invalid request", []workflow.Problem{{Field: field, Message: msg}})
}

func errInvalidJSON(err error) *APIError {
	return newError(http.StatusBadRequest, CodeInvalidJSON, err.Error(), nil)
}

func errNotFound(what string) *APIError {
	return newError(http.StatusNotFound, CodeNotFound, what+" not found", nil)
}

func errConflict(msg string) *APIError { return newError(http.StatusConflict, CodeConflict, msg, nil) }

// Shared rejections; immutable, so one value serves every request.
var (
	errUnauthorized    = newError(http.StatusUnauthorized, CodeUnauthorized, "a valid API key is required", nil)
	errTooLarge        = newError(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "request body too large", nil)
	errRouteMissing    = newError(http.StatusNotFound, CodeNotFound, "no such route", nil)
	errRateLimited     = newError(http.StatusTooManyRequests, CodeRateLimitExceeded, "too many requests", nil)
	errHeadersTooLarge = newError(http.StatusRequestHeaderFieldsTooLarge, CodeHeadersTooLarge,
		"request line and headers must fit in 16 KiB", nil)
	errPanic = newError(http.StatusInternalServerError, CodeInternal, "internal error", nil)
)

// asAPIError is the one mapping of errors to the envelope's error: store and editor sentinels
// to 404/409 naming the route's resource, decode and validation errors to 400, everything
// unknown to a logged 500.
func (s *Server) asAPIError(ctx *fasthttp.RequestCtx, err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status >= 500 {
			s.logFailure(ctx, ae)
		}
		return ae
	}
	var de *workflow.DecodeError
	var ve *workflow.ValidationError
	switch {
	case errors.As(err, &de):
		return errInvalidJSON(de)
	case errors.As(err, &ve):
		return errValidation(ve.Summary(), ve.Problems)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, workflow.ErrNotFound):
		return errNotFound(resourceOf(routeOf(ctx)))
	case errors.Is(err, store.ErrConflict), errors.Is(err, workflow.ErrDuplicate):
		return errConflict("a " + resourceOf(routeOf(ctx)) + " with this id already exists")
	case errors.Is(err, workflow.ErrMissingEndpoint):
		return errProblem("edge", err.Error())
	}
	ae = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", kind: monitoring.ErrInternal, cause: err}
	s.logFailure(ctx, ae)
	return ae
}

// resources name what a route's not-found and conflict errors are about, by template prefix.
var resources = []struct{ prefix, noun string }{
	{"/api/workflows", "workflow"},
	{"/api/store/sync", "workflow"},
	{"/api/store/nodes", "node"},
	{"/api/store/edges", "edge"},
	{"/api/sessions", "session"},
}

func resourceOf(route string) string {
	for _, r := range resources {
		if strings.HasPrefix(route, r.prefix) {
			return r.noun
		}
	}
	return "resource"
}

// dbError marks an unexpected store failure as a database error (500), keeping known ones.
func dbError(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	var de *workflow.DecodeError
	var ve *workflow.ValidationError
	if errors.As(err, &ae) || errors.As(err, &de) || errors.As(err, &ve) ||
		errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, workflow.ErrNotFound) || errors.Is(err, workflow.ErrDuplicate) || errors.Is(err, workflow.ErrMissingEndpoint) {
		return err
	}
	if errors.Is(err, syscall.ENOSPC) {
		return &APIError{Status: http.StatusInsufficientStorage, Code: CodeStorageFull, Message: "the disk holding the database is full; nothing was written", kind: monitoring.ErrDatabase, cause: err}
	}
	return &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "database error", kind: monitoring.ErrDatabase, cause: err}
}

func (s *Server) logFailure(ctx *fasthttp.RequestCtx, ae *APIError) {
	cause := "none"
	if ae.cause != nil {
		cause = ae.cause.Error()
	}
	s.log.Error("request failed", "request_id", requestID(ctx), "route", routeOf(ctx), "code", ae.Code, "error", cause)
}

// writeError maps err to its API error and writes it.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) {
	s.writeAPIError(ctx, s.asAPIError(ctx, err))
}

// writeAPIError writes the one error envelope and records the error's type for the metrics.
// Every error answer, whatever refused the request, is written here.
func (s *Server) writeAPIError(ctx *fasthttp.RequestCtx, ae *APIError) {
	if ae.Code == CodeStorageFull {
		s.storageFullAt.Store(time.Now().UnixNano())
	}
	ctx.SetUserValue(errKey, ae)
	writeEnvelope(ctx, ae.Status, envelope{Error: &errorBody{Code: ae.Code, Message: ae.Message, Details: ae.Details}, Message: ae.Message, Version: s.cfg.Version})
}

// recoverHandler turns a handler's panic into the 500 envelope, inside the metrics middleware
// so that the panic is counted.
func (s *Server) recoverHandler(ctx *fasthttp.RequestCtx) {
	if r := recover(); r != nil {
		s.panicked(ctx, r)
	}
}

func (s *Server) panicked(ctx *fasthttp.RequestCtx, r any) {
	s.log.Error("panic", "request_id", requestID(ctx), "route", routeOf(ctx), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	ctx.Response.ResetBody()
	ctx.Response.Header.Del(fasthttp.HeaderContentEncoding)
	s.writeAPIError(ctx, errPanic)
}

func (s *Server) notFound(ctx *fasthttp.RequestCtx) { s.writeError(ctx, errRouteMissing) }

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx) {
	s.writeError(ctx, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
		"method "+string(ctx.Method())+" not allowed; allowed: "+string(ctx.Response.Header.Peek(fasthttp.HeaderAllow)), nil))
}

// transportError answers what fasthttp refused before any handler ran (a body over
// MaxRequestBodySize, a malformed request) in the same envelope, and counts it.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	start := time.Now()
	var ae *APIError
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ae = errTooLarge
	case errors.As(err, &small):
		ae = errHeadersTooLarge
	default:
		ae = newError(http.StatusBadRequest, CodeValidation, "malformed request", nil)
	}
	// Closing a connection with unread bytes makes the kernel answer with a reset, which
	// can reach the client before the answer does: read what was sent first, within bounds.
	drain(ctx.Conn())
	if ae == errTooLarge {
		// Only a request whose header was read has a route; fasthttp leaves "/" in the
		// path of one it could not parse, which is not the page's route.
		s.resolveRoute(ctx, ctx.Method())
	}
	id := newRequestID()
	ctx.Response.Header.Set("X-Request-ID", id)
	ctx.Response.Header.Set(headerNoSniff, "nosniff")
	ctx.SetConnectionClose()
	s.writeAPIError(ctx, ae)
	s.observe(ctx, start)
	s.log.Info("request", "request_id", id, "method", monitoring.MethodLabel(ctx.Method()), "route", routeOf(ctx),
		"status", ae.Status, "duration", time.Since(start), "error", err.Error())
}

// maxHeaderBytes is the most a request line and its headers may take.
const maxHeaderBytes = 16 << 10

// Bounds of drain: what a refused request may still send, and how long it is waited for.
const (
	drainBytes = 4 << 20
	drainIdle  = 50 * time.Millisecond
	drainTotal = time.Second
)

// drain reads and discards what the client is still sending, until it pauses, up to
// drainBytes or drainTotal, so that closing the connection sends no reset.
func drain(conn net.Conn) {
	if conn == nil {
		return
	}
	buf := make([]byte, 32<<10)
	end := time.Now().Add(drainTotal)
	for total := 0; total < drainBytes; {
		deadline := time.Now().Add(drainIdle)
		if deadline.After(end) {
			deadline = end
		}
		if conn.SetReadDeadline(deadline) != nil {
			return
		}
		n, err := conn.Read(buf)
		total += n
		if err != nil {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
}
