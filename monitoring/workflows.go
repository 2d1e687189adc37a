package monitoring

import (
	"sort"
	"sync"
)

// WorkflowAdded puts one stored workflow of nodes nodes into gemini_flow_workflow_nodes and
// gemini_flow_workflows_total. An update is WorkflowRemoved(old) then WorkflowAdded(new).
func (r *Registry) WorkflowAdded(nodes int) { r.nodes.add(nodes) }

// WorkflowRemoved takes one stored workflow of nodes nodes out again.
func (r *Registry) WorkflowRemoved(nodes int) {
	if !r.nodes.remove(nodes) {
		r.logger.Warn("workflow removed from an empty node-count bucket; metric left unchanged", "nodes", nodes)
	}
}

// SetWorkflowNodeCounts replaces the stored workflows with one per entry of nodeCounts
// (the node count of each), as found by a scan at start.
func (r *Registry) SetWorkflowNodeCounts(nodeCounts []int) { r.nodes.reset(nodeCounts) }

// nodeHistogram is a histogram of the workflows stored now rather than of past events:
// removals take observations out again. One mutex keeps buckets, count and sum consistent,
// so a scrape never sees _count differ from the sum of its buckets.
type nodeHistogram struct {
	mu      sync.Mutex
	bounds  []float64
	buckets []uint64 // not cumulative; the last one is above the largest bound
	count   uint64
	sum     int64
}

// nodeSnapshot is one consistent reading of a nodeHistogram.
type nodeSnapshot struct {
	cumulative []uint64 // per bound, cumulative
	count      uint64
	sum        int64
}

func (h *nodeHistogram) init(bounds []float64) {
	h.bounds = bounds
	h.buckets = make([]uint64, len(bounds)+1)
}

func (h *nodeHistogram) index(nodes int) int {
	return sort.SearchFloat64s(h.bounds, float64(nodes))
}

func (h *nodeHistogram) add(nodes int) {
	nodes = max(nodes, 0)
	i := h.index(nodes)
	h.mu.Lock()
	h.buckets[i]++
	h.count++
	h.sum += int64(nodes)
	h.mu.Unlock()
}

// remove reports false, changing nothing, when no stored workflow has that many nodes.
func (h *nodeHistogram) remove(nodes int) bool {
	nodes = max(nodes, 0)
	i := h.index(nodes)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.buckets[i] == 0 {
		return false
	}
	h.buckets[i]--
	h.count--
	h.sum -= int64(nodes)
	return true
}

func (h *nodeHistogram) reset(nodeCounts []int) {
	buckets := make([]uint64, len(h.bounds)+1)
	var sum int64
	for _, n := range nodeCounts {
		n = max(n, 0)
		buckets[h.index(n)]++
		sum += int64(n)
	}
	h.mu.Lock()
	h.buckets = buckets
	h.count = uint64(len(nodeCounts))
	h.sum = sum
	h.mu.Unlock()
}

func (h *nodeHistogram) snapshot() nodeSnapshot {
	s := nodeSnapshot{cumulative: make([]uint64, len(h.bounds))}
	h.mu.Lock()
	var acc uint64
	for i := range s.cumulative {
		acc += h.buckets[i]
		s.cumulative[i] = acc
	}
	s.count, s.sum = h.count, h.sum
	h.mu.Unlock()
	return s
}
