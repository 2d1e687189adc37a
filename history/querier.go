package history

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
	bolt "go.etcd.io/bbolt"
)

var _ storage.Queryable = (*DB)(nil)

// Querier returns a storage.Querier over the samples in [mint, maxt] (Unix ms), both those
// in the file and those still in memory. Series from Select read the file's chunks in
// place, without copying, through a read transaction that Close ends: Close every querier
// (the PromQL engine does), since an open one keeps the pages it reads from being reused
// and makes a checkpoint that must remap the growing file wait for it.
func (d *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{d: d, mint: mint, maxt: maxt}, nil
}

type querier struct {
	d          *DB
	mint, maxt int64
	mu         sync.Mutex // guards the fields below
	txs        []*bolt.Tx // every read transaction a returned series may read from
	txGen      uint64     // DB.ckGen when the newest of txs began
}

// Close ends the read transactions the querier's series read from.
func (q *querier) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	var err error
	for _, tx := range q.txs {
		err = errors.Join(err, tx.Rollback())
	}
	q.txs = nil
	return err
}

// readTx returns a read transaction that holds every chunk checkpointed up to generation
// gen: a checkpoint after an older transaction began may have moved chunks from memory to
// the file, where that transaction does not see them. Caller holds q.mu.
func (q *querier) readTx(gen uint64) (*bolt.Tx, error) {
	if n := len(q.txs); n > 0 && q.txGen >= gen {
		return q.txs[n-1], nil
	}
	q.d.mu.Lock()
	g := q.d.ckGen
	q.d.mu.Unlock()
	tx, err := q.d.bdb.Begin(false)
	if err != nil {
		return nil, err
	}
	q.txs, q.txGen = append(q.txs, tx), g
	return tx, nil
}

func matches(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// matching returns the series that match ms and hold samples in [mint, maxt]. An
// equality matcher on the metric name narrows the scan to that name's series. Caller
// holds d.mu.
func (d *DB) matching(mint, maxt int64, ms []*labels.Matcher) []*series {
	var out []*series
	check := func(s *series) {
		if s.minT <= maxt && s.lastT >= mint && matches(s.lset, ms) {
			out = append(out, s)
		}
	}
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			for _, s := range d.byName[m.Value] {
				check(s)
			}
			return out
		}
	}
	for _, s := range d.byID {
		check(s)
	}
	return out
}

// pick is one series a Select returns, and where its chunks are.
type pick struct {
	id      uint32
	lset    labels.Labels
	chunks  []chunkMeta // from the file, then the copies held in memory
	mem     []chunkMeta
	memMin  int64
	counter bool         // counterLike, when the chunks in memory are to be thinned
	open    *openSamples // the open chunk (the last of mem) already thinned, or nil
	read    bool         // its chunks are read
}

// Select returns the matching series (sorted by labels when asked, else in the order they
// were created) with their chunks overlapping the query range. With hints.Func "series" it
// returns labels only, of the series with a sample in the range. The hints choose the
// resolution of the chunks read from the file (pickResolution).
func (q *querier) Select(_ context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	labelsOnly := hints != nil && hints.Func == "series"
	d := q.d
	bucket, res := bucketBlocks, int64(0)
	r := pickResolution(hints)
	if r >= 0 {
		bucket, res = resolutions[r].bucket, resolutions[r].step
	}
	d.mu.Lock()
	gen := d.ckGen
	found := d.matching(mint, maxt, ms)
	picks := make([]pick, len(found))
	for i, s := range found {
		picks[i] = pick{id: s.id, lset: s.lset, memMin: s.firstMemMint()}
		// A label-only pick whose samples all lie in the range has one there; the others
		// read their chunks to find out.
		picks[i].read = !labelsOnly || s.minT < mint || s.lastT > maxt
		if picks[i].read {
			thinned := res > 0 && s.headIn(mint, maxt) // the open chunk is read thinned
			picks[i].mem = s.memChunks(mint, maxt, !thinned)
			picks[i].counter = res > 0 && len(picks[i].mem) > 0 && counterLike(s.lset, d.meta)
			if thinned {
				picks[i].open = s.thinnedHead(r, picks[i].counter)
			}
		}
	}
	d.mu.Unlock()
	if err := q.readBlocks(picks, bucket, mint, maxt, gen); err != nil {
		return storage.ErrSeriesSet(err)
	}
	if sortSeries {
		slices.SortFunc(picks, func(a, b pick) int { return labels.Compare(a.lset, b.lset) })
	} else {
		// Prometheus's head answers an unsorted selection in the order its series were
		// created, which the ids keep: an instant vector lists its series as there.
		slices.SortFunc(picks, func(a, b pick) int { return int64Cmp(int64(a.id), int64(b.id)) })
	}
	set := &listSet{list: make([]listSeries, 0, len(picks)), i: -1}
	if res > 0 && !labelsOnly {
		set.warnings.Add(downsampledWarning(res))
	}
	for i := range picks {
		p := &picks[i]
		chunks := append(p.chunks, p.mem...)
		switch {
		case labelsOnly && (!p.read || hasSample(chunks, mint, maxt)):
			set.list = append(set.list, listSeries{lset: p.lset})
		case !labelsOnly && len(chunks) > 0:
			set.list = append(set.list, listSeries{lset: p.lset, chunks: chunks, memFrom: len(p.chunks), res: res, counter: p.counter, open: p.open})
		}
	}
	return set
}

