// Package dashboards holds the monitoring files shipped with gemini-flow: the Grafana dashboard,
// a Prometheus and a vmagent scrape configuration, and alerting rules with their unit tests.
// The dashboard is embedded so the built-in page charts exactly what Grafana imports.
package dashboards

import (
	_ "embed"
	"encoding/json"
)

//go:generate go test . -run TestDashboardGenerated -update

//go:embed gemini-flow.json
var grafanaJSON []byte

// Dashboard returns the Grafana dashboard JSON (served at /dashboards/gemini-flow.json).
// The slice is shared: callers must not modify it.
func Dashboard() []byte { return grafanaJSON }

// Targets returns the PromQL of every panel's targets as the dashboard writes it, with
// Grafana's variables in it.
func Targets() []string {
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(grafanaJSON, &dash); err != nil {
		panic("dashboards: embedded dashboard: " + err.Error()) // TestDashboardStrictSchema decodes the same bytes
	}
	var out []string
	for _, p := range dash.Panels {
		for _, t := range p.Targets {
			if t.Expr != "" {
				out = append(out, t.Expr)
			}
		}
	}
	return out
}
