package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/workflow"
)

func (s *Server) bindEditor() {
	s.handle(http.MethodGet, "/api/store/state", s.getState)
	s.handle(http.MethodPut, "/api/store/state", s.putState)
	s.handle(http.MethodPut, "/api/store/nodes", s.putNodes)
	s.handle(http.MethodPut, "/api/store/edges", s.putEdges)
	s.handle(http.MethodPost, "/api/store/nodes", s.addNode)
	s.handle(http.MethodPatch, "/api/store/nodes/{id}", s.patchNode)
	s.handle(http.MethodDelete, "/api/store/nodes/{id}", s.removeNode)
	s.handle(http.MethodPost, "/api/store/edges", s.addEdge)
	s.handle(http.MethodDelete, "/api/store/edges/{id}", s.removeEdge)
	s.handle(http.MethodPost, "/api/store/workflow", s.loadWorkflow)
	s.handle(http.MethodPost, "/api/store/clear", s.clearState)
	s.handle(http.MethodPost, "/api/store/sync", s.syncState)
}

type storeUpdatedEvent struct {
	State      workflow.EditorState `json:"state"`
	NodeCount  int                  `json:"nodeCount"`
	EdgeCount  int                  `json:"edgeCount"`
	LastUpdate int64                `json:"lastUpdate"`
}

type storeSyncedEvent struct {
	State    workflow.EditorState `json:"state"`
	Workflow workflow.Metadata    `json:"workflow"`
}

// decodeBody reads a JSON object body; an empty body is an empty object.
func (s *Server) decodeBody(ctx *fasthttp.RequestCtx) (map[string]any, error) {
	body := ctx.PostBody()
	m := map[string]any{}
	if len(body) == 0 {
		return m, nil
	}
	if err := workflow.DecodeJSON(body, s.lim.MaxDepth, &m); err != nil {
		return nil, err
	}
	if m == nil { // the body was null
		m = map[string]any{}
	}
	return m, nil
}

// idAndBody reads the path's {id}, then the JSON object body.
func (s *Server) idAndBody(ctx *fasthttp.RequestCtx) (string, map[string]any, error) {
	id, err := pathID(ctx)
	if err != nil {
		return "", nil, err
	}
	body, err := s.decodeBody(ctx)
	if err != nil {
		return "", nil, err
	}
	return id, body, nil
}

// mutate applies fn to the editor state, answers with the new state and tells every client.
func (s *Server) mutate(ctx *fasthttp.RequestCtx, status int, fn func(*workflow.EditorState) error) error {
	st, err := s.deps.Store.Editor.Update(func(st *workflow.EditorState) error {
		if err := fn(st); err != nil {
			return err
		}
		st.Normalize()
		if problems := st.Validate(s.lim); problems != nil {
			return errValidation("editor state would be invalid", problems)
		}
		return nil
	})
	if err != nil {
		return editorErr(err)
	}
	s.broadcast("store.updated", storeUpdatedEvent{State: st, NodeCount: len(st.Nodes), EdgeCount: len(st.Edges), LastUpdate: st.LastUpdate})
	return s.writeData(ctx, status, st)
}

func editorErr(err error) error {
	switch {
	case errors.Is(err, workflow.ErrDuplicate):
		return errConflict("an element with this id already exists")
	case errors.Is(err, workflow.ErrNotFound):
		return errNotFound("node")
	case errors.Is(err, workflow.ErrMissingEndpoint):
		return errProblem("edge", err.Error())
	}
	return dbError(err)
}

func (s *Server) getState(ctx *fasthttp.RequestCtx) error {
	st, err := s.deps.Store.Editor.Get()
	if err != nil {
		return dbError(err)
	}
	return s.writeData(ctx, http.StatusOK, st)
}

