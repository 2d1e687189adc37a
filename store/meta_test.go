package store

import (
	"encoding/binary"
	"fmt"
	"os"
	"testing"
)

// TestOlderMetaPagesMayBeReused opens a file whose older meta page points at a freelist page
// that a later commit reused, as a crash right after that commit leaves it: bbolt opens the
// newer meta page, so the file is sound and must open with every workflow.
func TestOlderMetaPagesMayBeReused(t *testing.T) {
	s := openUnchecked(t)
	for i := range 20 {
		must(t, s.Workflows.Create(sample(fmt.Sprint("w", i), 2, int64(i))))
	}
	path := s.path
	must(t, s.Close())

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	le := binary.LittleEndian
	const pageHeader = 16
	meta := func(off int64) (freelist, txid uint64) {
		b := make([]byte, pageHeader+56)
		_, err := f.ReadAt(b, off)
		must(t, err)
		return le.Uint64(b[pageHeader+32:]), le.Uint64(b[pageHeader+48:])
	}
	var ps [4]byte
	_, err = f.ReadAt(ps[:], pageHeader+8)
	must(t, err)
	pageSize := int64(le.Uint32(ps[:]))
	free0, tx0 := meta(0)
	free1, tx1 := meta(pageSize)
	older, newer := free0, free1
	if tx0 > tx1 {
		older, newer = free1, free0
	}
	if older == newer {
		t.Fatalf("both meta pages use freelist page %d", older)
	}
	// The older freelist page is free in the newer tree: reuse it as a leaf page.
	flags := make([]byte, 2)
	le.PutUint16(flags, 0x02)
	_, err = f.WriteAt(flags, int64(older)*pageSize+8)
	must(t, err)
	must(t, f.Close())

	s, err = Open(path, Options{})
	must(t, err)
	defer checkAndClose(t, s)
	if st, err := s.Stats(); err != nil || st.WorkflowCount != 20 {
		t.Errorf("reopened with %+v, %v", st, err)
	}
}
