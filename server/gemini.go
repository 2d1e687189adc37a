package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/gemini"
	"github.com/gemini-flow/gemini-flow/workflow"
)

func (s *Server) bindGemini() {
	s.handle(http.MethodPost, "/api/gemini/execute", s.executeGemini)
	s.handle(http.MethodGet, "/api/gemini/status", s.geminiStatus)
}

var errGeminiOff = newError(http.StatusServiceUnavailable, CodeUpstreamUnavailable, "no Gemini API key is configured", nil)

// executeMetadata describes one execution, as the editor shows it.
type executeMetadata struct {
	NodesProcessed int    `json:"nodesProcessed"`
	EdgesProcessed int    `json:"edgesProcessed"`
	PromptLength   int    `json:"promptLength"`
	Timestamp      string `json:"timestamp"`
	Model          string `json:"model"`
	LatencyMs      int64  `json:"latencyMs"`
}

type executeData struct {
	Result   string          `json:"result"`
	Metadata executeMetadata `json:"metadata"`
}

// executeEnvelope is the success envelope with the editor's fields also at the top level,
// where the editor reads them.
type executeEnvelope struct {
	Success bool            `json:"success"`
	Result  string          `json:"result"`
	Meta    executeMetadata `json:"metadata"`
	Data    executeData     `json:"data"`
	Error   *errorBody      `json:"error"`
	Stamp   string          `json:"timestamp"`
	Version string          `json:"version"`
}

func (s *Server) executeGemini(ctx *fasthttp.RequestCtx) error {
	flow, problems, err := workflow.DecodeFlow(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	if problems != nil {
		return errValidation("flow is invalid", problems)
	}
	prompt, err := gemini.Prompt(flow.Nodes, flow.Edges)
	if err != nil {
		return errProblem("nodes", err.Error())
	}
	if s.deps.Gemini == nil {
		return errGeminiOff
	}
	res, err := s.deps.Gemini.Execute(s.base, prompt)
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
	now := nowStamp()
	meta := executeMetadata{NodesProcessed: len(flow.Nodes), EdgesProcessed: len(flow.Edges), PromptLength: len(prompt),
		Timestamp: now, Model: res.Model, LatencyMs: res.Latency.Milliseconds()}
	b, err := json.Marshal(executeEnvelope{Success: true, Result: res.Text, Meta: meta, Data: executeData{res.Text, meta}, Stamp: now, Version: s.cfg.Version})
	if err != nil {
		return err
	}
	writeJSON(ctx, http.StatusOK, b)
	return nil
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
