package workflow

// workflowFromMap builds a workflow from a decoded full-form object, keeping only known keys,
// and returns every type and validation problem.
func workflowFromMap(raw map[string]any, lim Limits) (*Workflow, []Problem) {
	c := &collector{}
	checkCounts(arrayLen(raw, "nodes"), arrayLen(raw, "edges"), lim, c)
	w := &Workflow{Metadata: Metadata{Version: "1.0.0"}}
	if meta, ok := c.object(raw, "metadata", at("")); ok {
		w.Metadata = metadataFromMap(meta, c)
	} else if _, present := raw["metadata"]; !present || raw["metadata"] == nil {
		c.add("metadata", "is required")
	}
	if w.Metadata.Tags == nil {
		w.Metadata.Tags = []string{}
	}
	w.Nodes = nodesFromValue(raw, "nodes", c)
	w.Edges = edgesFromValue(raw, "edges", c)
	validateInto(w, lim, c)
	return w, c.result()
}

// arrayLen is the length of the array under key, 0 when it is absent or no array.
func arrayLen(m map[string]any, key string) int {
	a, _ := m[key].([]any)
	return len(a)
}

// metadataFromMap reads metadata fields, applying the defaults of API.md.
func metadataFromMap(m map[string]any, c *collector) Metadata {
	l := at("metadata")
	md := Metadata{
		ID:          c.optionalString(m, "id", l, ""),
		Name:        c.optionalString(m, "name", l, ""),
		Description: c.optionalString(m, "description", l, ""),
		Version:     c.optionalString(m, "version", l, "1.0.0"),
		Author:      c.optionalString(m, "author", l, ""),
		CreatedAt:   c.millis(m, "createdAt", l),
		UpdatedAt:   c.millis(m, "updatedAt", l),
		Tags:        stringArray(m, "tags", l, c),
	}
	return md
}

// stringArray reads the string array under key; absent or null gives [].
func stringArray(m map[string]any, key string, l loc, c *collector) []string {
	a, ok := c.array(m, key, l)
	if !ok {
		return []string{}
	}
	out := make([]string, 0, len(a))
	for i, v := range a {
		s, ok := v.(string)
		if !ok {
			c.add(loc{base: l.f(key), idx: i}.f(""), "must be a string")
			continue
		}
		out = append(out, s)
	}
	return out
}

// nodesFromValue reads the node array under key; absent or null gives [].
func nodesFromValue(m map[string]any, key string, c *collector) []Node {
	return objectsFromValue(m, key, c, sanitizeNode)
}

// edgesFromValue reads the edge array under key; absent or null gives [].
func edgesFromValue(m map[string]any, key string, c *collector) []Edge {
	return objectsFromValue(m, key, c, sanitizeEdge)
}

// objectsFromValue sanitises each object of the array under key, located by its index;
// absent or null gives [].
func objectsFromValue[T any](m map[string]any, key string, c *collector, sanitize func(map[string]any, loc, *collector) T) []T {
	a, ok := c.array(m, key, at(""))
	if !ok {
		return []T{}
	}
	out := make([]T, 0, len(a))
	for i, v := range a {
		l := loc{base: key, idx: i}
		o, ok := v.(map[string]any)
		if !ok {
			c.add(l.f(""), "must be an object")
			continue
		}
		out = append(out, sanitize(o, l, c))
	}
	return out
}

// SanitizeNode builds a node from a decoded object, dropping unknown keys and coercing flags
// to booleans; the problems (field paths relative to the node) say what is missing or wrong.
func SanitizeNode(raw map[string]any) (Node, []Problem) {
	c := &collector{}
	n := sanitizeNode(raw, at(""), c)
	return n, c.result()
}

// SanitizeEdge builds an edge from a decoded object as SanitizeNode does for nodes.
func SanitizeEdge(raw map[string]any) (Edge, []Problem) {
	c := &collector{}
	e := sanitizeEdge(raw, at(""), c)
	return e, c.result()
}

func sanitizeNode(m map[string]any, l loc, c *collector) Node {
	n := Node{
		ID:       c.requiredString(m, "id", l),
		Type:     c.optionalString(m, "type", l, ""),
		Selected: flag(m, "selected"),
		Dragging: flag(m, "dragging"),
		Width:    c.optionalNumber(m, "width", l),
		Height:   c.optionalNumber(m, "height", l),

		ParentID:     c.optionalString(m, "parentId", l, ""),
		ParentNode:   c.optionalString(m, "parentNode", l, ""),
		Extent:       c.extent(m, l),
		ExpandParent: flag(m, "expandParent"),
	}
	if pos, ok := c.object(m, "position", l); ok {
		pl := at(l.f("position"))
		n.Position = Position{X: c.number(pos, "x", pl), Y: c.number(pos, "y", pl)}
	} else if m["position"] == nil {
		c.add(l.f("position"), "is required")
	}
	if data, ok := c.object(m, "data", l); ok {
		n.Data = data
	} else {
		if m["data"] == nil {
			c.add(l.f("data"), "is required")
		}
		n.Data = map[string]any{}
	}
	checkNode(&n, l, c)
	return n
}

func sanitizeEdge(m map[string]any, l loc, c *collector) Edge {
	e := Edge{
		ID:       c.requiredString(m, "id", l),
		Source:   c.requiredString(m, "source", l),
		Target:   c.requiredString(m, "target", l),
		Type:     c.optionalString(m, "type", l, ""),
		Animated: flag(m, "animated"),
		Label:    c.optionalString(m, "label", l, ""),
		Selected: flag(m, "selected"),

		SourceHandle: c.optionalString(m, "sourceHandle", l, ""),
		TargetHandle: c.optionalString(m, "targetHandle", l, ""),
	}
	checkEdge(&e, l, c)
	return e
}
