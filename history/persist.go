package history

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
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
		s := newSeries(id, lset)
		s.persisted = true
		d.byID[id] = s
		d.byHash[lset.Hash()] = append(d.byHash[lset.Hash()], s)
		d.nextID = max(d.nextID, id+1)
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketChunks).ForEach(func(k, v []byte) error {
		if len(k) != 4 || v != nil {
			return fmt.Errorf("%w: chunk bucket entry of %d bytes", errCorruptRecord, len(k))
		}
		s := d.byID[binary.BigEndian.Uint32(k)]
		if s == nil {
			return nil // unowned: series and their chunks are deleted in one transaction, so never expected
		}
		c := tx.Bucket(bucketChunks).Bucket(k).Cursor()
		fk, _ := c.First()
		lk, lv := c.Last()
		if fk == nil {
			return nil
		}
		mint, ok1 := parseTimeKey(fk)
		lmint, ok2 := parseTimeKey(lk)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: chunk key of %d bytes", errCorruptRecord, len(fk))
		}
		maxt, _, err := parseChunkValue(lmint, lv)
		if err != nil {
			return err
		}
		s.minT = min(s.minT, mint)
		s.lastT = max(s.lastT, maxt)
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketHead).ForEach(func(k, v []byte) error {
		if len(k) != 4 {
			return fmt.Errorf("%w: head key of %d bytes", errCorruptRecord, len(k))
		}
		s := d.byID[binary.BigEndian.Uint32(k)]
		if s == nil {
			return nil // written for a series that retention has since removed
		}
		info, err := decodeChunk(v)
		if err != nil {
			return err
		}
		if info.mint <= s.lastT {
			return nil // superseded by a full chunk written later
		}
		// The stored bytes do not say how many bits of their last byte are used, so
		// an appender cannot continue them: re-encode the samples into a fresh chunk.
		if s.head, s.app, err = reencode(v); err != nil {
			return err
		}
		s.headMint, s.headMaxt = info.mint, info.maxt
		s.minT = min(s.minT, info.mint)
		s.lastT = info.maxt
		s.stale = value.IsStaleNaN(info.last)
		return nil
	})
	if err != nil {
		return err
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

// checkpointWork is what one checkpoint writes for one series.
type checkpointWork struct {
	s       *series
	labels  []byte      // nil when already in the file
	full    []chunkMeta // pending full chunks
	head    []byte      // copy of the open chunk; nil with dropHead to delete it
	putHead bool
}

// checkpoint writes new series, full chunks and changed open chunks in one transaction.
// A crash loses at most the samples appended since the last checkpoint.
func (d *DB) checkpoint() error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.closed {
		return nil
	}
	d.mu.Lock()
	var work []checkpointWork
	for _, s := range d.byID {
		if s.persisted && len(s.pending) == 0 && !s.dirty {
			continue
		}
		w := checkpointWork{s: s, full: slices.Clone(s.pending)}
		if !s.persisted {
			w.labels = encodeLabels(s.lset)
		}
		if s.dirty {
			w.putHead = true
			if s.head != nil {
				w.head = slices.Clone(s.head.Bytes())
			}
			s.dirty = false
		}
		work = append(work, w)
	}
	var meta []byte
	if d.metaDirty {
		meta, _ = json.Marshal(d.meta)
		d.metaDirty = false
	}
	d.mu.Unlock()

	// Series buckets are created in id order, so the parent bucket only grows at its end.
	slices.SortFunc(work, func(a, b checkpointWork) int { return int64Cmp(int64(a.s.id), int64(b.s.id)) })
	err := d.bdb.Update(func(tx *bolt.Tx) error {
		sb, cb, hb := tx.Bucket(bucketSeries), tx.Bucket(bucketChunks), tx.Bucket(bucketHead)
		cb.FillPercent = 1.0
		for _, w := range work {
			if w.labels != nil {
				if err := sb.Put(seriesKey(w.s.id), w.labels); err != nil {
					return err
				}
			}
			if len(w.full) > 0 {
				b, err := cb.CreateBucketIfNotExists(seriesKey(w.s.id))
				if err != nil {
					return err
				}
				b.FillPercent = 1.0 // keys only grow, so pages need no room for inserts
				for _, c := range w.full {
					if err := b.Put(timeKey(c.mint), encodeChunkValue(c.mint, c.maxt, c.data)); err != nil {
						return err
					}
				}
			}
			if !w.putHead {
				continue
			}
			var err error
			if w.head != nil {
				err = hb.Put(seriesKey(w.s.id), w.head)
			} else {
				err = hb.Delete(seriesKey(w.s.id))
			}
			if err != nil {
				return err
			}
		}
		if meta != nil {
			return tx.Bucket(bucketMeta).Put(metadataKey, meta)
		}
		return nil
	})

	d.mu.Lock()
	for _, w := range work {
		if err != nil {
			if w.putHead {
				w.s.dirty = true
			}
			continue
		}
		w.s.persisted = true
		if n := len(w.full); n > 0 {
			w.s.pending = slices.Clone(w.s.pending[n:])
		}
	}
	if err != nil && meta != nil {
		d.metaDirty = true
	}
	d.mu.Unlock()
	d.updateFileSize()
	if err != nil {
		d.ckErrors.Add(1)
		return fmt.Errorf("history checkpoint: %w", err)
	}
	return nil
}

