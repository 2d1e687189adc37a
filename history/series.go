package history

import (
	"math"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// series is one labelled time series: its open chunk and the full chunks that have not
// reached the file yet. Guarded by DB.mu.
type series struct {
	id        uint32
	lset      labels.Labels
	head      *chunkenc.XORChunk // open chunk; nil when there is none
	app       chunkenc.Appender
	headMint  int64
	headMaxt  int64
	pending   []chunkMeta    // full chunks waiting for the next checkpoint, oldest first
	minT      int64          // oldest sample held anywhere, for range checks
	lastT     int64          // newest sample; later samples only
	stale     bool           // the newest sample is a staleness marker
	lastTick  uint64         // tick in which the series was last seen
	dirty     bool           // the open chunk changed since the last checkpoint
	persisted bool           // the series' labels are in the file
	ckMint    int64          // mint of the open chunk as the head log last wrote it
	ckLen     int            // its length then; 0 when the log holds no bytes to build on
	thinned   []*thinnedHead // the open chunk thinned per resolution index, once read thinned
}

func newSeries(id uint32, lset labels.Labels) *series {
	return &series{id: id, lset: lset, minT: math.MaxInt64, lastT: math.MinInt64}
}

// append adds one sample; it reports false for a sample not newer than the last one.
func (s *series) append(t int64, v float64) bool {
	if t <= s.lastT {
		return false
	}
	if s.head == nil || s.head.NumSamples() >= maxChunkSamples || window(t) != window(s.headMint) {
		s.cut()
		s.head = chunkenc.NewXORChunk()
		app, err := s.head.Appender()
		if err != nil { // cannot happen on an empty chunk
			panic(err)
		}
		s.app, s.headMint = app, t
	}
	s.app.Append(0, t, v)
	for _, m := range s.thinned {
		if m != nil {
			m.add(t, v)
		}
	}
	s.headMaxt, s.lastT = t, t
	if s.minT == math.MaxInt64 {
		s.minT = t
	}
	s.stale = value.IsStaleNaN(v)
	s.dirty = true
	return true
}

// cut moves the open chunk to the pending list.
func (s *series) cut() {
	if s.head == nil || s.head.NumSamples() == 0 {
		return
	}
	s.head.Compact()
	s.pending = append(s.pending, chunkMeta{mint: s.headMint, maxt: s.headMaxt, data: s.head.Bytes()})
	s.dropHead()
}

// dropHead forgets the open chunk and its thinned forms.
func (s *series) dropHead() {
	s.head, s.app, s.thinned = nil, nil, nil
}

// memChunks returns the chunks held in memory overlapping [mint, maxt], the open chunk
// copied so that later appends do not race with readers, or, with withHead false, as its
// time range only.
func (s *series) memChunks(mint, maxt int64, withHead bool) []chunkMeta {
	var out []chunkMeta
	for _, c := range s.pending {
		if c.maxt >= mint && c.mint <= maxt {
			out = append(out, c)
		}
	}
	if s.headIn(mint, maxt) {
		c := chunkMeta{mint: s.headMint, maxt: s.headMaxt}
		if withHead {
			c.data = slices.Clone(s.head.Bytes())
		}
		out = append(out, c)
	}
	return out
}

// headIn reports whether the open chunk holds samples and overlaps [mint, maxt].
func (s *series) headIn(mint, maxt int64) bool {
	return s.head != nil && s.head.NumSamples() > 0 && s.headMaxt >= mint && s.headMint <= maxt
}

// firstMemMint is the min time of the oldest chunk in memory, or MaxInt64.
func (s *series) firstMemMint() int64 {
	if len(s.pending) > 0 {
		return s.pending[0].mint
	}
	if s.head != nil && s.head.NumSamples() > 0 {
		return s.headMint
	}
	return math.MaxInt64
}

func window(t int64) int64 {
	w := t / chunkWindow
	if t < 0 && t%chunkWindow != 0 {
		w--
	}
	return w
}

func (d *DB) getOrCreate(lset labels.Labels) *series {
	h := lset.Hash()
	for _, s := range d.byHash[h] {
		if labels.Equal(s.lset, lset) {
			return s
		}
	}
	s := newSeries(d.nextID, lset)
	d.nextID++
	d.add(s)
	return s
}

// add indexes a series by id, label hash and metric name.
func (d *DB) add(s *series) {
	d.byID[s.id] = s
	h := s.lset.Hash()
	d.byHash[h] = append(d.byHash[h], s)
	name := s.lset.Get(model.MetricNameLabel)
	d.byName[name] = append(d.byName[name], s)
}

// drop forgets a series held in memory.
func (d *DB) drop(s *series) {
	delete(d.byID, s.id)
	h := s.lset.Hash()
	list := slices.DeleteFunc(d.byHash[h], func(o *series) bool { return o == s })
	if len(list) == 0 {
		delete(d.byHash, h)
	} else {
		d.byHash[h] = list
	}
	name := s.lset.Get(model.MetricNameLabel)
	if list := slices.DeleteFunc(d.byName[name], func(o *series) bool { return o == s }); len(list) == 0 {
		delete(d.byName, name)
	} else {
		d.byName[name] = list
	}
	for k, o := range d.raw {
		if o == s {
			delete(d.raw, k)
		}
	}
}
