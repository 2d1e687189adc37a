package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoPrometheusServer checks, with `go list -deps`, that the binary links
// only the library parts of Prometheus: not its TSDB (the tests compare with it), rule
// manager, notifier, configuration, discovery, remote storage, web UI or commands.
func TestBinaryLinksNoPrometheusServer(t *testing.T) {
	const prom = "github.com/prometheus/prometheus/"
	forbidden := []struct {
		pkg     string
		subtree bool // its packages below too
	}{
		{"tsdb", false}, {"rules", true}, {"notifier", true}, {"config", true}, {"discovery", true},
		{"storage/remote", true}, {"web", true}, {"cmd", true},
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	linked := 0
	for _, dep := range deps {
		rest, ok := strings.CutPrefix(dep, prom)
		if !ok {
			continue
		}
		linked++
		for _, f := range forbidden {
			if rest == f.pkg || (f.subtree && strings.HasPrefix(rest, f.pkg+"/")) {
				t.Errorf("the binary links %s", dep)
			}
		}
	}
	if linked == 0 {
		t.Fatalf("no Prometheus package among %d dependencies: is the engine still linked?", len(deps))
	}
}
