package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// Workflows is the workflows collection, keyed by metadata.id, with an in-memory index that
// orders and filters it for listing.
type Workflows struct {
	s   *Store
	idx index
}

// shape is the part of a stored workflow that the counts need; decoding into empty structs
// skips the nodes' and edges' contents.
type shape struct {
	Nodes []struct{} `json:"nodes"`
	Edges []struct{} `json:"edges"`
}

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
	w.Normalize()
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode workflow %q: %w", w.Metadata.ID, err)
	}
	return b, nil
}

// Get returns the workflow with the id, or ErrNotFound.
func (ws *Workflows) Get(id string) (*workflow.Workflow, error) {
	return getRecord(ws.s, collWorkflows, bucketWorkflows, []byte(id), decodeWorkflow)
}

// Create stores a new workflow; ErrConflict if its id is already stored.
func (ws *Workflows) Create(wf *workflow.Workflow) error {
	data, err := encodeWorkflow(wf)
	if err != nil {
		return err
	}
	if err := insertRecord(ws.s, collWorkflows, bucketWorkflows, []byte(wf.Metadata.ID), data); err != nil {
		return err
	}
	ws.refresh(wf.Metadata.ID)
	ws.committed(nil, wf)
	return nil
}

// Put stores the workflow, replacing any stored under its id (import with overwrite).
func (ws *Workflows) Put(wf *workflow.Workflow) error {
	data, err := encodeWorkflow(wf)
	if err != nil {
		return err
	}
	key := []byte(wf.Metadata.ID)
	var old *shape
	err = ws.s.batch(opWrite, collWorkflows, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWorkflows)
		old = nil
		if v := b.Get(key); v != nil {
			old = &shape{}
			if err := json.Unmarshal(v, old); err != nil {
				return fmt.Errorf("%w: workflow %q: %v", ErrCorrupt, key, err)
			}
		}
		return b.Put(key, data)
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
	var old shape
	w, err := updateRecord(ws.s, collWorkflows, bucketWorkflows, []byte(id), decodeWorkflow, func(cur *workflow.Workflow) error {
		old = shape{Nodes: make([]struct{}, len(cur.Nodes)), Edges: make([]struct{}, len(cur.Edges))}
		if err := fn(cur); err != nil {
			return err
		}
		cur.Metadata.ID = id
		return nil
	}, encodeWorkflow)
	if err != nil {
		return nil, err
	}
	ws.refresh(id)
	ws.committed(&old, w)
	return w, nil
}

// Delete removes the workflow and returns it; ErrNotFound if absent.
func (ws *Workflows) Delete(id string) (*workflow.Workflow, error) {
	w, err := deleteRecord(ws.s, collWorkflows, bucketWorkflows, []byte(id), decodeWorkflow)
	if err != nil {
		return nil, err
	}
	ws.refresh(id)
	ws.s.apply(Stats{WorkflowCount: -1, NodeCount: -len(w.Nodes), EdgeCount: -len(w.Edges)})
	if m := ws.s.metrics; m != nil {
		m.WorkflowRemoved(len(w.Nodes))
	}
	return w, nil
}

// committed records a committed write that replaced old (nil when new) with w.
func (ws *Workflows) committed(old *shape, w *workflow.Workflow) {
	d := Stats{WorkflowCount: 1, NodeCount: len(w.Nodes), EdgeCount: len(w.Edges)}
	if old != nil {
		d.WorkflowCount = 0
		d.NodeCount -= len(old.Nodes)
		d.EdgeCount -= len(old.Edges)
	}
	ws.s.apply(d)
	if m := ws.s.metrics; m != nil {
		if old != nil {
			m.WorkflowRemoved(len(old.Nodes))
		}
		m.WorkflowAdded(len(w.Nodes))
	}
}

// scan computes the kept counts and builds the workflow index once at Open, and returns every
// workflow's node count.
func (s *Store) scan() ([]int, error) {
	var nodeCounts []int
	var entries []*entry
	var c Stats
	err := s.readTx(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketWorkflows).ForEach(func(k, v []byte) error {
			e, w, err := scanEntry(k, v)
			if err != nil {
				return err
			}
			entries = append(entries, e)
			c.WorkflowCount++
			c.NodeCount += len(w.Nodes)
			c.EdgeCount += len(w.Edges)
			nodeCounts = append(nodeCounts, len(w.Nodes))
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
	return nodeCounts, nil
}
