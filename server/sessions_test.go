package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/workflow"
)

func TestSessionRoutes(t *testing.T) {
	ts := newTestServer(t)
	status, _, body := ts.do(t, "POST", "/api/sessions", `{"workflowId":"wf-1","data":{"k":"v"}}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	var sess workflow.Session
	decodeData(t, body, &sess)
	if sess.Status != workflow.SessionActive || sess.ExpiresAt-sess.CreatedAt != time.Hour.Milliseconds() {
		t.Fatalf("session = %+v", sess)
	}
	// One already expired, stored directly so the test needs no sleep.
	old := workflow.NewSession("", nil, time.Now().Add(-2*time.Hour).UnixMilli(), time.Hour.Milliseconds())
	if err := ts.Store.Sessions.Create(old); err != nil {
		t.Fatal(err)
	}
	id := sess.ID
	runScenarios(t, ts, []scenario{
		{Name: "list", Method: "GET", URL: "/api/sessions", ExpectedStatus: 200, ExpectedContent: []string{id, old.ID}},
		{Name: "list expired", Method: "GET", URL: "/api/sessions?status=expired", ExpectedStatus: 200, ExpectedContent: []string{old.ID, `"status":"expired"`}, NotExpectedContent: []string{id}},
		{Name: "list by workflow", Method: "GET", URL: "/api/sessions?workflowId=wf-1", ExpectedStatus: 200, ExpectedContent: []string{id}, NotExpectedContent: []string{old.ID}},
		{Name: "list bad status", Method: "GET", URL: "/api/sessions?status=zombie", ExpectedStatus: 400},
		{Name: "get", Method: "GET", URL: "/api/sessions/" + id, ExpectedStatus: 200, ExpectedContent: []string{`"k":"v"`}},
		{Name: "get missing", Method: "GET", URL: "/api/sessions/ghost", ExpectedStatus: 404},
		{Name: "create bad data", Method: "POST", URL: "/api/sessions", Body: `{"data":[1]}`, ExpectedStatus: 400},
		{Name: "create bad ttl", Method: "POST", URL: "/api/sessions", Body: `{"expiresIn":-5}`, ExpectedStatus: 400},
		{Name: "update merges data", Method: "PUT", URL: "/api/sessions/" + id, Body: `{"data":{"n":1}}`, ExpectedStatus: 200, ExpectedContent: []string{`"k":"v"`, `"n":1`}},
		{Name: "update bad status", Method: "PUT", URL: "/api/sessions/" + id, Body: `{"status":"expired"}`, ExpectedStatus: 400},
		{Name: "update missing", Method: "PUT", URL: "/api/sessions/ghost", Body: `{}`, ExpectedStatus: 404},
		{Name: "extend default", Method: "POST", URL: "/api/sessions/" + id + "/extend", ExpectedStatus: 200,
			After: func(t testing.TB, _ *testServer, body string) {
				var got workflow.Session
				decodeData(t, body, &got)
				if got.ExpiresAt != sess.ExpiresAt+time.Hour.Milliseconds() {
					t.Errorf("expiresAt = %d, want %d", got.ExpiresAt, sess.ExpiresAt+time.Hour.Milliseconds())
				}
			}},
		{Name: "extend by ms", Method: "POST", URL: "/api/sessions/" + id + "/extend", Body: `{"extensionMs":1000}`, ExpectedStatus: 200,
			After: func(t testing.TB, _ *testServer, body string) {
				var got workflow.Session
				decodeData(t, body, &got)
				if got.ExpiresAt != sess.ExpiresAt+time.Hour.Milliseconds()+1000 {
					t.Errorf("expiresAt = %d", got.ExpiresAt)
				}
			}},
		{Name: "extend bad", Method: "POST", URL: "/api/sessions/" + id + "/extend", Body: `{"extensionMs":"soon"}`, ExpectedStatus: 400},
		{Name: "extend missing", Method: "POST", URL: "/api/sessions/ghost/extend", ExpectedStatus: 404},
		{Name: "terminate", Method: "POST", URL: "/api/sessions/" + id + "/terminate", ExpectedStatus: 200, ExpectedContent: []string{`"status":"terminated"`}},
		{Name: "extend terminated", Method: "POST", URL: "/api/sessions/" + id + "/extend", ExpectedStatus: 400},
		{Name: "cleanup", Method: "POST", URL: "/api/sessions/cleanup", ExpectedStatus: 200, ExpectedContent: []string{`"count":1`}},
		{Name: "cleaned", Method: "GET", URL: "/api/sessions/" + old.ID, ExpectedStatus: 404},
		{Name: "delete", Method: "DELETE", URL: "/api/sessions/" + id, ExpectedStatus: 200, ExpectedContent: []string{`"deleted":true`}},
		{Name: "delete again", Method: "DELETE", URL: "/api/sessions/" + id, ExpectedStatus: 404},
	})
}
