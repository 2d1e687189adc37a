package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// CodeInvalidJSON is the error code of every DecodeError.
const CodeInvalidJSON = "INVALID_JSON"

// DecodeError reports a body that is not acceptable JSON: malformed, too deep, or not UTF-8.
type DecodeError struct {
	Code    string
	Message string
}

// Error implements error.
func (e *DecodeError) Error() string { return e.Message }

func decodeErr(format string, args ...any) *DecodeError {
	return &DecodeError{Code: CodeInvalidJSON, Message: fmt.Sprintf(format, args...)}
}

// DecodeJSON decodes body into v after refusing invalid UTF-8 and nesting deeper than maxDepth
// (0 means the default of DefaultLimits); every failure is a *DecodeError.
func DecodeJSON(body []byte, maxDepth int, v any) error {
	if maxDepth <= 0 {
		maxDepth = DefaultLimits().MaxDepth
	}
	// encoding/json silently replaces invalid UTF-8 with U+FFFD, which would store altered text.
	if !utf8.Valid(body) {
		return decodeErr("body is not valid UTF-8")
	}
	if d := jsonDepth(body); d > maxDepth {
		return decodeErr("JSON nesting depth exceeds %d", maxDepth)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return decodeErr("invalid JSON at byte %d: %s", se.Offset, se.Error())
		}
		return decodeErr("invalid JSON: %s", err.Error())
	}
	return nil
}

// jsonDepth returns the deepest nesting of objects and arrays in body. It does not validate
// the syntax; json.Unmarshal does that after the depth is known to be bounded.
func jsonDepth(body []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range body {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > deepest {
				deepest = depth
			}
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// decodeObject decodes body into a JSON object, refusing any other top-level value.
func decodeObject(body []byte, maxDepth int) (map[string]any, error) {
	var v any
	if err := DecodeJSON(body, maxDepth, &v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, decodeErr("body must be a JSON object")
	}
	return m, nil
}

// DecodeWorkflow decodes and sanitises a full {metadata, nodes, edges} body. The error is a
// *DecodeError for unreadable JSON; the problems list every validation finding (nil when valid).
// Absent timestamps stay zero; Stamp fills them.
func DecodeWorkflow(body []byte, lim Limits) (*Workflow, []Problem, error) {
	return DecodeImport(body, lim, false)
}

// DecodeCreate decodes a create body in either the full form or the short form
// {name, description?, author?, tags?, nodes?, edges?}. The short form gets a new id, version
// "1.0.0" and both timestamps set to now; the full form gets now only where timestamps are absent.
func DecodeCreate(body []byte, lim Limits, now int64) (*Workflow, []Problem, error) {
	lim = lim.WithDefaults()
	raw, err := decodeObject(body, lim.MaxDepth)
	if err != nil {
		return nil, nil, err
	}
	if _, full := raw["metadata"]; full {
		w, problems := workflowFromMap(raw, lim)
		w.Stamp(now)
		return w, problems, nil
	}
	meta := map[string]any{"id": NewWorkflowID(), "createdAt": float64(now), "updatedAt": float64(now)}
	for _, k := range []string{"name", "description", "author", "tags", "version"} {
		if v, ok := raw[k]; ok {
			meta[k] = v
		}
	}
	full := map[string]any{"metadata": meta, "nodes": raw["nodes"], "edges": raw["edges"]}
	w, problems := workflowFromMap(full, lim)
	return w, problems, nil
}

// DecodeImport decodes an import body, a full workflow; with newID its id is replaced by a
// new one, and whatever was wrong with the old id is no problem.
func DecodeImport(body []byte, lim Limits, newID bool) (*Workflow, []Problem, error) {
	lim = lim.WithDefaults()
	raw, err := decodeObject(body, lim.MaxDepth)
	if err != nil {
		return nil, nil, err
	}
	if meta, ok := raw["metadata"].(map[string]any); ok && newID {
		meta["id"] = NewWorkflowID()
	}
	w, problems := workflowFromMap(raw, lim)
	return w, problems, nil
}

// Stamp sets absent (zero) timestamps to now.
func (w *Workflow) Stamp(now int64) {
	if w.Metadata.CreatedAt == 0 {
		w.Metadata.CreatedAt = now
	}
	if w.Metadata.UpdatedAt == 0 {
		w.Metadata.UpdatedAt = now
	}
}

// Normalize turns nil slices into empty ones so that JSON carries [] rather than null.
func (w *Workflow) Normalize() {
	if w.Nodes == nil {
		w.Nodes = []Node{}
	}
	if w.Edges == nil {
		w.Edges = []Edge{}
	}
	if w.Metadata.Tags == nil {
		w.Metadata.Tags = []string{}
	}
	for i := range w.Nodes {
		if w.Nodes[i].Data == nil {
			w.Nodes[i].Data = map[string]any{}
		}
	}
}

// Encode normalizes w and returns its JSON encoding: the bytes stored, answered and broadcast.
func Encode(w *Workflow) ([]byte, error) {
	w.Normalize()
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode workflow %q: %w", w.Metadata.ID, err)
	}
	return b, nil
}

// WithDefaults returns the limits with every zero or negative field taken from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	positiveOr(&l.MaxNodes, d.MaxNodes)
	positiveOr(&l.MaxEdges, d.MaxEdges)
	positiveOr(&l.MaxName, d.MaxName)
	positiveOr(&l.MaxDescription, d.MaxDescription)
	positiveOr(&l.MaxTags, d.MaxTags)
	positiveOr(&l.MaxDepth, d.MaxDepth)
	positiveOr(&l.MaxBodyBytes, d.MaxBodyBytes)
	return l
}

// positiveOr replaces a zero or negative *v with d.
func positiveOr(v *int, d int) {
	if *v <= 0 {
		*v = d
	}
}
