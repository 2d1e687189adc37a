package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/workflow"
)

const testKey = "AIzaSy-secret-test-key-123"

type outcomes struct {
	mu   sync.Mutex
	seen []string
}

func (o *outcomes) ObserveGemini(outcome string, _ time.Duration) {
	o.mu.Lock()
	o.seen = append(o.seen, outcome)
	o.mu.Unlock()
}

func (o *outcomes) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.seen) == 0 {
		return ""
	}
	return o.seen[len(o.seen)-1]
}

func node(id, label string) workflow.Node {
	return workflow.Node{ID: id, Data: map[string]any{"label": label}}
}

func edge(s, t string) workflow.Edge { return workflow.Edge{ID: s + "-" + t, Source: s, Target: t} }

// upstream speaks the generateContent protocol; reply decides the answer per request.
func upstream(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, prompt string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1beta/models/test-model:generateContent" {
			http.Error(w, "bad path "+r.URL.Path, http.StatusNotFound)
			return
		}
		if r.URL.RawQuery != "" {
			http.Error(w, "key must not be in the URL", http.StatusBadRequest)
			return
		}
		if r.Header.Get("x-goog-api-key") != testKey {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":{"code":403,"message":"API key not valid"}}`)
			return
		}
		var req generateRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Contents) != 1 || len(req.Contents[0].Parts) != 1 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		reply(w, r, req.Contents[0].Parts[0].Text)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestExecute(t *testing.T) {
	echo := func(w http.ResponseWriter, _ *http.Request, prompt string) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"candidates": []any{
			map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": "echo:"}, map[string]any{"text": prompt}}}},
		}})
	}
	upstreamFailure := func(status int, body string) func(http.ResponseWriter, *http.Request, string) {
		return func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	slow := func(w http.ResponseWriter, r *http.Request, _ string) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}

	f := func(name string, key string, reply func(http.ResponseWriter, *http.Request, string), wantText string, wantStatus int, wantOutcome string, wantErr error) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			obs := &outcomes{}
			srv := upstream(t, reply)
			c := New(Config{BaseURL: srv.URL, Model: "test-model", APIKey: key, Timeout: 300 * time.Millisecond, Metrics: obs})
			res, err := c.Execute(context.Background(), "first\nsecond")
			if obs.last() != wantOutcome {
				t.Errorf("outcome = %q, want %q", obs.last(), wantOutcome)
			}
			if wantErr != nil && !errors.Is(err, wantErr) {
				t.Fatalf("err = %v, want %v", err, wantErr)
			}
			if wantStatus != 0 || wantOutcome == OutcomeTimeout {
				var ue *UpstreamError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v (%T), want *UpstreamError", err, err)
				}
				if ue.Status != wantStatus {
					t.Errorf("status = %d, want %d", ue.Status, wantStatus)
				}
				if ue.Timeout != (wantOutcome == OutcomeTimeout) {
					t.Errorf("timeout = %v", ue.Timeout)
				}
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error reveals the key: %v", err)
			}
			if wantText != "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if res.Text != wantText || res.Model != "test-model" || res.Latency <= 0 {
					t.Errorf("result = %+v", res)
				}
			}
		})
	}
	f("success", testKey, echo, "echo:first\nsecond", 0, OutcomeSuccess, nil)
	f("no key", "", echo, "", 0, OutcomeUnavailable, ErrNoAPIKey)
	f("wrong key 403", testKey+"x", echo, "", 403, OutcomeError, nil)
	f("upstream 400", testKey, upstreamFailure(400, `{"error":{"code":400,"message":"bad prompt"}}`), "", 400, OutcomeError, nil)
	f("upstream 429", testKey, upstreamFailure(429, `quota`), "", 429, OutcomeError, nil)
	f("upstream 500", testKey, upstreamFailure(500, `{"error":{"message":"internal"}}`), "", 500, OutcomeError, nil)
	f("upstream echoes key", testKey, upstreamFailure(400, `{"error":{"message":"key `+testKey+` rejected"}}`), "", 400, OutcomeError, nil)
	f("no candidates", testKey, upstreamFailure(200, `{"candidates":[]}`), "", 200, OutcomeError, nil)
	f("timeout", testKey, slow, "", 0, OutcomeTimeout, nil)
}

func TestExecuteUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	obs := &outcomes{}
	c := New(Config{BaseURL: base, Model: "m", APIKey: testKey, Timeout: time.Second, Metrics: obs})
	_, err := c.Execute(context.Background(), "x")
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Status != 0 || ue.Timeout {
		t.Fatalf("err = %#v", err)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), base) {
		t.Errorf("error reveals the key or address: %v", err)
	}
	if obs.last() != OutcomeError {
		t.Errorf("outcome = %q", obs.last())
	}
}

func TestStatus(t *testing.T) {
	c := New(Config{APIKey: testKey})
	if st := c.Status(); !st.HasAPIKey || st.Model != DefaultModel {
		t.Errorf("status = %+v", st)
	}
	if st := New(Config{Model: "m"}).Status(); st.HasAPIKey || st.Model != "m" {
		t.Errorf("status = %+v", st)
	}
}

func TestPrompt(t *testing.T) {
	typed := func(id, typ, label string) workflow.Node {
		n := node(id, label)
		n.Type = typ
		return n
	}
	f := func(name string, nodes []workflow.Node, edges []workflow.Edge, want string) {
		t.Helper()
		got, err := Prompt(nodes, edges)
		if want == "" {
			if !errors.Is(err, ErrNoInputNode) {
				t.Errorf("%s: err = %v, want ErrNoInputNode", name, err)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("%s: Prompt = %q, %v, want %q", name, got, err, want)
		}
	}
	f("no input node", []workflow.Node{node("a", "A")}, nil, "")
	f("the editor's starting flow",
		[]workflow.Node{typed("1", "input", "Input Node"), node("2", "Default Node"), typed("3", "output", "Output Node")},
		[]workflow.Edge{edge("1", "2"), edge("2", "3")},
		"Input: Input Node\nStep 2: Default Node\nOutput: Output Node")
	f("depth first, each node once",
		[]workflow.Node{node("d", "D"), typed("a", "input", "A"), node("b", "B"), node("c", "C")},
		[]workflow.Edge{edge("a", "b"), edge("b", "d"), edge("a", "c"), edge("c", "d"), edge("d", "a")},
		"Input: A\nStep 2: B\nStep 3: D\nStep 2: C")
	f("unreached nodes left out, absent labels worded",
		[]workflow.Node{typed("a", "input", ""), {ID: "b", Data: map[string]any{}}, node("x", "X")},
		[]workflow.Edge{edge("a", "b"), edge("a", "ghost")},
		"Input: Process the following\nStep 2: Process this step")
	f("short walk falls back to the list",
		[]workflow.Node{typed("a", "input", "Hi"), {ID: "b", Type: "custom", Data: map[string]any{}}},
		nil,
		"Please process the following workflow:\n- Hi\n- custom")
}
