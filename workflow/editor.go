package workflow

import (
	"encoding/json"
	"errors"
	"slices"
)

// Errors of the editor-state operations.
var (
	// ErrDuplicate is returned when a node or edge id is already in the state.
	ErrDuplicate = errors.New("id already exists")
	// ErrNotFound is returned when a node to patch is not in the state.
	ErrNotFound = errors.New("not found")
	// ErrMissingEndpoint is returned when an edge's source or target node is not in the state.
	ErrMissingEndpoint = errors.New("edge source or target node does not exist")
)

// ValidationError carries the problems that made an operation refuse its input.
type ValidationError struct {
	What     string // what was invalid ("node", "workflow"); "" means the request
	Problems []Problem
}

// Summary is the one-line message of the error: "<what> is invalid".
func (e *ValidationError) Summary() string {
	if e.What == "" {
		return "invalid request"
	}
	return e.What + " is invalid"
}

// Error implements error.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return "validation failed"
	}
	p := e.Problems[0]
	return "validation failed: " + p.Field + " " + p.Message
}

func (s *EditorState) nodeIndex(id string) int {
	return slices.IndexFunc(s.Nodes, func(n Node) bool { return n.ID == id })
}

func (s *EditorState) edgeIndex(id string) int {
	return slices.IndexFunc(s.Edges, func(e Edge) bool { return e.ID == id })
}

// AddNode appends n; ErrDuplicate when its id is taken.
func (s *EditorState) AddNode(n Node) error {
	if s.nodeIndex(n.ID) >= 0 {
		return ErrDuplicate
	}
	s.Nodes = append(s.Nodes, n)
	return nil
}

// PatchNode merges updates into the node's top-level fields (data is replaced as a whole when
// given) and re-sanitises it; the id never changes. ErrNotFound when absent, *ValidationError
// when the result is not a valid node.
func (s *EditorState) PatchNode(id string, updates map[string]any) error {
	i := s.nodeIndex(id)
	if i < 0 {
		return ErrNotFound
	}
	raw, err := toMap(s.Nodes[i])
	if err != nil {
		return err
	}
	for k, v := range updates {
		raw[k] = v
	}
	raw["id"] = id
	// A second pass through JSON gives Go-typed update values (int, []string) the shapes the
	// sanitiser reads, exactly as if a client had sent the merged node.
	if raw, err = toMap(raw); err != nil {
		return &ValidationError{Problems: []Problem{{Field: "updates", Message: err.Error()}}}
	}
	n, problems := SanitizeNode(raw)
	if problems != nil {
		return &ValidationError{Problems: problems}
	}
	s.Nodes[i] = n
	return nil
}

// toMap turns v into its JSON object form so updates merge exactly as a client sending the
// whole node would.
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// RemoveNode removes the node, every edge touching it, and their selections. Absent ids are
// ignored, so the operation is idempotent.
func (s *EditorState) RemoveNode(id string) {
	s.Nodes = slices.DeleteFunc(s.Nodes, func(n Node) bool { return n.ID == id })
	var gone []string
	s.Edges = slices.DeleteFunc(s.Edges, func(e Edge) bool {
		if e.Source == id || e.Target == id {
			gone = append(gone, e.ID)
			return true
		}
		return false
	})
	s.SelectedNodes = slices.DeleteFunc(s.SelectedNodes, func(x string) bool { return x == id })
	s.SelectedEdges = slices.DeleteFunc(s.SelectedEdges, func(x string) bool { return slices.Contains(gone, x) })
}

// AddEdge appends e; ErrDuplicate when its id is taken, ErrMissingEndpoint when its source or
// target node is not in the state.
func (s *EditorState) AddEdge(e Edge) error {
	if s.edgeIndex(e.ID) >= 0 {
		return ErrDuplicate
	}
	if s.nodeIndex(e.Source) < 0 || s.nodeIndex(e.Target) < 0 {
		return ErrMissingEndpoint
	}
	s.Edges = append(s.Edges, e)
	return nil
}

// RemoveEdge removes the edge and its selection; absent ids are ignored.
func (s *EditorState) RemoveEdge(id string) {
	s.Edges = slices.DeleteFunc(s.Edges, func(e Edge) bool { return e.ID == id })
	s.SelectedEdges = slices.DeleteFunc(s.SelectedEdges, func(x string) bool { return x == id })
}

// Clear empties the state, keeping LastUpdate.
func (s *EditorState) Clear() {
	*s = EditorState{LastUpdate: s.LastUpdate}
	s.Normalize()
}

// Load replaces nodes and edges and clears the selections.
func (s *EditorState) Load(nodes []Node, edges []Edge) {
	s.Nodes, s.Edges = nodes, edges
	s.SelectedNodes, s.SelectedEdges = nil, nil
	s.Normalize()
}

// Normalize turns nil slices into empty ones so that JSON carries [] rather than null.
func (s *EditorState) Normalize() {
	if s.Nodes == nil {
		s.Nodes = []Node{}
	}
	if s.Edges == nil {
		s.Edges = []Edge{}
	}
	if s.SelectedNodes == nil {
		s.SelectedNodes = []string{}
	}
	if s.SelectedEdges == nil {
		s.SelectedEdges = []string{}
	}
	for i := range s.Nodes {
		if s.Nodes[i].Data == nil {
			s.Nodes[i].Data = map[string]any{}
		}
	}
}

// Validate checks the whole state as a workflow's nodes and edges are checked (unique ids,
// existing endpoints, limits) and that selections name existing nodes and edges.
func (s *EditorState) Validate(lim Limits) []Problem {
	lim = lim.WithDefaults()
	c := &collector{}
	w := Workflow{Metadata: Metadata{ID: "state", Name: "state", Version: "1"}, Nodes: s.Nodes, Edges: s.Edges}
	validateInto(&w, lim, c)
	for i, id := range s.SelectedNodes {
		if s.nodeIndex(id) < 0 {
			c.add(loc{base: "selectedNodes", idx: i}.f(""), "node %q does not exist", id)
		}
	}
	for i, id := range s.SelectedEdges {
		if s.edgeIndex(id) < 0 {
			c.add(loc{base: "selectedEdges", idx: i}.f(""), "edge %q does not exist", id)
		}
	}
	return c.result()
}
