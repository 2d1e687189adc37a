package history

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/prometheus/prometheus/model/labels"
)

// Bucket names of history.db.
var (
	bucketSeries = []byte("series") // series id -> encoded labels
	bucketChunks = []byte("chunks") // series id -> bucket of chunk mint -> uvarint(maxt-mint) + XOR chunk
	bucketHead   = []byte("head")   // series id -> open XOR chunk as of the last checkpoint
	bucketMeta   = []byte("meta")   // metadataKey -> JSON metadata per metric family
)

var metadataKey = []byte("metadata")

// errCorruptRecord reports a stored record that does not decode.
var errCorruptRecord = errors.New("history: corrupt record")

// seriesKey is a series id as 4 big-endian bytes, so a series' chunks sort together.
func seriesKey(id uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	return b[:]
}

// timeKey is a chunk's min time with the sign bit flipped, so keys sort by time. Each
// series has its own bucket of chunks keyed so: a series' chunks are only ever appended
// at the end of its bucket, which lets pages be filled completely (FillPercent 1.0), and
// retention deletes a prefix of each bucket.
func timeKey(mint int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(mint)^(1<<63))
	return b[:]
}

func parseTimeKey(k []byte) (mint int64, ok bool) {
	if len(k) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(k) ^ (1 << 63)), true
}

// encodeChunkValue prepends the chunk's time span so a reader learns maxt without decoding.
func encodeChunkValue(mint, maxt int64, chunk []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(chunk))
	b = binary.AppendUvarint(b, uint64(maxt-mint))
	return append(b, chunk...)
}

func parseChunkValue(mint int64, v []byte) (maxt int64, chunk []byte, err error) {
	span, n := binary.Uvarint(v)
	if n <= 0 || span > math.MaxInt64/2 {
		return 0, nil, errCorruptRecord
	}
	return mint + int64(span), v[n:], nil
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
