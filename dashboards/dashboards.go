// Package dashboards holds the monitoring files shipped with gemini-flow: the Grafana dashboard,
// a Prometheus and a vmagent scrape configuration, and alerting rules with their unit tests.
// The dashboard is embedded so the built-in page charts exactly what Grafana imports.
package dashboards

import _ "embed"

//go:generate go test . -run TestDashboardGenerated -update

//go:embed gemini-flow.json
var grafanaJSON []byte

// Dashboard returns the Grafana dashboard JSON (served at /dashboards/gemini-flow.json).
// The slice is shared: callers must not modify it.
func Dashboard() []byte { return grafanaJSON }
