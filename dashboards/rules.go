package dashboards

import _ "embed"

//go:embed alerts.yml
var alertsYAML []byte

// AlertsFile is the name the shipped alerting rules are reported under.
const AlertsFile = "dashboards/alerts.yml"

// Alerts returns the shipped alerting rules (alerts.yml), which the binary evaluates by
// default. The slice is shared: callers must not modify it.
func Alerts() []byte { return alertsYAML }
