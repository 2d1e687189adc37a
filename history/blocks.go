package history

import (
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

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

func int64Cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
