package history

import (
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// chunksIterator walks a series' XOR chunks in order as one chunkenc.Iterator. It decodes
// a chunk at a time into a buffer: one decoding loop per chunk (under one recover, since
// damaged bytes may make the decoder panic) rather than a guarded call per sample. It is
// generic over the timestamp type only so that go vet's stdmethods check, which takes any
// Seek(int64) for a malformed io.Seeker, does not flag the Seek that chunkenc.Iterator
// requires; it is always used as chunksIterator[int64].
type chunksIterator[T ~int64] struct {
	chunks []chunkMeta
	i      int       // next chunk to decode
	ts     []int64   // samples of the decoded chunk
	vs     []float64 // their values
	j      int       // current sample in ts
	xor    *chunkenc.XORChunk
	cur    chunkenc.Iterator
	ok     bool // positioned on a sample
	t      int64
	v      float64
	err    error

	// Chunks from thinFrom on are raw chunks of a query that reads the resolution res
	// (ms, 0: raw) from the file: decode keeps the last sample of each of its windows, as
	// the file's copies do, so the engine sees one resolution over the whole range and
	// the newest sample is always kept.
	thinFrom int
	res      int64
	counter  bool
	open     *openSamples // the last chunk thinned already, or nil
}

func (it *chunksIterator[T]) reset(chunks []chunkMeta) {
	*it = chunksIterator[T]{chunks: chunks, xor: it.xor, cur: it.cur, ts: it.ts[:0], vs: it.vs[:0]}
	if it.xor == nil {
		it.xor = chunkenc.NewXORChunk()
	}
}

// decode fills the buffer with the samples of chunk i. Bytes that do not decode end the
// iteration with an error rather than a panic.
func (it *chunksIterator[T]) decode(i int) {
	defer func() {
		if r := recover(); r != nil {
			it.fail(fmt.Errorf("%w: %v", errCorruptRecord, r))
		}
	}()
	it.ts, it.vs, it.j = it.ts[:0], it.vs[:0], -1
	if o := it.open; o != nil && i == len(it.chunks)-1 {
		it.ts, it.vs = append(append(it.ts, o.ts...), o.lt), append(append(it.vs, o.vs...), o.lv)
		return
	}
	it.xor.Reset(it.chunks[i].data)
	it.cur = it.xor.Iterator(it.cur)
	for it.cur.Next() == chunkenc.ValFloat {
		t, v := it.cur.At()
		it.ts = append(it.ts, t)
		it.vs = append(it.vs, v)
	}
	if err := it.cur.Err(); err != nil {
		it.fail(err)
		return
	}
	if it.res > 0 {
		if i >= it.thinFrom {
			it.thin()
		}
		// Chunks are cut on window starts, resolution windows end on them: the first
		// sample of the next chunk, not this chunk's last, is the last of their window.
		if n := len(it.ts); n > 0 && i+1 < len(it.chunks) && resKey(it.ts[n-1], it.res) == resKey(it.chunks[i+1].mint, it.res) {
			it.ts, it.vs = it.ts[:n-1], it.vs[:n-1]
		}
	}
}

// thin keeps, of the decoded samples, the last of each window of resolution it.res and,
// for a counter, the two around each decrease, as downsampleChunk does.
func (it *chunksIterator[T]) thin() {
	n, k := len(it.ts), 0
	if n == 0 {
		return
	}
	key := resKey(it.ts[0], it.res) // the window of sample j, computed once per sample
	for j := range n {
		nextDecreases := j+1 < n && it.vs[j+1] < it.vs[j]
		decreased := j > 0 && it.vs[j] < it.vs[j-1]
		next := key
		if j+1 < n {
			next = resKey(it.ts[j+1], it.res)
		}
		sameWindow := j+1 < n && next == key
		key = next
		if sameWindow && !(it.counter && (nextDecreases || decreased)) {
			continue
		}
		it.ts[k], it.vs[k] = it.ts[j], it.vs[j]
		k++
	}
	it.ts, it.vs = it.ts[:k], it.vs[:k]
}

// Next advances to the next sample.
func (it *chunksIterator[T]) Next() chunkenc.ValueType {
	for it.err == nil {
		if it.j+1 < len(it.ts) {
			it.j++
			t := it.ts[it.j]
			if it.ok && t <= it.t {
				it.fail(fmt.Errorf("%w: samples out of order at %d", errCorruptRecord, t))
				break
			}
			it.t, it.v, it.ok = t, it.vs[it.j], true
			return chunkenc.ValFloat
		}
		if it.i >= len(it.chunks) {
			break
		}
		it.decode(it.i)
		it.i++
	}
	it.ok = false
	return chunkenc.ValNone
}

func (it *chunksIterator[T]) fail(err error) {
	it.err = err
	it.ok = false
	it.i = len(it.chunks)
	it.ts, it.vs = it.ts[:0], it.vs[:0]
}

// Seek advances to the first sample at or after t.
func (it *chunksIterator[T]) Seek(ts T) chunkenc.ValueType {
	t := int64(ts)
	if it.ok && it.t >= t {
		return chunkenc.ValFloat
	}
	if it.err != nil {
		return chunkenc.ValNone
	}
	if n := len(it.ts); n == 0 || it.ts[n-1] < t {
		// Nothing left in the decoded chunk: skip the chunks that end before t undecoded.
		it.ts, it.vs, it.j = it.ts[:0], it.vs[:0], -1
		for it.i < len(it.chunks) && it.chunks[it.i].maxt < t {
			it.i++
		}
	} else if k := it.j + 1 + sort.Search(n-it.j-1, func(k int) bool { return it.ts[it.j+1+k] >= t }); k-1 > it.j {
		it.j = k - 1
		it.t = it.ts[it.j] // the order check in Next compares with the sample before
	}
	for {
		if it.Next() != chunkenc.ValFloat {
			return chunkenc.ValNone
		}
		if it.t >= t {
			return chunkenc.ValFloat
		}
	}
}

func (it *chunksIterator[T]) At() (int64, float64) { return it.t, it.v }
func (it *chunksIterator[T]) AtT() int64           { return it.t }
func (*chunksIterator[T]) AtST() int64             { return 0 }
func (it *chunksIterator[T]) Err() error           { return it.err }

// AtHistogram is never called: the history holds floats only.
func (*chunksIterator[T]) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return 0, nil
}

// AtFloatHistogram is never called: the history holds floats only.
func (*chunksIterator[T]) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return 0, nil
}
