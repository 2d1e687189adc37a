package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// corruptedFile is a damage done to a copy of a good database file.
type corruptedFile struct {
	name   string
	damage func(t *testing.T, path string, used int64)
}

func truncateTo(size func(used int64) int64) func(*testing.T, string, int64) {
	return func(t *testing.T, path string, used int64) {
		if err := os.Truncate(path, size(used)); err != nil {
			t.Fatal(err)
		}
	}
}

func overwrite(off func(used int64) int64, n int) func(*testing.T, string, int64) {
	return func(t *testing.T, path string, used int64) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, n), off(used)); err != nil {
			t.Fatal(err)
		}
	}
}

// corruptions are ten damages: truncations at sizes from 100 bytes to one byte short, and
// overwrites of both meta pages, the first data pages and the second half.
var corruptions = []corruptedFile{
	{"truncated to 100 B", truncateTo(func(int64) int64 { return 100 })},
	{"truncated to one page", truncateTo(func(int64) int64 { return 4096 })},
	{"truncated to the meta pages", truncateTo(func(int64) int64 { return 8192 })},
	{"truncated to 100 kB", truncateTo(func(int64) int64 { return 100_000 })},
	{"truncated to a quarter", truncateTo(func(u int64) int64 { return u / 4 })},
	{"truncated to half", truncateTo(func(u int64) int64 { return u / 2 })},
	{"truncated by a page", truncateTo(func(u int64) int64 { return u - 4096 })},
	{"truncated by a byte", truncateTo(func(u int64) int64 { return u - 1 })},
	{"both meta pages overwritten", overwrite(func(int64) int64 { return 16 }, 8192)},
	{"second half overwritten", overwrite(func(u int64) int64 { return u / 2 }, 1<<20)},
}

// goodFile writes a database of about 1 MB and returns its path and the bytes its pages use.
func goodFile(t *testing.T) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		nodes := make([]workflow.Node, 40)
		for j := range nodes {
			nodes[j] = workflow.Node{ID: fmt.Sprintf("n%d", j), Data: map[string]any{"label": fmt.Sprintf("%0400d", j)}}
		}
		wf := workflow.Workflow{Metadata: workflow.Metadata{ID: fmt.Sprintf("wf-%03d", i), Name: "w"}, Nodes: nodes}
		if err := s.Workflows.Create(&wf); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var used int64
	_ = db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	if used < 400_000 {
		t.Fatalf("test file too small: %d bytes used", used)
	}
	return path, used
}

func fileDigest(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestCorruptFileRefusedUntouched: a damaged database stops Open with ErrCorrupt, never a
// fault, and however often Open is tried the file stays byte for byte as it was.
func TestCorruptFileRefusedUntouched(t *testing.T) {
	good, used := goodFile(t)
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			c.damage(t, path, used)
			before := fileDigest(t, path)
			for try := range 3 {
				s, err := Open(path, Options{})
				if err == nil {
					s.Close()
					t.Fatalf("try %d: opened a damaged file", try)
				}
				t.Logf("try %d: %v", try, err)
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("try %d: %v, want ErrCorrupt", try, err)
				}
			}
			if fileDigest(t, path) != before {
				t.Fatal("a failed open wrote to the file")
			}
		})
	}
}

// TestOlderMetaPageIsReported: with the newest meta page damaged, the store opens the
// previous one and says so through Degraded.
func TestOlderMetaPageIsReported(t *testing.T) {
	path, _ := goodFile(t)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var txid int
	_ = db.View(func(tx *bolt.Tx) error { txid = tx.ID(); return nil })
	db.Close()
	// Meta pages alternate by transaction: the newest is page txid%2.
	overwrite(func(int64) int64 { return int64(txid%2)*4096 + 16 + 8 }, 8)(t, path, 0)

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open with one good meta page: %v", err)
	}
	defer s.Close()
	if s.Degraded() == "" {
		t.Fatal("the fallback to the older meta page went unreported")
	}
	whole, _ := goodFile(t)
	s2, err := Open(whole, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if d := s2.Degraded(); d != "" {
		t.Fatalf("a whole file reported degraded: %s", d)
	}
}
