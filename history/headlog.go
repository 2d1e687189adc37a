package history

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// The open chunks reach the file as a log, not rewritten whole at every checkpoint: an XOR
// chunk only ever changes its 2-byte sample count and its last byte, so a checkpoint writes
// per changed series just the bytes from the last byte it had written before. Rewriting
// every open chunk each minute would copy-on-write about a window's worth of data per
// checkpoint and leave as many free pages in the file. When the log holds much more than
// the open chunks themselves (after chunks are cut), a checkpoint writes a snapshot of all
// of them and deletes the older records in the same transaction.
//
// Key: sequence number, uint64 big endian. Value: version byte, kind (headSnapshot or
// headDelta), then per series in id order: uvarint id minus the previous entry's id,
// uvarint offset, varint chunk mint (only at offset 0: a delta continues the chunk it
// follows), uvarint sample count (0: the series has no open chunk any more), uvarint
// length, the bytes from offset. Per series and minute that is about 6 bytes besides the
// samples.
const (
	headVersion  = 1
	headSnapshot = 1
	headDelta    = 2
)

// headEntry is one series' part of a head record.
type headEntry struct {
	id    uint32
	mint  int64
	n     int
	off   int
	bytes []byte
}

func headKey(seq uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return b[:]
}

func encodeHeadRecord(kind byte, entries []headEntry) []byte {
	size := 2
	for _, e := range entries {
		size += 4*binary.MaxVarintLen64 + len(e.bytes)
	}
	b := make([]byte, 0, size)
	b = append(b, headVersion, kind)
	prev := uint32(0)
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(e.id-prev))
		prev = e.id
		b = binary.AppendUvarint(b, uint64(e.off))
		if e.off == 0 {
			b = binary.AppendVarint(b, e.mint)
		}
		b = binary.AppendUvarint(b, uint64(e.n))
		b = binary.AppendUvarint(b, uint64(len(e.bytes)))
		b = append(b, e.bytes...)
	}
	return b
}

// encodeHeadRecords encodes entries as head log records of at most about maxValueBytes; a
// snapshot's first record is of kind headSnapshot, the rest (and a delta's) headDelta.
func encodeHeadRecords(snapshot bool, entries []headEntry) [][]byte {
	parts := splitValues(entries, func(e headEntry) int { return 16 + len(e.bytes) })
	out := make([][]byte, len(parts))
	for i, p := range parts {
		kind := byte(headDelta)
		if snapshot && i == 0 {
			kind = headSnapshot
		}
		out[i] = encodeHeadRecord(kind, p)
	}
	return out
}

// openChunk is a series' open chunk as the log rebuilds it.
type openChunk struct {
	mint  int64
	bytes []byte
}

// applyHeadRecord replays one record onto heads.
func applyHeadRecord(heads map[uint32]*openChunk, v []byte) error {
	if len(v) < 2 || v[0] != headVersion || (v[1] != headSnapshot && v[1] != headDelta) {
		return fmt.Errorf("%w: head record header", errCorruptRecord)
	}
	if v[1] == headSnapshot {
		clear(heads)
	}
	b := v[2:]
	next := func() (uint64, bool) {
		x, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return x, true
	}
	id := uint64(0)
	for len(b) > 0 {
		did, ok1 := next()
		off, ok2 := next()
		if !ok1 || !ok2 || did > math.MaxUint32-id {
			return fmt.Errorf("%w: head entry", errCorruptRecord)
		}
		id += did
		var mint int64
		if off == 0 {
			var k int
			if mint, k = binary.Varint(b); k <= 0 {
				return fmt.Errorf("%w: head entry", errCorruptRecord)
			}
			b = b[k:]
		}
		n, ok3 := next()
		l, ok4 := next()
		if !ok3 || !ok4 || l > uint64(len(b)) || n > math.MaxUint16 {
			return fmt.Errorf("%w: head entry", errCorruptRecord)
		}
		data := b[:l]
		b = b[l:]
		if n == 0 {
			delete(heads, uint32(id))
			continue
		}
		h := heads[uint32(id)]
		if off == 0 {
			h = &openChunk{mint: mint}
			heads[uint32(id)] = h
		} else if h == nil {
			return fmt.Errorf("%w: head delta without its chunk", errCorruptRecord)
		}
		if off > uint64(len(h.bytes)) {
			return fmt.Errorf("%w: head delta past its chunk", errCorruptRecord)
		}
		h.bytes = append(h.bytes[:off], data...)
		if len(h.bytes) < 2 {
			return fmt.Errorf("%w: head chunk of %d bytes", errCorruptRecord, len(h.bytes))
		}
		binary.BigEndian.PutUint16(h.bytes, uint16(n))
	}
	return nil
}

// headLogSlack is how far the head log may outgrow 1.5 times the open chunks before a
// checkpoint writes a snapshot instead of a delta. The log's pages are freed at each
// snapshot and reused by the next records, so the ratio bounds the file's free pages.
const headLogSlack = 64 << 10

// putHeadRecords appends records to the head log from seq on; a snapshot first deletes
// every older one.
func putHeadRecords(hb *bolt.Bucket, seq uint64, records [][]byte, snapshot bool) error {
	hb.FillPercent = 1.0 // keys only grow
	if snapshot {
		var old [][]byte
		c := hb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			old = append(old, bytes.Clone(k))
		}
		for _, k := range old {
			if err := hb.Delete(k); err != nil {
				return err
			}
		}
	}
	for i, r := range records {
		if err := hb.Put(headKey(seq+uint64(i)), r); err != nil {
			return err
		}
	}
	return nil
}
