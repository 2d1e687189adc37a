package server

import (
	"encoding/json"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/workflow"
	"github.com/gemini-flow/gemini-flow/ws"
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

// stateEnvelope is the success envelope of the editor store: the state in data, and its
// fields also at the top level, where the terminal client's store adapter reads them
// (response.nodes, response.edges, response.selectedNodes, response.selectedEdges).
type stateEnvelope struct {
	Success bool `json:"success"`
	workflow.EditorState
	Data    workflow.EditorState `json:"data"`
	Error   *errorBody           `json:"error"`
	Stamp   string               `json:"timestamp"`
	Version string               `json:"version"`
}

// writeState answers with the editor state.
func (s *Server) writeState(ctx *fasthttp.RequestCtx, status int, st workflow.EditorState) error {
	b, err := json.Marshal(stateEnvelope{Success: true, EditorState: st, Data: st, Stamp: nowStamp(), Version: s.cfg.Version})
	if err != nil {
		return err
	}
	writeJSON(ctx, status, b)
	return nil
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
		return dbError(err)
	}
	s.broadcast(ws.EventStoreUpdated, storeUpdatedEvent{State: st, NodeCount: len(st.Nodes), EdgeCount: len(st.Edges), LastUpdate: st.LastUpdate})
	return s.writeState(ctx, status, st)
}

func (s *Server) getState(ctx *fasthttp.RequestCtx) error {
	st, err := s.deps.Store.Editor.Get()
	if err != nil {
		return dbError(err)
	}
	return s.writeState(ctx, http.StatusOK, st)
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

func (s *Server) putNodes(ctx *fasthttp.RequestCtx) error {
	nodes, err := workflow.DecodeNodes(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error {
		// Edges and selections that lose a node go with it, as when removing one.
		removeMissing(st.Nodes, nodes, func(n workflow.Node) string { return n.ID }, st.RemoveNode)
		st.Nodes = nodes
		return nil
	})
}

func (s *Server) putEdges(ctx *fasthttp.RequestCtx) error {
	edges, err := workflow.DecodeEdges(ctx.PostBody(), s.lim)
	if err != nil {
		return err
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
	n, err := workflow.DecodeNode(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusCreated, func(st *workflow.EditorState) error { return st.AddNode(n) })
}

func (s *Server) patchNode(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	updates, err := workflow.DecodePatch(ctx.PostBody(), s.lim)
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
	e, err := workflow.DecodeEdge(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusCreated, func(st *workflow.EditorState) error { return st.AddEdge(e) })
}

func (s *Server) removeEdge(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { st.RemoveEdge(id); return nil })
}

func (s *Server) loadWorkflow(ctx *fasthttp.RequestCtx) error {
	load, err := workflow.DecodeLoad(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { st.Load(load.Nodes, load.Edges); return nil })
}

func (s *Server) clearState(ctx *fasthttp.RequestCtx) error {
	return s.mutate(ctx, http.StatusOK, func(st *workflow.EditorState) error { st.Clear(); return nil })
}

func (s *Server) syncState(ctx *fasthttp.RequestCtx) error {
	id, err := workflow.DecodeSync(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	wf, err := s.deps.Store.Workflows.Get(id)
	if err != nil {
		return dbError(err)
	}
	st, err := s.deps.Store.Editor.Update(func(st *workflow.EditorState) error {
		st.Load(append([]workflow.Node(nil), wf.Nodes...), append([]workflow.Edge(nil), wf.Edges...))
		return nil
	})
	if err != nil {
		return dbError(err)
	}
	s.broadcast(ws.EventStoreSynced, storeSyncedEvent{State: st, Workflow: wf.Metadata})
	return s.writeState(ctx, http.StatusOK, st)
}