// hasSample reports whether raw chunks hold a sample in [mint, maxt].
func hasSample(chunks []chunkMeta, mint, maxt int64) bool {
	var it chunksIterator[int64]
	it.reset(chunks)
	return it.Seek(mint) != chunkenc.ValNone && it.AtT() <= maxt
}

// downsampledWarning is the warning a query answered from a downsampled copy carries, as
// Prometheus's API shows it in "warnings": it names the resolution read.
func downsampledWarning(res int64) error {
	r := model.Duration(time.Duration(res) * time.Millisecond).String()
	return fmt.Errorf("%w: read at %s resolution (the last sample of every %s), not the raw samples", ErrDownsampled, r, r)
}

// ErrDownsampled is wrapped by the warning of a selection answered from a downsampled copy.
var ErrDownsampled = errors.New("history: downsampled")

// errStopBlocks ends a walk over blocks early.
var errStopBlocks = errors.New("stop")

// readBlocks adds to each pick its chunks in the file overlapping [mint, maxt], from the
// blocks of bucket (raw or a downsampled copy), aliasing a read transaction of the querier
// that holds every chunk checkpointed up to gen. Picks and block indexes are both walked
// in id order. The chunks in memory, which follow, are always raw.
func (q *querier) readBlocks(picks []pick, bucket []byte, mint, maxt int64, gen uint64) error {
	if !slices.ContainsFunc(picks, func(p pick) bool { return p.read }) {
		return nil
	}
	slices.SortFunc(picks, func(a, b pick) int { return int64Cmp(int64(a.id), int64(b.id)) })
	q.mu.Lock()
	defer q.mu.Unlock()
	tx, err := q.readTx(gen)
	if err != nil {
		return err
	}
	from := int64(math.MinInt64)
	if mint > math.MinInt64+chunkWindow {
		from = window(mint) * chunkWindow // every chunk lies inside its block's window
	}
	err = forEachBlock(tx.Bucket(bucket), from, func(bl *block) error {
		if bl.start > maxt {
			return errStopBlocks
		}
		if bl.n == 0 {
			return nil
		}
		// Blocks hold id ranges: skip to the picks inside this one's.
		first, last := bl.id(0), bl.id(bl.n-1)
		j0, _ := slices.BinarySearchFunc(picks, first, func(p pick, id uint32) int { return int64Cmp(int64(p.id), int64(id)) })
		i := 0
		for j := j0; j < len(picks) && picks[j].id <= last; j++ {
			p := &picks[j]
			if !p.read || bl.start >= p.memMin {
				continue // a checkpoint after the snapshot in Select wrote it: the copy in memory wins
			}
			if i < bl.n && bl.id(i) < p.id {
				i = bl.searchFrom(i, p.id)
			}
			for ; i < bl.n && bl.id(i) == p.id; i++ {
				_, c, ok := bl.entry(i)
				if !ok || c.maxt < mint || c.mint > maxt || c.mint >= p.memMin || !plausibleChunk(c.mint, c.data) {
					continue
				}
				p.chunks = append(p.chunks, c)
			}
		}
		return nil
	})
	if errors.Is(err, errStopBlocks) {
		err = nil
	}
	return err
}

// plausibleChunk is a cheap check of a stored chunk before it reaches the engine: a
// sample count and a first timestamp equal to the mint in its block's index.
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

// listSet is what Select returns: its series in one allocation, and the warning of a
// downsampled read.
type listSet struct {
	list     []listSeries
	i        int
	warnings annotations.Annotations
}

func (s *listSet) Next() bool                        { s.i++; return s.i < len(s.list) }
func (s *listSet) At() storage.Series                { return &s.list[s.i] }
func (*listSet) Err() error                          { return nil }
func (s *listSet) Warnings() annotations.Annotations { return s.warnings }

// listSeries is one series and its chunks, oldest first: those read from the file, then
// from memFrom on the raw ones held in memory, which its iterator thins to resolution res
// (0: raw) as the file's copies are, keeping the samples before a counter's resets.
type listSeries struct {
	lset    labels.Labels
	chunks  []chunkMeta
	memFrom int
	res     int64
	counter bool
	open    *openSamples // the last chunk's samples, thinned already; nil: decode it
}

func (s *listSeries) Labels() labels.Labels { return s.lset }

func (s *listSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	ci, ok := it.(*chunksIterator[int64])
	if !ok {
		ci = &chunksIterator[int64]{}
	}
	ci.reset(s.chunks)
	ci.thinFrom, ci.res, ci.counter, ci.open = s.memFrom, s.res, s.counter, s.open
	return ci
}
