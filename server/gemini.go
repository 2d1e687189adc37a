package server

import (
	"errors"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/gemini"
)

func (s *Server) bindGemini() {
	s.handle(http.MethodPost, "/api/gemini/execute", s.executeGemini)
	s.handle(http.MethodGet, "/api/gemini/status", s.geminiStatus)
}

var errGeminiOff = newError(http.StatusServiceUnavailable, CodeUpstreamUnavailable, "no Gemini API key is configured", nil)

func (s *Server) executeGemini(ctx *fasthttp.RequestCtx) error {
	body, err := s.decodeBody(ctx)
	if err != nil {
		return err
	}
	nodes, p1 := nodesField(body, "nodes", true)
	edges, p2 := edgesField(body, "edges", false)
	problems := append(p1, p2...)
	if p1 == nil && len(nodes) == 0 {
		problems = append(problems, problemOf("nodes", "must hold at least one node"))
	}
	if len(problems) > 0 {
		return errValidation("flow is invalid", problems)
	}
	if s.deps.Gemini == nil {
		return errGeminiOff
	}
	res, err := s.deps.Gemini.Execute(s.base, nodes, edges)
	var ue *gemini.UpstreamError
	switch {
	case errors.Is(err, gemini.ErrNoAPIKey):
		return errGeminiOff
	case errors.As(err, &ue):
		details := map[string]any{"upstreamStatus": ue.Status, "timeout": ue.Timeout}
		return newError(http.StatusBadGateway, CodeUpstreamError, ue.Error(), details)
	case err != nil:
		return err
	}
	return s.writeData(ctx, http.StatusOK, map[string]any{"result": res.Text, "model": res.Model, "latencyMs": res.Latency.Milliseconds()})
}

func (s *Server) geminiStatus(ctx *fasthttp.RequestCtx) error {
	st := gemini.Status{}
	if s.deps.Gemini != nil {
		st = s.deps.Gemini.Status()
	}
	status := "unconfigured"
	if st.HasAPIKey {
		status = "ready"
	}
	return s.writeData(ctx, http.StatusOK, map[string]any{"status": status, "hasApiKey": st.HasAPIKey, "model": st.Model, "timestamp": nowStamp()})
}
