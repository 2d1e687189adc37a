package dashboards

import (
	"slices"
	"strings"
	"testing"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// catalogue is the binary's own list of families, so the dashboard and the alerts are checked
// against what /metrics really exposes.
var catalogue = monitoring.New(monitoring.Options{}).Families()

// gaugeLikeHistograms describe a state rather than accumulate events: gemini_flow_workflow_nodes
// moves a workflow between buckets as it changes, so its buckets go down and are read as they are.
var gaugeLikeHistograms = map[string]bool{"gemini_flow_workflow_nodes": true}

// scrapeLabels are added by whoever collects the samples: Prometheus, vmagent or the history.
var scrapeLabels = []string{"job", "instance"}

// sample describes one sample name: its family, whether it is known, and whether it only ever
// grows (and so belongs inside rate() or increase()).
type sample struct {
	family    monitoring.Family
	known     bool
	monotonic bool
}

func sampleKind(name string) sample {
	for _, f := range catalogue {
		switch f.Type {
		case "histogram", "summary":
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if name == f.Name+suffix {
					if suffix == "_bucket" {
						f.Labels = append(slices.Clone(f.Labels), "le")
					}
					return sample{f, true, !gaugeLikeHistograms[f.Name]}
				}
			}
		default:
			if name == f.Name {
				return sample{f, true, f.Type == "counter"}
			}
		}
	}
	// Written by whoever scrapes, not by the binary.
	if name == "up" || strings.HasPrefix(name, "scrape_") {
		return sample{monitoring.Family{Name: name, Type: "gauge"}, true, false}
	}
	return sample{}
}

// hasLabel reports whether series of the sample can carry the label.
func (s sample) hasLabel(name string) bool {
	return name == "__name__" || slices.Contains(scrapeLabels, name) || slices.Contains(s.family.Labels, name)
}

func TestCatalogueAssumptions(t *testing.T) {
	f := func(name string, wantKnown, wantMonotonic bool) {
		t.Helper()
		s := sampleKind(name)
		if s.known != wantKnown || s.monotonic != wantMonotonic {
			t.Errorf("%s: known=%v monotonic=%v, want %v %v", name, s.known, s.monotonic, wantKnown, wantMonotonic)
		}
	}
	// The seed names this gauge with a counter's suffix; the contract keeps the name.
	f("gemini_flow_workflows_total", true, false)
	f("gemini_flow_workflow_nodes_bucket", true, false)
	f("gemini_flow_workflow_nodes_count", true, false)
	f("gemini_flow_http_requests_total", true, true)
	f("gemini_flow_http_request_duration_seconds_bucket", true, true)
	f("gemini_flow_go_gc_duration_seconds_sum", true, true)
	f("gemini_flow_process_cpu_seconds_total", true, true)
	f("gemini_flow_process_resident_memory_bytes", true, false)
	f("gemini_flow_go_goroutines", true, false)
	f("gemini_flow_history_checkpoint_errors_total", true, true)
	f("gemini_flow_websocket_connections_active", true, false)
	f("gemini_flow_http_requests", false, false)
	for name := range gaugeLikeHistograms {
		if s := sampleKind(name + "_bucket"); !s.known || s.family.Type != "histogram" {
			t.Errorf("%s: exempted as a gauge-like histogram but the catalogue says %+v", name, s.family)
		}
	}
}
