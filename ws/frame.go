package ws

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// Error codes of the error event.
const (
	CodeParseError      = "PARSE_ERROR"
	CodeMessageTooLarge = "MESSAGE_TOO_LARGE"
	CodeInvalidTopic    = "INVALID_TOPIC"
)

// timestampLayout is RFC 3339 with milliseconds in UTC, the same text as JavaScript's
// Date.toISOString that existing clients already parse.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

func timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

// frame is the one wire shape of every event.
type frame struct {
	Type      string  `json:"type"`
	Payload   any     `json:"payload"`
	Timestamp string  `json:"timestamp"`
	ClientID  *string `json:"clientId"`
}

// outFrame is one encoded frame waiting in a client's queue; label is its metric label.
type outFrame struct {
	label string
	data  []byte
}

// encode marshals one frame; clientID nil gives "clientId":null (broadcasts share one encoding).
func encode(eventType string, payload any, clientID *string) (outFrame, error) {
	b, err := json.Marshal(frame{Type: eventType, Payload: payload, Timestamp: timestamp(time.Now()), ClientID: clientID})
	if err != nil {
		return outFrame{}, fmt.Errorf("encode %s event: %w", EventLabel(eventType), err)
	}
	return outFrame{label: EventLabel(eventType), data: b}, nil
}

// errorPayload is the payload of an error event.
type errorPayload struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Details any    `json:"details"`
}

// subscriptionPayload acknowledges subscribe and unsubscribe.
type subscriptionPayload struct {
	Topic      string `json:"topic"`
	Subscribed bool   `json:"subscribed"`
}

// actionKind is what the hub does in answer to one inbound frame.
type actionKind int

const (
	actIgnore actionKind = iota
	actPong
	actError
	actSubscribe
	actUnsubscribe
)

// action is the decision taken on one inbound frame, kept apart from the connection so that
// it can be fuzzed.
type action struct {
	kind  actionKind
	label string // metric label of the inbound frame: a known type or "unknown"
	topic string // known topic, for actSubscribe and actUnsubscribe
	err   errorPayload
	close bool // the connection must close after the reply (message too large)
}

// inbound is the part of a client frame the hub reads.
type inbound struct {
	Type    *string         `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// topicRequest is the payload of subscribe and unsubscribe.
type topicRequest struct {
	Topic string `json:"topic"`
}

// maxEchoedBytes bounds how much of a client's own text an error's details repeat back.
const maxEchoedBytes = 64

// handleFrame decides the answer to one inbound data frame. data holds at most maxBytes+1
// bytes of the message; more than maxBytes means it was cut off as too large.
func handleFrame(data []byte, maxBytes int64) action {
	if int64(len(data)) > maxBytes {
		return action{kind: actError, label: monitoring.Unknown, close: true, err: errorPayload{
			Message: fmt.Sprintf("message exceeds %d bytes", maxBytes),
			Code:    CodeMessageTooLarge,
			Details: map[string]int64{"maxBytes": maxBytes},
		}}
	}
	var in inbound
	if err := json.Unmarshal(data, &in); err != nil {
		return parseError("message is not valid JSON", err.Error())
	}
	if in.Type == nil {
		return parseError("message must be a JSON object with a string \"type\"", "missing type")
	}
	label := EventLabel(*in.Type)
	switch *in.Type {
	case TypePing:
		return action{kind: actPong, label: label}
	case TypeSubscribe, TypeUnsubscribe:
		var req topicRequest
		if len(in.Payload) > 0 {
			if err := json.Unmarshal(in.Payload, &req); err != nil {
				a := parseError("payload must be an object with a string \"topic\"", err.Error())
				a.label = label
				return a
			}
		}
		i := topicIndex(req.Topic)
		if i < 0 {
			return action{kind: actError, label: label, err: errorPayload{
				Message: "unknown topic",
				Code:    CodeInvalidTopic,
				Details: map[string]any{"topic": clip(req.Topic), "topics": topics},
			}}
		}
		kind := actSubscribe
		if *in.Type == TypeUnsubscribe {
			kind = actUnsubscribe
		}
		return action{kind: kind, label: label, topic: topics[i]}
	}
	return action{kind: actIgnore, label: label}
}

func parseError(message, reason string) action {
	return action{kind: actError, label: monitoring.Unknown, err: errorPayload{
		Message: message,
		Code:    CodeParseError,
		Details: map[string]string{"reason": clip(reason)},
	}}
}

// clip shortens s to at most maxEchoedBytes, dropping a sequence the cut splits.
func clip(s string) string {
	if len(s) <= maxEchoedBytes {
		return s
	}
	return strings.ToValidUTF8(s[:maxEchoedBytes], "")
}
