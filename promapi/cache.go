package promapi

import (
	"container/list"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// A range query's points at or before the storage's watermark never change: the cache keeps
// them per (query, step, lookback, step phase), as VictoriaMetrics' rollup result cache does,
// so a dashboard refreshing the same range evaluates only the new tail. Every entry carries
// the storage's generation; a write to the past or a retention pass changes it, and the
// cache empties.

// CacheStats is the state of the range query result cache.
type CacheStats struct {
	Bytes   int64  // estimated memory held
	Entries int    // cached (query, step) results
	Hits    uint64 // range queries answered partly or wholly from the cache
	Misses  uint64 // cacheable range queries evaluated whole (also those whose annotations depend on the range)
}

type cacheKey struct {
	query          string
	step, lookback time.Duration
	phase          int64 // start modulo step, ms: only queries on the same grid share points
}

type cacheEntry struct {
	key        cacheKey
	start, end int64 // ms, the first and last step held
	series     promql.Matrix
	warnings   annotations.Annotations
	// direct marks a query whose annotations depend on the range evaluated (a tail's read
	// differently from the whole's): it holds no points and its query is evaluated whole.
	direct bool
	bytes  int64
	elem   *list.Element
}

// resultCache is a memory-bounded LRU of final range query points.
type resultCache struct {
	mu      sync.Mutex
	max     int64
	bytes   int64
	gen     uint64
	entries map[cacheKey]*cacheEntry
	lru     list.List // front: most recently used
	hits    atomic.Uint64
	misses  atomic.Uint64
}

func newResultCache(maxBytes int64) *resultCache {
	return &resultCache{max: maxBytes, entries: map[cacheKey]*cacheEntry{}}
}

// sync empties the cache when the storage's generation moved. Callers hold mu.
func (c *resultCache) sync(gen uint64) {
	if gen == c.gen {
		return
	}
	c.gen = gen
	clear(c.entries)
	c.lru.Init()
	c.bytes = 0
}

// get returns the entry of key if it holds start or is direct, else nil. The entry is immutable.
func (c *resultCache) get(key cacheKey, gen uint64, start int64) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(gen)
	e := c.entries[key]
	if e == nil || !e.direct && (start < e.start || start > e.end) {
		return nil
	}
	c.lru.MoveToFront(e.elem)
	return e
}

// put stores e (replacing key's entry) and evicts the least recently used past the bound.
func (c *resultCache) put(e *cacheEntry, gen uint64) {
	e.bytes = matrixBytes(e.series) + int64(len(e.key.query)) + 96
	if e.bytes > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(gen)
	if old := c.entries[e.key]; old != nil {
		c.remove(old)
	}
	e.elem = c.lru.PushFront(e)
	c.entries[e.key] = e
	c.bytes += e.bytes
	for c.bytes > c.max {
		c.remove(c.lru.Back().Value.(*cacheEntry))
	}
}

func (c *resultCache) remove(e *cacheEntry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	c.bytes -= e.bytes
}

func (c *resultCache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Bytes: c.bytes, Entries: len(c.entries), Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// matrixBytes estimates the memory a cached matrix holds.
func matrixBytes(m promql.Matrix) int64 {
	n := int64(0)
	for _, s := range m {
		n += 96 + int64(s.Metric.ByteSize()) + 16*int64(len(s.Floats)) + 256*int64(len(s.Histograms))
	}
	return n
}

// cacheable tells whether every point of expr at t depends only on samples at or before t
// and on t alone: no @ modifier (its time comes from the query's range) and no negative offset.
func cacheable(expr parser.Expr) bool {
	ok := true
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		var at *int64
		var start parser.ItemType
		var offset time.Duration
		switch n := node.(type) {
		case *parser.VectorSelector:
			at, start, offset = n.Timestamp, n.StartOrEnd, n.OriginalOffset
		case *parser.SubqueryExpr:
			at, start, offset = n.Timestamp, n.StartOrEnd, n.OriginalOffset
		default:
			return nil
		}
		if at != nil || start != 0 || offset < 0 {
			ok = false
		}
		return nil
	})
	return ok
}

// ownedMatrix copies the labels and points of m out of the engine's pools and buffers.
func ownedMatrix(m promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric.Copy(), Floats: slices.Clone(s.Floats)}
		if len(s.Histograms) > 0 {
			out[i].Histograms = make([]promql.HPoint, len(s.Histograms))
			for j, h := range s.Histograms {
				out[i].Histograms[j] = promql.HPoint{T: h.T, H: h.H.Copy()}
			}
		}
	}
	return out
}

// window returns m's points with from <= t <= to; the slices share m's arrays.
func window(m promql.Matrix, from, to int64) promql.Matrix {
	out := make(promql.Matrix, 0, len(m))
	for _, s := range m {
		w := promql.Series{Metric: s.Metric, Floats: pointsIn(s.Floats, from, to), Histograms: hpointsIn(s.Histograms, from, to)}
		if len(w.Floats)+len(w.Histograms) > 0 {
			out = append(out, w)
		}
	}
	return out
}

func pointsIn(ps []promql.FPoint, from, to int64) []promql.FPoint {
	i, _ := slices.BinarySearchFunc(ps, from, func(p promql.FPoint, t int64) int { return cmpInt(p.T, t) })
	j, _ := slices.BinarySearchFunc(ps, to+1, func(p promql.FPoint, t int64) int { return cmpInt(p.T, t) })
	if i >= j {
		return nil
	}
	return ps[i:j:j]
}

func hpointsIn(ps []promql.HPoint, from, to int64) []promql.HPoint {
	i, _ := slices.BinarySearchFunc(ps, from, func(p promql.HPoint, t int64) int { return cmpInt(p.T, t) })
	j, _ := slices.BinarySearchFunc(ps, to+1, func(p promql.HPoint, t int64) int { return cmpInt(p.T, t) })
	if i >= j {
		return nil
	}
	return ps[i:j:j]
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// joinMatrix appends tail's points to head's series of the same labels, in the engine's
// order (sorted by labels). Neither input is modified.
func joinMatrix(head, tail promql.Matrix) promql.Matrix {
	byLabels := make(map[string]int, len(head))
	out := make(promql.Matrix, len(head), len(head)+len(tail))
	copy(out, head)
	for i, s := range head {
		byLabels[string(s.Metric.Bytes(nil))] = i
	}
	for _, s := range tail {
		i, ok := byLabels[string(s.Metric.Bytes(nil))]
		if !ok {
			out = append(out, s)
			continue
		}
		out[i].Floats = slices.Concat(out[i].Floats, s.Floats)
		out[i].Histograms = slices.Concat(out[i].Histograms, s.Histograms)
	}
	slices.SortFunc(out, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
	return out
}

// points counts the points of m.
func points(m promql.Matrix) int {
	n := 0
	for _, s := range m {
		n += len(s.Floats) + len(s.Histograms)
	}
	return n
}
