package history

import (
	"bytes"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	bolt "go.etcd.io/bbolt"
)

// sampleCount counts the samples of every series in the whole history.
func sampleCount(t *testing.T, d *DB) int {
	t.Helper()
	n := 0
	for _, s := range referenceFrom(t, d).series {
		for it := s.Iterator(nil); it.Next() != 0; {
			n++
		}
	}
	return n
}

func TestRestartKeepsHistory(t *testing.T) {
	path := tempPath(t)
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		t.Fatal(err)
	}
	appendTicks(t, d, 0, 900, "a", "b") // one full chunk and an open one
	end := t0 + 899*step10s
	before := map[string]any{}
	for _, q := range panelQueries {
		before[q] = rangeQuery(t, d, q, t0, end, time.Minute)
	}
	n := sampleCount(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	d = openTest(t, path)
	if got := sampleCount(t, d); got != n {
		t.Fatalf("after restart %d samples, want %d", got, n)
	}
	for _, q := range panelQueries {
		equalMatrix(t, q, rangeQuery(t, d, q, t0, end, time.Minute), before[q].(promql.Matrix))
	}
	if md := d.Metadata()["app_requests_total"]; len(md) != 1 || md[0].Type != "counter" {
		t.Fatalf("metadata lost on restart: %+v", md)
	}
	// Appending goes on where it stopped, in the restored open chunk.
	appendTicks(t, d, 900, 910, "a", "b")
	if got := sampleCount(t, d); got != n+10*8 {
		t.Fatalf("after more ticks %d samples, want %d", got, n+80)
	}
	appendTicks(t, d, 905, 906, "a", "b") // old timestamps are dropped
	if got := sampleCount(t, d); got != n+80 {
		t.Fatalf("an old sample was appended: %d", got)
	}
}

func TestCrashLosesAtMostTheLastCheckpointInterval(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	d := openTest(t, path)
	appendTicks(t, d, 0, 800, "a")
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	atCheckpoint := sampleCount(t, d)
	appendTicks(t, d, 800, 806, "a") // one minute after the checkpoint, then the process dies

	// The file as a crash leaves it: the last committed checkpoint.
	crashed := filepath.Join(dir, "crashed.db")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crashed, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c := openTest(t, crashed)
	if got := sampleCount(t, c); got != atCheckpoint {
		t.Fatalf("after crash %d samples, want the %d of the last checkpoint", got, atCheckpoint)
	}
	if got := sampleCount(t, d); got != atCheckpoint+6*7 {
		t.Fatalf("running history has %d samples, want %d", got, atCheckpoint+42)
	}
	// The recovered history takes new samples after the checkpoint.
	appendTicks(t, c, 803, 806, "a")
	if got := sampleCount(t, c); got != atCheckpoint+3*7 {
		t.Fatalf("recovered history has %d samples, want %d", got, atCheckpoint+21)
	}
}

func TestRetention(t *testing.T) {
	d := openTest(t, tempPath(t))
	appendTicks(t, d, 0, 2000, "a", "b") // windows [0,720) [720,1440) [1440,2000)
	appendTicks(t, d, 2000, 2100, "a")   // b goes stale at 2000
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	chunks := func() int {
		n := 0
		_ = d.bdb.View(func(tx *bolt.Tx) error {
			return forEachBlock(tx.Bucket(bucketBlocks), math.MinInt64, func(bl *block) error {
				n += bl.n
				return nil
			})
		})
		return n
	}
	if got := chunks(); got != 2*8 {
		t.Fatalf("%d full chunks in the file, want 16", got)
	}
	// Keep from tick 800: the first window's chunks go.
	if err := d.enforceRetention(t0 + 800*step10s); err != nil {
		t.Fatal(err)
	}
	if got := chunks(); got != 8 {
		t.Fatalf("after retention %d full chunks, want 8", got)
	}
	v := instantQuery(t, d, `count_over_time(app_requests_total{route="a"}[1h])`, t0+719*step10s)
	if len(v) != 0 {
		t.Fatalf("deleted samples still answer: %v", v)
	}
	v = instantQuery(t, d, `count_over_time(app_requests_total{route="a"}[1h])`, t0+1200*step10s)
	if len(v) != 1 || v[0].F != 360 {
		t.Fatalf("kept samples: %v", v)
	}
	// Everything before tick 2050 goes: b, stale since 2000, is dropped altogether.
	if err := d.enforceRetention(t0 + 2050*step10s); err != nil {
		t.Fatal(err)
	}
	if got := d.Stats().Series; got != 7 {
		t.Fatalf("%d series after b expired, want 7", got)
	}
	q, _ := d.Querier(math.MinInt64, math.MaxInt64)
	vals, _, _ := q.LabelValues(t.Context(), "route", nil)
	if len(vals) != 1 || vals[0] != "a" {
		t.Fatalf("routes after retention: %v", vals)
	}
	// b coming back is a new series.
	appendTicks(t, d, 2100, 2101, "a", "b")
	if got := d.Stats().Series; got != 8 {
		t.Fatalf("%d series after b returned, want 8", got)
	}
}

