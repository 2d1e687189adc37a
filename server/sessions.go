package server

import (
	"maps"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/workflow"
)

func (s *Server) bindSessions() {
	s.handle(http.MethodGet, "/api/sessions", s.listSessions)
	s.handle(http.MethodPost, "/api/sessions", s.createSession)
	s.handle(http.MethodPost, "/api/sessions/cleanup", s.cleanupSessions)
	s.handle(http.MethodGet, "/api/sessions/{id}", s.getSession)
	s.handle(http.MethodPut, "/api/sessions/{id}", s.updateSession)
	s.handle(http.MethodDelete, "/api/sessions/{id}", s.deleteSession)
	s.handle(http.MethodPost, "/api/sessions/{id}/extend", s.extendSession)
	s.handle(http.MethodPost, "/api/sessions/{id}/terminate", s.terminateSession)
}

// present reports the session as a client should see it now.
func present(sess *workflow.Session, now int64) *workflow.Session {
	sess.Status = sess.EffectiveStatus(now)
	if sess.Data == nil {
		sess.Data = map[string]any{}
	}
	return sess
}

func (s *Server) listSessions(ctx *fasthttp.RequestCtx) error {
	args := ctx.QueryArgs()
	f := store.SessionFilter{Status: workflow.SessionStatus(args.Peek("status")), WorkflowID: string(args.Peek("workflowId"))}
	switch f.Status {
	case "", workflow.SessionActive, workflow.SessionTerminated, workflow.SessionExpired:
	default:
		return errProblem("status", "must be active, terminated or expired")
	}
	list, err := s.deps.Store.Sessions.List(f)
	if err != nil {
		return dbError(err)
	}
	if list == nil {
		list = []workflow.Session{}
	}
	now := nowMs()
	for i := range list {
		present(&list[i], now)
	}
	return s.writeData(ctx, http.StatusOK, list)
}

func (s *Server) getSession(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	sess, err := s.deps.Store.Sessions.Get(id)
	if err != nil {
		return dbError(err)
	}
	return s.writeData(ctx, http.StatusOK, present(sess, nowMs()))
}

func (s *Server) createSession(ctx *fasthttp.RequestCtx) error {
	sc, err := workflow.DecodeSessionCreate(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	id := ""
	if sc.WorkflowID != nil {
		id = *sc.WorkflowID
	}
	sess := workflow.NewSession(id, sc.Data, nowMs(), sc.ExpiresIn)
	if err := s.deps.Store.Sessions.Create(sess); err != nil {
		return dbError(err)
	}
	return s.writeData(ctx, http.StatusCreated, present(sess, nowMs()))
}

func (s *Server) updateSession(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	sc, err := workflow.DecodeSessionUpdate(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	return s.changeSession(ctx, id, func(sess *workflow.Session, now int64) error {
		if sc.WorkflowID != nil {
			sess.WorkflowID = *sc.WorkflowID
		}
		if sc.Data != nil {
			merged := make(map[string]any, len(sess.Data)+len(sc.Data))
			maps.Copy(merged, sess.Data)
			maps.Copy(merged, sc.Data)
			sess.Data = merged
		}
		if sc.Status != "" {
			sess.Status = sc.Status
		}
		sess.UpdatedAt = now
		return nil
	})
}

// changeSession applies fn to a stored session at one instant and answers with the result.
func (s *Server) changeSession(ctx *fasthttp.RequestCtx, id string, fn func(sess *workflow.Session, now int64) error) error {
	now := nowMs()
	sess, err := s.deps.Store.Sessions.Update(id, func(sess *workflow.Session) error { return fn(sess, now) })
	if err != nil {
		return dbError(err)
	}
	return s.writeData(ctx, http.StatusOK, present(sess, now))
}

func (s *Server) deleteSession(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	sess, err := s.deps.Store.Sessions.Delete(id)
	if err != nil {
		return dbError(err)
	}
	return s.writeData(ctx, http.StatusOK, map[string]any{"deleted": true, "session": present(sess, nowMs())})
}

func (s *Server) extendSession(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	ext, err := workflow.DecodeExtension(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	return s.changeSession(ctx, id, func(sess *workflow.Session, now int64) error {
		if sess.Status == workflow.SessionTerminated {
			return errProblem("status", "a terminated session cannot be extended")
		}
		sess.Extend(ext, now)
		return nil
	})
}

func (s *Server) terminateSession(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	return s.changeSession(ctx, id, func(sess *workflow.Session, now int64) error {
		sess.Terminate(now)
		return nil
	})
}

func (s *Server) cleanupSessions(ctx *fasthttp.RequestCtx) error {
	n, err := s.deps.Store.Sessions.Cleanup(time.Now())
	if err != nil {
		return dbError(err)
	}
	return s.writeData(ctx, http.StatusOK, map[string]any{"count": n})
}
