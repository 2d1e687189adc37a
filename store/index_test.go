package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// listIDs lists q both ways, decoded and as stored bytes, checks that the two agree byte for
// byte with encoding List's result, and returns the ids and the total.
func listIDs(t *testing.T, s *Store, q ListQuery) (string, int) {
	t.Helper()
	list, total, err := s.Workflows.List(q)
	must(t, err)
	raw, rawTotal, err := s.Workflows.AppendList([]byte("prefix:"), q)
	must(t, err)
	if list == nil {
		list = []workflow.Workflow{}
	}
	want, err := json.Marshal(list)
	must(t, err)
	if got, ok := bytes.CutPrefix(raw, []byte("prefix:")); !ok || !bytes.Equal(got, want) || rawTotal != total {
		t.Errorf("%+v: AppendList gave %s (total %d), List encodes as %s (total %d)", q, raw, rawTotal, want, total)
	}
	ids := make([]string, len(list))
	for i, w := range list {
		ids[i] = w.Metadata.ID
	}
	return strings.Join(ids, ","), total
}

func TestIndexFollowsEveryWrite(t *testing.T) {
	s := openUnchecked(t)
	mk := func(id, name string, created int64, tags ...string) *workflow.Workflow {
		w := sample(id, 2, created)
		w.Metadata.Name, w.Metadata.Tags = name, tags
		return w
	}
	must(t, s.Workflows.Create(mk("b", "Beta", 5, "x")))
	must(t, s.Workflows.Create(mk("a", "Alpha", 5, "Y")))
	must(t, s.Workflows.Create(mk("c", "Gamma", 1)))
	must(t, s.Workflows.Create(mk("d", "Delta", 9, "x", "z")))
	check := func(name string, q ListQuery, wantIDs string, wantTotal int) {
		t.Helper()
		if ids, total := listIDs(t, s, q); ids != wantIDs || total != wantTotal {
			t.Errorf("%s %+v: got %q total %d, want %q total %d", name, q, ids, total, wantIDs, wantTotal)
		}
	}
	steps := []struct {
		name  string
		write func()
		q     ListQuery
		ids   string
		total int
	}{
		{"created; same createdAt ordered by id", func() {}, ListQuery{}, "c,a,b,d", 4},
		{"page", func() {}, ListQuery{Offset: 1, Limit: 2}, "a,b", 4},
		{"negative offset counts as 0", func() {}, ListQuery{Offset: -3, Limit: 1}, "c", 4},
		{"offset past the end", func() {}, ListQuery{Offset: 4}, "", 4},
		{"tags any, case-insensitive", func() {}, ListQuery{Tags: []string{"y", "Z"}}, "a,d", 2},
		{"filtered page", func() {}, ListQuery{Tags: []string{"X"}, Offset: 1, Limit: 5}, "d", 2},
		{"search name", func() {}, ListQuery{Search: "ALPHA"}, "a", 1},
		{"update renames and retags", func() {
			_, err := s.Workflows.Update("c", func(w *workflow.Workflow) error {
				w.Metadata.Name, w.Metadata.Tags = "Alphabet", []string{"x"}
				return nil
			})
			must(t, err)
		}, ListQuery{Search: "alpha", Tags: []string{"x"}}, "c", 1},
		{"old name no longer found", func() {}, ListQuery{Search: "gamma"}, "", 0},
		{"update moves createdAt", func() {
			_, err := s.Workflows.Update("c", func(w *workflow.Workflow) error {
				w.Metadata.CreatedAt = 7
				return nil
			})
			must(t, err)
		}, ListQuery{}, "a,b,c,d", 4},
		{"failed update changes nothing", func() {
			_, err := s.Workflows.Update("a", func(w *workflow.Workflow) error {
				w.Metadata.CreatedAt = 100
				return fmt.Errorf("refused")
			})
			if err == nil {
				t.Error("refused update succeeded")
			}
		}, ListQuery{}, "a,b,c,d", 4},
		{"overwrite replaces metadata and order", func() {
			must(t, s.Workflows.Put(mk("b", "Bravo", 0, "new")))
		}, ListQuery{}, "b,a,c,d", 4},
		{"overwritten tags", func() {}, ListQuery{Tags: []string{"x"}}, "c,d", 2},
		{"put creates", func() {
			must(t, s.Workflows.Put(mk("e", "Echo", 8)))
		}, ListQuery{Offset: 3}, "e,d", 5},
		{"delete", func() {
			_, err := s.Workflows.Delete("a")
			must(t, err)
		}, ListQuery{}, "b,c,e,d", 4},
		{"deleted not found by search", func() {}, ListQuery{Search: "alpha"}, "c", 1},
		{"conflicting create changes nothing", func() {
			if err := s.Workflows.Create(mk("d", "Dup", 0)); err == nil {
				t.Error("duplicate created")
			}
		}, ListQuery{Search: "dup"}, "", 0},
	}
	for _, st := range steps {
		st.write()
		check(st.name, st.q, st.ids, st.total)
	}

	// Reopened, the index is rebuilt from the file alone.
	path := s.path
	must(t, s.Close())
	s2, err := Open(path, Options{})
	must(t, err)
	defer checkAndClose(t, s2)
	s = s2
	check("reopened", ListQuery{}, "b,c,e,d", 4)
	check("reopened, tags", ListQuery{Tags: []string{"new", "x"}}, "b,c,d", 3)
	check("reopened, search", ListQuery{Search: "ECH"}, "e", 1)
}

