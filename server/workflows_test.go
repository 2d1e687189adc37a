package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/workflow"
)

func workflowCount(t testing.TB, ts *testServer) int {
	t.Helper()
	st, err := ts.Store.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.WorkflowCount
}

func TestWorkflowRoutes(t *testing.T) {
	ts := newTestServer(t)
	ts.createWorkflow(t, fullWorkflow("wf-1"))
	ts.createWorkflow(t, `{"name":"Searchable","description":"about ALPHA things","tags":["x","y"]}`)

	runScenarios(t, ts, []scenario{
		{Name: "list all", Method: "GET", URL: "/api/workflows", ExpectedStatus: 200,
			ExpectedContent: []string{`"success":true`, `"total":2`, `"wf-1"`, `"version":"test-1"`, `"error":null`}},
		{Name: "list search case-insensitive", Method: "GET", URL: "/api/workflows?search=alpha", ExpectedStatus: 200,
			ExpectedContent: []string{`"total":1`, `Searchable`}, NotExpectedContent: []string{`"wf-1"`}},
		{Name: "list tags any match", Method: "GET", URL: "/api/workflows?tags=zz,a", ExpectedStatus: 200,
			ExpectedContent: []string{`"total":1`, `"wf-1"`}},
		{Name: "list paging keeps total", Method: "GET", URL: "/api/workflows?offset=1&limit=1", ExpectedStatus: 200,
			ExpectedContent: []string{`"total":2`, `Searchable`}, NotExpectedContent: []string{`"wf-1"`}},
		{Name: "list limit over the range", Method: "GET", URL: "/api/workflows?limit=1000000000", ExpectedStatus: 400,
			ExpectedContent: []string{`"field":"limit"`, "from 1 to 500"}},
		{Name: "list limit at the top of the range", Method: "GET", URL: "/api/workflows?limit=500", ExpectedStatus: 200,
			ExpectedContent: []string{`"total":2`}},
		{Name: "list negative limit", Method: "GET", URL: "/api/workflows?limit=-1", ExpectedStatus: 400,
			ExpectedContent: []string{`"VALIDATION_ERROR"`, `"field":"limit"`}},
		{Name: "list zero limit", Method: "GET", URL: "/api/workflows?limit=0", ExpectedStatus: 400, ExpectedContent: []string{`"VALIDATION_ERROR"`}},
		{Name: "list every bad param reported", Method: "GET", URL: "/api/workflows?offset=abc&limit=1e3", ExpectedStatus: 400,
			ExpectedContent: []string{`"field":"offset"`, `"field":"limit"`}},
		{Name: "list overflowing offset", Method: "GET", URL: "/api/workflows?offset=99999999999999999999999", ExpectedStatus: 400},
		{Name: "list search of one character", Method: "GET", URL: "/api/workflows?search=S", ExpectedStatus: 200,
			ExpectedContent: []string{`"total":1`, `Searchable`}},
		{Name: "list search regex-looking is literal", Method: "GET", URL: "/api/workflows?search=.*", ExpectedStatus: 200,
			ExpectedContent: []string{`"total":0`}},
		{Name: "list search of the longest length", Method: "GET", URL: "/api/workflows?search=" + strings.Repeat("é", 1000), ExpectedStatus: 200,
			ExpectedContent: []string{`"total":0`}},
		{Name: "list search too long", Method: "GET", URL: "/api/workflows?search=" + strings.Repeat("a", 1001), ExpectedStatus: 400,
			ExpectedContent: []string{`"field":"search"`, "at most 1000 characters"}},
		{Name: "list search of 10,000 characters", Method: "GET", URL: "/api/workflows?search=" + strings.Repeat("a", 10000), ExpectedStatus: 400,
			ExpectedContent: []string{`"VALIDATION_ERROR"`}},
		{Name: "list search not UTF-8", Method: "GET", URL: "/api/workflows?search=%FF%FE", ExpectedStatus: 400,
			ExpectedContent: []string{`"field":"search"`, "UTF-8"}},
		{Name: "list tag not UTF-8", Method: "GET", URL: "/api/workflows?tags=x,%C3", ExpectedStatus: 400,
			ExpectedContent: []string{`"field":"tags"`}},
		{Name: "get", Method: "GET", URL: "/api/workflows/wf-1", ExpectedStatus: 200,
			ExpectedContent: []string{`"id":"wf-1"`, `"label":"Start"`}},
		{Name: "get missing", Method: "GET", URL: "/api/workflows/nope", ExpectedStatus: 404, ExpectedContent: []string{`"NOT_FOUND"`}},
		{Name: "get dotted id refused", Method: "GET", URL: "/api/workflows/a..b", ExpectedStatus: 400, ExpectedContent: []string{`"VALIDATION_ERROR"`}},
		{Name: "get backslash id refused", Method: "GET", URL: "/api/workflows/a%5Cb", ExpectedStatus: 400},
		{Name: "create short form", Method: "POST", URL: "/api/workflows", Body: `{"name":"Short","nodes":[{"id":"a","position":{"x":1,"y":2},"data":{"label":"A"}}]}`,
			ExpectedStatus: 201, ExpectedContent: []string{`"id":"workflow-`, `"version":"1.0.0"`, `"tags":[]`, `"description":""`}},
		{Name: "create full form drops unknown keys", Method: "POST", URL: "/api/workflows",
			Body:           `{"metadata":{"id":"wf-2","name":"Two","version":"2.0.0","createdAt":1,"updatedAt":1,"evil":1},"nodes":[{"id":"n","position":{"x":0,"y":0},"data":{"label":"L"},"selected":"yes","junk":true}],"edges":[]}`,
			ExpectedStatus: 201, ExpectedContent: []string{`"id":"wf-2"`, `"selected":true`}, NotExpectedContent: []string{"evil", "junk"}},
		{Name: "create duplicate", Method: "POST", URL: "/api/workflows", Body: fullWorkflow("wf-1"), ExpectedStatus: 409,
			ExpectedContent: []string{`"CONFLICT"`}},
		{Name: "update merges metadata", Method: "PUT", URL: "/api/workflows/wf-1", Body: `{"metadata":{"name":"Renamed","id":"hijack","createdAt":5}}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Renamed"`, `"id":"wf-1"`, `"createdAt":1700000000000`, `"label":"Start"`}},
		{Name: "update invalid leaves it", Method: "PUT", URL: "/api/workflows/wf-1", Body: `{"edges":[{"id":"e9","source":"n1","target":"ghost"}]}`,
			ExpectedStatus: 400, ExpectedContent: []string{`"VALIDATION_ERROR"`, "ghost"}},
		{Name: "update bad json", Method: "PUT", URL: "/api/workflows/wf-1", Body: `{"name":`, ExpectedStatus: 400, ExpectedContent: []string{`"INVALID_JSON"`}},
		{Name: "update missing", Method: "PUT", URL: "/api/workflows/ghost", Body: `{"name":"x"}`, ExpectedStatus: 404},
		{Name: "export", Method: "GET", URL: "/api/workflows/wf-1/export", ExpectedStatus: 200,
			ExpectedContent: []string{"{\n  \"metadata\"", `"name": "Renamed"`}, NotExpectedContent: []string{`"success"`},
			ExpectedHeaders: map[string]string{"Content-Disposition": `attachment; filename="workflow-wf-1.json"`}},
		{Name: "export without metadata compact", Method: "GET", URL: "/api/workflows/wf-1/export?includeMetadata=false&prettyPrint=false", ExpectedStatus: 200,
			ExpectedContent: []string{`{"nodes":[`}, NotExpectedContent: []string{"metadata", "\n"}},
		{Name: "export bad flag", Method: "GET", URL: "/api/workflows/wf-1/export?prettyPrint=maybe", ExpectedStatus: 400},
		{Name: "export missing", Method: "GET", URL: "/api/workflows/ghost/export", ExpectedStatus: 404},
		{Name: "import", Method: "POST", URL: "/api/workflows/import", Body: fullWorkflow("imp-1"), ExpectedStatus: 201, ExpectedContent: []string{`"id":"imp-1"`}},
		{Name: "import duplicate", Method: "POST", URL: "/api/workflows/import", Body: fullWorkflow("imp-1"), ExpectedStatus: 409},
		{Name: "import overwrite", Method: "POST", URL: "/api/workflows/import?overwrite=true", Body: strings.Replace(fullWorkflow("imp-1"), "Flow imp-1", "Replaced", 1),
			ExpectedStatus: 201, ExpectedContent: []string{`"name":"Replaced"`}},
		{Name: "import new id", Method: "POST", URL: "/api/workflows/import?generateNewId=true", Body: fullWorkflow("imp-1"), ExpectedStatus: 201,
			ExpectedContent: []string{`"id":"workflow-`}, NotExpectedContent: []string{`"id":"imp-1"`}},
		{Name: "import invalid", Method: "POST", URL: "/api/workflows/import", Body: `{"metadata":{},"nodes":[{}],"edges":[{}]}`, ExpectedStatus: 400,
			ExpectedContent: []string{`"VALIDATION_ERROR"`, `"details":[`}},
		{Name: "delete", Method: "DELETE", URL: "/api/workflows/wf-2", ExpectedStatus: 200, ExpectedContent: []string{`"deleted":true`, `"id":"wf-2"`}},
		{Name: "delete again", Method: "DELETE", URL: "/api/workflows/wf-2", ExpectedStatus: 404},
	})
	if n := workflowCount(t, ts); n != 5 {
		t.Errorf("stored workflows = %d, want 5 (wf-1, short, searchable, imp-1, new id)", n)
	}
}

