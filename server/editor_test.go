package server

import (
	"testing"
)

func TestEditorRoutes(t *testing.T) {
	ts := newTestServer(t)
	ts.createWorkflow(t, fullWorkflow("wf-sync"))
	node := func(id string) string {
		return `{"id":"` + id + `","position":{"x":1,"y":2},"data":{"label":"` + id + `"}}`
	}
	runScenarios(t, ts, []scenario{
		{Name: "empty state", Method: "GET", URL: "/api/store/state", ExpectedStatus: 200,
			ExpectedContent: []string{`"nodes":[]`, `"edges":[]`, `"selectedNodes":[]`, `"selectedEdges":[]`, `"lastUpdate":`}},
		{Name: "add node", Method: "POST", URL: "/api/store/nodes", Body: `{"node":` + node("a") + `}`, ExpectedStatus: 201, ExpectedContent: []string{`"id":"a"`}},
		{Name: "add node b", Method: "POST", URL: "/api/store/nodes", Body: `{"node":` + node("b") + `}`, ExpectedStatus: 201},
		{Name: "add node duplicate", Method: "POST", URL: "/api/store/nodes", Body: `{"node":` + node("a") + `}`, ExpectedStatus: 409, ExpectedContent: []string{`"CONFLICT"`}},
		{Name: "add node invalid", Method: "POST", URL: "/api/store/nodes", Body: `{"node":{"id":"c"}}`, ExpectedStatus: 400, ExpectedContent: []string{`"VALIDATION_ERROR"`, `node.`}},
		{Name: "add node missing", Method: "POST", URL: "/api/store/nodes", Body: `{}`, ExpectedStatus: 400},
		{Name: "add node bad json", Method: "POST", URL: "/api/store/nodes", Body: `{"node":`, ExpectedStatus: 400, ExpectedContent: []string{`"INVALID_JSON"`}},
		{Name: "add edge", Method: "POST", URL: "/api/store/edges", Body: `{"edge":{"id":"e1","source":"a","target":"b"}}`, ExpectedStatus: 201, ExpectedContent: []string{`"id":"e1"`}},
		{Name: "add edge duplicate", Method: "POST", URL: "/api/store/edges", Body: `{"edge":{"id":"e1","source":"a","target":"b"}}`, ExpectedStatus: 409},
		{Name: "add edge missing endpoint", Method: "POST", URL: "/api/store/edges", Body: `{"edge":{"id":"e2","source":"a","target":"zz"}}`, ExpectedStatus: 400},
		{Name: "patch node keeps id", Method: "PATCH", URL: "/api/store/nodes/a", Body: `{"updates":{"id":"evil","data":{"label":"Renamed"}}}`, ExpectedStatus: 200,
			ExpectedContent: []string{`"label":"Renamed"`}, NotExpectedContent: []string{"evil"}},
		{Name: "patch node missing", Method: "PATCH", URL: "/api/store/nodes/zz", Body: `{"updates":{}}`, ExpectedStatus: 404},
		{Name: "patch node invalid", Method: "PATCH", URL: "/api/store/nodes/a", Body: `{"updates":{"position":{"x":"no"}}}`, ExpectedStatus: 400},
		{Name: "patch without updates", Method: "PATCH", URL: "/api/store/nodes/a", Body: `{}`, ExpectedStatus: 400},
		{Name: "remove node removes its edges", Method: "DELETE", URL: "/api/store/nodes/b", ExpectedStatus: 200,
			ExpectedContent: []string{`"edges":[]`}, NotExpectedContent: []string{`"id":"b"`}},
		{Name: "remove node idempotent", Method: "DELETE", URL: "/api/store/nodes/b", ExpectedStatus: 200},
		{Name: "put nodes", Method: "PUT", URL: "/api/store/nodes", Body: `{"nodes":[` + node("x") + `,` + node("y") + `]}`, ExpectedStatus: 200,
			ExpectedContent: []string{`"id":"x"`, `"id":"y"`}, NotExpectedContent: []string{`"id":"a"`}},
		{Name: "put nodes not array", Method: "PUT", URL: "/api/store/nodes", Body: `{"nodes":{}}`, ExpectedStatus: 400},
		{Name: "put edges", Method: "PUT", URL: "/api/store/edges", Body: `{"edges":[{"id":"xy","source":"x","target":"y"}]}`, ExpectedStatus: 200, ExpectedContent: []string{`"id":"xy"`}},
		{Name: "put edges dangling", Method: "PUT", URL: "/api/store/edges", Body: `{"edges":[{"id":"q","source":"x","target":"nope"}]}`, ExpectedStatus: 400},
		{Name: "remove edge", Method: "DELETE", URL: "/api/store/edges/xy", ExpectedStatus: 200, ExpectedContent: []string{`"edges":[]`}},
		{Name: "remove edge idempotent", Method: "DELETE", URL: "/api/store/edges/xy", ExpectedStatus: 200},
		{Name: "put state", Method: "PUT", URL: "/api/store/state",
			Body:           `{"nodes":[` + node("p") + `,` + node("q") + `],"edges":[{"id":"pq","source":"p","target":"q"}],"selectedNodes":["p"],"selectedEdges":["pq"]}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"selectedNodes":["p"]`, `"selectedEdges":["pq"]`}},
		{Name: "put state bad selection", Method: "PUT", URL: "/api/store/state", Body: `{"nodes":[],"edges":[],"selectedNodes":["ghost"],"selectedEdges":[]}`, ExpectedStatus: 400},
		{Name: "load workflow clears selection", Method: "POST", URL: "/api/store/workflow", Body: `{"nodes":[` + node("w") + `]}`, ExpectedStatus: 200,
			ExpectedContent: []string{`"id":"w"`, `"selectedNodes":[]`}},
		{Name: "load workflow invalid", Method: "POST", URL: "/api/store/workflow", Body: `{"nodes":[{"id":1}]}`, ExpectedStatus: 400},
		{Name: "sync", Method: "POST", URL: "/api/store/sync", Body: `{"workflowId":"wf-sync"}`, ExpectedStatus: 200, ExpectedContent: []string{`"label":"Start"`, `"id":"e1"`}},
		{Name: "sync missing id", Method: "POST", URL: "/api/store/sync", Body: `{}`, ExpectedStatus: 400},
		{Name: "sync unknown", Method: "POST", URL: "/api/store/sync", Body: `{"workflowId":"ghost"}`, ExpectedStatus: 404},
		{Name: "clear", Method: "POST", URL: "/api/store/clear", ExpectedStatus: 200, ExpectedContent: []string{`"nodes":[]`, `"edges":[]`}},
		{Name: "state after clear", Method: "GET", URL: "/api/store/state", ExpectedStatus: 200, ExpectedContent: []string{`"nodes":[]`}},
	})
}