// TestStoredBytesAreTheEncoding checks that serving stored bytes is the same as decoding and
// encoding them, for values encoding/json escapes or reformats.
func TestStoredBytesAreTheEncoding(t *testing.T) {
	s := openTest(t, Options{})
	w := sample("esc", 3, 1)
	w.Metadata.Name = `<b>"Quotes" & ünïcode</b> ` + "\u2028 line\tsep"
	w.Metadata.Description = "emoji 🚀 and \\ backslash"
	w.Nodes[0].Data = map[string]any{"z": 1.5, "a": []any{1e21, 0.1, "x"}, "m": map[string]any{"k": nil, "b": true}}
	must(t, s.Workflows.Create(w))
	must(t, s.Workflows.Create(sample("plain", 0, 2)))
	for _, id := range []string{"esc", "plain"} {
		got, err := s.Workflows.AppendJSON(nil, id)
		must(t, err)
		wf, err := s.Workflows.Get(id)
		must(t, err)
		want, _ := json.Marshal(wf)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: stored %s\nencoded %s", id, got, want)
		}
	}
	if _, err := s.Workflows.AppendJSON(nil, "missing"); err != ErrNotFound {
		t.Errorf("missing: %v", err)
	}
	listIDs(t, s, ListQuery{})
	listIDs(t, s, ListQuery{Search: "ÜNÏCODE"})
}

// TestRecordsNotInTheEncodersFormat covers records written by something other than this
// encoder (another key order, unknown keys, nulls): they are listed and served as the
// decoded, normalised workflow, not as stored.
func TestRecordsNotInTheEncodersFormat(t *testing.T) {
	s := openUnchecked(t)
	must(t, s.Workflows.Create(sample("mine", 1, 5)))
	foreign := `{"nodes":null,"extra":{"x":1},"edges":[],"metadata":{"tags":["Legacy"],"createdAt":3,"name":"Old <one>","id":"old"}}`
	must(t, s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketWorkflows).Put([]byte("old"), []byte(foreign))
	}))
	asOlderFile(t, s)
	path := s.path
	must(t, s.Close())
	s2, err := Open(path, Options{})
	must(t, err)
	defer checkAndClose(t, s2)
	got, err := s2.Workflows.AppendJSON(nil, "old")
	must(t, err)
	if bytes.Equal(got, []byte(foreign)) || !bytes.Contains(got, []byte(`"nodes":[]`)) || bytes.Contains(got, []byte("extra")) {
		t.Errorf("foreign record served as stored: %s", got)
	}
	form := func(id string) uint32 {
		e := s2.Workflows.idx.lookup(id)
		if e == nil {
			t.Fatalf("%s not indexed", id)
		}
		return e.form.Load()
	}
	if form("old") != formOther || form("mine") != formUnknown {
		t.Errorf("after serving old: forms %d %d", form("old"), form("mine"))
	}
	for range 2 { // checked the first time, then known
		if ids, total := listIDs(t, s2, ListQuery{}); ids != "old,mine" || total != 2 {
			t.Errorf("listed %q %d", ids, total)
		}
		if form("old") != formOther || form("mine") != formCanonical {
			t.Errorf("after listing: forms %d %d", form("old"), form("mine"))
		}
	}
	if ids, _ := listIDs(t, s2, ListQuery{Tags: []string{"legacy"}, Search: "<ONE>"}); ids != "old" {
		t.Errorf("filtered %q", ids)
	}
	// Once rewritten by this process the record is in the encoder's format.
	_, err = s2.Workflows.Update("old", func(*workflow.Workflow) error { return nil })
	must(t, err)
	if form("old") != formCanonical {
		t.Errorf("rewritten record's form %d", form("old"))
	}
	listIDs(t, s2, ListQuery{})
}

