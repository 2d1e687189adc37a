package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// validBody returns a valid full-form workflow with n nodes chained by n-1 edges.
func validBody(n int) map[string]any {
	nodes := make([]any, n)
	edges := make([]any, 0, n)
	for i := range n {
		nodes[i] = map[string]any{"id": fmt.Sprintf("n%d", i), "type": "default",
			"position": map[string]any{"x": float64(i), "y": 0}, "data": map[string]any{"label": "step"}}
		if i > 0 {
			edges = append(edges, map[string]any{"id": fmt.Sprintf("e%d", i), "source": fmt.Sprintf("n%d", i-1), "target": fmt.Sprintf("n%d", i)})
		}
	}
	return map[string]any{
		"metadata": map[string]any{"id": "wf-1", "name": "Flow", "version": "1.0.0", "createdAt": 1, "updatedAt": 2},
		"nodes":    nodes, "edges": edges,
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fields(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Field
	}
	return out
}

func TestDecodeWorkflowRefusesBadJSON(t *testing.T) {
	f := func(name string, body []byte, wantMsg string) {
		t.Helper()
		w, problems, err := DecodeWorkflow(body, Limits{})
		var de *DecodeError
		if !errors.As(err, &de) || de.Code != CodeInvalidJSON {
			t.Fatalf("%s: err = %v, want *DecodeError INVALID_JSON", name, err)
		}
		if !strings.Contains(de.Message, wantMsg) {
			t.Errorf("%s: message %q lacks %q", name, de.Message, wantMsg)
		}
		if w != nil || problems != nil {
			t.Errorf("%s: got a workflow or problems with a decode error", name)
		}
	}
	f("syntax", []byte(`{"metadata":`), "invalid JSON")
	f("trailing", []byte(`{} {}`), "invalid JSON")
	f("invalid UTF-8", []byte("{\"metadata\":{\"name\":\"\xff\xfe\"}}"), "UTF-8")
	f("depth 11", []byte(strings.Repeat("[", 11)+strings.Repeat("]", 11)), "depth exceeds 10")
	deep := validBody(1)
	var v any = "x"
	for range 8 { // data at depth 4 holding 8 more levels = 12
		v = map[string]any{"k": v}
	}
	deep["nodes"].([]any)[0].(map[string]any)["data"].(map[string]any)["deep"] = v
	f("deep node data", mustJSON(t, deep), "depth exceeds 10")
	f("array body", []byte(`[1,2]`), "JSON object")
	f("empty", []byte(``), "invalid JSON")
}

func TestDepthLimitCountsOnlyStructure(t *testing.T) {
	// Brackets inside strings, and escaped quotes, are not nesting.
	body := []byte(`{"a":"[[[[[[[[[[[[\"{{{{{{{{{{{{"}`)
	var v any
	if err := DecodeJSON(body, 2, &v); err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	if err := DecodeJSON([]byte(`{"a":{"b":{}}}`), 2, &v); err == nil {
		t.Fatal("depth 3 accepted with max 2")
	}
	if err := DecodeJSON([]byte(strings.Repeat("[", 10)+strings.Repeat("]", 10)), 0, &v); err != nil {
		t.Fatalf("depth 10 refused with the default: %v", err)
	}
}

func TestDecodeWorkflowProblems(t *testing.T) {
	f := func(name string, mutate func(m map[string]any), want ...string) {
		t.Helper()
		m := validBody(3)
		mutate(m)
		_, problems, err := DecodeWorkflow(mustJSON(t, m), Limits{})
		if err != nil {
			t.Fatalf("%s: err %v", name, err)
		}
		got := strings.Join(fields(problems), ",")
		for _, w := range want {
			if !strings.Contains(","+got+",", ","+w+",") {
				t.Errorf("%s: problems %v lack field %q", name, problems, w)
			}
		}
		if len(problems) != len(want) {
			t.Errorf("%s: got %d problems %v, want %d", name, len(problems), problems, len(want))
		}
	}
	meta := func(m map[string]any) map[string]any { return m["metadata"].(map[string]any) }
	node := func(m map[string]any, i int) map[string]any { return m["nodes"].([]any)[i].(map[string]any) }
	edge := func(m map[string]any, i int) map[string]any { return m["edges"].([]any)[i].(map[string]any) }

	f("1001 nodes", func(m map[string]any) { m["nodes"] = validBody(1001)["nodes"]; m["edges"] = []any{} }, "nodes")
	f("React Flow's own and custom types", func(m map[string]any) {
		node(m, 0)["type"] = "group"
		node(m, 1)["type"] = "geminiPromptNode"
		edge(m, 0)["type"] = "simplebezier"
		edge(m, 1)["type"] = "custom-edge ✓"
	})
	f("5001 edges", func(m map[string]any) {
		es := make([]any, 5001)
		for i := range es {
			es[i] = map[string]any{"id": fmt.Sprint("x", i), "source": "n0", "target": "n1"}
		}
		m["edges"] = es
	}, "edges")
	f("duplicate node id", func(m map[string]any) { node(m, 2)["id"] = "n0" }, "nodes[2].id", "edges[1].target")
	f("duplicate edge id", func(m map[string]any) { edge(m, 1)["id"] = "e1" }, "edges[1].id")
	f("edge to missing node", func(m map[string]any) { edge(m, 0)["target"] = "ghost"; edge(m, 1)["source"] = "nope" },
		"edges[0].target", "edges[1].source")
	f("workflow id with ..", func(m map[string]any) { meta(m)["id"] = "../etc" }, "metadata.id")
	f("workflow id with /", func(m map[string]any) { meta(m)["id"] = "a/b" }, "metadata.id")
	f(`workflow id with \`, func(m map[string]any) { meta(m)["id"] = `a\b` }, "metadata.id")
	f("missing metadata", func(m map[string]any) { delete(m, "metadata") }, "metadata", "metadata.id", "metadata.name")
	f("metadata wrong type", func(m map[string]any) { m["metadata"] = "x" }, "metadata", "metadata.id", "metadata.name")
	f("wrong types everywhere", func(m map[string]any) {
		meta(m)["name"] = 5
		meta(m)["createdAt"] = "yesterday"
		meta(m)["tags"] = []any{"ok", 3}
		node(m, 0)["position"] = map[string]any{"x": "1", "y": nil}
		node(m, 1)["data"] = map[string]any{"label": 7}
		node(m, 2)["type"] = strings.Repeat("g", 65)
		edge(m, 0)["type"] = "simple\nbezier"
		edge(m, 1)["source"] = 4
	}, "metadata.name", "metadata.createdAt", "metadata.tags[1]", "nodes[0].position.x", "nodes[0].position.y",
		"nodes[1].data.label", "nodes[2].type", "edges[0].type", "edges[1].source")
	f("missing fields", func(m map[string]any) {
		delete(meta(m), "name")
		delete(node(m, 0), "id")
		delete(node(m, 1), "position")
		delete(node(m, 2), "data")
		delete(edge(m, 0), "id")
	}, "metadata.name", "nodes[0].id", "nodes[1].position", "nodes[2].data", "nodes[2].data.label", "edges[0].id", "edges[0].source")
	f("name too long", func(m map[string]any) { meta(m)["name"] = strings.Repeat("é", 201) }, "metadata.name")
	f("description too long", func(m map[string]any) { meta(m)["description"] = strings.Repeat("d", 5001) }, "metadata.description")
	f("51 tags", func(m map[string]any) {
		tags := make([]any, 51)
		for i := range tags {
			tags[i] = "t"
		}
		meta(m)["tags"] = tags
	}, "metadata.tags")
	f("fractional timestamp", func(m map[string]any) { meta(m)["updatedAt"] = 1.5 }, "metadata.updatedAt")
	f("nodes not array", func(m map[string]any) { m["nodes"] = map[string]any{}; m["edges"] = []any{} }, "nodes")
	f("node not object", func(m map[string]any) { m["nodes"].([]any)[0] = "n0" }, "nodes[0]", "edges[0].source")
	f("empty version", func(m map[string]any) { meta(m)["version"] = "" }, "metadata.version")
	f("parent missing, extent malformed", func(m map[string]any) {
		node(m, 0)["parentId"] = "nowhere"
		node(m, 1)["parentNode"] = "gone"
		node(m, 2)["extent"] = []any{[]any{0.0, 0.0}, []any{"1", 2.0}}
	}, "nodes[2].extent", "nodes[0].parentId", "nodes[1].parentNode")
}

func TestDecodeWorkflowSanitises(t *testing.T) {
	m := validBody(2)
	m["extra"] = true
	m["metadata"].(map[string]any)["owner"] = "x"
	n := m["nodes"].([]any)[0].(map[string]any)
	n["selected"] = "yes"
	n["dragging"] = 0
	n["positionAbsolute"] = map[string]any{"x": 1}
	n["data"].(map[string]any)["prompt"] = map[string]any{"temperature": 0.5}
	e := m["edges"].([]any)[0].(map[string]any)
	e["animated"] = 1
	e["sourceHandle"] = "a"
	e["targetHandle"] = nil
	n1 := m["nodes"].([]any)[1].(map[string]any)
	n1["parentId"], n1["extent"], n1["expandParent"] = "n0", "parent", true
	delete(m["metadata"].(map[string]any), "version")

	w, problems, err := DecodeWorkflow(mustJSON(t, m), Limits{})
	if err != nil || problems != nil {
		t.Fatalf("err %v problems %v", err, problems)
	}
	if !isTrue(w.Nodes[0].Selected) || w.Nodes[0].Dragging == nil || *w.Nodes[0].Dragging || !isTrue(w.Edges[0].Animated) {
		t.Errorf("flags not coerced: %+v %+v", w.Nodes[0], w.Edges[0])
	}
	if w.Metadata.Version != "1.0.0" || w.Metadata.Description != "" || w.Metadata.Tags == nil {
		t.Errorf("defaults not applied: %+v", w.Metadata)
	}
	out := string(mustJSON(t, w))
	for _, gone := range []string{"extra", "owner", "positionAbsolute", "targetHandle"} {
		if strings.Contains(out, gone) {
			t.Errorf("unknown or null key %q kept: %s", gone, out)
		}
	}
	for _, kept := range []string{`"sourceHandle":"a"`, `"parentId":"n0","extent":"parent","expandParent":true`} {
		if !strings.Contains(out, kept) {
			t.Errorf("React Flow's %s lost: %s", kept, out)
		}
	}
	if !strings.Contains(out, `"prompt":{"temperature":0.5}`) {
		t.Errorf("arbitrary node data lost: %s", out)
	}
	if !strings.Contains(out, `"tags":[]`) {
		t.Errorf("tags not []: %s", out)
	}
}

func TestTruthy(t *testing.T) {
	f := func(v any, want bool) {
		t.Helper()
		if got := truthy(v); got != want {
			t.Errorf("truthy(%#v) = %v, want %v", v, got, want)
		}
	}
	f(nil, false)
	f(false, false)
	f(true, true)
	f(0.0, false)
	f(2.0, true)
	f("", false)
	f("false", true)
	f([]any{}, true)
	f(map[string]any{}, true)
}

func TestProblemsAreBounded(t *testing.T) {
	m := validBody(0)
	nodes := make([]any, 1500)
	for i := range nodes {
		nodes[i] = map[string]any{}
	}
	m["nodes"] = nodes
	_, problems, err := DecodeWorkflow(mustJSON(t, m), Limits{MaxNodes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != maxProblems+1 || !strings.Contains(problems[maxProblems].Message, "more problems") {
		t.Fatalf("got %d problems, last %+v", len(problems), problems[len(problems)-1])
	}
}

func TestValidateID(t *testing.T) {
	f := func(id string, ok bool) {
		t.Helper()
		if err := ValidateID(id); (err == nil) != ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
	f("workflow-1-abc", true)
	f("a.b", true)
	f("", false)
	f("..", false)
	f("a..b", false)
	f("a/b", false)
	f(`a\b`, false)
	f("a\nb", false)
	f(strings.Repeat("x", 257), false)
}

func TestDecodeCreate(t *testing.T) {
	const now = 1_700_000_000_000
	w, problems, err := DecodeCreate([]byte(`{"name":"Short","tags":["a"],"nodes":[{"id":"1","position":{"x":0,"y":0},"data":{"label":"L"}}],"bogus":1}`), Limits{}, now)
	if err != nil || problems != nil {
		t.Fatalf("short form: %v %v", err, problems)
	}
	if !strings.HasPrefix(w.Metadata.ID, "workflow-") || w.Metadata.Version != "1.0.0" ||
		w.Metadata.CreatedAt != now || w.Metadata.UpdatedAt != now || len(w.Nodes) != 1 || len(w.Edges) != 0 {
		t.Errorf("short form built %+v", w)
	}
	full := validBody(1)
	delete(full["metadata"].(map[string]any), "createdAt")
	w, problems, err = DecodeCreate(mustJSON(t, full), Limits{}, now)
	if err != nil || problems != nil {
		t.Fatalf("full form: %v %v", err, problems)
	}
	if w.Metadata.ID != "wf-1" || w.Metadata.CreatedAt != now || w.Metadata.UpdatedAt != 2 {
		t.Errorf("full form metadata %+v", w.Metadata)
	}
	_, problems, _ = DecodeCreate([]byte(`{"description":5}`), Limits{}, now)
	if got := strings.Join(fields(problems), ","); got != "metadata.description,metadata.name" {
		t.Errorf("short form problems %v", problems)
	}
}

func TestApplyUpdate(t *testing.T) {
	w, _, err := DecodeWorkflow(mustJSON(t, validBody(2)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	orig := *w
	patch, err := DecodeUpdate([]byte(`{"metadata":{"id":"other","createdAt":9,"name":"ignored"},"name":"Renamed","tags":["x"],"edges":[]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if problems := ApplyUpdate(w, patch, Limits{}, 99); problems != nil {
		t.Fatalf("problems %v", problems)
	}
	if w.Metadata.ID != "wf-1" || w.Metadata.CreatedAt != 1 || w.Metadata.UpdatedAt != 99 ||
		w.Metadata.Name != "Renamed" || len(w.Edges) != 0 || len(w.Nodes) != 2 || w.Metadata.Tags[0] != "x" {
		t.Errorf("after update %+v", w)
	}

	bad, _ := DecodeUpdate([]byte(`{"name":"","edges":[{"id":"e","source":"n0","target":"zz"}]}`), Limits{})
	before := mustJSON(t, w)
	problems := ApplyUpdate(w, bad, Limits{}, 100)
	if got := strings.Join(fields(problems), ","); got != "metadata.name,edges[0].target" {
		t.Errorf("problems %v", problems)
	}
	if string(mustJSON(t, w)) != string(before) {
		t.Error("refused update changed the workflow")
	}
	_ = orig
	if _, err := DecodeUpdate([]byte(`[]`), Limits{}); err == nil {
		t.Error("array body accepted")
	}
}

func TestNewIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := NewWorkflowID()
		if seen[id] || ValidateID(id) != nil {
			t.Fatalf("id %q repeated or invalid", id)
		}
		seen[id] = true
	}
	if !strings.HasPrefix(NewSessionID(), "session-") {
		t.Error("session id prefix")
	}
}

func isTrue(b *bool) bool { return b != nil && *b }
