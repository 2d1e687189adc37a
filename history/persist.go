package history

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

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

// checkpointWork is what one checkpoint writes for one series.
type checkpointWork struct {
	s       *series
	labels  []byte      // nil when already in the file
	full    []chunkMeta // pending full chunks
	head    *headEntry  // the open chunk's part of the head log record; nil when unchanged
	headLen int         // length of the open chunk written
	counter bool        // the series only grows but for resets (counterLike)
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
	live := 0
	for _, s := range d.byID {
		if s.head != nil {
			live += len(s.head.Bytes())
		}
	}
	snapshot := d.headLog > live+live/2+headLogSlack
	var work []checkpointWork
	var entries []headEntry
	for _, s := range d.byID {
		needHead := s.dirty || (snapshot && s.head != nil)
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
			e := headEntry{id: s.id}
			if s.head != nil {
				b := s.head.Bytes()
				if !snapshot && s.ckMint == s.headMint && s.ckLen >= 3 {
					e.off = s.ckLen - 1 // bytes before the last one never change
				}
				e.mint, e.n, e.bytes = s.headMint, s.head.NumSamples(), slices.Clone(b[e.off:])
				w.headLen = len(b)
			}
			if e.n > 0 || !snapshot {
				entries = append(entries, e)
				w.head = &e
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

	// Work and entries are in id order so the record and the series bucket grow in order.
	slices.SortFunc(work, func(a, b checkpointWork) int { return int64Cmp(int64(a.s.id), int64(b.s.id)) })
	slices.SortFunc(entries, func(a, b headEntry) int { return int64Cmp(int64(a.id), int64(b.id)) })
	var records [][]byte
	if snapshot || len(entries) > 0 {
		records = encodeHeadRecords(snapshot, entries)
	}
	blocks := groupBlocks(work)
	copies, dsErr := downsampleBlocks(blocks)
	err := d.bdb.Update(func(tx *bolt.Tx) error {
		if dsErr != nil {
			return dsErr // full chunks come from the appender: never expected
		}
		sb := tx.Bucket(bucketSeries)
		sb.FillPercent = 1.0 // ids only grow
		for _, w := range work {
			if w.labels != nil {
				if err := sb.Put(seriesKey(w.s.id), w.labels); err != nil {
					return err
				}
			}
		}
		if records != nil {
			if err := putHeadRecords(tx.Bucket(bucketHead), d.headSeq+1, records, snapshot); err != nil {
				return err
			}
		}
		if err := putBlocks(tx.Bucket(bucketBlocks), blocks); err != nil {
			return err
		}
		for i, res := range resolutions {
			if err := putBlocks(tx.Bucket(res.bucket), copies[i]); err != nil {
				return err
			}
		}
		if meta != nil {
			return tx.Bucket(bucketMeta).Put(metadataKey, meta)
		}
		return nil
	})

	d.mu.Lock()
	if err == nil {
		d.ckGen++
	}
	if err == nil && records != nil {
		d.headSeq += uint64(len(records))
		if snapshot {
			d.headLog = 0
		}
		for _, r := range records {
			d.headLog += len(r)
		}
	}
	for _, w := range work {
		if err != nil {
			if w.head != nil {
				w.s.dirty = true
			}
			continue
		}
		w.s.persisted = true
		if w.head != nil {
			w.s.ckMint, w.s.ckLen = w.head.mint, w.headLen
		}
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

// groupBlocks packs the full chunks of work into one block per window, each sorted by
// (series id, mint).
func groupBlocks(work []checkpointWork) map[int64][]blockChunk {
	out := map[int64][]blockChunk{}
	for _, w := range work {
		for _, c := range w.full {
			ws := window(c.mint) * chunkWindow
			out[ws] = append(out[ws], blockChunk{id: w.s.id, chunkMeta: c, counter: w.counter})
		}
	}
	for _, list := range out {
		sortBlockChunks(list)
	}
	return out
}

// sortBlockChunks sorts chunks by (series id, mint), the order of a block's index.
func sortBlockChunks(list []blockChunk) {
	slices.SortFunc(list, func(a, b blockChunk) int {
		if a.id != b.id {
			return int64Cmp(int64(a.id), int64(b.id))
		}
		return int64Cmp(a.mint, b.mint)
	})
}

// putBlocks writes each window's chunks as a new block after the window's existing ones.
func putBlocks(bb *bolt.Bucket, blocks map[int64][]blockChunk) error {
	bb.FillPercent = 1.0 // keys only grow (windows and sequences increase)
	starts := make([]int64, 0, len(blocks))
	for ws := range blocks {
		starts = append(starts, ws)
	}
	slices.Sort(starts)
	for _, ws := range starts {
		seq := uint32(0)
		c := bb.Cursor()
		for k, _ := c.Seek(blockKey(ws, 0)); k != nil; k, _ = c.Next() {
			kws, kseq, ok := parseBlockKey(k)
			if !ok || kws != ws {
				break
			}
			seq = kseq + 1
		}
		for _, part := range splitValues(blocks[ws], func(c blockChunk) int { return blockEntryLen + len(c.data) }) {
			if err := bb.Put(blockKey(ws, seq), encodeBlock(ws, part)); err != nil {
				return err
			}
			seq++
		}
	}
	return nil
}

// maxValueBytes bounds every block and head log value. bbolt stores a value as one run
// of contiguous pages: small runs fit the holes that earlier transactions left in the file,
// where one large value would need a fresh run at its end.
const maxValueBytes = 64 << 10

// splitValues cuts list into consecutive parts of at most maxValueBytes by size, each
// holding at least one item.
func splitValues[T any](list []T, size func(T) int) [][]T {
	var parts [][]T
	from, sum := 0, 0
	for i, x := range list {
		n := size(x)
		if i > from && sum+n > maxValueBytes {
			parts = append(parts, list[from:i])
			from, sum = i, 0
		}
		sum += n
	}
	return append(parts, list[from:])
}

// forEachBlock calls fn for every block whose window starts at or after from, oldest first.
// The block aliases the transaction's memory.
func forEachBlock(bb *bolt.Bucket, from int64, fn func(*block) error) error {
	c := bb.Cursor()
	for k, v := c.Seek(blockKey(from, 0)); k != nil; k, v = c.Next() {
		ws, _, ok := parseBlockKey(k)
		if !ok {
			return fmt.Errorf("%w: block key of %d bytes", errCorruptRecord, len(k))
		}
		bl, err := parseBlock(ws, v)
		if err != nil {
			return err
		}
		if err := fn(&bl); err != nil {
			return err
		}
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
