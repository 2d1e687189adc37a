package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// ListQuery filters and pages Workflows.List.
type ListQuery struct {
	Search string   // case-insensitive substring of name or description; "" matches all
	Tags   []string // any of these tags (case-insensitive); empty matches all
	Offset int
	Limit  int // 0 or less: no limit
}

// pages recycles the slices that hold a page's entries between calls.
var pages = sync.Pool{New: func() any { return new([]*entry) }}

// page runs the query on the index and calls fn with the page's entries.
func (ws *Workflows) page(q ListQuery, fn func(page []*entry) error) (int, error) {
	p := pages.Get().(*[]*entry)
	page, total := ws.idx.query((*p)[:0], q)
	err := fn(page)
	clear(page)
	*p = page[:0]
	pages.Put(p)
	return total, err
}

// List returns the workflows matching q, sorted by createdAt then id, and how many matched
// before paging. Filtering and paging read the in-memory index; only the page is decoded.
func (ws *Workflows) List(q ListQuery) ([]workflow.Workflow, int, error) {
	var out []workflow.Workflow
	total, err := ws.page(q, func(page []*entry) error {
		return ws.s.view(collWorkflows, func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketWorkflows).Cursor()
			out = make([]workflow.Workflow, 0, len(page))
			for _, e := range page {
				v := seek(c, e.key())
				if v == nil {
					continue // deleted since the index was read
				}
				w, err := decodeWorkflow(e.key(), v)
				if err != nil {
					return err
				}
				out = append(out, *w)
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// AppendList appends the JSON array of the workflows matching q to dst, as List would return
// them encoded, and returns it with how many matched before paging. Stored records are copied
// as they are: they already are the encoded workflow.
func (ws *Workflows) AppendList(dst []byte, q ListQuery) ([]byte, int, error) {
	start := len(dst)
	total, err := ws.page(q, func(page []*entry) error {
		return ws.s.view(collWorkflows, func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketWorkflows).Cursor()
			dst = append(dst, '[')
			first := true
			for _, e := range page {
				v := seek(c, e.key())
				if v == nil {
					continue // deleted since the index was read
				}
				if !first {
					dst = append(dst, ',')
				}
				first = false
				var err error
				if dst, err = appendRecord(dst, e.key(), v, e); err != nil {
					return err
				}
			}
			dst = append(dst, ']')
			return nil
		})
	})
	if err != nil {
		return dst[:start], 0, err
	}
	return dst, total, nil
}

// AppendJSON appends the workflow with the id, encoded as Get's result would be, to dst;
// ErrNotFound if absent.
func (ws *Workflows) AppendJSON(dst []byte, id string) ([]byte, error) {
	e := ws.idx.lookup(id)
	start := len(dst)
	err := ws.s.view(collWorkflows, func(tx *bolt.Tx) error {
		key := []byte(id)
		v := tx.Bucket(bucketWorkflows).Get(key)
		if v == nil {
			return ErrNotFound
		}
		var err error
		dst, err = appendRecord(dst, key, v, e)
		return err
	})
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// seek returns the value stored under key, or nil. One cursor serves a whole page: Bucket.Get
// would allocate a cursor for every record.
func seek(c *bolt.Cursor, key []byte) []byte {
	k, v := c.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// appendRecord appends a stored record as the encoded workflow: as is when its entry knows it
// canonical, otherwise decoded and encoded again, and the entry learns which it was. A nil e
// (a record the index does not know yet) is always encoded again.
func appendRecord(dst, key, v []byte, e *entry) ([]byte, error) {
	form := formUnknown
	if e != nil {
		form = e.form.Load()
	}
	if form == formCanonical {
		return append(dst, v...), nil
	}
	w, err := decodeWorkflow(key, v)
	if err != nil {
		return dst, err
	}
	b, err := json.Marshal(w)
	if err != nil {
		return dst, fmt.Errorf("encode workflow %q: %w", key, err)
	}
	if e != nil && form == formUnknown {
		if bytes.Equal(b, v) {
			e.form.Store(formCanonical)
		} else {
			e.form.Store(formOther)
		}
	}
	return append(dst, b...), nil
}
