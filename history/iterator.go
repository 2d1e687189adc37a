package history

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// chunksIterator walks a series' XOR chunks in order as one chunkenc.Iterator. It is
// generic over the timestamp type only so that go vet's stdmethods check, which takes any
// Seek(int64) for a malformed io.Seeker, does not flag the Seek that chunkenc.Iterator
// requires; it is always used as chunksIterator[int64].
type chunksIterator[T ~int64] struct {
	chunks []chunkMeta
	i      int // current chunk
	loaded bool
	xor    *chunkenc.XORChunk
	cur    chunkenc.Iterator
	ok     bool // positioned on a sample
	t      int64
	v      float64
	err    error
}

func (it *chunksIterator[T]) reset(chunks []chunkMeta) {
	*it = chunksIterator[T]{chunks: chunks, xor: it.xor, cur: it.cur}
	if it.xor == nil {
		it.xor = chunkenc.NewXORChunk()
	}
}

// Next advances to the next sample. Bytes that do not decode end the iteration with an
// error rather than a panic.
func (it *chunksIterator[T]) Next() (vt chunkenc.ValueType) {
	defer func() {
		if r := recover(); r != nil {
			it.fail(fmt.Errorf("%w: %v", errCorruptRecord, r))
			vt = chunkenc.ValNone
		}
	}()
	for it.err == nil && it.i < len(it.chunks) {
		if !it.loaded {
			it.xor.Reset(it.chunks[it.i].data)
			it.cur = it.xor.Iterator(it.cur)
			it.loaded = true
		}
		if it.cur.Next() == chunkenc.ValFloat {
			t, v := it.cur.At()
			if it.ok && t <= it.t {
				it.fail(fmt.Errorf("%w: samples out of order at %d", errCorruptRecord, t))
				break
			}
			it.t, it.v, it.ok = t, v, true
			return chunkenc.ValFloat
		}
		if err := it.cur.Err(); err != nil {
			it.fail(err)
			break
		}
		it.i++
		it.loaded = false
	}
	it.ok = false
	return chunkenc.ValNone
}

func (it *chunksIterator[T]) fail(err error) {
	it.err = err
	it.ok = false
	it.i = len(it.chunks)
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
	for it.i < len(it.chunks) && it.chunks[it.i].maxt < t {
		it.i++
		it.loaded = false
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
