package history

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
)

// load rebuilds the in-memory index from the file: every series, its open chunk as of the
// last checkpoint, and the time range of its full chunks. It reads every series and open
// chunk, which doubles as the consistency probe of Open.
func (d *DB) load(tx *bolt.Tx) error {
	err := tx.Bucket(bucketSeries).ForEach(func(k, v []byte) error {
		if len(k) != 4 {
			return fmt.Errorf("%w: series key of %d bytes", errCorruptRecord, len(k))
		}
		lset, err := decodeLabels(v)
		if err != nil {
			return err
		}
		id := binary.BigEndian.Uint32(k)
		d.nextID = max(d.nextID, id+1)
		if lset.Has(legacyRollupLabel) {
			return nil
		}
		s := newSeries(id, lset)
		s.persisted = true
		d.add(s)
		return nil
	})
	if err != nil {
		return err
	}
	err = forEachBlock(tx.Bucket(bucketBlocks), math.MinInt64, func(bl *block) error {
		prev := uint32(0)
		for i := range bl.n {
			id, c, ok := bl.entry(i)
			if !ok || id < prev || !plausibleChunk(c.mint, c.data) {
				return fmt.Errorf("%w: block %d entry %d", errCorruptRecord, bl.start, i)
			}
			prev = id
			if s := d.byID[id]; s != nil {
				s.minT = min(s.minT, c.mint)
				s.lastT = max(s.lastT, c.maxt)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	heads := map[uint32]*openChunk{}
	c := tx.Bucket(bucketHead).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("%w: head key of %d bytes", errCorruptRecord, len(k))
		}
		if err := applyHeadRecord(heads, v); err != nil {
			return err
		}
		d.headSeq = binary.BigEndian.Uint64(k)
		d.headLog += len(v)
	}
	for id, h := range heads {
		s := d.byID[id]
		if s == nil {
			continue // written for a series that retention has since removed
		}
		info, err := decodeChunk(h.bytes)
		if err != nil {
			return err
		}
		if info.mint != h.mint {
			return fmt.Errorf("%w: open chunk of series %d starts at %d, not %d", errCorruptRecord, id, info.mint, h.mint)
		}
		if info.mint <= s.lastT {
			continue // superseded by a full chunk written later
		}
		// The stored bytes do not say how many bits of their last byte are used, so
		// an appender cannot continue them: re-encode the samples into a fresh chunk.
		if s.head, s.app, err = reencode(h.bytes); err != nil {
			return err
		}
		s.headMint, s.headMaxt = info.mint, info.maxt
		s.minT = min(s.minT, info.mint)
		s.lastT = info.maxt
		s.stale = value.IsStaleNaN(info.last)
	}
	if v := tx.Bucket(bucketMeta).Get(metadataKey); v != nil {
		if err := json.Unmarshal(v, &d.meta); err != nil {
			return fmt.Errorf("%w: metadata: %v", errCorruptRecord, err)
		}
	}
	return nil
}

// reencode copies the samples of a valid XOR chunk into a new chunk open for appends.
func reencode(b []byte) (*chunkenc.XORChunk, chunkenc.Appender, error) {
	src := chunkenc.NewXORChunk()
	src.Reset(b)
	dst := chunkenc.NewXORChunk()
	app, err := dst.Appender()
	if err != nil {
		return nil, nil, err
	}
	it := src.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		t, v := it.At()
		app.Append(0, t, v)
	}
	return dst, app, it.Err()
}
