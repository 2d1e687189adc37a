package server

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// routeTemplate is a registered template split into segments, so that a path can be matched to
// it without the router's per-lookup allocations (it copies every parameter value).
type routeTemplate struct {
	label  any      // the template, boxed once
	segs   []string // "" stands for a parameter segment
	rest   bool     // ends with a catch-all {name:*}
	params int
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

// recordTemplate keeps a template for resolvePath, once however many methods use it.
func (s *Server) recordTemplate(template string) {
	for i := range s.templates {
		if s.templates[i].label.(string) == template {
			return
		}
	}
	s.templates = append(s.templates, newRouteTemplate(template))
}

// resolvePath records the template the request's path matches under any method, preferring
// the one with the fewest parameters (a static "/api/workflows/import" over
// "/api/workflows/{id}"), then the earliest registered. Nothing matching leaves the request
// unmatched. It allocates nothing.
func (s *Server) resolvePath(ctx *fasthttp.RequestCtx) {
	path := b2s(ctx.Request.URI().PathOriginal())
	var best *routeTemplate
	for i := range s.templates {
		rt := &s.templates[i]
		if (best == nil || rt.params < best.params) && rt.matches(path) {
			best = rt
		}
	}
	if best != nil {
		ctx.SetUserValue(routeKey, best.label)
	}
}
