package store

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// entry is what listing needs of one stored workflow, kept in memory so that filtering and
// paging read no records. Once in the index an entry is only replaced, never changed (form
// aside, which is atomic), so a reader may keep one after releasing the lock.
type entry struct {
	id        string
	key       []byte // id's bytes, shared with it: bbolt only reads keys
	createdAt int64
	name      string   // lower case
	desc      string   // lower case
	tags      []string // lower case
	// form says whether the stored bytes are exactly what encodeWorkflow writes for them, so
	// that they can be served without decoding and encoding again. Records found at Open start
	// unknown (an older encoder may have written them) and are checked when first served.
	form atomic.Uint32
}

// Values of entry.form.
const (
	formUnknown uint32 = iota
	formCanonical
	formOther
)

// index orders every stored workflow by createdAt then id. bbolt stays the source of truth:
// the index is built from it at Open and refreshed from it after every committed write.
type index struct {
	mu    sync.RWMutex
	order []*entry // by createdAt, then id
	byID  map[string]*entry
}

func compareEntries(a, b *entry) int {
	switch {
	case a.createdAt < b.createdAt:
		return -1
	case a.createdAt > b.createdAt:
		return 1
	}
	return strings.Compare(a.id, b.id)
}

// reset replaces the whole index; entries need not be sorted.
func (x *index) reset(entries []*entry) {
	slices.SortFunc(entries, compareEntries)
	byID := make(map[string]*entry, len(entries))
	for _, e := range entries {
		byID[e.id] = e
	}
	x.mu.Lock()
	x.order, x.byID = entries, byID
	x.mu.Unlock()
}

// setLocked stores e (nil: removes id) in place of what the index held for id.
func (x *index) setLocked(id string, e *entry) {
	if old := x.byID[id]; old != nil {
		if i, ok := slices.BinarySearchFunc(x.order, old, compareEntries); ok {
			x.order = slices.Delete(x.order, i, i+1)
		}
		delete(x.byID, id)
	}
	if e == nil {
		return
	}
	i, _ := slices.BinarySearchFunc(x.order, e, compareEntries)
	x.order = slices.Insert(x.order, i, e)
	x.byID[id] = e
}

// lookup returns the entry for id, or nil.
func (x *index) lookup(id string) *entry {
	x.mu.RLock()
	e := x.byID[id]
	x.mu.RUnlock()
	return e
}

// query appends to dst the page of entries matching q and returns it with the number of
// matches before paging.
func (x *index) query(dst []*entry, q ListQuery) ([]*entry, int) {
	search := strings.ToLower(q.Search)
	var tags []string
	for _, t := range q.Tags {
		tags = append(tags, strings.ToLower(t))
	}
	offset := max(q.Offset, 0)
	x.mu.RLock()
	defer x.mu.RUnlock()
	if search == "" && len(tags) == 0 {
		total := len(x.order)
		if offset >= total {
			return dst, total
		}
		end := total
		if q.Limit > 0 && q.Limit < total-offset {
			end = offset + q.Limit
		}
		return append(dst, x.order[offset:end]...), total
	}
	total := 0
	for _, e := range x.order {
		if !e.matches(search, tags) {
			continue
		}
		if total >= offset && (q.Limit <= 0 || total-offset < q.Limit) {
			dst = append(dst, e)
		}
		total++
	}
	return dst, total
}

// matches reports whether the entry matches the lower-cased filters: search in name or
// description, and any of tags.
func (e *entry) matches(search string, tags []string) bool {
	if search != "" && !strings.Contains(e.name, search) && !strings.Contains(e.desc, search) {
		return false
	}
	if len(tags) == 0 {
		return true
	}
	for _, want := range tags {
		if slices.Contains(e.tags, want) {
			return true
		}
	}
	return false
}

func newEntry(m *workflow.Metadata, id string, form uint32) *entry {
	e := &entry{id: id, key: unsafe.Slice(unsafe.StringData(id), len(id)), createdAt: m.CreatedAt, name: strings.ToLower(m.Name),
		desc: strings.ToLower(m.Description)}
	e.form.Store(form)
	if len(m.Tags) > 0 {
		e.tags = make([]string, len(m.Tags))
		for i, t := range m.Tags {
			e.tags[i] = strings.ToLower(t)
		}
	}
	return e
}

// scanned is what Open reads of each stored record: the metadata for the index, and the
// counts (decoding into empty structs skips the nodes' and edges' contents).
type scanned struct {
	Metadata workflow.Metadata `json:"metadata"`
	Nodes    []struct{}        `json:"nodes"`
	Edges    []struct{}        `json:"edges"`
}

// scanEntry reads a stored record at Open.
func scanEntry(k, v []byte) (*entry, *scanned, error) {
	var rec scanned
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, nil, fmt.Errorf("%w: workflow %q: %v", ErrCorrupt, k, err)
	}
	return newEntry(&rec.Metadata, string(k), formUnknown), &rec, nil
}

// refreshHook, when set by a test, runs between a refresh's read and its update of the index.
var refreshHook func(id string)

// refresh sets id's index entry from the database as it is now. It runs after a commit that
// touched id; holding the index lock across the read means that whichever of two racing
// refreshes runs last reads a state that includes both commits, so the index cannot keep an
// older state than the database.
func (ws *Workflows) refresh(id string) {
	x := &ws.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	var e *entry
	err := ws.s.readTx(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWorkflows).Get([]byte(id))
		if v == nil {
			return nil
		}
		var rec struct {
			Metadata workflow.Metadata `json:"metadata"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: workflow %q: %v", ErrCorrupt, id, err)
		}
		// Every write goes through encodeWorkflow, and this record was written by this
		// process after Open, so its bytes are canonical.
		e = newEntry(&rec.Metadata, id, formCanonical)
		return nil
	})
	if err != nil {
		// Only a database closed under the write, or failing, gets here.
		slog.Warn("workflow index not refreshed", "id", id, "error", err)
		return
	}
	if refreshHook != nil {
		refreshHook(id)
	}
	x.setLocked(id, e)
}
