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
	case EventClientConnected, EventClientDisconnected, EventPing, EventPong, EventError, EventSubscribe,
		EventUnsubscribe, EventWorkflowCreated, EventWorkflowUpdated, EventWorkflowDeleted, EventStoreUpdated,
		EventStoreSynced, EventMetricsSampled:
		// A constant of this switch, never the caller's string: no client bytes become a label.
		return wsEventTypes[t]
	}
	return Unknown
}

// The WebSocket event types: the editor clients' events, the hub's own, and metrics.sampled.
// The ws package and the server send these constants; WSEventType bounds the label to them.
const (
	EventClientConnected    = "client.connected"
	EventClientDisconnected = "client.disconnected"
	EventPing               = "ping"
	EventPong               = "pong"
	EventError              = "error"
	EventSubscribe          = "subscribe"
	EventUnsubscribe        = "unsubscribe"
	EventWorkflowCreated    = "workflow.created"
	EventWorkflowUpdated    = "workflow.updated"
	EventWorkflowDeleted    = "workflow.deleted"
	EventStoreUpdated       = "store.updated"
	EventStoreSynced        = "store.synced"
	EventMetricsSampled     = "metrics.sampled"
)

// wsEventTypes interns the known types, so a label never retains a caller's string.
var wsEventTypes = map[string]string{
	EventClientConnected: EventClientConnected, EventClientDisconnected: EventClientDisconnected,
	EventPing: EventPing, EventPong: EventPong, EventError: EventError, EventSubscribe: EventSubscribe,
	EventUnsubscribe: EventUnsubscribe, EventWorkflowCreated: EventWorkflowCreated,
	EventWorkflowUpdated: EventWorkflowUpdated, EventWorkflowDeleted: EventWorkflowDeleted,
	EventStoreUpdated: EventStoreUpdated, EventStoreSynced: EventStoreSynced, EventMetricsSampled: EventMetricsSampled,
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
