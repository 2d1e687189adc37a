package server

import (
	"net/http"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

var errTooManyClients = newError(http.StatusServiceUnavailable, CodeUnavailable, "too many live clients; try again later", nil)

func (s *Server) bindWS() {
	up := &websocket.FastHTTPUpgrader{
		CheckOrigin: s.wsOriginAllowed,
		Error: func(ctx *fasthttp.RequestCtx, status int, reason error) {
			code := CodeValidation
			if status == http.StatusForbidden {
				code = CodeForbidden
			}
			s.writeError(ctx, newError(status, code, reason.Error(), nil))
		},
	}
	s.handleRaw(http.MethodGet, "/ws", func(ctx *fasthttp.RequestCtx) {
		if s.deps.Hub == nil {
			s.writeError(ctx, errNotFound("websocket"))
			return
		}
		if s.deps.Hub.Full() {
			ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "5")
			s.writeError(ctx, errTooManyClients)
			return
		}
		// The upgrader answers refusals through Error above; its return adds nothing.
		_ = up.Upgrade(ctx, s.deps.Hub.Serve)
	})
}

// wsOriginAllowed accepts clients without an Origin (non-browser), pages of this server itself
// (the built-in metrics page; the Host has passed hostGuard), and the CORS origins.
func (s *Server) wsOriginAllowed(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin)
	return len(origin) == 0 || s.originAllowed(origin) || sameOrigin(origin, ctx.Host())
}
