package workflow

// DecodeState decodes a PUT of the whole editor state {nodes, edges, selectedNodes,
// selectedEdges}; each array is required, so that a client that forgot one cannot empty it. The error is a *DecodeError; the problems list every
// finding, including selections of ids that do not exist.
func DecodeState(body []byte, lim Limits) (EditorState, []Problem, error) {
	lim = lim.WithDefaults()
	raw, err := decodeObject(body, lim.MaxDepth)
	if err != nil {
		return EditorState{}, nil, err
	}
	c := &collector{}
	checkCounts(arrayLen(raw, "nodes"), arrayLen(raw, "edges"), lim, c)
	for _, key := range []string{"nodes", "edges", "selectedNodes", "selectedEdges"} {
		if _, ok := raw[key]; !ok {
			c.add(key, "is required (an array; send [] to empty it)")
		}
	}
	s := EditorState{
		Nodes:         nodesFromValue(raw, "nodes", c),
		Edges:         edgesFromValue(raw, "edges", c),
		SelectedNodes: stringArray(raw, "selectedNodes", at(""), c),
		SelectedEdges: stringArray(raw, "selectedEdges", at(""), c),
	}
	s.Normalize()
	for _, p := range s.Validate(lim) {
		c.add(p.Field, "%s", p.Message)
	}
	return s, c.result(), nil
}
