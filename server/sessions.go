package server

import (
	"errors"
	"maps"
	"math"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/workflow"
)

// maxSessionTTL bounds a session's lifetime and each extension.
const maxSessionTTL = 30 * 24 * time.Hour

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

func sessionErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("session")
	}
	return dbError(err)
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
		return sessionErr(err)
	}
	return s.writeData(ctx, http.StatusOK, present(sess, nowMs()))
}

// msField reads an optional positive duration in milliseconds, at most maxSessionTTL.
func msField(body map[string]any, key string) (int64, error) {
	v, ok := body[key]
	if !ok || v == nil {
		return 0, nil
	}
	f, ok := v.(float64)
	if !ok || f <= 0 || f != math.Trunc(f) || f > float64(maxSessionTTL.Milliseconds()) {
		return 0, errProblem(key, "must be a whole number of milliseconds from 1 to "+maxSessionTTL.String())
	}
	return int64(f), nil
}

// sessionFields reads workflowId and data, both optional.
func sessionFields(body map[string]any) (wfID *string, data map[string]any, err error) {
	if v, ok := body["workflowId"]; ok && v != nil {
		id, ok := v.(string)
		if !ok {
			return nil, nil, errProblem("workflowId", "must be a string")
		}
		if id != "" {
			if err := workflow.ValidateID(id); err != nil {
				return nil, nil, errProblem("workflowId", err.Error())
			}
		}
		wfID = &id
	}
	if v, ok := body["data"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, nil, errProblem("data", "must be an object")
		}
		data = m
	}
	return wfID, data, nil
}

func (s *Server) createSession(ctx *fasthttp.RequestCtx) error {
	body, err := s.decodeBody(ctx)
	if err != nil {
		return err
	}
	wfID, data, err := sessionFields(body)
	if err != nil {
		return err
	}
	ttl, err := msField(body, "expiresIn")
	if err != nil {
		return err
	}
	id := ""
	if wfID != nil {
		id = *wfID
	}
	sess := workflow.NewSession(id, data, nowMs(), ttl)
	if err := s.deps.Store.Sessions.Create(sess); err != nil {
		return sessionErr(err)
	}
	return s.writeData(ctx, http.StatusCreated, present(sess, nowMs()))
}

func (s *Server) updateSession(ctx *fasthttp.RequestCtx) error {
	id, body, err := s.idAndBody(ctx)
	if err != nil {
		return err
	}
	wfID, data, err := sessionFields(body)
	if err != nil {
		return err
	}
	var status workflow.SessionStatus
	if v, ok := body["status"]; ok && v != nil {
		st, _ := v.(string)
		switch workflow.SessionStatus(st) {
		case workflow.SessionActive, workflow.SessionTerminated:
			status = workflow.SessionStatus(st)
		default:
			return errProblem("status", "must be active or terminated")
		}
	}
	return s.changeSession(ctx, id, func(sess *workflow.Session, now int64) error {
		if wfID != nil {
			sess.WorkflowID = *wfID
		}
		if data != nil {
			merged := make(map[string]any, len(sess.Data)+len(data))
			maps.Copy(merged, sess.Data)
			maps.Copy(merged, data)
			sess.Data = merged
		}
		if status != "" {
			sess.Status = status
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
		return sessionErr(err)
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
		return sessionErr(err)
	}
	return s.writeData(ctx, http.StatusOK, map[string]any{"deleted": true, "session": present(sess, nowMs())})
}

func (s *Server) extendSession(ctx *fasthttp.RequestCtx) error {
	id, body, err := s.idAndBody(ctx)
	if err != nil {
		return err
	}
	ext, err := msField(body, "extensionMs")
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
