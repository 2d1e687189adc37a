package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// openTest opens a store in a fresh directory and, at cleanup, checks the file's consistency
// with bbolt's own checker before closing it.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), FileName), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkAndClose(t, s) })
	return s
}

func checkAndClose(t testing.TB, s *Store) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("consistency check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// sample returns a valid workflow with n chained nodes.
func sample(id string, n int, created int64) *workflow.Workflow {
	w := &workflow.Workflow{Metadata: workflow.Metadata{ID: id, Name: "Flow " + id, Version: "1.0.0",
		Description: "a flow", CreatedAt: created, UpdatedAt: created, Tags: []string{"demo"}}}
	for i := range n {
		w.Nodes = append(w.Nodes, workflow.Node{ID: fmt.Sprint("n", i), Position: workflow.Position{X: float64(i)},
			Data: map[string]any{"label": "step", "prompt": "Summarise the text"}})
		if i > 0 {
			w.Edges = append(w.Edges, workflow.Edge{ID: fmt.Sprint("e", i), Source: fmt.Sprint("n", i-1), Target: fmt.Sprint("n", i)})
		}
	}
	return w
}

// recorder is an Observer that keeps what the store reported.
type recorder struct {
	mu     sync.Mutex
	ops    []string    // "op/collection/status"
	nodes  map[int]int // node count -> workflows in that bucket
	set    []int       // last SetWorkflowNodeCounts
	timing []time.Duration
}

func newRecorder() *recorder { return &recorder{nodes: map[int]int{}} }

func (r *recorder) ObserveDB(op, coll string, err error, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	status := "success"
	if err != nil {
		status = "error"
	}
	r.ops = append(r.ops, op+"/"+coll+"/"+status)
	r.timing = append(r.timing, d)
}

func (r *recorder) WorkflowAdded(n int) {
	r.mu.Lock()
	r.nodes[n]++
	r.mu.Unlock()
}

func (r *recorder) WorkflowRemoved(n int) {
	r.mu.Lock()
	r.nodes[n]--
	if r.nodes[n] == 0 {
		delete(r.nodes, n)
	}
	r.mu.Unlock()
}

func (r *recorder) SetWorkflowNodeCounts(c []int) {
	r.mu.Lock()
	r.set = append([]int(nil), c...)
	r.nodes = map[int]int{}
	for _, n := range c {
		r.nodes[n]++
	}
	r.mu.Unlock()
}

func (r *recorder) snapshot() (ops []string, nodes map[int]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	nodes = map[int]int{}
	for k, v := range r.nodes {
		nodes[k] = v
	}
	return append([]string(nil), r.ops...), nodes
}