// TestBadInputStoresNothing sends every bad input of API.md's list: each gets a 4xx envelope and
// the database is unchanged.
func TestBadInputStoresNothing(t *testing.T) {
	ts := newTestServer(t)
	deep := strings.Repeat(`{"a":`, 12) + "1" + strings.Repeat("}", 12)
	nodes := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"n%d","position":{"x":0,"y":0},"data":{"label":"L"}}`, i)
		}
		return b.String()
	}
	tags := `"` + strings.Repeat(`t","`, 50) + `t"`
	bad := []struct{ name, body, code string }{
		{"not json", `{nope`, "INVALID_JSON"},
		{"empty body", ``, "INVALID_JSON"},
		{"array body", `[1,2]`, "INVALID_JSON"},
		{"invalid utf-8", "{\"name\":\"\xff\xfe\"}", "INVALID_JSON"},
		{"too deep", `{"name":"x","nodes":[{"id":"a","position":{"x":0,"y":0},"data":{"label":"L","x":` + deep + `}}]}`, "INVALID_JSON"},
		{"trailing garbage", `{"name":"x"} {}`, "INVALID_JSON"},
		{"missing name", `{"description":"d"}`, "VALIDATION_ERROR"},
		{"name too long", `{"name":"` + strings.Repeat("n", 201) + `"}`, "VALIDATION_ERROR"},
		{"description too long", `{"name":"x","description":"` + strings.Repeat("d", 5001) + `"}`, "VALIDATION_ERROR"},
		{"too many tags", `{"name":"x","tags":[` + tags + `]}`, "VALIDATION_ERROR"},
		{"tags not strings", `{"name":"x","tags":[1]}`, "VALIDATION_ERROR"},
		{"too many nodes", `{"name":"x","nodes":[` + nodes(1001) + `]}`, "VALIDATION_ERROR"},
		{"node without id", `{"name":"x","nodes":[{"position":{"x":0,"y":0},"data":{"label":"L"}}]}`, "VALIDATION_ERROR"},
		{"duplicate node ids", `{"name":"x","nodes":[` + nodes(1) + `,` + nodes(1) + `]}`, "VALIDATION_ERROR"},
		{"position not numeric", `{"name":"x","nodes":[{"id":"a","position":{"x":"0","y":0},"data":{"label":"L"}}]}`, "VALIDATION_ERROR"},
		{"label missing", `{"name":"x","nodes":[{"id":"a","position":{"x":0,"y":0},"data":{}}]}`, "VALIDATION_ERROR"},
		{"edge to missing node", `{"name":"x","nodes":[` + nodes(1) + `],"edges":[{"id":"e","source":"n0","target":"zz"}]}`, "VALIDATION_ERROR"},
		{"duplicate edge ids", `{"name":"x","nodes":[` + nodes(2) + `],"edges":[{"id":"e","source":"n0","target":"n1"},{"id":"e","source":"n1","target":"n0"}]}`, "VALIDATION_ERROR"},
		{"node type too long", `{"name":"x","nodes":[{"id":"a","type":"` + strings.Repeat("t", 65) + `","position":{"x":0,"y":0},"data":{"label":"L"}}]}`, "VALIDATION_ERROR"},
		{"full form without id", `{"metadata":{"name":"x","version":"1"},"nodes":[],"edges":[]}`, "VALIDATION_ERROR"},
		{"full form slash id", `{"metadata":{"id":"a/b","name":"x","version":"1"},"nodes":[],"edges":[]}`, "VALIDATION_ERROR"},
		{"full form dotted id", `{"metadata":{"id":"..","name":"x","version":"1"},"nodes":[],"edges":[]}`, "VALIDATION_ERROR"},
		{"timestamps not numeric", `{"metadata":{"id":"t","name":"x","version":"1","createdAt":"yesterday"},"nodes":[],"edges":[]}`, "VALIDATION_ERROR"},
	}
	for _, b := range bad {
		for _, url := range []string{"/api/workflows", "/api/workflows/import"} {
			scenario{Name: b.name + " " + url, Method: "POST", URL: url, Body: b.body, ExpectedStatus: 400,
				ExpectedContent: []string{`"` + b.code + `"`}}.run(t, ts)
		}
	}
	// Every problem is listed, not just the first.
	status, _, body := ts.do(t, "POST", "/api/workflows", `{"name":"","nodes":[{"id":"a"},{"id":"a","position":{"x":0,"y":0},"data":{"label":"L"}}],"edges":[{"id":"e","source":"q","target":"r"}]}`, nil)
	var env struct {
		Error struct{ Details []map[string]string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &env)
	if status != 400 || len(env.Error.Details) < 4 {
		t.Errorf("want every problem listed, got %d: %s", status, body)
	}
	if n := workflowCount(t, ts); n != 0 {
		t.Errorf("bad input stored %d workflows", n)
	}
}

func TestConcurrentCreatesAllStored(t *testing.T) {
	ts := newTestServer(t)
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, _, body := ts.do(t, "POST", "/api/workflows", fmt.Sprintf(`{"name":"c%d"}`, i), nil)
			if status != http.StatusCreated {
				t.Errorf("create %d: %d %s", i, status, body)
				return
			}
			var wf struct {
				Metadata struct{ ID string } `json:"metadata"`
			}
			decodeData(t, body, &wf)
			ids[i] = wf.Metadata.ID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("ids not unique: %v", ids)
		}
		seen[id] = true
	}
	_, _, body := ts.do(t, "GET", "/api/workflows?limit=500", "", nil)
	var list struct {
		Workflows []struct {
			Metadata struct{ ID string } `json:"metadata"`
		} `json:"workflows"`
		Total int `json:"total"`
	}
	decodeData(t, body, &list)
	if list.Total != n || len(list.Workflows) != n {
		t.Fatalf("stored %d (listed %d), want %d", list.Total, len(list.Workflows), n)
	}
	for _, w := range list.Workflows {
		if !seen[w.Metadata.ID] {
			t.Errorf("unexpected id %s", w.Metadata.ID)
		}
	}
}

// listData is the list answer's data, in the order API.md gives its fields.
type listData struct {
	Workflows []workflow.Workflow `json:"workflows"`
	Total     int                 `json:"total"`
}

// TestStoredBytesEnvelopes checks the list and item answers, built from stored bytes, against
// the same envelope encoded from the decoded workflows, and that a failure leaves no partial
// body behind.
func TestStoredBytesEnvelopes(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.Version = `1.0 "<beta>" & ü` }))
	for i := range 3 {
		ts.createWorkflow(t, fullWorkflow(fmt.Sprint("env-", i)))
	}
	check := func(url string, want func() any) {
		t.Helper()
		status, hdr, body := ts.do(t, "GET", url, "", nil)
		if status != 200 || hdr.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%s: %d %s", url, status, hdr.Get("Content-Type"))
		}
		var env struct {
			Success   bool            `json:"success"`
			Data      json.RawMessage `json:"data"`
			Error     any             `json:"error"`
			Timestamp string          `json:"timestamp"`
			Version   string          `json:"version"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil {
			t.Fatalf("%s: %v in %s", url, err, body)
		}
		if !env.Success || env.Error != nil || env.Version != `1.0 "<beta>" & ü` || !strings.Contains(body, `"error":null`) {
			t.Errorf("%s: envelope %s", url, body)
		}
		if ts, err := time.Parse(timeLayout, env.Timestamp); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("%s: timestamp %q %v", url, env.Timestamp, err)
		}
		wantData, err := json.Marshal(want())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(env.Data, wantData) {
			t.Errorf("%s: data\n%s\nwant\n%s", url, env.Data, wantData)
		}
	}
	check("/api/workflows/env-1", func() any {
		wf, err := ts.Store.Workflows.Get("env-1")
		if err != nil {
			t.Fatal(err)
		}
		return wf
	})
	check("/api/workflows?limit=2&offset=1", func() any {
		list, total, err := ts.Store.Workflows.List(store.ListQuery{Limit: 2, Offset: 1})
		if err != nil {
			t.Fatal(err)
		}
		return listData{list, total}
	})
	check("/api/workflows?search=nothing-matches", func() any { return listData{[]workflow.Workflow{}, 0} })
	// Not found after a successful answer on the same connection: only the error envelope.
	status, _, body := ts.do(t, "GET", "/api/workflows/none", "", nil)
	if status != 404 || strings.Contains(body, "metadata") || !strings.HasPrefix(body, "{") {
		t.Errorf("missing: %d %s", status, body)
	}
	assertErrorEnvelope(t, body)
}
