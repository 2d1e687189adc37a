package workflow

// Flow is what the editor sends to be executed: React Flow's own node and edge objects, read
// only for what the prompt needs (ids, types, labels, endpoints).
type Flow struct {
	Nodes []Node
	Edges []Edge
}

// DecodeFlow decodes an execute body {nodes, edges}: nodes a non-empty array of objects, edges
// an array of objects, within the limits. Nodes are not held to the stored workflow's rules: an
// editor's custom node may carry no label, and whatever else it keeps is ignored. The error is a
// *DecodeError; the problems list every finding, limits first.
func DecodeFlow(body []byte, lim Limits) (Flow, []Problem, error) {
	lim = lim.WithDefaults()
	raw, err := decodeObject(body, lim.MaxDepth)
	if err != nil {
		return Flow{}, nil, err
	}
	c := &collector{}
	checkCounts(arrayLen(raw, "nodes"), arrayLen(raw, "edges"), lim, c)
	var f Flow
	if nodes, ok := c.array(raw, "nodes", at("")); !ok && raw["nodes"] == nil {
		c.add("nodes", "is required (a non-empty array)")
	} else if ok && len(nodes) == 0 {
		c.add("nodes", "must hold at least one node")
	} else {
		f.Nodes = looseObjects(nodes, "nodes", c, func(m map[string]any, l loc) Node {
			n := Node{ID: c.optionalString(m, "id", l, ""), Type: c.optionalString(m, "type", l, "")}
			n.Data, _ = c.object(m, "data", l)
			return n
		})
	}
	if edges, ok := c.array(raw, "edges", at("")); !ok && raw["edges"] == nil {
		c.add("edges", "is required (an array)")
	} else {
		f.Edges = looseObjects(edges, "edges", c, func(m map[string]any, l loc) Edge {
			return Edge{ID: c.optionalString(m, "id", l, ""), Source: c.optionalString(m, "source", l, ""), Target: c.optionalString(m, "target", l, "")}
		})
	}
	return f, c.result(), nil
}

// looseObjects reads each element of a as an object with read, reporting the others.
func looseObjects[T any](a []any, key string, c *collector, read func(map[string]any, loc) T) []T {
	out := make([]T, 0, len(a))
	for i, v := range a {
		l := loc{base: key, idx: i}
		m, ok := v.(map[string]any)
		if !ok {
			c.add(l.f(""), "must be an object")
			continue
		}
		out = append(out, read(m, l))
	}
	return out
}
