package history

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestTruncatedFileMovedAside: a history file cut short at any of ten sizes (which bbolt
// would map and fault on, SIGBUS) is moved aside, and the server starts with an empty one.
func TestTruncatedFileMovedAside(t *testing.T) {
	good := tempPath(t)
	d, err := Open(Options{Path: good, Job: testJob, Instance: testInstance, Interval: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	routes := make([]string, 150)
	for i := range routes {
		routes[i] = fmt.Sprintf("/r%03d", i)
	}
	appendTicks(t, d, 0, 1200, routes...)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(good, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	_ = bdb.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	bdb.Close()
	if used < 200_000 {
		t.Fatalf("test file too small: %d bytes used", used)
	}
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int64{100, 4096, 8192, 12288, 100_000, used / 4, used / 2, 3 * used / 4, used - 4096, used - 1}
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.db")
			if err := os.WriteFile(path, orig[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			d := openTest(t, path, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
				t.Fatalf("not moved aside: %v; log %s", aside, logs.String())
			}
			if !strings.Contains(logs.String(), "corrupt") {
				t.Errorf("no warning logged: %s", logs.String())
			}
			if d.Stats().Series != 0 {
				t.Fatal("the new history is not empty")
			}
			appendTicks(t, d, 0, 2, "a")
		})
	}
}
