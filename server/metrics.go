package server

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func (s *Server) bindMetrics() {
	s.handleRaw(http.MethodGet, "/metrics", s.metrics)
}

var exposition = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// metrics writes the Prometheus exposition, gzipped when the scraper asks.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	if s.deps.Metrics == nil {
		s.writeError(ctx, errNotFound("metrics"))
		return
	}
	buf := exposition.Get().(*bytes.Buffer)
	buf.Reset()
	defer exposition.Put(buf)
	s.deps.Metrics.WritePrometheus(buf)
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType(monitoring.ContentType)
	ctx.Response.Header.Set(fasthttp.HeaderVary, "Accept-Encoding")
	if ctx.Request.Header.HasAcceptEncoding("gzip") {
		ctx.Response.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
		ctx.SetBody(fasthttp.AppendGzipBytes(nil, buf.Bytes()))
		return
	}
	ctx.SetBody(buf.Bytes())
}
