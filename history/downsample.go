package history

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
)

// Downsampling. A long-range chart evaluates a few hundred steps, but every raw sample in
// its range passes through the engine: at 10 s a week is 60,480 samples per series. So
// when a window's full chunks reach the file, coarser copies of them go with it, one per
// resolution, as Thanos and VictoriaMetrics keep them. A copy keeps, of the raw samples in
// each resolution window (k·r - r, k·r], the last one with its own timestamp and value:
//   - counters: rate and increase over a range see the same first and last values as the
//     raw samples at the range's edges, less at most one resolution of extrapolation;
//   - gauges: an instant lookup at a multiple of r finds the very sample the raw data
//     gives, and elsewhere one at most r older;
//   - staleness: a series that disappears ends its window with a staleness marker, which
//     is kept, so it ends in the chart where it ends in the raw data.
//
// Windows are closed on the right so that an evaluation time on the resolution's grid
// sees the raw sample at that time. A copy is stored as a block of the same format as the
// raw one, in a bucket per resolution, under the same key: retention deletes all of them
// together. Open chunks (the last two hours at most) are never downsampled.

// resolution is one downsampled copy of the blocks.
type resolution struct {
	step   int64  // ms
	bucket []byte // its blocks, keyed as bucketBlocks
}

// resolutions are the copies, finest first. A 7 d chart's step (42 m) and range fit
// 10 m, which halves what it reads against 5 m; 24 h (6 m) stays at 1 m.
var resolutions = []resolution{
	{step: 60_000, bucket: []byte("blocks-1m")},
	{step: 300_000, bucket: []byte("blocks-5m")},
	{step: 600_000, bucket: []byte("blocks-10m")},
}

// lookbackDelta is the engine's default instant lookback: an instant lookup must find a
// sample within it, so a plain selector reads at most a resolution a fifth of it.
const lookbackDelta = 5 * 60_000

// rangeFuncs are the range functions whose result a last-in-window copy keeps: those
// that look at the values at the range's edges (rate, increase, delta) or at a value per
// resolution (avg_over_time, last_over_time), or only whether a sample exists. Functions
// that count samples, read their spacing or look for extremes (count_over_time, irate,
// changes, resets, max_over_time, ...) read raw samples.
var rangeFuncs = map[string]bool{
	"rate": true, "increase": true, "delta": true, "avg_over_time": true,
	"last_over_time": true, "present_over_time": true, "absent_over_time": true,
}

// pickResolution returns the index in resolutions of the coarsest copy a selection may
// read, or -1 for the raw samples. A copy's step r must fit the query's step, and a range
// must hold at least four of its samples; an instant lookup (no range) reads at most
// r = lookback/5, so a sample is always found. Without a step (an instant query, or no
// hints) it reads raw samples.
func pickResolution(h *storage.SelectHints) int {
	if h == nil || h.Step <= 0 || h.Func == "series" {
		return -1
	}
	if h.Range > 0 && !rangeFuncs[h.Func] {
		return -1
	}
	for i := len(resolutions) - 1; i >= 0; i-- {
		r := resolutions[i].step
		if r > h.Step {
			continue
		}
		if (h.Range == 0 && r <= lookbackDelta/5) || (h.Range > 0 && h.Range >= 4*r) {
			return i
		}
	}
	return -1
}

// resKey is the window of resolution step r holding t: (k·r - r, k·r] is window k.
func resKey(t, r int64) int64 {
	t--
	k := t / r
	if t < 0 && t%r != 0 {
		k--
	}
	return k
}

// downsampleChunk returns the last sample of every window of resolution r among the
// samples of a valid XOR chunk, as a new XOR chunk. For a counter it also keeps the two
// samples around every decrease: rate and increase add the value a counter had before it
// restarted, and see the restart only if the sample after it is lower.
func downsampleChunk(c chunkMeta, r int64, counter bool, src *chunkenc.XORChunk) (chunkMeta, error) {
	src.Reset(c.data)
	dst := chunkenc.NewXORChunk()
	app, err := dst.Appender()
	if err != nil {
		return chunkMeta{}, err
	}
	var out chunkMeta
	it := src.Iterator(nil)
	var pt int64
	var pv float64
	have, emitted, afterDecrease := false, false, false
	emit := func() {
		if !emitted {
			out.mint, emitted = pt, true
		}
		out.maxt = pt
		app.Append(0, pt, pv)
	}
	for it.Next() == chunkenc.ValFloat {
		t, v := it.At()
		decrease := counter && have && v < pv
		if have && (afterDecrease || decrease || resKey(t, r) != resKey(pt, r)) {
			emit()
		}
		pt, pv, have, afterDecrease = t, v, true, decrease
	}
	if err := it.Err(); err != nil {
		return chunkMeta{}, fmt.Errorf("%w: downsample: %v", errCorruptRecord, err)
	}
	if !have {
		return chunkMeta{}, fmt.Errorf("%w: downsample: empty chunk", errCorruptRecord)
	}
	emit()
	dst.Compact()
	out.data = dst.Bytes()
	return out, nil
}

