package server

import (
	"github.com/prometheus/prometheus/storage"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/gemini-flow/gemini-flow/promapi"
)

// bindPromAPI mounts the Prometheus-compatible query API over the history, GET and form POST alike.
func (s *Server) bindPromAPI() {
	var q storage.Queryable
	var watermark func() (int64, uint64)
	if s.deps.History != nil { // a nil *history.DB in the interface would not compare to nil
		q, watermark = s.deps.History, s.deps.History.Watermark
	}
	api := promapi.New(promapi.Options{
		Engine:     s.deps.Engine,
		Queryable:  q,
		Base:       s.base,
		Timeout:    s.cfg.QueryTimeout,
		MaxSamples: s.cfg.QueryMaxSamples,
		Limits:     s.cfg.QueryLimits,
		Metadata:   s.promMetadata,
		Build:      promapi.ReadBuildInfo(s.cfg.Version, s.cfg.Revision),
		Flags:      s.cfg.Flags,
		Retention:  s.cfg.Retention,
		CacheBytes: s.cfg.QueryCache,
		Watermark:  watermark,
		Logger:     s.deps.Logger,
	})
	if s.deps.Metrics != nil {
		s.deps.Metrics.SetQueryCacheStats(func() monitoring.QueryCacheStats { return monitoring.QueryCacheStats(api.CacheStats()) })
	}
	for _, r := range api.Routes() {
		s.handleRaw(fasthttp.MethodGet, r.Path, r.Handler)
		s.handleRaw(fasthttp.MethodPost, r.Path, r.Handler)
	}
}

// promMetadata answers /api/v1/metadata: what the history has seen in the exposition
// (runtime and process families included), or the catalogue while history is off.
func (s *Server) promMetadata() map[string][]promapi.Metadata {
	out := map[string][]promapi.Metadata{}
	if s.deps.History != nil {
		for name, ms := range s.deps.History.Metadata() {
			for _, m := range ms {
				out[name] = append(out[name], promapi.Metadata(m))
			}
		}
		return out
	}
	if s.deps.Metrics != nil {
		for _, f := range s.deps.Metrics.Families() {
			out[f.Name] = []promapi.Metadata{{Type: f.Type, Help: f.Help}}
		}
	}
	return out
}
