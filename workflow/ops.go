package workflow

// The decoders of the editor-store bodies. Each reads one body shape, validates it once and
// returns the value or an error that is a *DecodeError (unreadable JSON) or a *ValidationError
// (every problem found, limits first).

// decodeOp decodes a JSON object body (an empty body or null is an empty object) and runs
// read over it; problems become a *ValidationError saying what was invalid.
func decodeOp[T any](body []byte, lim Limits, what string, read func(raw map[string]any, lim Limits, c *collector) T) (T, error) {
	lim = lim.WithDefaults()
	var zero T
	raw := map[string]any{}
	if len(body) > 0 {
		if err := DecodeJSON(body, lim.MaxDepth, &raw); err != nil {
			return zero, err
		}
		if raw == nil {
			raw = map[string]any{}
		}
	}
	c := &collector{}
	v := read(raw, lim, c)
	if problems := c.result(); problems != nil {
		return zero, &ValidationError{What: what, Problems: problems}
	}
	return v, nil
}

// required reports key when it is absent or null.
func required(raw map[string]any, key string, c *collector) bool {
	if raw[key] == nil {
		c.add(key, "is required")
		return false
	}
	return true
}

// DecodeNodes decodes PUT /api/store/nodes: {nodes:[…]}, required.
func DecodeNodes(body []byte, lim Limits) ([]Node, error) {
	return decodeOp(body, lim, "nodes", func(raw map[string]any, lim Limits, c *collector) []Node {
		checkCounts(arrayLen(raw, "nodes"), 0, lim, c)
		required(raw, "nodes", c)
		return nodesFromValue(raw, "nodes", c)
	})
}

// DecodeEdges decodes PUT /api/store/edges: {edges:[…]}, required.
func DecodeEdges(body []byte, lim Limits) ([]Edge, error) {
	return decodeOp(body, lim, "edges", func(raw map[string]any, lim Limits, c *collector) []Edge {
		checkCounts(0, arrayLen(raw, "edges"), lim, c)
		required(raw, "edges", c)
		return edgesFromValue(raw, "edges", c)
	})
}

// DecodeNode decodes POST /api/store/nodes: {node:{…}}.
func DecodeNode(body []byte, lim Limits) (Node, error) {
	return decodeOp(body, lim, "node", func(raw map[string]any, _ Limits, c *collector) Node {
		m, ok := c.object(raw, "node", at(""))
		if !ok {
			required(raw, "node", c)
			return Node{}
		}
		return sanitizeNode(m, at("node"), c)
	})
}

// DecodeEdge decodes POST /api/store/edges: {edge:{…}}.
func DecodeEdge(body []byte, lim Limits) (Edge, error) {
	return decodeOp(body, lim, "edge", func(raw map[string]any, _ Limits, c *collector) Edge {
		m, ok := c.object(raw, "edge", at(""))
		if !ok {
			required(raw, "edge", c)
			return Edge{}
		}
		return sanitizeEdge(m, at("edge"), c)
	})
}

// DecodePatch decodes PATCH /api/store/nodes/:id: {updates:{…}}; EditorState.PatchNode
// validates the node they make.
func DecodePatch(body []byte, lim Limits) (map[string]any, error) {
	return decodeOp(body, lim, "updates", func(raw map[string]any, _ Limits, c *collector) map[string]any {
		m, ok := c.object(raw, "updates", at(""))
		if !ok {
			required(raw, "updates", c)
		}
		return m
	})
}

// Load is the body of POST /api/store/workflow: the nodes and edges to load.
type Load struct {
	Nodes []Node
	Edges []Edge
}

// DecodeLoad decodes POST /api/store/workflow: {nodes?, edges?}.
func DecodeLoad(body []byte, lim Limits) (Load, error) {
	return decodeOp(body, lim, "workflow", func(raw map[string]any, lim Limits, c *collector) Load {
		checkCounts(arrayLen(raw, "nodes"), arrayLen(raw, "edges"), lim, c)
		return Load{Nodes: nodesFromValue(raw, "nodes", c), Edges: edgesFromValue(raw, "edges", c)}
	})
}

// DecodeSync decodes POST /api/store/sync: {workflowId}, a valid workflow id.
func DecodeSync(body []byte, lim Limits) (string, error) {
	return decodeOp(body, lim, "sync request", func(raw map[string]any, _ Limits, c *collector) string {
		id := c.requiredString(raw, "workflowId", at(""))
		if id != "" {
			if err := ValidateID(id); err != nil {
				c.add("workflowId", "%s", err.Error())
			}
		}
		return id
	})
}