func int64Cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// enforceRetention deletes the full chunks that end before cutoff (Unix ms), drops open
// chunks of series no longer exposed that end before it, and forgets series left empty.
func (d *DB) enforceRetention(cutoff int64) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.closed {
		return nil
	}
	d.mu.Lock()
	ids := make([]uint32, 0, len(d.byID))
	for id := range d.byID {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	slices.Sort(ids)

	oldest := make(map[uint32]int64, len(ids)) // the first chunk kept in the file, per series
	err := d.bdb.Update(func(tx *bolt.Tx) error {
		cb := tx.Bucket(bucketChunks)
		for _, id := range ids {
			b := cb.Bucket(seriesKey(id))
			if b == nil {
				continue
			}
			var doomed [][]byte
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				mint, ok := parseTimeKey(k)
				maxt, _, err := parseChunkValue(mint, v)
				if ok && err == nil && maxt >= cutoff {
					oldest[id] = mint
					break
				}
				doomed = append(doomed, bytes.Clone(k))
			}
			for _, k := range doomed {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("history retention: %w", err)
	}

	d.mu.Lock()
	var gone []uint32
	for _, id := range ids {
		s := d.byID[id]
		if s == nil {
			continue
		}
		live := s.lastTick == d.tick && d.tick != 0 && !s.stale
		if s.head != nil && s.headMaxt < cutoff && !live && len(s.pending) == 0 {
			s.head, s.app, s.dirty = nil, nil, true
		}
		minT, kept := oldest[id]
		if !kept {
			minT = s.firstMemMint()
		}
		if minT == math.MaxInt64 && !live {
			d.drop(s)
			gone = append(gone, id)
			continue
		}
		s.minT = minT
	}
	d.mu.Unlock()
	if len(gone) == 0 {
		return nil
	}
	err = d.bdb.Update(func(tx *bolt.Tx) error {
		sb, hb, cb := tx.Bucket(bucketSeries), tx.Bucket(bucketHead), tx.Bucket(bucketChunks)
		for _, id := range gone {
			if err := errors.Join(sb.Delete(seriesKey(id)), hb.Delete(seriesKey(id))); err != nil {
				return err
			}
			if err := cb.DeleteBucket(seriesKey(id)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("history retention: %w", err)
	}
	return nil
}

// retentionCutoff is the oldest time kept at now.
func (d *DB) retentionCutoff(now time.Time) int64 {
	return now.Add(-d.opts.Retention).UnixMilli()
}
