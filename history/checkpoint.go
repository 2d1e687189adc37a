package history

import (
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// checkpointWork is what one checkpoint writes for one series.
type checkpointWork struct {
	s       *series
	labels  []byte      // nil when already in the file
	full    []chunkMeta // pending full chunks
	head    *headEntry  // the open chunk's part of the head log record; nil when unchanged
	headLen int         // length of the open chunk written
	counter bool        // the series only grows but for resets (counterLike)
}

// checkpointPlan is everything one checkpoint writes, taken from memory in one go.
type checkpointPlan struct {
	snapshot bool             // the head log is rewritten whole
	work     []checkpointWork // per series, in id order
	records  [][]byte         // head log records; nil when the open chunks did not change
	meta     []byte           // metadata JSON; nil when unchanged
	blocks   map[int64][]blockChunk
	copies   []map[int64][]blockChunk // blocks downsampled, per resolution
}

// checkpoint writes new series, full chunks and changed open chunks in one transaction:
// it plans what to write under the lock, writes without it (appends go on meanwhile),
// and settles what was written, or marks it to be written again, under the lock again.
// A crash loses at most the samples appended since the last checkpoint.
func (d *DB) checkpoint() error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.closed {
		return nil
	}
	d.mu.Lock()
	p := d.planCheckpoint()
	d.mu.Unlock()
	err := p.encode()
	if err == nil {
		err = d.bdb.Update(func(tx *bolt.Tx) error { return p.write(tx, d.headSeq+1) })
	}
	d.mu.Lock()
	d.settleCheckpoint(p, err)
	d.mu.Unlock()
	d.updateFileSize()
	if err != nil {
		d.ckErrors.Add(1)
		return fmt.Errorf("history checkpoint: %w", err)
	}
	return nil
}

// planCheckpoint collects what changed since the last checkpoint and marks it clean;
// settleCheckpoint marks it dirty again if the write fails. A snapshot rewrites the head
// log when it has grown well past the open chunks it describes. Caller holds d.mu.
func (d *DB) planCheckpoint() *checkpointPlan {
	live := 0
	for _, s := range d.byID {
		if s.head != nil {
			live += len(s.head.Bytes())
		}
	}
	p := &checkpointPlan{snapshot: d.headLog > live+live/2+headLogSlack}
	for _, s := range d.byID {
		needHead := s.dirty || (p.snapshot && s.head != nil)
		if s.persisted && len(s.pending) == 0 && !needHead {
			continue
		}
		w := checkpointWork{s: s, full: slices.Clone(s.pending)}
		if len(w.full) > 0 {
			w.counter = counterLike(s.lset, d.meta)
		}
		if !s.persisted {
			w.labels = encodeLabels(s.lset)
		}
		if needHead {
			w.head, w.headLen = s.headEntry(p.snapshot)
			s.dirty = false
		}
		p.work = append(p.work, w)
	}
	if d.metaDirty {
		p.meta, _ = json.Marshal(d.meta)
		d.metaDirty = false
	}
	return p
}

// headEntry is the series' part of the next head log record and the length of its open
// chunk, or nil when a snapshot has nothing to say of it. A delta repeats only the last
// byte written before: the bytes before it never change.
func (s *series) headEntry(snapshot bool) (*headEntry, int) {
	e := headEntry{id: s.id}
	n := 0
	if s.head != nil {
		b := s.head.Bytes()
		if !snapshot && s.ckMint == s.headMint && s.ckLen >= 3 {
			e.off = s.ckLen - 1
		}
		e.mint, e.n, e.bytes = s.headMint, s.head.NumSamples(), slices.Clone(b[e.off:])
		n = len(b)
	}
	if e.n == 0 && snapshot {
		return nil, 0
	}
	return &e, n
}

// encode builds the head log records and the blocks of the plan, outside the lock. Work
// and records are in id order so the record and the series bucket grow in order.
func (p *checkpointPlan) encode() error {
	slices.SortFunc(p.work, func(a, b checkpointWork) int { return int64Cmp(int64(a.s.id), int64(b.s.id)) })
	var entries []headEntry
	for _, w := range p.work {
		if w.head != nil {
			entries = append(entries, *w.head)
		}
	}
	if p.snapshot || len(entries) > 0 {
		p.records = encodeHeadRecords(p.snapshot, entries)
	}
	p.blocks = groupBlocks(p.work)
	var err error
	p.copies, err = downsampleBlocks(p.blocks) // full chunks come from the appender: never expected to fail
	return err
}

// write puts the plan in the file in one transaction, the head log from sequence seq on.
func (p *checkpointPlan) write(tx *bolt.Tx, seq uint64) error {
	sb := tx.Bucket(bucketSeries)
	sb.FillPercent = 1.0 // ids only grow
	for _, w := range p.work {
		if w.labels != nil {
			if err := sb.Put(seriesKey(w.s.id), w.labels); err != nil {
				return err
			}
		}
	}
	if p.records != nil {
		if err := putHeadRecords(tx.Bucket(bucketHead), seq, p.records, p.snapshot); err != nil {
			return err
		}
	}
	if err := putBlocks(tx.Bucket(bucketBlocks), p.blocks); err != nil {
		return err
	}
	for i, res := range resolutions {
		if err := putBlocks(tx.Bucket(res.bucket), p.copies[i]); err != nil {
			return err
		}
	}
	if p.meta != nil {
		return tx.Bucket(bucketMeta).Put(metadataKey, p.meta)
	}
	return nil
}

// settleCheckpoint records what the write of p did: on success the chunks written leave
// memory and the head log's size and sequence advance; on failure everything planned is
// marked to be written again. Caller holds d.mu.
func (d *DB) settleCheckpoint(p *checkpointPlan, err error) {
	if err != nil {
		for _, w := range p.work {
			if w.head != nil {
				w.s.dirty = true
			}
		}
		if p.meta != nil {
			d.metaDirty = true
		}
		return
	}
	d.ckGen++
	if p.records != nil {
		d.headSeq += uint64(len(p.records))
		if p.snapshot {
			d.headLog = 0
		}
		for _, r := range p.records {
			d.headLog += len(r)
		}
	}
	for _, w := range p.work {
		w.s.persisted = true
		if w.head != nil {
			w.s.ckMint, w.s.ckLen = w.head.mint, w.headLen
		}
		if n := len(w.full); n > 0 {
			w.s.pending = slices.Clone(w.s.pending[n:])
		}
	}
}
