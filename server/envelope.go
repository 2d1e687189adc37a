package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// timeLayout is RFC 3339 in UTC with milliseconds, as the original server sends.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

type envelope struct {
	Success   bool       `json:"success"`
	Data      any        `json:"data"`
	Error     *errorBody `json:"error"`
	Message   string     `json:"message,omitempty"` // the error's message again: clients show body.message
	Timestamp string     `json:"timestamp"`
	Version   string     `json:"version"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details"`
}

func nowStamp() string { return time.Now().UTC().Format(timeLayout) }

// writeData writes the success envelope.
func (s *Server) writeData(ctx *fasthttp.RequestCtx, status int, data any) error {
	writeEnvelope(ctx, status, envelope{Success: true, Data: data, Version: s.cfg.Version})
	return nil
}

func writeEnvelope(ctx *fasthttp.RequestCtx, status int, env envelope) {
	env.Timestamp = nowStamp()
	b, err := json.Marshal(env)
	if err != nil {
		// Only a handler passing an unencodable value gets here: a bug, reported as one.
		status = http.StatusInternalServerError
		b, _ = json.Marshal(envelope{Error: &errorBody{Code: CodeInternal, Message: "response encoding failed"}, Message: "response encoding failed", Timestamp: env.Timestamp, Version: env.Version})
	}
	writeJSON(ctx, status, b)
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(body)
}
