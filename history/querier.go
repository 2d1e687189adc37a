package history

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
	bolt "go.etcd.io/bbolt"
)

var _ storage.Queryable = (*DB)(nil)

// Querier returns a storage.Querier over the samples in [mint, maxt] (Unix ms), both those
// in the file and those still in memory.
func (d *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{d: d, mint: mint, maxt: maxt}, nil
}

type querier struct {
	d          *DB
	mint, maxt int64
}

// Close releases nothing: every Select copies what it returns.
func (*querier) Close() error { return nil }

func matches(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// matching returns the series that match ms and hold samples in [mint, maxt]. Caller holds d.mu.
func (d *DB) matching(mint, maxt int64, ms []*labels.Matcher) []*series {
	var out []*series
	for _, s := range d.byID {
		if s.minT <= maxt && s.lastT >= mint && matches(s.lset, ms) {
			out = append(out, s)
		}
	}
	return out
}

// Select returns the matching series, sorted by labels, with their chunks overlapping the
// query range.
func (q *querier) Select(_ context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	type pick struct {
		id     uint32
		lset   labels.Labels
		mem    []chunkMeta
		memMin int64
	}
	d := q.d
	d.mu.Lock()
	found := d.matching(mint, maxt, ms)
	picks := make([]pick, len(found))
	for i, s := range found {
		picks[i] = pick{id: s.id, lset: s.lset, mem: s.memChunks(mint, maxt), memMin: s.firstMemMint()}
	}
	d.mu.Unlock()
	slices.SortFunc(picks, func(a, b pick) int { return labels.Compare(a.lset, b.lset) })

	from := int64(math.MinInt64)
	if mint > math.MinInt64+chunkWindow {
		from = mint - chunkWindow // no chunk spans a whole window, so none that starts earlier overlaps
	}
	out := make([]storage.Series, 0, len(picks))
	err := d.bdb.View(func(tx *bolt.Tx) error {
		cb := tx.Bucket(bucketChunks)
		for _, p := range picks {
			var chunks []chunkMeta
			if b := cb.Bucket(seriesKey(p.id)); b != nil {
				c := b.Cursor()
				for k, v := c.Seek(timeKey(from)); k != nil; k, v = c.Next() {
					cmint, ok := parseTimeKey(k)
					// A checkpoint may have written chunks after the snapshot above: the
					// copies in memory win.
					if !ok || cmint > maxt || cmint >= p.memMin {
						break
					}
					cmaxt, data, err := parseChunkValue(cmint, v)
					if err != nil || cmaxt < mint || !plausibleChunk(cmint, data) {
						continue
					}
					chunks = append(chunks, chunkMeta{mint: cmint, maxt: cmaxt, data: bytes.Clone(data)})
				}
			}
			chunks = append(chunks, p.mem...)
			if len(chunks) > 0 {
				out = append(out, &listSeries{lset: p.lset, chunks: chunks})
			}
		}
		return nil
	})
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	return &seriesSet{list: out, i: -1}
}

// plausibleChunk is a cheap check of a stored chunk before it reaches the engine: a
// sample count and a first timestamp equal to the one in its key.
func plausibleChunk(mint int64, b []byte) bool {
	if len(b) < 3 || binary.BigEndian.Uint16(b) == 0 {
		return false
	}
	t, n := binary.Varint(b[2:])
	return n > 0 && t == mint
}

// LabelValues returns the sorted values of name among the matching series.
func (q *querier) LabelValues(_ context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	q.d.mu.Lock()
	for _, s := range q.d.matching(q.mint, q.maxt, ms) {
		if v := s.lset.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	}
	q.d.mu.Unlock()
	return sortedKeys(seen, hints), nil, nil
}

// LabelNames returns the sorted label names of the matching series.
func (q *querier) LabelNames(_ context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	q.d.mu.Lock()
	for _, s := range q.d.matching(q.mint, q.maxt, ms) {
		s.lset.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	}
	q.d.mu.Unlock()
	return sortedKeys(seen, hints), nil, nil
}

func sortedKeys(m map[string]struct{}, hints *storage.LabelHints) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out
}

type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool                      { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series              { return s.list[s.i] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }

// listSeries is one series and its chunks, oldest first.
type listSeries struct {
	lset   labels.Labels
	chunks []chunkMeta
}

func (s *listSeries) Labels() labels.Labels { return s.lset }

func (s *listSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	if ci, ok := it.(*chunksIterator[int64]); ok {
		ci.reset(s.chunks)
		return ci
	}
	ci := &chunksIterator[int64]{}
	ci.reset(s.chunks)
	return ci
}
