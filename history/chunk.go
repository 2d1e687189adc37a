package history

import (
	"encoding/binary"
	"fmt"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Chunk shape. A chunk is cut when the next sample falls into a new aligned window of
// chunkWindow, or when it holds maxChunkSamples. At the default 10 s interval that is 720
// samples per chunk: its header and its 16-byte entry in a block's index cost about 0.03
// bytes per sample. Aligned windows also mean every series cuts on the same tick, so the
// full chunks of a window reach the file together, packed in one block (layout.go).
const (
	chunkWindow     = int64(2 * 60 * 60 * 1000) // ms
	maxChunkSamples = 1024
)

// chunkMeta is an immutable chunk and its time range.
type chunkMeta struct {
	mint, maxt int64
	data       []byte
}

// chunkInfo is what decodeChunk learns about a chunk.
type chunkInfo struct {
	mint, maxt int64
	n          int
	last       float64
}

// decodeChunk checks that b is a well-formed XOR chunk (the sample count matches the
// stream, timestamps strictly increase) and returns its time range. It never panics:
// bytes read from disk may be anything.
func decodeChunk(b []byte) (info chunkInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: chunk decoder panicked: %v", errCorruptRecord, r)
		}
	}()
	if len(b) < 2 {
		return chunkInfo{}, fmt.Errorf("%w: chunk of %d bytes", errCorruptRecord, len(b))
	}
	want := int(binary.BigEndian.Uint16(b))
	if want == 0 {
		return chunkInfo{}, fmt.Errorf("%w: empty chunk", errCorruptRecord)
	}
	c, err := chunkenc.FromData(chunkenc.EncXOR, b)
	if err != nil {
		return chunkInfo{}, fmt.Errorf("%w: %v", errCorruptRecord, err)
	}
	it := c.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		t, v := it.At()
		if info.n > 0 && t <= info.maxt {
			return chunkInfo{}, fmt.Errorf("%w: timestamps out of order", errCorruptRecord)
		}
		if info.n == 0 {
			info.mint = t
		}
		info.maxt, info.last = t, v
		info.n++
	}
	if err := it.Err(); err != nil {
		return chunkInfo{}, fmt.Errorf("%w: %v", errCorruptRecord, err)
	}
	if info.n != want {
		return chunkInfo{}, fmt.Errorf("%w: chunk holds %d of %d samples", errCorruptRecord, info.n, want)
	}
	return info, nil
}
