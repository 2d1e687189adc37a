// Package monitoring is the metric catalogue of gemini-flow, its VictoriaMetrics sets, the
// exposition writer (HELP/TYPE, samples, prefixed runtime and process metrics) and push.
package monitoring

import (
	"io"
	"time"
)

// Options configures a Registry.
type Options struct {
	Version  string // build_info version label
	Revision string // build_info revision label
}

// Label values of bounded sets.
const (
	Inbound  = "inbound"
	Outbound = "outbound"

	OpRead   = "read"
	OpWrite  = "write"
	OpDelete = "delete"

	CollWorkflows = "workflows"
	CollStore     = "store"
	CollSessions  = "sessions"

	RouteUnmatched = "unmatched"
)

// ErrorType is the bounded "type" label of gemini_flow_errors_total.
type ErrorType string

// The error types of API.md.
const (
	ErrValidation       ErrorType = "validation"
	ErrInvalidJSON      ErrorType = "invalid_json"
	ErrNotFound         ErrorType = "not_found"
	ErrMethodNotAllowed ErrorType = "method_not_allowed"
	ErrConflict         ErrorType = "conflict"
	ErrUnauthorized     ErrorType = "unauthorized"
	ErrRateLimited      ErrorType = "rate_limited"
	ErrPayloadTooLarge  ErrorType = "payload_too_large"
	ErrDatabase         ErrorType = "database"
	ErrUpstream         ErrorType = "upstream"
	ErrInternal         ErrorType = "internal"
)

// HistoryStats is the health of the built-in history, read at every scrape.
type HistoryStats struct {
	Series           int
	SamplesAppended  uint64
	Bytes            int64
	LastSample       time.Time
	CheckpointErrors uint64
}

var _ = io.Discard
