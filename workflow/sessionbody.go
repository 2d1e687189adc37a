package workflow

import (
	"math"
	"time"
)

// MaxSessionTTL bounds a session's lifetime and each extension.
const MaxSessionTTL = 30 * 24 * time.Hour

// SessionChange is the body of a session create or update: every field optional.
type SessionChange struct {
	WorkflowID *string        // nil: not sent
	Data       map[string]any // nil: not sent
	Status     SessionStatus  // "": not sent (update only: active or terminated)
	ExpiresIn  int64          // ms; 0: not sent (create only)
}

// DecodeSessionCreate decodes POST /api/sessions: {workflowId?, data?, expiresIn?}.
func DecodeSessionCreate(body []byte, lim Limits) (SessionChange, error) {
	return decodeOp(body, lim, "session", func(raw map[string]any, _ Limits, c *collector) SessionChange {
		sc := sessionFields(raw, c)
		sc.ExpiresIn = sessionMillis(raw, "expiresIn", c)
		return sc
	})
}

// DecodeSessionUpdate decodes PUT /api/sessions/:id: {workflowId?, data?, status?}.
func DecodeSessionUpdate(body []byte, lim Limits) (SessionChange, error) {
	return decodeOp(body, lim, "session", func(raw map[string]any, _ Limits, c *collector) SessionChange {
		sc := sessionFields(raw, c)
		switch st := SessionStatus(c.optionalString(raw, "status", at(""), "")); st {
		case "", SessionActive, SessionTerminated:
			sc.Status = st
		default:
			c.add("status", "must be active or terminated")
		}
		return sc
	})
}

// DecodeExtension decodes POST /api/sessions/:id/extend: {extensionMs?} (0: the default).
func DecodeExtension(body []byte, lim Limits) (int64, error) {
	return decodeOp(body, lim, "extension", func(raw map[string]any, _ Limits, c *collector) int64 {
		return sessionMillis(raw, "extensionMs", c)
	})
}

func sessionFields(raw map[string]any, c *collector) SessionChange {
	var sc SessionChange
	if v, ok := raw["workflowId"]; ok && v != nil {
		id := c.optionalString(raw, "workflowId", at(""), "")
		if id != "" {
			if err := ValidateID(id); err != nil {
				c.add("workflowId", "%s", err.Error())
			}
		}
		sc.WorkflowID = &id
	}
	sc.Data, _ = c.object(raw, "data", at(""))
	return sc
}

// sessionMillis reads an optional positive duration in milliseconds, at most MaxSessionTTL.
func sessionMillis(raw map[string]any, key string, c *collector) int64 {
	v, ok := raw[key]
	if !ok || v == nil {
		return 0
	}
	f, ok := v.(float64)
	if !ok || f <= 0 || f != math.Trunc(f) || f > float64(MaxSessionTTL.Milliseconds()) {
		c.add(key, "must be a whole number of milliseconds from 1 to %s", MaxSessionTTL)
		return 0
	}
	return int64(f)
}
