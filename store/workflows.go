package store

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// Workflows is the workflows collection, keyed by metadata.id, with an in-memory index that
// orders and filters it for listing.
type Workflows struct {
	s   *Store
	idx index
}

// shape is the part of a stored workflow that the counts need.
type shape struct{ nodes, edges int }

func decodeWorkflow(id, v []byte) (*workflow.Workflow, error) {
	var w workflow.Workflow
	if err := json.Unmarshal(v, &w); err != nil {
		return nil, fmt.Errorf("%w: workflow %q: %v", ErrCorrupt, id, err)
	}
	w.Normalize()
	return &w, nil
}

func encodeWorkflow(w *workflow.Workflow) ([]byte, error) {
	if err := workflow.ValidateID(w.Metadata.ID); err != nil {
		return nil, fmt.Errorf("store workflow: %w", err)
	}
	return workflow.Encode(w)
}

// Get returns the workflow with the id, or ErrNotFound.
func (ws *Workflows) Get(id string) (*workflow.Workflow, error) {
	return getRecord(ws.s, collWorkflows, bucketWorkflows, []byte(id), decodeWorkflow)
}

// putWorkflow stores a record and its summary in tx.
func putWorkflow(tx *bolt.Tx, key, data, sum []byte) error {
	records, summaries := workflowBuckets(tx)
	if err := records.Put(key, data); err != nil {
		return err
	}
	return summaries.Put(key, sum)
}

// encodeWithSummary encodes w and its summary.
func encodeWithSummary(w *workflow.Workflow) (data, sum []byte, err error) {
	if data, err = encodeWorkflow(w); err != nil {
		return nil, nil, err
	}
	return data, summaryOf(w), nil
}

// summaryOf is w's stored summary.
func summaryOf(w *workflow.Workflow) []byte {
	return summarize(&w.Metadata, len(w.Nodes), len(w.Edges), true).appendTo(nil)
}

// Create stores a new workflow; ErrConflict if its id is already stored.
func (ws *Workflows) Create(wf *workflow.Workflow) error {
	data, err := encodeWorkflow(wf)
	if err != nil {
		return err
	}
	return ws.CreateJSON(wf, data)
}

// CreateJSON stores a new workflow given with its JSON encoding (workflow.Encode), which is
// stored as it is; ErrConflict if its id is already stored.
func (ws *Workflows) CreateJSON(wf *workflow.Workflow, data []byte) error {
	sum := summaryOf(wf)
	key := []byte(wf.Metadata.ID)
	err := ws.s.batch(opWrite, collWorkflows, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketWorkflows).Get(key) != nil {
			return ErrConflict
		}
		return putWorkflow(tx, key, data, sum)
	})
	if err != nil {
		return err
	}
	ws.refresh(wf.Metadata.ID)
	ws.committed(nil, wf)
	return nil
}

// storedShape returns the counts of the workflow summarised under key, or nil if none is.
func storedShape(tx *bolt.Tx, key []byte) (*shape, error) {
	if v := tx.Bucket(bucketSummaries).Get(key); v != nil {
		var sm summary
		if err := decodeSummary(&sm, key, v); err != nil {
			return nil, err
		}
		return &shape{nodes: sm.nodes, edges: sm.edges}, nil
	}
	// No summary: no record, or one an older version wrote after this one built the
	// summaries, which the counts and the index never held either.
	return nil, nil
}

// Put stores the workflow, replacing any stored under its id (import with overwrite).
func (ws *Workflows) Put(wf *workflow.Workflow) error {
	data, err := encodeWorkflow(wf)
	if err != nil {
		return err
	}
	return ws.PutJSON(wf, data)
}

// PutJSON is Put for a workflow given with its JSON encoding, stored as it is.
func (ws *Workflows) PutJSON(wf *workflow.Workflow, data []byte) error {
	sum := summaryOf(wf)
	key := []byte(wf.Metadata.ID)
	var old *shape
	err := ws.s.batch(opWrite, collWorkflows, func(tx *bolt.Tx) error {
		var err error
		if old, err = storedShape(tx, key); err != nil {
			return err
		}
		return putWorkflow(tx, key, data, sum)
	})
	if err != nil {
		return err
	}
	ws.refresh(wf.Metadata.ID)
	ws.committed(old, wf)
	return nil
}

// Update applies fn to the stored workflow and stores the result, keeping its id. fn may run
// more than once, each time on a fresh copy; its error aborts the update and is returned as is.
func (ws *Workflows) Update(id string, fn func(*workflow.Workflow) error) (*workflow.Workflow, error) {
	w, _, err := ws.UpdateJSON(id, fn)
	return w, err
}

