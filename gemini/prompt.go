package gemini

import (
	"fmt"
	"strings"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// Prompt joins the nodes' labels, one per line, in the order the edges lead through the flow:
// a topological walk from the sources, then every node the walk did not reach (isolated nodes,
// cycles without a source) in their original order.
func Prompt(nodes []workflow.Node, edges []workflow.Edge) string {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if _, dup := index[n.ID]; !dup {
			index[n.ID] = i
		}
	}
	indeg := make([]int, len(nodes))
	out := make([][]int, len(nodes))
	hasEdge := make([]bool, len(nodes))
	for _, e := range edges {
		s, okS := index[e.Source]
		t, okT := index[e.Target]
		if !okS || !okT {
			continue
		}
		out[s] = append(out[s], t)
		indeg[t]++
		hasEdge[s], hasEdge[t] = true, true
	}

	order := make([]int, 0, len(nodes))
	queue := make([]int, 0, len(nodes))
	for i := range nodes {
		if hasEdge[i] && indeg[i] == 0 && index[nodes[i].ID] == i {
			queue = append(queue, i)
		}
	}
	done := make([]bool, len(nodes))
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		done[i] = true
		order = append(order, i)
		for _, t := range out[i] {
			indeg[t]--
			if indeg[t] == 0 {
				queue = append(queue, t)
			}
		}
	}
	for i := range nodes {
		if !done[i] {
			order = append(order, i)
		}
	}

	var b strings.Builder
	for _, i := range order {
		label := Label(nodes[i])
		if label == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(label)
	}
	return b.String()
}

// Label is a node's data.label as text ("" when absent).
func Label(n workflow.Node) string {
	v, ok := n.Data["label"]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}