func (s *Server) putState(ctx *fasthttp.RequestCtx) error {
	next, problems, err := workflow.DecodeState(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	if problems != nil {
		return errValidation("editor state is invalid", problems)
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error {
		st.Nodes, st.Edges = next.Nodes, next.Edges
		st.SelectedNodes, st.SelectedEdges = next.SelectedNodes, next.SelectedEdges
		return nil
	})
}

// nodesField sanitises body[key] as a node array; required says whether it must be present.
func nodesField(body map[string]any, key string, required bool) ([]workflow.Node, []workflow.Problem) {
	return arrayField(body, key, required, workflow.SanitizeNode)
}

func edgesField(body map[string]any, key string, required bool) ([]workflow.Edge, []workflow.Problem) {
	return arrayField(body, key, required, workflow.SanitizeEdge)
}

// arrayField sanitises every object of body[key], naming each problem by its index.
func arrayField[T any](body map[string]any, key string, required bool, sanitize func(map[string]any) (T, []workflow.Problem)) ([]T, []workflow.Problem) {
	raw, ok := body[key]
	if !ok || raw == nil {
		if required {
			return nil, []workflow.Problem{{Field: key, Message: "is required"}}
		}
		return []T{}, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, []workflow.Problem{{Field: key, Message: "must be an array"}}
	}
	var problems []workflow.Problem
	out := make([]T, 0, len(list))
	for i, v := range list {
		prefix := key + "[" + strconv.Itoa(i) + "]"
		m, ok := v.(map[string]any)
		if !ok {
			problems = append(problems, workflow.Problem{Field: prefix, Message: "must be an object"})
			continue
		}
		item, ps := sanitize(m)
		problems = append(problems, prefixed(prefix, ps)...)
		out = append(out, item)
	}
	return out, problems
}

func prefixed(prefix string, ps []workflow.Problem) []workflow.Problem {
	for i := range ps {
		if ps[i].Field == "" {
			ps[i].Field = prefix
		} else {
			ps[i].Field = prefix + "." + ps[i].Field
		}
	}
	return ps
}

// objectField reads body[key] as an object.
func objectField(body map[string]any, key string) (map[string]any, error) {
	m, ok := body[key].(map[string]any)
	if !ok {
		return nil, errProblem(key, "is required and must be an object")
	}
	return m, nil
}

func (s *Server) putNodes(ctx *fasthttp.RequestCtx) error {
	body, err := s.decodeBody(ctx)
	if err != nil {
		return err
	}
	nodes, problems := nodesField(body, "nodes", true)
	if problems != nil {
		return errValidation("nodes are invalid", problems)
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error {
		// Edges and selections that lose a node go with it, as when removing one.
		removeMissing(st.Nodes, nodes, func(n workflow.Node) string { return n.ID }, st.RemoveNode)
		st.Nodes = nodes
		return nil
	})
}

func (s *Server) putEdges(ctx *fasthttp.RequestCtx) error {
	body, err := s.decodeBody(ctx)
	if err != nil {
		return err
	}
	edges, problems := edgesField(body, "edges", true)
	if problems != nil {
		return errValidation("edges are invalid", problems)
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error {
		removeMissing(st.Edges, edges, func(e workflow.Edge) string { return e.ID }, st.RemoveEdge)
		st.Edges = edges
		return nil
	})
}

// removeMissing removes, one id at a time, every element of old that next no longer has.
// The ids are gathered first because remove changes old.
func removeMissing[T any](old, next []T, id func(T) string, remove func(string)) {
	keep := make(map[string]bool, len(next))
	for _, v := range next {
		keep[id(v)] = true
	}
	var gone []string
	for _, v := range old {
		if !keep[id(v)] {
			gone = append(gone, id(v))
		}
	}
	for _, g := range gone {
		remove(g)
	}
}

func (s *Server) addNode(ctx *fasthttp.RequestCtx) error {
	return addElement(s, ctx, "node", workflow.SanitizeNode, (*workflow.EditorState).AddNode)
}

// addElement sanitises body[key] and adds it to the editor state.
func addElement[T any](s *Server, ctx *fasthttp.RequestCtx, key string, sanitize func(map[string]any) (T, []workflow.Problem), add func(*workflow.EditorState, T) error) error {
	body, err := s.decodeBody(ctx)
	if err != nil {
		return err
	}
	raw, err := objectField(body, key)
	if err != nil {
		return err
	}
	v, problems := sanitize(raw)
	if problems != nil {
		return errValidation(key+" is invalid", prefixed(key, problems))
	}
	return s.mutate(ctx, http.StatusCreated, func(st *workflow.EditorState) error { return add(st, v) })
}

func (s *Server) patchNode(ctx *fasthttp.RequestCtx) error {
	id, body, err := s.idAndBody(ctx)
	if err != nil {
		return err
	}
	updates, err := objectField(body, "updates")
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { return st.PatchNode(id, updates) })
}

func (s *Server) removeNode(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { st.RemoveNode(id); return nil })
}

func (s *Server) addEdge(ctx *fasthttp.RequestCtx) error {
	return addElement(s, ctx, "edge", workflow.SanitizeEdge, (*workflow.EditorState).AddEdge)
}

func (s *Server) removeEdge(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { st.RemoveEdge(id); return nil })
}

func (s *Server) loadWorkflow(ctx *fasthttp.RequestCtx) error {
	body, err := s.decodeBody(ctx)
	if err != nil {
		return err
	}
	nodes, p1 := nodesField(body, "nodes", false)
	edges, p2 := edgesField(body, "edges", false)
	if problems := append(p1, p2...); len(problems) > 0 {
		return errValidation("workflow is invalid", problems)
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { st.Load(nodes, edges); return nil })
}

func (s *Server) clearState(ctx *fasthttp.RequestCtx) error {
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { st.Clear(); return nil })
}

func (s *Server) syncState(ctx *fasthttp.RequestCtx) error {
	body, err := s.decodeBody(ctx)
	if err != nil {
		return err
	}
	id, ok := body["workflowId"].(string)
	if !ok || id == "" {
		return errProblem("workflowId", "is required and must be a string")
	}
	if err := workflow.ValidateID(id); err != nil {
		return errProblem("workflowId", err.Error())
	}
	wf, err := s.deps.Store.Workflows.Get(id)
	if err != nil {
		return workflowErr(err)
	}
	st, err := s.deps.Store.Editor.Update(func(st *workflow.EditorState) error {
		st.Load(append([]workflow.Node(nil), wf.Nodes...), append([]workflow.Edge(nil), wf.Edges...))
		return nil
	})
	if err != nil {
		return dbError(err)
	}
	s.broadcast("store.synced", storeSyncedEvent{State: st, Workflow: wf.Metadata})
	return s.writeData(ctx, http.StatusOK, st)
}
