package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestIDTableEqualsMap inserts and removes random ids and compares every lookup with a map,
// with the real hash and with hashes that collide often, in whole or in their home cell, so
// that probe runs wrap around the table's end and removals shift cells back.
func TestIDTableEqualsMap(t *testing.T) {
	realHash := hashID
	defer func() { hashID = realHash }()
	tests := []struct {
		name string
		hash func(string) uint64
	}{
		{"real hash", realHash},
		{"eight hashes", func(id string) uint64 { return realHash(id) % 8 << 61 }},
		{"same home, other halves", func(id string) uint64 { return (realHash(id) | 0xffffff<<40) }},
		{"one hash", func(string) uint64 { return 0xffff_ffff_0000_0000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hashID = tt.hash
			rng := rand.New(rand.NewPCG(1, 2))
			var tab idTable
			var slots []*entry
			want := map[string]uint32{}
			var free []uint32
			for op := range 4000 {
				id := fmt.Sprintf("id-%d", rng.IntN(300))
				if slot, ok := want[id]; ok && rng.IntN(2) == 0 {
					tab.remove(id, slots)
					slots[slot] = nil
					free = append(free, slot)
					delete(want, id)
				} else if !ok {
					e := &entry{data: id, idEnd: uint32(len(id))}
					if n := len(free); n > 0 {
						e.slot, free = free[n-1], free[:n-1]
						slots[e.slot] = e
					} else {
						e.slot = uint32(len(slots))
						slots = append(slots, e)
					}
					tab.insert(id, e.slot)
					want[id] = e.slot
				}
				if tab.n != len(want) {
					t.Fatalf("op %d: table holds %d, want %d", op, tab.n, len(want))
				}
				for i := range 300 {
					id := fmt.Sprintf("id-%d", i)
					got := tab.lookup(id, slots)
					slot, ok := want[id]
					if ok != (got != nil) || ok && got != slots[slot] {
						t.Fatalf("op %d: lookup %s = %v, want present %v at %d", op, id, got, ok, slot)
					}
				}
			}
		})
	}
}
