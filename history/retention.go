package history

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// enforceRetention deletes the full chunks that end before cutoff (Unix ms), drops open
// chunks of series no longer exposed that end before it, and forgets series left empty.
func (d *DB) enforceRetention(cutoff int64) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.closed {
		return nil
	}
	d.pastGen.Add(1) // what is deleted was answered before
	d.mu.Lock()
	ids := make([]uint32, 0, len(d.byID))
	for id := range d.byID {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	slices.Sort(ids)

	oldest := make(map[uint32]int64, len(ids)) // the first chunk kept in the file, per series
	err := d.bdb.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBlocks)
		for _, name := range blockBuckets() {
			if err := deleteBlocksBefore(tx.Bucket(name), cutoff); err != nil {
				return err
			}
		}
		return forEachBlock(bb, math.MinInt64, func(bl *block) error {
			for i := range bl.n {
				if id, c, ok := bl.entry(i); ok {
					if _, seen := oldest[id]; !seen {
						oldest[id] = c.mint
					}
				}
			}
			return nil
		})
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
			s.dropHead()
			s.dirty = true
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
		sb := tx.Bucket(bucketSeries)
		for _, id := range gone {
			// The head log forgets the series at its next snapshot; Open skips it until then.
			if err := sb.Delete(seriesKey(id)); err != nil {
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

// blockBuckets are the buckets of raw blocks and of their downsampled copies.
func blockBuckets() [][]byte {
	out := [][]byte{bucketBlocks}
	for _, r := range resolutions {
		out = append(out, r.bucket)
	}
	return out
}

// deleteBlocksBefore deletes the blocks of bb whose window ends at or before cutoff.
func deleteBlocksBefore(bb *bolt.Bucket, cutoff int64) error {
	var doomed [][]byte
	c := bb.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		ws, _, ok := parseBlockKey(k)
		if ok && ws+chunkWindow > cutoff {
			break // every chunk of a block ends before its window does
		}
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := bb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// retentionCutoff is the oldest time kept at now.
func (d *DB) retentionCutoff(now time.Time) int64 {
	return now.Add(-d.opts.Retention).UnixMilli()
}
