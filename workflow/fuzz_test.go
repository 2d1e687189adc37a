package workflow

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeWorkflow checks that decoding never panics, that an accepted workflow re-validates
// clean, and that its JSON round-trips unchanged.
func FuzzDecodeWorkflow(f *testing.F) {
	f.Add(mustJSON(f, validBody(3)))
	f.Add([]byte(`{"metadata":{"id":"a","name":"b"},"nodes":[{"id":"1","position":{"x":1e308,"y":-0},"data":{"label":"\u0000","n":[null,{}]}}]}`))
	f.Add([]byte(`{"name":"x","nodes":null}`))
	f.Add([]byte("\xff"))
	lim := Limits{MaxNodes: 50, MaxEdges: 50}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, decode := range []func() (*Workflow, []Problem, error){
			func() (*Workflow, []Problem, error) { return DecodeWorkflow(body, lim) },
			func() (*Workflow, []Problem, error) { return DecodeCreate(body, lim, 1) },
		} {
			w, problems, err := decode()
			if err != nil || problems != nil {
				continue
			}
			if p := Validate(w, lim); p != nil {
				t.Fatalf("accepted workflow fails Validate: %v", p)
			}
			out, err := json.Marshal(w)
			if err != nil {
				t.Fatalf("marshal accepted workflow: %v", err)
			}
			again, problems, err := DecodeWorkflow(out, lim)
			if err != nil || problems != nil {
				t.Fatalf("round trip refused: %v %v\n%s", err, problems, out)
			}
			if !reflect.DeepEqual(w, again) {
				t.Fatalf("round trip changed the workflow:\n%+v\n%+v", w, again)
			}
		}
	})
}

// FuzzValidate checks that validating arbitrary nodes and edges never panics and that the
// editor operations keep their invariants on whatever the sanitiser accepts.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"id":"a","position":{"x":0,"y":0},"data":{"label":"A"}}`), []byte(`{"id":"e","source":"a","target":"a"}`))
	f.Add([]byte(`{"id":"","position":[],"data":null}`), []byte(`{"id":5}`))
	f.Fuzz(func(t *testing.T, rawNode, rawEdge []byte) {
		var nm, em map[string]any
		if DecodeJSON(rawNode, 10, &nm) != nil || DecodeJSON(rawEdge, 10, &em) != nil || nm == nil || em == nil {
			return
		}
		n, np := SanitizeNode(nm)
		e, ep := SanitizeEdge(em)
		var s EditorState
		s.Normalize()
		if np == nil {
			if err := s.AddNode(n); err != nil {
				t.Fatalf("AddNode on empty state: %v", err)
			}
		}
		if ep == nil {
			_ = s.AddEdge(e)
		}
		w := Workflow{Metadata: Metadata{ID: "w", Name: "w", Version: "1"}, Nodes: s.Nodes, Edges: s.Edges}
		if p := Validate(&w, Limits{}); p != nil {
			t.Fatalf("state built from accepted parts is invalid: %v", p)
		}
		s.RemoveNode(n.ID)
		if len(s.Edges) != 0 {
			t.Fatalf("edge survived removal of its node: %+v", s.Edges)
		}
	})
}
