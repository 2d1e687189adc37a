package server

import (
	"bytes"
	"net"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"
)

// Browser safety: what a page on another site, or one reached through DNS rebinding, can make
// this server do. Without keys a browser is the only thing between such a page and the data.
var (
	errHostNotAllowed  = newError(http.StatusForbidden, CodeForbidden, "this host name is not allowed; add it to --allowed-hosts", nil)
	errCrossOrigin     = newError(http.StatusForbidden, CodeForbidden, "requests from this origin may not change anything", nil)
	errNotJSONMedia    = newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "writes take Content-Type: application/json", nil)
	mediaJSON          = []byte("application/json")
	allowedHostsAnyone = "*"
)

// hostGuard refuses requests whose Host is not this server's: a loopback name or address when
// the listener is on loopback, or one of --allowed-hosts. A page behind DNS rebinding
// (rebind.example resolving to 127.0.0.1) sends its own name here.
func (s *Server) hostGuard(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !s.hostAllowed(ctx.Host()) {
			s.reject(ctx, errHostNotAllowed)
			return
		}
		next(ctx)
	}
}

// hostAllowed is the Host rule. It is enforced when the listener is on loopback or hosts are
// listed; a server bound to the network with no list answers any name (start-up warns).
func (s *Server) hostAllowed(hostport []byte) bool {
	if len(hostport) == 0 || s.allowAnyHost {
		return true
	}
	host := hostOnly(string(hostport))
	if s.allowedHosts[host] || isLoopbackHost(host) {
		return true
	}
	if s.loopbackBind.Load() {
		return false
	}
	if len(s.allowedHosts) == 0 {
		return true
	}
	// Rebinding needs a name; a network bind answers its addresses as well as listed names.
	return net.ParseIP(host) != nil
}

// hostOnly strips the port and the IPv6 brackets, lower-cased.
func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeGuard keeps cross-site pages from changing anything: a write whose Origin is neither an
// allowed CORS origin nor this server's own is refused, and an API write that carries a body
// or a Content-Type must say application/json (a form or text/plain post is refused), so no
// simple cross-site request reaches a handler that writes.
func (s *Server) writeGuard(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if safeMethod(ctx) {
			next(ctx)
			return
		}
		if origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin); len(origin) > 0 && !s.originAllowed(origin) && !sameOrigin(origin, ctx.Host()) {
			s.reject(ctx, errCrossOrigin)
			return
		}
		if isAPI(ctx.Path()) && !jsonOrNoBody(ctx) {
			s.reject(ctx, errNotJSONMedia)
			return
		}
		next(ctx)
	}
}

func safeMethod(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsGet() || ctx.IsHead() || ctx.IsOptions()
}

// jsonOrNoBody accepts application/json (any parameters) and bodiless requests with no type.
func jsonOrNoBody(ctx *fasthttp.RequestCtx) bool {
	ct := ctx.Request.Header.ContentType()
	if len(ct) == 0 {
		return ctx.Request.Header.ContentLength() == 0 && len(ctx.Request.Body()) == 0
	}
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return bytes.EqualFold(bytes.TrimSpace(ct), mediaJSON)
}

// sameOrigin reports whether origin (scheme://host[:port]) names the host the request was
// sent to; the Host itself has passed hostGuard.
func sameOrigin(origin, host []byte) bool {
	o := string(origin)
	i := strings.Index(o, "://")
	if i < 0 || len(host) == 0 {
		return false
	}
	return strings.EqualFold(o[i+3:], string(host))
}

// exposure lists what the configuration leaves open to the network: data and backups without
// a key on a non-loopback bind, and the query API without a metrics key.
func (s *Server) exposure() []string {
	var w []string
	if s.loopbackBind.Load() || !s.serving.Load() {
		return nil
	}
	if len(s.apiKeys) == 0 {
		w = append(w, "listening beyond loopback without --api-key: anyone who reaches this port reads and changes the data and downloads backups")
	}
	if s.metricsKey == nil {
		w = append(w, "listening beyond loopback without --metrics-key: anyone who reaches this port runs queries on /api/v1/*")
	}
	return w
}