// UpdateJSON is Update that also returns the stored JSON encoding of the result.
func (ws *Workflows) UpdateJSON(id string, fn func(*workflow.Workflow) error) (*workflow.Workflow, []byte, error) {
	key := []byte(id)
	var old *shape
	var w *workflow.Workflow
	var stored []byte
	err := ws.s.batch(opWrite, collWorkflows, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWorkflows).Get(key)
		if v == nil {
			return ErrNotFound
		}
		cur, err := decodeWorkflow(key, v)
		if err != nil {
			return err
		}
		if old, err = storedShape(tx, key); err != nil {
			return err
		}
		if err := fn(cur); err != nil {
			return &callerError{err}
		}
		cur.Metadata.ID = id
		data, err := workflow.Encode(cur)
		if err != nil {
			return &callerError{err}
		}
		w, stored = cur, data
		return putWorkflow(tx, key, data, summaryOf(cur))
	})
	if err != nil {
		return nil, nil, err
	}
	ws.refresh(id)
	ws.committed(old, w)
	return w, stored, nil
}

// Delete removes the workflow and returns it; ErrNotFound if absent.
func (ws *Workflows) Delete(id string) (*workflow.Workflow, error) {
	key := []byte(id)
	var w *workflow.Workflow
	var old *shape
	err := ws.s.batch(opDelete, collWorkflows, func(tx *bolt.Tx) error {
		records, summaries := workflowBuckets(tx)
		v := records.Get(key)
		if v == nil {
			return ErrNotFound
		}
		var err error
		if w, err = decodeWorkflow(key, v); err != nil {
			return err
		}
		if old, err = storedShape(tx, key); err != nil {
			return err
		}
		if err := records.Delete(key); err != nil {
			return err
		}
		return summaries.Delete(key)
	})
	if err != nil {
		return nil, err
	}
	ws.refresh(id)
	if old != nil { // the counts held it
		ws.s.apply(Stats{WorkflowCount: -1, NodeCount: -old.nodes, EdgeCount: -old.edges})
		if m := ws.s.metrics; m != nil {
			m.WorkflowRemoved(old.nodes)
		}
	}
	return w, nil
}

// committed records a committed write that replaced old (nil when new) with w.
func (ws *Workflows) committed(old *shape, w *workflow.Workflow) {
	d := Stats{WorkflowCount: 1, NodeCount: len(w.Nodes), EdgeCount: len(w.Edges)}
	if old != nil {
		d.WorkflowCount = 0
		d.NodeCount -= old.nodes
		d.EdgeCount -= old.edges
	}
	ws.s.apply(d)
	if m := ws.s.metrics; m != nil {
		if old != nil {
			m.WorkflowRemoved(old.nodes)
		}
		m.WorkflowAdded(len(w.Nodes))
	}
}

// scan computes the kept counts and builds the workflow index once at Open from the
// summaries (writing them first for a file that has none), and returns every workflow's node
// count. No record is read.
func (s *Store) scan() ([]int, error) {
	if err := s.migrateSummaries(); err != nil {
		return nil, err
	}
	var nodeCounts []int
	var entries []*entry
	var c Stats
	// Most workflows share their list of tags with others: each distinct list is kept once.
	lists := map[string]*[]string{}
	err := s.readTx(func(tx *bolt.Tx) error {
		var sm summary
		err := tx.Bucket(bucketSummaries).ForEach(func(k, v []byte) error {
			if err := decodeSummary(&sm, k, v); err != nil {
				return err
			}
			tags, ok := lists[string(sm.rawTags)]
			if !ok && len(sm.tags) > 0 {
				list := make([]string, len(sm.tags))
				for i, t := range sm.tags {
					list[i] = strings.Clone(t)
				}
				tags = &list
				lists[string(sm.rawTags)] = tags
			}
			entries = append(entries, newEntry(view(k), &sm, tags))
			c.WorkflowCount++
			c.NodeCount += sm.nodes
			c.EdgeCount += sm.edges
			nodeCounts = append(nodeCounts, sm.nodes)
			return nil
		})
		if err != nil {
			return err
		}
		c.SessionCount = tx.Bucket(bucketSessions).Stats().KeyN
		if v := tx.Bucket(bucketStore).Get(keyEditor); v != nil {
			var st workflow.EditorState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("%w: editor state: %v", ErrCorrupt, err)
			}
			c.LastStoreUpdate = st.LastUpdate
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.counts = c
	s.Workflows.idx.reset(entries)
	s.releaseMapped()
	// Building the index left garbage worth half of it: give it back now rather than keep it
	// resident until the runtime's scavenger returns it.
	debug.FreeOSMemory()
	return nodeCounts, nil
}
