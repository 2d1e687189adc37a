package workflow

// DecodeState decodes a PUT of the whole editor state {nodes, edges, selectedNodes,
// selectedEdges}; absent arrays are empty. The error is a *DecodeError; the problems list every
// finding, including selections of ids that do not exist.
func DecodeState(body []byte, lim Limits) (EditorState, []Problem, error) {
	lim = lim.WithDefaults()
	raw, err := decodeObject(body, lim.MaxDepth)
	if err != nil {
		return EditorState{}, nil, err
	}
	c := &collector{}
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
