package boltfile

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// twoCommits writes a small bbolt file with a few commits and returns its path, page size
// and the newest transaction id.
func twoCommits(t *testing.T) (string, int64, uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte{byte(i)}, make([]byte, 3000))
		}); err != nil {
			t.Fatal(err)
		}
	}
	var txid int
	_ = db.View(func(tx *bolt.Tx) error { txid = tx.ID(); return nil })
	ps := int64(db.Info().PageSize)
	db.Close()
	return path, ps, uint64(txid)
}

// rewriteMeta changes the meta page in slot and gives it a valid checksum again.
func rewriteMeta(t *testing.T, path string, off int64, change func(meta []byte)) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := make([]byte, metaSize)
	if _, err := f.ReadAt(m, off+pageHeaderSize); err != nil {
		t.Fatal(err)
	}
	change(m)
	h := fnv.New64a()
	_, _ = h.Write(m[:checksumOffset])
	binary.LittleEndian.PutUint64(m[checksumOffset:], h.Sum64())
	if _, err := f.WriteAt(m, off+pageHeaderSize); err != nil {
		t.Fatal(err)
	}
}

// TestOlderMetaMayPointAtReusedPages: after a crash the older meta page's freelist may have
// been overwritten by later commits; bbolt never reads it, so neither does Check fail on it.
// The same damage on the newest meta page is a corrupt file.
func TestOlderMetaMayPointAtReusedPages(t *testing.T) {
	pointAtMeta := func(m []byte) { binary.LittleEndian.PutUint64(m[32:], 0) } // freelist := page 0
	cases := []struct {
		name    string
		slot    func(txid uint64) int64
		corrupt bool
	}{
		{"older", func(txid uint64) int64 { return int64((txid + 1) % 2) }, false},
		{"newest", func(txid uint64) int64 { return int64(txid % 2) }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, ps, txid := twoCommits(t)
			rewriteMeta(t, path, c.slot(txid)*ps, pointAtMeta)
			_, err := Check(path)
			if c.corrupt != errors.Is(err, ErrCorrupt) {
				t.Fatalf("Check: %v, want corrupt %v", err, c.corrupt)
			}
		})
	}
}
