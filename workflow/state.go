package workflow

// DecodeState decodes a PUT of the whole editor state {nodes, edges, selectedNodes,
// selectedEdges}; absent arrays are empty. The error is a *DecodeError; the problems list every
// finding, including selections of ids that do not exist.
func DecodeState(body []byte, lim Limits) (EditorState, []Problem, error) {
	lim = lim.withDefaults()
	raw, err := decodeObject(body, lim.MaxDepth)
	if err != nil {
		return EditorState{}, nil, err
	}
	c := &collector{}
	s := EditorState{
		Nodes:         nodesFromValue(raw, "nodes", c),
		Edges:         edgesFromValue(raw, "edges", c),
		SelectedNodes: stringsFromValue(raw, "selectedNodes", c),
		SelectedEdges: stringsFromValue(raw, "selectedEdges", c),
	}
	s.Normalize()
	for _, p := range s.Validate(lim) {
		c.add(p.Field, "%s", p.Message)
	}
	return s, c.result(), nil
}

// stringsFromValue reads a string array under key; absent or null gives [].
func stringsFromValue(m map[string]any, key string, c *collector) []string {
	a, ok := c.array(m, key, at(""))
	if !ok {
		return []string{}
	}
	out := make([]string, 0, len(a))
	for i, v := range a {
		s, ok := v.(string)
		if !ok {
			c.add(loc{base: key, idx: i}.f(""), "must be a string")
			continue
		}
		out = append(out, s)
	}
	return out
}
