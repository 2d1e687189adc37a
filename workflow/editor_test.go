package workflow

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func node(id string) Node {
	return Node{ID: id, Position: Position{X: 1, Y: 2}, Data: map[string]any{"label": id, "keep": true}}
}

func TestEditorOperations(t *testing.T) {
	var s EditorState
	s.Normalize()
	for _, id := range []string{"a", "b", "c"} {
		if err := s.AddNode(node(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddNode(node("a")); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate node: %v", err)
	}
	if err := s.AddEdge(Edge{ID: "ab", Source: "a", Target: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEdge(Edge{ID: "bc", Source: "b", Target: "c"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEdge(Edge{ID: "ab", Source: "a", Target: "c"}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate edge: %v", err)
	}
	if err := s.AddEdge(Edge{ID: "ax", Source: "a", Target: "x"}); !errors.Is(err, ErrMissingEndpoint) {
		t.Errorf("missing endpoint: %v", err)
	}
	s.SelectedNodes = []string{"a", "b"}
	s.SelectedEdges = []string{"ab", "bc"}

	if err := s.PatchNode("a", map[string]any{"id": "zzz", "position": map[string]any{"x": 5, "y": 6}, "selected": 1}); err != nil {
		t.Fatal(err)
	}
	if n := s.Nodes[0]; n.ID != "a" || n.Position.X != 5 || !isTrue(n.Selected) || n.Data["keep"] != true {
		t.Errorf("patched node %+v", n)
	}
	if err := s.PatchNode("nope", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("patch missing: %v", err)
	}
	var ve *ValidationError
	if err := s.PatchNode("a", map[string]any{"data": map[string]any{}}); !errors.As(err, &ve) || ve.Problems[0].Field != "data.label" {
		t.Errorf("patch to invalid node: %v", err)
	}

	s.RemoveNode("b")
	if len(s.Nodes) != 2 || len(s.Edges) != 0 {
		t.Errorf("after RemoveNode: %d nodes %d edges", len(s.Nodes), len(s.Edges))
	}
	if strings.Join(s.SelectedNodes, ",") != "a" || len(s.SelectedEdges) != 0 {
		t.Errorf("selections kept: %v %v", s.SelectedNodes, s.SelectedEdges)
	}
	s.RemoveNode("b") // idempotent
	if err := s.AddEdge(Edge{ID: "ac", Source: "a", Target: "c"}); err != nil {
		t.Fatal(err)
	}
	s.SelectedEdges = []string{"ac"}
	s.RemoveEdge("ac")
	s.RemoveEdge("ac")
	if len(s.Edges) != 0 || len(s.SelectedEdges) != 0 {
		t.Errorf("after RemoveEdge: %v %v", s.Edges, s.SelectedEdges)
	}
}

func TestNormalizeGivesEmptyArrays(t *testing.T) {
	var s EditorState
	s.Normalize()
	b, _ := json.Marshal(s)
	if string(b) != `{"nodes":[],"edges":[],"selectedNodes":[],"selectedEdges":[],"lastUpdate":0}` {
		t.Errorf("got %s", b)
	}
	s.Load([]Node{node("x")}, nil)
	s.SelectedNodes = []string{"x"}
	s.Clear()
	if len(s.Nodes) != 0 || s.SelectedNodes == nil {
		t.Errorf("Clear: %+v", s)
	}
}

func TestDecodeState(t *testing.T) {
	s, problems, err := DecodeState([]byte(`{"nodes":[{"id":"a","position":{"x":0,"y":0},"data":{"label":"A"}}],
		"edges":[{"id":"e","source":"a","target":"b"}],"selectedNodes":["a","q"],"selectedEdges":[1]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(fields(problems), ",")
	if got != "selectedEdges[0],edges[0].target,selectedNodes[1]" {
		t.Errorf("problems %v", problems)
	}
	if len(s.Nodes) != 1 {
		t.Errorf("state %+v", s)
	}
}

func TestSanitizeEdge(t *testing.T) {
	e, problems := SanitizeEdge(map[string]any{"id": "e", "source": "a", "target": "b", "animated": "y", "type": "step", "x": 1})
	if problems != nil || !isTrue(e.Animated) || e.Type != "step" {
		t.Errorf("%+v %v", e, problems)
	}
	_, problems = SanitizeEdge(map[string]any{"label": 3})
	if got := strings.Join(fields(problems), ","); got != "id,source,target,label" {
		t.Errorf("problems %v", problems)
	}
}

func TestSessionHelpers(t *testing.T) {
	s := NewSession("wf", nil, 1000, 0)
	if s.Status != SessionActive || s.ExpiresAt != 1000+DefaultSessionTTL || s.Data == nil {
		t.Fatalf("%+v", s)
	}
	if s.EffectiveStatus(s.ExpiresAt) != SessionExpired || s.EffectiveStatus(s.ExpiresAt-1) != SessionActive {
		t.Error("expiry boundary")
	}
	s.Extend(500, s.ExpiresAt+10)
	if s.ExpiresAt != 1000+DefaultSessionTTL+10+500 {
		t.Errorf("extend: %d", s.ExpiresAt)
	}
	s.Terminate(5)
	if s.EffectiveStatus(1<<50) != SessionTerminated {
		t.Error("terminated shown as expired")
	}
}
