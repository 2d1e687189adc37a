package monitoring

// QueryCacheStats is the state of the query API's range query result cache, read at every scrape.
type QueryCacheStats struct {
	Bytes   int64
	Entries int
	Hits    uint64
	Misses  uint64
}

// SetQueryCacheStats makes every scrape read fn for the gemini_flow_query_cache_* families;
// with a nil fn those families carry HELP and TYPE but no samples.
func (r *Registry) SetQueryCacheStats(fn func() QueryCacheStats) {
	if fn == nil {
		r.queryCache.Store(nil)
		return
	}
	r.queryCache.Store(&fn)
}

func (c QueryCacheStats) value(fam int) float64 {
	switch fam {
	case famQueryCacheBytes:
		return float64(c.Bytes)
	case famQueryCacheHits:
		return float64(c.Hits)
	case famQueryCacheMisses:
		return float64(c.Misses)
	}
	panic("monitoring: not a query cache family: " + catalogue[fam].Name)
}
