package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

func TestConcurrentCreatesAllStored(t *testing.T) {
	rec := newRecorder()
	s := openTest(t, Options{Metrics: rec})
	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- s.Workflows.Create(sample(fmt.Sprint("wf-", i), i%4+1, int64(i))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, total, err := s.Workflows.List(ListQuery{})
	if err != nil || total != n || len(list) != n {
		t.Fatalf("List: %d/%d, %v", len(list), total, err)
	}
	st, _ := s.Stats()
	// nodes per workflow cycle 1,2,3,4: 7 of 1 node (i%4==0 for 0..24), 6 each of 2,3,4.
	if st.WorkflowCount != n || st.NodeCount != 7*1+6*2+6*3+6*4 || st.EdgeCount != st.NodeCount-n {
		t.Errorf("stats %+v", st)
	}
	_, nodes := rec.snapshot()
	if !reflect.DeepEqual(nodes, map[int]int{1: 7, 2: 6, 3: 6, 4: 6}) {
		t.Errorf("node histogram %v", nodes)
	}
	if err := s.Workflows.Create(sample("../x", 1, 0)); err == nil {
		t.Error("path-like id stored")
	}
	if err := s.Workflows.Create(sample("wf-3", 1, 0)); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate create: %v", err)
	}
}

func TestConcurrentUpdatesApplyOnce(t *testing.T) {
	s := openTest(t, Options{})
	if err := s.Workflows.Create(sample("w", 1, 1)); err != nil {
		t.Fatal(err)
	}
	// Failing functions in the same batches make bbolt re-run the others; each successful
	// update must still land exactly once.
	const n = 20
	var wg sync.WaitGroup
	refused := errors.New("refused")
	for i := range 2 * n {
		wg.Go(func() {
			_, err := s.Workflows.Update("w", func(w *workflow.Workflow) error {
				if i%2 == 1 {
					return refused
				}
				w.Metadata.Tags = append(w.Metadata.Tags, "t")
				w.Nodes = append(w.Nodes, workflow.Node{ID: fmt.Sprint("x", i), Data: map[string]any{"label": "x"}})
				return nil
			})
			if (i%2 == 1) != errors.Is(err, refused) {
				t.Errorf("update %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	w, err := s.Workflows.Get("w")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Metadata.Tags) != 1+n || len(w.Nodes) != 1+n {
		t.Errorf("tags %d nodes %d, want %d", len(w.Metadata.Tags), len(w.Nodes), 1+n)
	}
	if st, _ := s.Stats(); st.NodeCount != 1+n || st.WorkflowCount != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestLockedFileFailsFast(t *testing.T) {
	s := openTest(t, Options{})
	start := time.Now()
	_, err := Open(s.path, Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), s.path) {
		t.Fatalf("second open: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestCorruptFileIsAClearError(t *testing.T) {
	dir := t.TempDir()
	f := func(name string, content func(path string) []byte) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content(path), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{})
		if err == nil {
			_ = s.Close()
			t.Fatalf("%s: opened", name)
		}
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v", name, err)
		}
	}
	f("garbage", func(string) []byte { return bytes.Repeat([]byte("not a database "), 2000) })
	// A real database whose data pages (after the two meta pages) are overwritten.
	f("bad pages", func(path string) []byte {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			if err := s.Workflows.Create(sample(fmt.Sprint("w", i), 20, 1)); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.Close()
		b, _ := os.ReadFile(path)
		ps := os.Getpagesize()
		for i := 2 * ps; i < len(b); i++ {
			b[i] = byte(i * 7)
		}
		return b
	})
	// A readable database holding a record that is not a workflow.
	f("bad record", func(path string) []byte {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketWorkflows).Put([]byte("x"), []byte("{oops")) }); err != nil {
			t.Fatal(err)
		}
		asOlderFile(t, s)
		_ = s.Close()
		b, _ := os.ReadFile(path)
		return b
	})
	// A readable database holding a summary that is not one.
	f("bad summary", func(path string) []byte {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		must(t, s.Workflows.Create(sample("w", 1, 1)))
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSummaries).Put([]byte("w"), []byte{1, 0, 0x80}) }); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		b, _ := os.ReadFile(path)
		return b
	})
}

