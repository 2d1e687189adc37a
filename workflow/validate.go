package workflow

import (
	"errors"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxIDLength bounds ids, which end up in URLs, file names and bbolt keys.
const maxIDLength = 256

// ValidateID refuses ids that are empty, too long, or could escape a path: "..", "/" or "\".
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("id is required")
	case len(id) > maxIDLength:
		return errors.New("id is longer than 256 bytes")
	case strings.Contains(id, ".."), strings.ContainsAny(id, `/\`):
		return errors.New(`id must not contain "..", "/" or "\"`)
	case !utf8.ValidString(id):
		return errors.New("id is not valid UTF-8")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return errors.New("id must not contain control characters")
		}
	}
	return nil
}

// Validate checks a workflow against the rules of API.md and the limits, collecting every
// problem; nil means valid.
func Validate(w *Workflow, lim Limits) []Problem {
	c := &collector{}
	validateInto(w, lim.WithDefaults(), c)
	return c.result()
}

// maxTypeLength bounds node and edge type strings, which editors name freely.
const maxTypeLength = 64

// checkType accepts any type string of 1 to 64 printable characters: React Flow's own node
// and edge types and every custom type an editor registers. Absent (empty) means the default.
func checkType(t string, l loc, c *collector) {
	if t == "" {
		return
	}
	if utf8.RuneCountInString(t) > maxTypeLength {
		c.add(l.f("type"), "must be at most %d characters", maxTypeLength)
		return
	}
	for _, r := range t {
		if !unicode.IsPrint(r) {
			c.add(l.f("type"), "must hold printable characters only")
			return
		}
	}
}

// checkCounts reports the node and edge limits; decoders call it before reading the elements,
// so that an oversized body's first problem is the one that matters.
func checkCounts(nodes, edges int, lim Limits, c *collector) {
	if nodes > lim.MaxNodes {
		c.add("nodes", "must hold at most %d nodes (got %d)", lim.MaxNodes, nodes)
	}
	if edges > lim.MaxEdges {
		c.add("edges", "must hold at most %d edges (got %d)", lim.MaxEdges, edges)
	}
}

func validateInto(w *Workflow, lim Limits, c *collector) {
	m := &w.Metadata
	l := at("metadata")
	if err := ValidateID(m.ID); err != nil {
		if m.ID == "" {
			c.add(l.f("id"), "is required")
		} else {
			c.add(l.f("id"), "%s", err.Error())
		}
	}
	if m.Name == "" {
		c.add(l.f("name"), "is required")
	} else if n := utf8.RuneCountInString(m.Name); n > lim.MaxName {
		c.add(l.f("name"), "must be at most %d characters (got %d)", lim.MaxName, n)
	}
	if n := utf8.RuneCountInString(m.Description); n > lim.MaxDescription {
		c.add(l.f("description"), "must be at most %d characters (got %d)", lim.MaxDescription, n)
	}
	if m.Version == "" {
		c.add(l.f("version"), "is required")
	}
	if m.CreatedAt < 0 {
		c.add(l.f("createdAt"), "must not be negative")
	}
	if m.UpdatedAt < 0 {
		c.add(l.f("updatedAt"), "must not be negative")
	}
	if len(m.Tags) > lim.MaxTags {
		c.add(l.f("tags"), "must hold at most %d tags (got %d)", lim.MaxTags, len(m.Tags))
	}
	checkCounts(len(w.Nodes), len(w.Edges), lim, c)
	nodeIDs := make(map[string]struct{}, len(w.Nodes))
	for i := range w.Nodes {
		nl := loc{base: "nodes", idx: i}
		checkNode(&w.Nodes[i], nl, c)
		id := w.Nodes[i].ID
		if id == "" {
			continue
		}
		if _, dup := nodeIDs[id]; dup {
			c.add(nl.f("id"), "duplicate node id %q", id)
		}
		nodeIDs[id] = struct{}{}
	}
	for i := range w.Nodes {
		n := &w.Nodes[i]
		if _, ok := nodeIDs[n.ParentID]; n.ParentID != "" && !ok {
			c.add(loc{base: "nodes", idx: i}.f("parentId"), "node %q does not exist", n.ParentID)
		}
		if _, ok := nodeIDs[n.ParentNode]; n.ParentNode != "" && !ok {
			c.add(loc{base: "nodes", idx: i}.f("parentNode"), "node %q does not exist", n.ParentNode)
		}
	}
	edgeIDs := make(map[string]struct{}, len(w.Edges))
	for i := range w.Edges {
		el := loc{base: "edges", idx: i}
		e := &w.Edges[i]
		checkEdge(e, el, c)
		if e.ID != "" {
			if _, dup := edgeIDs[e.ID]; dup {
				c.add(el.f("id"), "duplicate edge id %q", e.ID)
			}
			edgeIDs[e.ID] = struct{}{}
		}
		if _, ok := nodeIDs[e.Source]; e.Source != "" && !ok {
			c.add(el.f("source"), "node %q does not exist", e.Source)
		}
		if _, ok := nodeIDs[e.Target]; e.Target != "" && !ok {
			c.add(el.f("target"), "node %q does not exist", e.Target)
		}
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// checkNode holds the rules for one node on its own, shared by sanitising and Validate.
func checkNode(n *Node, l loc, c *collector) {
	if n.ID == "" {
		c.add(l.f("id"), "is required")
	} else if len(n.ID) > maxIDLength {
		c.add(l.f("id"), "must be at most %d bytes", maxIDLength)
	}
	checkType(n.Type, l, c)
	if !finite(n.Position.X) {
		c.add(l.f("position.x"), "must be a finite number")
	}
	if !finite(n.Position.Y) {
		c.add(l.f("position.y"), "must be a finite number")
	}
	if n.Width != nil && !finite(*n.Width) {
		c.add(l.f("width"), "must be a finite number")
	}
	if n.Height != nil && !finite(*n.Height) {
		c.add(l.f("height"), "must be a finite number")
	}
	switch n.Data["label"].(type) {
	case string:
	case nil:
		c.add(l.f("data.label"), "is required")
	default:
		c.add(l.f("data.label"), "must be a string")
	}
}

// checkEdge holds the rules for one edge on its own; endpoints are checked against the nodes
// by the caller.
func checkEdge(e *Edge, l loc, c *collector) {
	if e.ID == "" {
		c.add(l.f("id"), "is required")
	} else if len(e.ID) > maxIDLength {
		c.add(l.f("id"), "must be at most %d bytes", maxIDLength)
	}
	if e.Source == "" {
		c.add(l.f("source"), "is required")
	}
	if e.Target == "" {
		c.add(l.f("target"), "is required")
	}
	checkType(e.Type, l, c)
}
