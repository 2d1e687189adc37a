package monitoring_test

import (
	"testing"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func TestWorkflowNodesDescribeStoredWorkflows(t *testing.T) {
	type op struct {
		add   bool
		nodes int
	}
	add := func(n int) op { return op{true, n} }
	del := func(n int) op { return op{false, n} }
	f := func(name string, start []int, ops []op, wantCount, wantSum float64, wantLe map[string]float64) {
		t.Helper()
		r := monitoring.New(monitoring.Options{})
		if start != nil {
			r.SetWorkflowNodeCounts(start)
		}
		for _, o := range ops {
			if o.add {
				r.WorkflowAdded(o.nodes)
			} else {
				r.WorkflowRemoved(o.nodes)
			}
		}
		e := scrape(t, r)
		total := e.value(t, `gemini_flow_workflows_total`)
		count := e.value(t, `gemini_flow_workflow_nodes_count`)
		if total != wantCount || count != total {
			t.Errorf("%s: workflows_total %v, nodes _count %v, want both %v", name, total, count, wantCount)
		}
		if inf := e.value(t, `gemini_flow_workflow_nodes_bucket{le="+Inf"}`); inf != count {
			t.Errorf("%s: +Inf bucket %v != _count %v", name, inf, count)
		}
		if sum := e.value(t, `gemini_flow_workflow_nodes_sum`); sum != wantSum {
			t.Errorf("%s: _sum %v, want %v", name, sum, wantSum)
		}
		for le, want := range wantLe {
			if got := e.value(t, `gemini_flow_workflow_nodes_bucket{le="`+le+`"}`); got != want {
				t.Errorf("%s: bucket le=%s = %v, want %v", name, le, got, want)
			}
		}
	}
	f("empty", nil, nil, 0, 0, map[string]float64{"0": 0, "1000": 0})
	f("adds", nil, []op{add(0), add(10), add(11), add(1000), add(1001)}, 5, 2022,
		map[string]float64{"0": 1, "10": 2, "25": 3, "500": 3, "1000": 4})
	f("update moves a workflow between buckets", nil, []op{add(5), del(5), add(60)}, 1, 60,
		map[string]float64{"10": 0, "50": 0, "100": 1})
	f("delete all", nil, []op{add(3), add(300), del(300), del(3)}, 0, 0, map[string]float64{"10": 0, "500": 0})
	f("removal from an empty bucket changes nothing", nil, []op{add(3), del(700)}, 1, 3,
		map[string]float64{"10": 1, "1000": 1})
	f("negative counts as zero", nil, []op{add(-4)}, 1, 0, map[string]float64{"0": 1})
	f("scan at start", []int{1, 2, 30, 2000}, []op{add(7)}, 5, 2040,
		map[string]float64{"10": 3, "50": 4, "1000": 4})
	f("scan replaces", []int{}, []op{}, 0, 0, map[string]float64{"0": 0})
}
