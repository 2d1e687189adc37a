package workflow

import (
	"fmt"
	"strconv"
)

// maxProblems bounds the findings kept for one body, so a hostile megabyte of broken nodes
// cannot turn into a response many times its size.
const maxProblems = 1000

// collector gathers problems, at most one per field, up to maxProblems.
type collector struct {
	list    []Problem
	seen    map[string]bool
	dropped int
}

func (c *collector) add(field, format string, args ...any) {
	if c.seen[field] {
		return
	}
	if len(c.list) >= maxProblems {
		c.dropped++
		return
	}
	if c.seen == nil {
		c.seen = make(map[string]bool)
	}
	c.seen[field] = true
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	c.list = append(c.list, Problem{Field: field, Message: msg})
}

// result returns the problems, nil when there are none.
func (c *collector) result() []Problem {
	if c.dropped > 0 {
		return append(c.list, Problem{Field: "", Message: fmt.Sprintf("%d more problems not listed", c.dropped)})
	}
	return c.list
}

// loc names where a value sits: base ("nodes"), an optional index, and a field under it.
// Paths are built only when a problem is reported, so valid input costs no allocation here.
type loc struct {
	base string
	idx  int
}

func at(base string) loc { return loc{base: base, idx: -1} }

func (l loc) f(name string) string {
	p := l.base
	if l.idx >= 0 {
		p = l.base + "[" + strconv.Itoa(l.idx) + "]"
	}
	switch {
	case p == "":
		return name
	case name == "":
		return p
	}
	return p + "." + name
}

// requiredString reads a string that must be present and non-empty.
func (c *collector) requiredString(m map[string]any, key string, l loc) string {
	v, ok := m[key]
	if !ok || v == nil {
		c.add(l.f(key), "is required")
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.add(l.f(key), "must be a string")
		return ""
	}
	if s == "" {
		c.add(l.f(key), "is required")
	}
	return s
}

// optionalString reads a string that may be absent or null (then def).
func (c *collector) optionalString(m map[string]any, key string, l loc, def string) string {
	v, ok := m[key]
	if !ok || v == nil {
		return def
	}
	s, ok := v.(string)
	if !ok {
		c.add(l.f(key), "must be a string")
		return def
	}
	return s
}

// number reads a required JSON number.
func (c *collector) number(m map[string]any, key string, l loc) float64 {
	v, ok := m[key]
	if !ok || v == nil {
		c.add(l.f(key), "is required")
		return 0
	}
	n, ok := v.(float64)
	if !ok {
		c.add(l.f(key), "must be a number")
		return 0
	}
	return n
}

// optionalNumber reads a number that may be absent or null (then nil).
func (c *collector) optionalNumber(m map[string]any, key string, l loc) *float64 {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	n, ok := v.(float64)
	if !ok {
		c.add(l.f(key), "must be a number")
		return nil
	}
	return &n
}

// extent reads React Flow's node extent: "parent", or [[x1,y1],[x2,y2]] of finite numbers.
func (c *collector) extent(m map[string]any, l loc) any {
	v, ok := m["extent"]
	if !ok || v == nil {
		return nil
	}
	if v == "parent" {
		return v
	}
	if corners, ok := v.([]any); ok && len(corners) == 2 {
		out := make([][2]float64, 2)
		for i, corner := range corners {
			xy, ok := corner.([]any)
			if !ok || len(xy) != 2 {
				break
			}
			x, okX := xy[0].(float64)
			y, okY := xy[1].(float64)
			if !okX || !okY || !finite(x) || !finite(y) {
				break
			}
			out[i] = [2]float64{x, y}
			if i == 1 {
				return out
			}
		}
	}
	c.add(l.f("extent"), `must be "parent" or [[x1,y1],[x2,y2]]`)
	return nil
}

// maxSafeInteger is the largest integer a JSON number (a float64) holds exactly.
const maxSafeInteger = 1<<53 - 1

// millis reads a timestamp in Unix milliseconds; absent or null gives 0.
func (c *collector) millis(m map[string]any, key string, l loc) int64 {
	v, ok := m[key]
	if !ok || v == nil {
		return 0
	}
	n, ok := v.(float64)
	if !ok {
		c.add(l.f(key), "must be a number (Unix milliseconds)")
		return 0
	}
	if n != float64(int64(n)) || n < 0 || n > maxSafeInteger {
		c.add(l.f(key), "must be a non-negative integer (Unix milliseconds)")
		return 0
	}
	return int64(n)
}

// object reads a JSON object that may be absent or null (then nil, false).
func (c *collector) object(m map[string]any, key string, l loc) (map[string]any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, false
	}
	o, ok := v.(map[string]any)
	if !ok {
		c.add(l.f(key), "must be an object")
		return nil, false
	}
	return o, true
}

// array reads a JSON array that may be absent or null (then nil, false).
func (c *collector) array(m map[string]any, key string, l loc) ([]any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		c.add(l.f(key), "must be an array")
		return nil, false
	}
	return a, true
}

// flag reads a boolean flag as sent, coerced by truthy; absent or null gives nil, so that an
// absent flag stays absent and a false one stays false.
func flag(m map[string]any, key string) *bool {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	if truthy(v) {
		return &flagTrue
	}
	return &flagFalse
}

// flagTrue and flagFalse are shared by every flag read, so reading one allocates nothing;
// nothing writes through a flag's pointer.
var flagTrue, flagFalse = true, false

// truthy coerces a decoded JSON value to a boolean as JavaScript's Boolean() does, which is
// what the editor clients mean when they send 1, "yes" or null for a flag.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case string:
		return x != ""
	default:
		return true
	}
}