func TestCorruptFileMovedAside(t *testing.T) {
	f := func(name string, write func(path string)) {
		t.Helper()
		dir := t.TempDir()
		path := filepath.Join(dir, "history.db")
		write(path)
		var logs bytes.Buffer
		d := openTest(t, path, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
		aside, _ := filepath.Glob(path + ".corrupt-*")
		if len(aside) != 1 {
			t.Fatalf("%s: moved aside: %v", name, aside)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "corrupt") {
			t.Fatalf("%s: no warning logged: %q", name, logs.String())
		}
		if d.Stats().Series != 0 {
			t.Fatalf("%s: corrupt history not empty", name)
		}
		appendTicks(t, d, 0, 2, "a")
		if sampleCount(t, d) != 14 {
			t.Fatalf("%s: new history does not take samples", name)
		}
	}
	f("garbage", func(path string) {
		if err := os.WriteFile(path, bytes.Repeat([]byte("not a bbolt file "), 2000), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	f("bad series record", func(path string) {
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = bdb.Update(func(tx *bolt.Tx) error {
			b, _ := tx.CreateBucketIfNotExists(bucketSeries)
			return b.Put(seriesKey(1), []byte{0xff, 0xff, 0xff})
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = bdb.Close()
	})
	f("bad open chunk", func(path string) {
		d, err := Open(Options{Path: path, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		_ = d.Append(t0, []byte("x 1\n"))
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		bdb, _ := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		_ = bdb.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHead).Put(headKey(99), encodeHeadRecord(headDelta, []headEntry{{id: 1, mint: t0, n: 9, bytes: []byte{0, 9, 1, 2, 3}}}))
		})
		_ = bdb.Close()
	})
}

func TestLockedFileIsAnError(t *testing.T) {
	path := tempPath(t)
	openTest(t, path)
	start := time.Now()
	_, err := Open(Options{Path: path, LockTimeout: 50 * time.Millisecond})
	if err == nil {
		t.Fatal("a locked file opened twice")
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
		t.Fatalf("a locked file was moved aside: %v", aside)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("lock timeout not applied")
	}
}

// TestRestartManySeries writes values larger than one file value (blocks and head log
// records are split) and checks that a restart and a crash both read every sample back.
func TestRestartManySeries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		t.Fatal(err)
	}
	s := newSynth(400)
	var buf []byte
	for i := range 800 { // crosses the window boundary at tick 720; ends between checkpoints
		s.step()
		buf = s.exposition(buf)
		if err := d.Append(t0+int64(i)*step10s, buf); err != nil {
			t.Fatal(err)
		}
		if i%6 == 5 {
			if err := d.checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	blocks, records := 0, 0
	_ = d.bdb.View(func(tx *bolt.Tx) error {
		blocks = tx.Bucket(bucketBlocks).Stats().KeyN
		records = tx.Bucket(bucketHead).Stats().KeyN
		return nil
	})
	if blocks < 2 {
		t.Fatalf("%d block values, want the window split in several", blocks)
	}
	if records < 2 {
		t.Fatalf("%d head log records, want several", records)
	}
	if err := d.checkpoint(); err != nil {
		t.Fatal(err)
	}
	want := referenceFrom(t, d)
	raw, err := os.ReadFile(path) // the file as a crash right after the last checkpoint leaves it
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(dir, "crashed.db")
	if err := os.WriteFile(crashed, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, crashed} {
		r := openTest(t, p)
		got := referenceFrom(t, r)
		if len(got.series) != len(want.series) {
			t.Fatalf("%s: %d series, want %d", p, len(got.series), len(want.series))
		}
		for i := range got.series {
			a, b := got.series[i].Iterator(nil), want.series[i].Iterator(nil)
			n := 0
			for {
				va, vb := a.Next(), b.Next()
				if va != vb {
					t.Fatalf("%s: %s: sample %d present on one side only", p, got.series[i].Labels(), n)
				}
				if va == 0 {
					break
				}
				ta, fa := a.At()
				tb, fb := b.At()
				if ta != tb || (fa != fb && !(math.IsNaN(fa) && math.IsNaN(fb))) {
					t.Fatalf("%s: %s: sample %d = (%d,%g), want (%d,%g)", p, got.series[i].Labels(), n, ta, fa, tb, fb)
				}
				n++
			}
		}
	}
}

// TestOpenLeavesOutLegacyRollups checks that the pre-summed series an earlier version kept
// are not answered after a restart, and that a new series does not take their id.
func TestOpenLeavesOutLegacyRollups(t *testing.T) {
	path := tempPath(t)
	d := openTest(t, path)
	for i := range 3 {
		expo := []byte("app_requests_total{route=\"/a\"} 1\napp_requests_total{__rollup__=\"sum by ()\"} 1\n")
		if err := d.Append(t0+int64(i)*step10s, expo); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openTest(t, path)
	if got := d.Stats().Series; got != 1 {
		t.Fatalf("after restart %d series, want the member alone", got)
	}
	if err := d.Append(t0+3*step10s, []byte("app_other_total 1\n")); err != nil {
		t.Fatal(err)
	}
	if got := instantQuery(t, d, `count({__name__=~"app_.*"})`, t0+3*step10s); len(got) != 1 || got[0].F != 2 {
		t.Fatalf("count of series = %v, want 2 (the member and the new series)", got)
	}
}
