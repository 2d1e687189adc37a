package store

import "hash/maphash"

// idTable finds an entry's slot by its id: an open-addressing hash table with linear probing,
// each cell 8 bytes holding the high half of the id's hash and the slot, so that a probe reads
// an entry only when the halves agree. At most 7/8 full: 9–18 bytes a workflow, where a
// map[string]*entry takes about 35.
type idTable struct {
	cells []uint64 // hash>>32 in the high half, slot+1 in the low half; 0 is empty
	shift uint     // 32 - log2(len(cells)): a cell's home is its hash half >> shift
	n     int
}

var idSeed = maphash.MakeSeed()

// hashID returns the hash of an id; a variable so that tests can make ids collide.
var hashID = func(id string) uint64 { return maphash.String(idSeed, id) }

func cellHash(c uint64) uint32 { return uint32(c >> 32) }
func cellSlot(c uint64) uint32 { return uint32(c) - 1 }

// reset empties the table and sizes it for n ids.
func (t *idTable) reset(n int) {
	size, bits := 8, uint(3)
	for size*7 < n*8 {
		size, bits = size*2, bits+1
	}
	t.cells, t.shift, t.n = make([]uint64, size), 32-bits, 0
}

// find returns the cell index holding id, or -1.
func (t *idTable) find(id string, slots []*entry) int {
	if t.n == 0 {
		return -1
	}
	h := uint32(hashID(id) >> 32)
	mask := len(t.cells) - 1
	for i := int(h >> t.shift); ; i = (i + 1) & mask {
		c := t.cells[i]
		if c == 0 {
			return -1
		}
		if cellHash(c) == h && slots[cellSlot(c)].id() == id {
			return i
		}
	}
}

// lookup returns the entry for id among slots, or nil.
func (t *idTable) lookup(id string, slots []*entry) *entry {
	if i := t.find(id, slots); i >= 0 {
		return slots[cellSlot(t.cells[i])]
	}
	return nil
}

// insert adds id at slot; id must not be in the table.
func (t *idTable) insert(id string, slot uint32) {
	if (t.n+1)*8 > len(t.cells)*7 {
		t.grow()
	}
	t.put(uint64(hashID(id)>>32)<<32 | uint64(slot+1))
	t.n++
}

func (t *idTable) put(c uint64) {
	mask := len(t.cells) - 1
	i := int(cellHash(c) >> t.shift)
	for t.cells[i] != 0 {
		i = (i + 1) & mask
	}
	t.cells[i] = c
}

func (t *idTable) grow() {
	old := t.cells
	t.reset(max(2*len(old)*7/8, 8))
	for _, c := range old {
		if c != 0 {
			t.put(c)
			t.n++
		}
	}
}

// remove deletes id, if present, shifting back the cells after it that would no longer be
// found past the hole.
func (t *idTable) remove(id string, slots []*entry) {
	i := t.find(id, slots)
	if i < 0 {
		return
	}
	t.n--
	mask := len(t.cells) - 1
	for j := i; ; {
		j = (j + 1) & mask
		c := t.cells[j]
		if c == 0 {
			t.cells[i] = 0
			return
		}
		// c stays at j if its home lies cyclically in (i, j]: it is still found from there.
		home := int(cellHash(c) >> t.shift)
		if i <= j && i < home && home <= j || i > j && (i < home || home <= j) {
			continue
		}
		t.cells[i] = c
		i = j
	}
}
