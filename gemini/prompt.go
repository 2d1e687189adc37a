package gemini

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// ErrNoInputNode is returned when a flow has no node of type "input" to start from.
var ErrNoInputNode = errors.New("the flow has no input node: add an input node to start the flow")

// minPrompt is the length under which a walked prompt is replaced by the list of labels.
const minPrompt = 10

// Prompt builds the prompt as the original backend did: depth-first from the first input
// node along the edges, one line per node reached ("Input: …", "Step <depth+1>: …",
// "Output: …"), each node once; a walk shorter than 10 characters gives "Please process the
// following workflow:" and one "- <label>" line per node instead.
func Prompt(nodes []workflow.Node, edges []workflow.Edge) (string, error) {
	start := slices.IndexFunc(nodes, func(n workflow.Node) bool { return n.Type == "input" })
	if start < 0 {
		return "", ErrNoInputNode
	}
	byID := make(map[string]*workflow.Node, len(nodes))
	for i := range nodes {
		if _, dup := byID[nodes[i].ID]; !dup {
			byID[nodes[i].ID] = &nodes[i]
		}
	}
	next := make(map[string][]string, len(edges))
	for _, e := range edges {
		next[e.Source] = append(next[e.Source], e.Target)
	}
	var lines []string
	visited := make(map[string]bool, len(nodes))
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		n := byID[id]
		if visited[id] || n == nil {
			return
		}
		visited[id] = true
		lines = append(lines, stepLine(n, depth))
		for _, t := range next[id] {
			walk(t, depth+1)
		}
	}
	walk(nodes[start].ID, 0)
	prompt := strings.Join(lines, "\n")
	if len(strings.TrimSpace(prompt)) >= minPrompt {
		return prompt, nil
	}
	var b strings.Builder
	b.WriteString("Please process the following workflow:")
	for _, n := range nodes {
		label := Label(n)
		if label == "" {
			label = n.Type
		}
		b.WriteString("\n- " + label)
	}
	return b.String(), nil
}

// stepLine is one node's line of the prompt, with the original's words for an absent label.
func stepLine(n *workflow.Node, depth int) string {
	label := Label(*n)
	switch n.Type {
	case "input":
		return "Input: " + or(label, "Process the following")
	case "output":
		return "Output: " + or(label, "Provide the result")
	}
	return "Step " + strconv.Itoa(depth+1) + ": " + or(label, "Process this step")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
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
