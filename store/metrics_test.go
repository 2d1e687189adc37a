package store

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

var _ Observer = (*monitoring.Registry)(nil)

// TestRegistryFollowsStore drives the real metrics registry through the store, across a
// reopen, and reads the exposition a scrape would see.
func TestRegistryFollowsStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	reg := monitoring.New(monitoring.Options{Version: "test"})
	s, err := Open(path, Options{Metrics: reg})
	must(t, err)
	must(t, s.Workflows.Create(sample("a", 3, 1)))
	must(t, s.Workflows.Create(sample("b", 700, 2)))
	_, err = s.Workflows.Delete("a")
	must(t, err)
	_, _ = s.Workflows.Get("a") // not found: a successful read
	checkAndClose(t, s)

	reg = monitoring.New(monitoring.Options{Version: "test"})
	s, err = Open(path, Options{Metrics: reg})
	must(t, err)
	defer checkAndClose(t, s)
	_, _ = s.Workflows.Get("b")
	var buf bytes.Buffer
	reg.WritePrometheus(&buf)
	out := buf.String()
	for _, want := range []string{
		"gemini_flow_workflows_total 1\n",
		"gemini_flow_workflow_nodes_count 1\n",
		`gemini_flow_db_operations_total{operation="read",collection="workflows",status="success"} 1` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if t.Failed() {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "workflow") || strings.Contains(l, "db_operations_total") {
				t.Log(l)
			}
		}
	}
}
