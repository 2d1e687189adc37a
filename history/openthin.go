package history

import "github.com/prometheus/prometheus/tsdb/chunkenc"

// thinnedHead is a series' open chunk thinned to one resolution exactly as
// chunksIterator.thin thins it, kept up to date as samples are appended: a downsampled
// read of the newest samples (a cached query's tail) copies it instead of decoding the
// whole chunk. It is built on a series' first downsampled read at that resolution and
// dropped with the open chunk, so it holds at most the open chunk's samples, about one
// per resolution window (120 at 1 m over 2 h).
type thinnedHead struct {
	res     int64
	counter bool
	ts      []int64 // the samples kept before the last one; only ever appended to
	vs      []float64
	lt      int64   // the last sample, always kept
	lv      float64 //
	lkey    int64   // its window
	ldec    bool    // it is lower than the sample before it
	have    bool
}

// newThinnedHead thins the samples of head to resolution res.
func newThinnedHead(head *chunkenc.XORChunk, res int64, counter bool) *thinnedHead {
	m := &thinnedHead{res: res, counter: counter}
	it := head.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		m.add(it.At())
	}
	return m
}

// add appends a sample newer than the last: the last is kept if the new one opens another
// window or, for a counter, if either is a decrease (as thin decides with the next sample).
func (m *thinnedHead) add(t int64, v float64) {
	key := resKey(t, m.res)
	if m.have && (key != m.lkey || (m.counter && (v < m.lv || m.ldec))) {
		m.ts, m.vs = append(m.ts, m.lt), append(m.vs, m.lv)
	}
	m.ldec = m.have && v < m.lv
	m.lt, m.lv, m.lkey, m.have = t, v, key, true
}

// snapshot returns the thinned samples as they are now. Its slices share memory with m
// but only up to their length, which appends never write.
func (m *thinnedHead) snapshot() *openSamples {
	return &openSamples{ts: m.ts[:len(m.ts):len(m.ts)], vs: m.vs[:len(m.vs):len(m.vs)], lt: m.lt, lv: m.lv}
}

// openSamples are the thinned samples of an open chunk as a read saw them: ts and vs, then
// the last sample.
type openSamples struct {
	ts []int64
	vs []float64
	lt int64
	lv float64
}

// thinnedHead returns the open chunk thinned to resolutions[r], building it on first use
// or when the series' kind (counter or not) changed. Caller holds DB.mu; s.head is not nil.
func (s *series) thinnedHead(r int, counter bool) *openSamples {
	if s.thinned == nil {
		s.thinned = make([]*thinnedHead, len(resolutions))
	}
	m := s.thinned[r]
	if m == nil || m.counter != counter {
		m = newThinnedHead(s.head, resolutions[r].step, counter)
		s.thinned[r] = m
	}
	return m.snapshot()
}