// downsampleBlocks returns, for each resolution, the copies of the chunks of blocks, in
// the same windows and order.
func downsampleBlocks(blocks map[int64][]blockChunk) ([]map[int64][]blockChunk, error) {
	out := make([]map[int64][]blockChunk, len(resolutions))
	src := chunkenc.NewXORChunk()
	for i, res := range resolutions {
		out[i] = make(map[int64][]blockChunk, len(blocks))
		for ws, list := range blocks {
			ds := make([]blockChunk, len(list))
			for j, c := range list {
				dc, err := downsampleChunk(c.chunkMeta, res.step, c.counter, src)
				if err != nil {
					return nil, err
				}
				ds[j] = blockChunk{id: c.id, chunkMeta: dc}
			}
			out[i][ws] = ds
		}
	}
	return out, nil
}

// backfillDownsampled writes the copies at resolutions[i] for i in which of every raw
// block, for a file whose raw blocks were written before it kept them. Called once, when
// the copies' buckets are created.
func backfillDownsampled(tx *bolt.Tx, which []int) error {
	if len(which) == 0 {
		return nil
	}
	meta := map[string]Metadata{}
	if v := tx.Bucket(bucketMeta).Get(metadataKey); v != nil {
		if err := json.Unmarshal(v, &meta); err != nil {
			return fmt.Errorf("%w: metadata: %v", errCorruptRecord, err)
		}
	}
	counters := map[uint32]bool{}
	err := tx.Bucket(bucketSeries).ForEach(func(k, v []byte) error {
		lset, err := decodeLabels(v)
		if err != nil || len(k) != 4 {
			return fmt.Errorf("%w: series %x", errCorruptRecord, k)
		}
		counters[binary.BigEndian.Uint32(k)] = counterLike(lset, meta)
		return nil
	})
	if err != nil {
		return err
	}
	blocks := map[int64][]blockChunk{}
	err = forEachBlock(tx.Bucket(bucketBlocks), math.MinInt64, func(bl *block) error {
		for i := range bl.n {
			id, c, ok := bl.entry(i)
			if !ok || !plausibleChunk(c.mint, c.data) {
				return fmt.Errorf("%w: block %d entry %d", errCorruptRecord, bl.start, i)
			}
			blocks[bl.start] = append(blocks[bl.start], blockChunk{id: id, chunkMeta: c, counter: counters[id]})
		}
		return nil
	})
	if err != nil || len(blocks) == 0 {
		return err
	}
	for _, list := range blocks { // a window's blocks each hold an id range of their own
		sortBlockChunks(list)
	}
	copies, err := downsampleBlocks(blocks)
	if err != nil {
		return err
	}
	for _, i := range which {
		if err := putBlocks(tx.Bucket(resolutions[i].bucket), copies[i]); err != nil {
			return err
		}
	}
	return nil
}

// counterLike reports whether a series only grows but for resets, by the TYPE of its
// family: a counter, or the _bucket, _count and _sum of a histogram or the _count and _sum
// of a summary. Without a TYPE, a name ending in _total is taken for a counter.
func counterLike(lset labels.Labels, meta map[string]Metadata) bool {
	name := lset.Get(model.MetricNameLabel)
	if m, ok := meta[name]; ok && m.Type != "" && m.Type != "unknown" {
		return m.Type == "counter"
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum", "_total"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch meta[base].Type {
		case "counter":
			return true
		case "histogram":
			return suffix != "_total"
		case "summary":
			return suffix == "_count" || suffix == "_sum"
		}
	}
	return strings.HasSuffix(name, "_total")
}
