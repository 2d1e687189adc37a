package monitoring_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

var update = flag.Bool("update", false, "rewrite the metrics table in ../README.md from the catalogue")

const (
	readmePath   = "../README.md"
	tableBegin   = "<!-- metrics:begin -->"
	tableEnd     = "<!-- metrics:end -->"
	readmeHeader = "# gemini-flow\n\n## Metrics\n\n"
)

// The README's metrics table is the catalogue's: run `go test ./monitoring -run README -update`
// after changing a family.
func TestREADMEMetricsTable(t *testing.T) {
	want := tableBegin + "\n" + monitoring.MarkdownTable() + tableEnd
	b, err := os.ReadFile(readmePath)
	if errors.Is(err, fs.ErrNotExist) && *update {
		b, err = []byte(readmeHeader+want+"\n"), os.WriteFile(readmePath, []byte(readmeHeader+want+"\n"), 0o644)
	}
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		if !*update {
			t.Fatalf("%s has no %s ... %s section; run with -update", readmePath, tableBegin, tableEnd)
		}
		readme = strings.TrimRight(readme, "\n") + "\n\n" + want + "\n"
		i, j = strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	}
	got := readme[i : j+len(tableEnd)]
	if got != want {
		if !*update {
			t.Fatalf("%s metrics table differs from the catalogue; run with -update.\ngot:\n%s\nwant:\n%s", readmePath, got, want)
		}
		readme = readme[:i] + want + readme[j+len(tableEnd):]
		if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		got = want
	}
	for _, f := range monitoring.Catalogue() {
		if !strings.Contains(got, "| `"+f.Name+"` | "+f.Type+" |") {
			t.Errorf("README metrics table lacks %s", f.Name)
		}
	}
}
