package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gemini-flow/gemini-flow/store"
)

// TestDiskFullIsAStorageError: a write the disk has no room for answers 507 STORAGE_FULL, not
// a bare 500, /health says the database is degraded, and what was stored before still reads.
// The disk is a 4 MiB tmpfs, which needs root (as CI runs).
func TestDiskFullIsAStorageError(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("mounting a small tmpfs needs root: %v", err)
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		opened, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { opened.Close() })
		d.Store = opened
	})
	first := ts.createWorkflow(t, fullWorkflow("kept"))
	full := false
	for i := 0; i < 12 && !full; i++ {
		status, _, body := ts.do(t, http.MethodPost, "/api/workflows", bigWorkflow(fmt.Sprintf("big-%d", i)), nil)
		switch status {
		case http.StatusCreated:
		case http.StatusInsufficientStorage:
			full = true
			if !strings.Contains(body, `"STORAGE_FULL"`) {
				t.Errorf("507 without STORAGE_FULL: %s", body)
			}
		default:
			t.Fatalf("write %d on a filling disk: %d %.300s", i, status, body)
		}
	}
	if !full {
		t.Fatal("12 writes of 900 kB fit a 4 MiB disk")
	}
	if status, _, body := ts.do(t, http.MethodGet, "/health", "", nil); status != http.StatusOK || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, "disk is full") {
		t.Errorf("/health after a full disk: %d %s", status, body)
	}
	if status, _, _ := ts.do(t, http.MethodGet, "/api/workflows/"+first, "", nil); status != http.StatusOK {
		t.Errorf("a workflow stored before the disk filled: %d", status)
	}
}
