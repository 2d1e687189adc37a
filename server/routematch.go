package server

import (
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// routeTemplate is a registered template split into segments, so that a path can be matched to
// it without the router's per-lookup allocations (it copies every parameter value).
type routeTemplate struct {
	label   any      // the template, boxed once
	methods []string // the methods registered under it
	segs    []string // "" stands for a parameter segment
	rest    bool     // ends with a catch-all {name:*}
	params  int
}

func newRouteTemplate(template string) routeTemplate {
	rt := routeTemplate{label: any(template)}
	p := strings.TrimPrefix(template, "/")
	if p == "" {
		return rt
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, ":*}"):
			rt.rest = true
			rt.params++
		case strings.Contains(seg, "{"):
			// A parameter, with or without a pattern: labelling only needs the segment's place.
			rt.segs = append(rt.segs, "")
			rt.params++
		default:
			rt.segs = append(rt.segs, seg)
		}
	}
	return rt
}

// matches reports whether path has the template's shape: each static segment equal, each
// parameter a non-empty segment, and nothing left over unless the template ends in a catch-all.
func (rt *routeTemplate) matches(path string) bool {
	p, ok := strings.CutPrefix(path, "/")
	if !ok {
		return false
	}
	more := p != "" // a segment, possibly empty, remains
	for _, seg := range rt.segs {
		if !more {
			return false
		}
		part := p
		if i := strings.IndexByte(p, '/'); i >= 0 {
			part, p = p[:i], p[i+1:]
		} else {
			p, more = "", false
		}
		if seg == "" && part == "" || seg != "" && part != seg {
			return false
		}
	}
	if rt.rest {
		return more
	}
	return !more
}

// recordTemplate keeps a template and a method it is registered under.
func (s *Server) recordTemplate(template, method string) {
	for i := range s.templates {
		if s.templates[i].label.(string) == template {
			s.templates[i].methods = append(s.templates[i].methods, method)
			return
		}
	}
	rt := newRouteTemplate(template)
	rt.methods = []string{method}
	s.templates = append(s.templates, rt)
}

// resolveRoute labels the request, once, at the start of the chain and for what fasthttp
// refused before it: with the template its method and path match, else the one its path
// matches under another method (a 405, or a preflight's), preferring the one with the fewest
// parameters (a static "/api/workflows/import" over "/api/workflows/{id}", as the router
// does), then the earliest registered. Nothing matching leaves the request unmatched. It
// allocates nothing.
func (s *Server) resolveRoute(ctx *fasthttp.RequestCtx, method []byte) {
	if _, ok := ctx.UserValue(routeKey).(string); ok {
		return
	}
	path := b2s(ctx.Request.URI().PathOriginal())
	var best, other *routeTemplate
	for i := range s.templates {
		rt := &s.templates[i]
		if (best != nil && rt.params >= best.params) || !rt.matches(path) {
			continue
		}
		if slices.Contains(rt.methods, b2s(method)) {
			best = rt
		} else if other == nil || rt.params < other.params {
			other = rt
		}
	}
	if best == nil {
		best = other
	}
	if best != nil {
		ctx.SetUserValue(routeKey, best.label)
	}
}
