package history

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
)

// Bucket names of history.db.
var (
	bucketSeries = []byte("series") // series id -> encoded labels
	bucketBlocks = []byte("blocks") // blockKey -> block: the full chunks of many series in one window
	bucketHead   = []byte("head")   // series id -> open XOR chunk as of the last checkpoint
	bucketMeta   = []byte("meta")   // metadataKey -> JSON metadata per metric family
)

var metadataKey = []byte("metadata")

// legacyRollupLabel marks the pre-summed series that earlier versions kept beside their
// members. Open leaves them out of the index; their chunks age out with retention.
const legacyRollupLabel = "__rollup__"

// errCorruptRecord reports a stored record that does not decode.
var errCorruptRecord = errors.New("history: corrupt record")

// seriesKey is a series id as 4 big-endian bytes.
func seriesKey(id uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	return b[:]
}

// Full chunks are stored as blocks, as Prometheus stores 2 h blocks: every chunk lies
// inside one aligned window, and a checkpoint writes the full chunks of all series in a
// window as a few values of up to maxValueBytes (consecutive id ranges), keyed by the
// window's start and a sequence number. Keys only grow, so bbolt fills every page
// (FillPercent 1.0); a block is one run of overflow pages with no per-chunk key or page
// slack; a read finds a series' chunks by binary search in the block's index; and
// retention deletes whole blocks.
//
// Key: window start (ms, sign bit flipped so keys sort by time) | sequence (uint32), big
// endian. Value: version byte, uint32 count n, n index entries sorted by (series id, mint),
// then the chunks' bytes back to back. An entry is four uint32: series id, mint - window
// start, maxt - mint, and the end offset of the chunk in the data that follows the index.
const (
	blockVersion    = 1
	blockKeyLen     = 12
	blockHeaderLen  = 5
	blockEntryLen   = 16
	maxBlockEntries = 1 << 24
)

func blockKey(windowStart int64, seq uint32) []byte {
	var b [blockKeyLen]byte
	binary.BigEndian.PutUint64(b[:], uint64(windowStart)^(1<<63))
	binary.BigEndian.PutUint32(b[8:], seq)
	return b[:]
}

func parseBlockKey(k []byte) (windowStart int64, seq uint32, ok bool) {
	if len(k) != blockKeyLen {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(k) ^ (1 << 63)), binary.BigEndian.Uint32(k[8:]), true
}

// blockChunk is one chunk as a block stores it.
type blockChunk struct {
	id uint32
	chunkMeta
	counter bool // of a counter-like series, for downsampling; not stored
}

// encodeBlock packs chunks, all inside the window starting at windowStart, sorted by
// (id, mint), into one block value.
func encodeBlock(windowStart int64, chunks []blockChunk) []byte {
	size := blockHeaderLen + blockEntryLen*len(chunks)
	for _, c := range chunks {
		size += len(c.data)
	}
	b := make([]byte, blockHeaderLen+blockEntryLen*len(chunks), size)
	b[0] = blockVersion
	binary.BigEndian.PutUint32(b[1:], uint32(len(chunks)))
	end := 0
	for i, c := range chunks {
		e := b[blockHeaderLen+i*blockEntryLen:]
		end += len(c.data)
		binary.BigEndian.PutUint32(e, c.id)
		binary.BigEndian.PutUint32(e[4:], uint32(c.mint-windowStart))
		binary.BigEndian.PutUint32(e[8:], uint32(c.maxt-c.mint))
		binary.BigEndian.PutUint32(e[12:], uint32(end))
		b = append(b, c.data...)
	}
	return b
}

// block is a decoded view of a block value; it aliases the value's bytes.
type block struct {
	start int64
	n     int
	index []byte
	data  []byte
}

// parseBlock checks the frame of a block value: its version, that the index fits, and
// that the last end offset matches the data. Entries are checked as they are read.
func parseBlock(windowStart int64, v []byte) (block, error) {
	if len(v) < blockHeaderLen || v[0] != blockVersion {
		return block{}, fmt.Errorf("%w: block header", errCorruptRecord)
	}
	n := int(binary.BigEndian.Uint32(v[1:]))
	if n > maxBlockEntries || blockHeaderLen+n*blockEntryLen > len(v) {
		return block{}, fmt.Errorf("%w: block index of %d entries in %d bytes", errCorruptRecord, n, len(v))
	}
	bl := block{start: windowStart, n: n, index: v[blockHeaderLen : blockHeaderLen+n*blockEntryLen], data: v[blockHeaderLen+n*blockEntryLen:]}
	if n > 0 && int(binary.BigEndian.Uint32(bl.index[(n-1)*blockEntryLen+12:])) != len(bl.data) {
		return block{}, fmt.Errorf("%w: block data of %d bytes", errCorruptRecord, len(bl.data))
	}
	return bl, nil
}

func (bl *block) id(i int) uint32 { return binary.BigEndian.Uint32(bl.index[i*blockEntryLen:]) }

// entry returns chunk i. ok is false for an entry that does not fit its block.
func (bl *block) entry(i int) (id uint32, c chunkMeta, ok bool) {
	e := bl.index[i*blockEntryLen:]
	id = binary.BigEndian.Uint32(e)
	c.mint = bl.start + int64(binary.BigEndian.Uint32(e[4:]))
	c.maxt = c.mint + int64(binary.BigEndian.Uint32(e[8:]))
	end := int(binary.BigEndian.Uint32(e[12:]))
	from := 0
	if i > 0 {
		from = int(binary.BigEndian.Uint32(bl.index[(i-1)*blockEntryLen+12:]))
	}
	if from > end || end > len(bl.data) || c.mint-bl.start >= chunkWindow || c.maxt-bl.start >= chunkWindow {
		return 0, chunkMeta{}, false
	}
	c.data = bl.data[from:end:end]
	return id, c, true
}

// searchFrom returns the first entry at or after from whose series id is at least id.
func (bl *block) searchFrom(from int, id uint32) int {
	lo, hi := from, bl.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bl.id(m) < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func encodeLabels(ls labels.Labels) []byte {
	b := binary.AppendUvarint(nil, uint64(ls.Len()))
	ls.Range(func(l labels.Label) {
		b = binary.AppendUvarint(b, uint64(len(l.Name)))
		b = append(b, l.Name...)
		b = binary.AppendUvarint(b, uint64(len(l.Value)))
		b = append(b, l.Value...)
	})
	return b
}

func decodeLabels(b []byte) (labels.Labels, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return labels.EmptyLabels(), errCorruptRecord
	}
	b = b[k:]
	sb := labels.NewScratchBuilder(int(n))
	next := func() (string, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(l)])
		b = b[k+int(l):]
		return s, true
	}
	for range n {
		name, ok1 := next()
		value, ok2 := next()
		if !ok1 || !ok2 {
			return labels.EmptyLabels(), errCorruptRecord
		}
		sb.Add(name, value)
	}
	if len(b) != 0 {
		return labels.EmptyLabels(), errCorruptRecord
	}
	sb.Sort()
	return sb.Labels(), nil
}