func TestCountsFollowWrites(t *testing.T) {
	rec := newRecorder()
	s, err := Open(filepath.Join(t.TempDir(), FileName), Options{Metrics: rec})
	must(t, err)
	check := func(step string, wfs, nodes, edges int, hist map[int]int) {
		t.Helper()
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.WorkflowCount != wfs || st.NodeCount != nodes || st.EdgeCount != edges || st.FileSizeBytes <= 0 {
			t.Errorf("%s: stats %+v", step, st)
		}
		if _, got := rec.snapshot(); !reflect.DeepEqual(got, hist) {
			t.Errorf("%s: node histogram %v, want %v", step, got, hist)
		}
	}
	check("empty", 0, 0, 0, map[int]int{})
	must(t, s.Workflows.Create(sample("a", 3, 1)))
	must(t, s.Workflows.Create(sample("b", 5, 2)))
	check("create", 2, 8, 6, map[int]int{3: 1, 5: 1})
	_, err = s.Workflows.Update("a", func(w *workflow.Workflow) error { w.Nodes = w.Nodes[:1]; w.Edges = nil; return nil })
	must(t, err)
	check("update", 2, 6, 4, map[int]int{1: 1, 5: 1})
	must(t, s.Workflows.Put(sample("b", 2, 2)))
	must(t, s.Workflows.Put(sample("c", 4, 3)))
	check("put", 3, 7, 4, map[int]int{1: 1, 2: 1, 4: 1})
	_, err = s.Workflows.Delete("b")
	must(t, err)
	check("delete", 2, 5, 3, map[int]int{1: 1, 4: 1})
	if _, err := s.Workflows.Delete("b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.Workflows.Update("zz", func(*workflow.Workflow) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	check("misses", 2, 5, 3, map[int]int{1: 1, 4: 1})

	// Reopening scans the file and reports the same counts.
	path := s.path
	checkAndClose(t, s)
	rec2 := newRecorder()
	s2, err := Open(path, Options{Metrics: rec2})
	must(t, err)
	s = s2
	rec = rec2
	t.Cleanup(func() { checkAndClose(t, s2) })
	check("reopen", 2, 5, 3, map[int]int{1: 1, 4: 1})
}

func TestMetricsStatus(t *testing.T) {
	rec := newRecorder()
	s, err := Open(filepath.Join(t.TempDir(), FileName), Options{Metrics: rec})
	must(t, err)
	must(t, s.Workflows.Create(sample("a", 1, 1)))
	_, _ = s.Workflows.Get("missing")
	_ = s.Workflows.Create(sample("a", 1, 1))
	_, _ = s.Editor.Update(func(*workflow.EditorState) error { return errors.New("no") })
	_, _ = s.Sessions.Delete("none")
	ops, _ := rec.snapshot()
	want := []string{"write/workflows/success", "read/workflows/success", "write/workflows/success",
		"write/store/success", "delete/sessions/success"}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("observed %v\nwant     %v", ops, want)
	}
	// A database failure is reported as an error: a write on a closed database.
	must(t, s.Close())
	if err := s.Workflows.Create(sample("b", 1, 1)); err == nil {
		t.Fatal("write on closed database succeeded")
	}
	ops, _ = rec.snapshot()
	if last := ops[len(ops)-1]; last != "write/workflows/error" {
		t.Errorf("last op %q", last)
	}
	s2, err := Open(s.path, Options{})
	must(t, err)
	checkAndClose(t, s2)
}

func TestListFiltersSortsPages(t *testing.T) {
	s := openTest(t, Options{})
	mk := func(id, name, desc string, created int64, tags ...string) {
		w := sample(id, 1, created)
		w.Metadata.Name, w.Metadata.Description, w.Metadata.Tags = name, desc, tags
		must(t, s.Workflows.Create(w))
	}
	mk("c", "Gamma", "summarise NEWS", 3, "news")
	mk("a", "Alpha", "translate", 1, "lang", "ai")
	mk("b", "Beta Ärger", "", 1, "AI")
	mk("d", "Delta", "Ünïcode", 4)
	f := func(q ListQuery, total int, ids ...string) {
		t.Helper()
		list, n, err := s.Workflows.List(q)
		must(t, err)
		got := make([]string, len(list))
		for i, w := range list {
			got[i] = w.Metadata.ID
			if len(w.Nodes) != 1 {
				t.Errorf("%q loaded without its nodes", w.Metadata.ID)
			}
		}
		if n != total || strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("%+v: got %v total %d, want %v total %d", q, got, n, ids, total)
		}
	}
	f(ListQuery{}, 4, "a", "b", "c", "d")
	f(ListQuery{Search: "news"}, 1, "c")
	f(ListQuery{Search: "ALP"}, 1, "a")
	f(ListQuery{Search: "ärger"}, 1, "b")
	f(ListQuery{Search: "ÜNÏ"}, 1, "d")
	f(ListQuery{Tags: []string{"ai"}}, 2, "a", "b")
	f(ListQuery{Tags: []string{"news", "lang"}}, 2, "a", "c")
	f(ListQuery{Offset: 1, Limit: 2}, 4, "b", "c")
	f(ListQuery{Offset: 10}, 4)
	f(ListQuery{Search: "zzz"}, 0)
}

