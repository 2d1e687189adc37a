package server

import (
	"github.com/gemini-flow/gemini-flow/export"
	"github.com/prometheus/prometheus/storage"
	"github.com/valyala/fasthttp"
)

// bindExport registers /api/v1/export, the history's raw samples for other engines to
// import; under /api/v1/ it takes the query API's metrics key.
func (s *Server) bindExport() {
	o := export.HandlerOptions{Base: s.base, Logger: s.log}
	if h := s.deps.History; h != nil { // a nil *history.DB in the interface would not compare to nil
		o.Queryable = storage.Queryable(h)
		o.Metadata = func(family string) (string, string, bool) {
			m, ok := h.FamilyMetadata(family)
			return m.Type, m.Help, ok
		}
	}
	h := export.Handler(o)
	s.handleRaw(fasthttp.MethodGet, "/api/v1/export", h)
	s.handleRaw(fasthttp.MethodPost, "/api/v1/export", h)
}
