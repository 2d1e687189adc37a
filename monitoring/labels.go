package monitoring

import (
	"strconv"
	"strings"
)

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

	StatusSuccess = "success"
	StatusError   = "error"

	OutcomeSuccess     = "success"
	OutcomeError       = "error"
	OutcomeTimeout     = "timeout"
	OutcomeUnavailable = "unavailable"

	RouteUnmatched = "unmatched"

	// MethodOther stands for every request method outside the standard ones.
	MethodOther = "OTHER"
	// Unknown stands for every value outside a bounded set other than method.
	Unknown = "unknown"
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

// MethodLabel maps a request method to GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or OTHER
// without allocating, so a client cannot mint label values.
func MethodLabel(method []byte) string { return standardMethod(method) }

// methodLabel is MethodLabel for a string.
func methodLabel(method string) string { return standardMethod(method) }

// standardMethod returns constants, never its argument, so a request buffer is never kept.
func standardMethod[T string | []byte](method T) string {
	switch string(method) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	}
	return MethodOther
}

// WSEventType maps a WebSocket event type to itself when it is a known one, else "unknown".
func WSEventType(t string) string {
	switch t {
	case "client.connected":
		return "client.connected"
	case "client.disconnected":
		return "client.disconnected"
	case "ping":
		return "ping"
	case "pong":
		return "pong"
	case "error":
		return "error"
	case "subscribe":
		return "subscribe"
	case "unsubscribe":
		return "unsubscribe"
	case "workflow.created":
		return "workflow.created"
	case "workflow.updated":
		return "workflow.updated"
	case "workflow.deleted":
		return "workflow.deleted"
	case "store.updated":
		return "store.updated"
	case "store.synced":
		return "store.synced"
	case "metrics.sampled":
		return "metrics.sampled"
	}
	return Unknown
}

func directionLabel(d string) string {
	switch d {
	case Inbound:
		return Inbound
	case Outbound:
		return Outbound
	}
	return Unknown
}

func operationLabel(op string) string {
	switch op {
	case OpRead:
		return OpRead
	case OpWrite:
		return OpWrite
	case OpDelete:
		return OpDelete
	}
	return Unknown
}

func collectionLabel(c string) string {
	switch c {
	case CollWorkflows:
		return CollWorkflows
	case CollStore:
		return CollStore
	case CollSessions:
		return CollSessions
	}
	return Unknown
}

func outcomeLabel(o string) string {
	switch o {
	case OutcomeSuccess:
		return OutcomeSuccess
	case OutcomeError:
		return OutcomeError
	case OutcomeTimeout:
		return OutcomeTimeout
	case OutcomeUnavailable:
		return OutcomeUnavailable
	}
	return Unknown
}

func errorTypeLabel(t ErrorType) string {
	switch t {
	case ErrValidation, ErrInvalidJSON, ErrNotFound, ErrMethodNotAllowed, ErrConflict, ErrUnauthorized,
		ErrRateLimited, ErrPayloadTooLarge, ErrDatabase, ErrUpstream, ErrInternal:
		return string(t)
	}
	return Unknown
}

// routeLabel keeps the caller's template; the server passes only registered templates.
func routeLabel(route string) string {
	if route == "" {
		return RouteUnmatched
	}
	return route
}

// statusCode keeps status_code three digits: fasthttp sends 200 for an unset status, and
// anything outside 100..999 cannot have been sent, so it is recorded as 0 ("000").
func statusCode(status int) int {
	switch {
	case status == 0:
		return 200
	case status < 100 || status > 999:
		return 0
	}
	return status
}

func statusCodeLabel(status int) string {
	if status == 0 {
		return "000"
	}
	return strconv.Itoa(status)
}

// seriesName builds `family{l1="v1",...}` from the catalogue's label names and the values
// in the same order.
func seriesName(fam int, values ...string) string {
	f := &catalogue[fam]
	if len(values) != len(f.Labels) {
		panic("monitoring: " + f.Name + " takes " + strconv.Itoa(len(f.Labels)) + " label values")
	}
	var b strings.Builder
	b.WriteString(f.Name)
	if len(values) == 0 {
		return b.String()
	}
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.Labels[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// escapeLabelValue applies the text format's escaping (backslash, quote, newline).
func escapeLabelValue(v string) string { return labelValueEscaper.Replace(v) }

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
