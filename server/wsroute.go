package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

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
		// The upgrader answers refusals through Error above; its return adds nothing.
		_ = up.Upgrade(ctx, s.deps.Hub.Serve)
	})
}

// wsOriginAllowed accepts clients without an Origin (non-browser), pages of this server itself
// (the built-in metrics page), and the CORS origins.
func (s *Server) wsOriginAllowed(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin)
	if len(origin) == 0 || s.originAllowed(origin) {
		return true
	}
	u, err := url.Parse(string(origin))
	return err == nil && strings.EqualFold(u.Host, string(ctx.Host()))
}
