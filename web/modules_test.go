package web

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
)

// TestModules runs the unit tests of the page's pure modules (test/*.test.js: units, ticks,
// the time grid, variable expansion, the URL state, CSV) under Node's built-in test runner.
func TestModules(t *testing.T) {
	node := testkit.RequireTool(t, "node")
	files, err := filepath.Glob(filepath.Join("test", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no module tests found: %v", err)
	}
	cmd := exec.Command(node, append([]string{"--test", "--test-reporter=dot"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test over %d files:\n%s", len(files), out)
}