func TestEditorState(t *testing.T) {
	s := openTest(t, Options{})
	st, err := s.Editor.Get()
	must(t, err)
	if st.Nodes == nil || st.SelectedEdges == nil || st.LastUpdate != 0 {
		t.Fatalf("initial state %+v", st)
	}
	before := time.Now().UnixMilli()
	st, err = s.Editor.Update(func(e *workflow.EditorState) error {
		return e.AddNode(workflow.Node{ID: "a", Data: map[string]any{"label": "A"}})
	})
	must(t, err)
	if len(st.Nodes) != 1 || st.LastUpdate < before {
		t.Errorf("after update %+v", st)
	}
	_, err = s.Editor.Update(func(e *workflow.EditorState) error {
		e.Nodes = nil
		return e.AddNode(workflow.Node{ID: "a"})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Editor.Update(func(e *workflow.EditorState) error {
		return e.AddNode(workflow.Node{ID: "a"})
	})
	if !errors.Is(err, workflow.ErrDuplicate) {
		t.Errorf("fn error not returned as is: %v", err)
	}
	got, err := s.Editor.Get()
	must(t, err)
	if len(got.Nodes) != 1 {
		t.Errorf("aborted update changed the state: %+v", got)
	}
	stats, _ := s.Stats()
	if stats.LastStoreUpdate != got.LastUpdate {
		t.Errorf("lastStoreUpdate %d, state %d", stats.LastStoreUpdate, got.LastUpdate)
	}
}

func TestSessionsExpiryAndCleanup(t *testing.T) {
	s := openTest(t, Options{})
	now := time.Now().UnixMilli()
	live := workflow.NewSession("wf-1", map[string]any{"k": "v"}, now, 0)
	old := workflow.NewSession("wf-2", nil, now-10_000, 5_000)
	ended := workflow.NewSession("wf-1", nil, now, 0)
	for _, x := range []*workflow.Session{live, old, ended} {
		must(t, s.Sessions.Create(x))
	}
	if err := s.Sessions.Create(live); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate session: %v", err)
	}
	_, err := s.Sessions.Update(ended.ID, func(x *workflow.Session) error { x.Terminate(now); return nil })
	must(t, err)
	got, err := s.Sessions.Get(old.ID)
	must(t, err)
	if got.Status != workflow.SessionExpired {
		t.Errorf("expired session shown as %q", got.Status)
	}
	f := func(flt SessionFilter, want ...string) {
		t.Helper()
		list, err := s.Sessions.List(flt)
		must(t, err)
		var ids []string
		for _, x := range list {
			ids = append(ids, x.ID)
		}
		if strings.Join(ids, ",") != strings.Join(sortedIDs(want...), ",") {
			t.Errorf("%+v: got %v want %v", flt, ids, want)
		}
	}
	f(SessionFilter{}, live.ID, old.ID, ended.ID)
	f(SessionFilter{Status: workflow.SessionExpired}, old.ID)
	f(SessionFilter{Status: workflow.SessionActive}, live.ID)
	f(SessionFilter{WorkflowID: "wf-1"}, live.ID, ended.ID)
	if st, _ := s.Stats(); st.SessionCount != 3 {
		t.Errorf("sessions %d", st.SessionCount)
	}
	n, err := s.Sessions.Cleanup(time.Now())
	must(t, err)
	if n != 1 {
		t.Errorf("cleanup removed %d", n)
	}
	if _, err := s.Sessions.Get(old.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session still there: %v", err)
	}
	n, err = s.Sessions.Cleanup(time.UnixMilli(now + 2*workflow.DefaultSessionTTL))
	must(t, err)
	if st, _ := s.Stats(); n != 2 || st.SessionCount != 0 {
		t.Errorf("second cleanup removed %d, %d left", n, st.SessionCount)
	}
	d, err := s.Sessions.Delete(live.ID)
	if !errors.Is(err, ErrNotFound) || d != nil {
		t.Errorf("delete after cleanup: %v", err)
	}
}

func sortedIDs(ids ...string) []string {
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestBackupWhileServing(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 30 {
		must(t, s.Workflows.Create(sample(fmt.Sprint("w", i), 5, int64(i))))
	}
	must(t, s.Sessions.Create(workflow.NewSession("", nil, time.Now().UnixMilli(), 0)))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // a writer keeps going during the backup
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Workflows.Put(sample(fmt.Sprint("live", i%5), 2, 99)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var buf bytes.Buffer
	n, err := s.Backup(&buf)
	close(stop)
	wg.Wait()
	must(t, err)
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("backup wrote %d, buffer %d", n, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	must(t, os.WriteFile(path, buf.Bytes(), 0o600))
	b, err := Open(path, Options{})
	must(t, err)
	t.Cleanup(func() { checkAndClose(t, b) })
	w, err := b.Workflows.Get("w17")
	if err != nil || len(w.Nodes) != 5 {
		t.Fatalf("backup lacks w17: %v", err)
	}
	st, _ := b.Stats()
	if st.WorkflowCount < 30 || st.SessionCount != 1 {
		t.Errorf("backup stats %+v", st)
	}
	must(t, s.Ping())
}

func TestNilTypedMetrics(t *testing.T) {
	var r *recorder
	s := openTest(t, Options{Metrics: r})
	must(t, s.Workflows.Create(sample("a", 1, 1)))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