// TestIndexMatchesFileUnderConcurrentWrites races creates, updates, overwrites and deletes on
// a few ids (so writes share batches and their refreshes race), with readers listing
// meanwhile; afterwards the index equals one rebuilt from the file.
func TestIndexMatchesFileUnderConcurrentWrites(t *testing.T) {
	s := openUnchecked(t)
	// Without fsync commits are quick, so refreshes after different commits overlap more.
	s.db.NoSync = true
	const writers, rounds, ids = 8, 60, 3
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range rounds {
				id := fmt.Sprint("w", r.IntN(ids))
				created := int64(r.IntN(5))
				var err error
				switch r.IntN(4) {
				case 0:
					err = s.Workflows.Create(sample(id, 1, created))
				case 1:
					_, err = s.Workflows.Update(id, func(w *workflow.Workflow) error {
						w.Metadata.CreatedAt = created
						w.Metadata.Tags = []string{fmt.Sprint("g", g, "-", i)}
						return nil
					})
				case 2:
					err = s.Workflows.Put(sample(id, 2, created))
				case 3:
					_, err = s.Workflows.Delete(id)
				}
				if err != nil && err != ErrNotFound && err != ErrConflict {
					t.Error(err)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range rounds {
				if _, _, err := s.Workflows.AppendList(nil, ListQuery{Limit: 3}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	live := snapshotIndex(&s.Workflows.idx)
	fresh := openTestAgain(t, s)
	rebuilt := snapshotIndex(&fresh.Workflows.idx)
	if live != rebuilt {
		t.Errorf("index after writes:\n%s\nrebuilt from the file:\n%s", live, rebuilt)
	}
	if st, _ := fresh.Stats(); st.WorkflowCount != strings.Count(rebuilt, "\n") {
		t.Errorf("stats %+v for index\n%s", st, rebuilt)
	}
}

// snapshotIndex prints the index in order, one entry a line, and checks the id table agrees with it.
func snapshotIndex(x *index) string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var b strings.Builder
	for _, s := range x.order {
		e := x.slots[s]
		fmt.Fprintf(&b, "%s %d %q %q %q\n", e.id(), e.createdAt, e.name(), e.desc(), e.tagList())
		if x.ids.lookup(e.id(), x.slots) != e {
			fmt.Fprintf(&b, "id table disagrees for %s\n", e.id())
		}
	}
	if x.ids.n != len(x.order) {
		fmt.Fprintf(&b, "id table holds %d entries\n", x.ids.n)
	}
	return b.String()
}

// asOlderFile removes the summaries from s's file, as a version before them wrote it.
func asOlderFile(t testing.TB, s *Store) {
	t.Helper()
	must(t, s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketSummaries) }))
}

// openUnchecked opens a store in a fresh directory for a test that closes it itself.
func openUnchecked(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), FileName), Options{})
	must(t, err)
	return s
}

// openTestAgain closes s and opens its file again, closed at cleanup.
func openTestAgain(t *testing.T, s *Store) *Store {
	t.Helper()
	path := s.path
	must(t, s.Close())
	s2, err := Open(path, Options{})
	must(t, err)
	t.Cleanup(func() { checkAndClose(t, s2) })
	return s2
}

// TestOverlappingRefreshesKeepTheLatest lands a second commit on the same workflow while the
// first commit's refresh is between reading the file and updating the index: the index must
// end with the second commit's state, whichever refresh finishes last.
func TestOverlappingRefreshesKeepTheLatest(t *testing.T) {
	s := openTest(t, Options{})
	must(t, s.Workflows.Create(sample("w", 1, 1)))
	rename := func(name string, created int64) {
		_, err := s.Workflows.Update("w", func(w *workflow.Workflow) error {
			w.Metadata.Name, w.Metadata.CreatedAt = name, created
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	var first atomic.Bool
	done := make(chan struct{})
	refreshHook = func(string) {
		if !first.CompareAndSwap(false, true) {
			return
		}
		go func() {
			defer close(done)
			rename("Second", 3)
		}()
		// The second refresh waits for this one to finish; give it the chance not to.
		select {
		case <-done:
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Cleanup(func() { refreshHook = nil })
	rename("First", 2)
	<-done
	e := s.Workflows.idx.lookup("w")
	if e == nil || e.name() != "second" || e.createdAt != 3 {
		t.Errorf("index kept %+v", e)
	}
	if ids, _ := listIDs(t, s, ListQuery{Search: "second"}); ids != "w" {
		t.Errorf("search found %q", ids)
	}
}
