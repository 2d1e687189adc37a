package workflow

// DecodeUpdate decodes a PUT body (a JSON object) for ApplyUpdate; the error is a *DecodeError.
func DecodeUpdate(body []byte, lim Limits) (map[string]any, error) {
	return decodeObject(body, lim.WithDefaults().MaxDepth)
}

// metadataKeys are the metadata fields a client may change; id and createdAt are kept.
var metadataKeys = []string{"name", "description", "version", "author", "tags"}

// ApplyUpdate merges a partial update into w: metadata fields from patch.metadata and from the
// top level (which wins), nodes and edges replaced when present, id and createdAt kept,
// updatedAt set to now. The result is validated; on any problem w is left unchanged.
func ApplyUpdate(w *Workflow, patch map[string]any, lim Limits, now int64) []Problem {
	lim = lim.WithDefaults()
	c := &collector{}
	next := *w
	next.Metadata.Tags = append([]string{}, w.Metadata.Tags...)

	meta := map[string]any{}
	if m, ok := c.object(patch, "metadata", at("")); ok {
		for _, k := range metadataKeys {
			if v, ok := m[k]; ok {
				meta[k] = v
			}
		}
	}
	for _, k := range metadataKeys {
		if v, ok := patch[k]; ok {
			meta[k] = v
		}
	}
	l := at("metadata")
	md := &next.Metadata
	if _, ok := meta["name"]; ok {
		md.Name = c.requiredString(meta, "name", l)
	}
	if _, ok := meta["description"]; ok {
		md.Description = c.optionalString(meta, "description", l, "")
	}
	if _, ok := meta["version"]; ok {
		md.Version = c.optionalString(meta, "version", l, "1.0.0")
	}
	if _, ok := meta["author"]; ok {
		md.Author = c.optionalString(meta, "author", l, "")
	}
	if _, ok := meta["tags"]; ok {
		md.Tags = stringArray(meta, "tags", l, c)
	}
	md.UpdatedAt = now
	if _, ok := patch["nodes"]; ok {
		next.Nodes = nodesFromValue(patch, "nodes", c)
	}
	if _, ok := patch["edges"]; ok {
		next.Edges = edgesFromValue(patch, "edges", c)
	}
	next.Normalize()
	validateInto(&next, lim, c)
	if problems := c.result(); problems != nil {
		return problems
	}
	*w = next
	return nil
}
