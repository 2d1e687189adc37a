package server_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gemini-flow/gemini-flow/app"
	"github.com/gemini-flow/gemini-flow/rules"
)

// pageRules fire at once (vector(1)) and stay pending for an hour on a metric the
// Goroutines panel charts.
const pageRules = `groups:
- name: page
  rules:
  - alert: AlwaysFiring
    expr: vector(1)
    labels: {severity: info}
    annotations: {summary: fires at once}
  - alert: GoroutinesPresent
    expr: sum(gemini_flow_go_goroutines) > 0
    for: 1h
    annotations: {summary: pending for an hour}
`

// TestPageE2EAlerts loads the page from a server evaluating rules: firing then pending alerts
// are listed above the panels, and the panel reading the pending alert's metric shades its
// periods, read from the ALERTS series.
func TestPageE2EAlerts(t *testing.T) {
	chromium := requireTool(t, "/usr/bin/chromium")
	stack := startLiveStack(t, time.Second, func(c *app.Config) {
		c.RuleSources = []rules.Source{{File: "page.yml", Data: []byte(pageRules)}}
	})
	stack.waitSample(t)
	stack.waitSample(t)
	pg := openPage(t, chromium, stack.URL)
	if err := chromedp.Do(pg.ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(stack.URL+"/")); err != nil {
		t.Fatalf("load page: %v", err)
	}
	s := pg.waitFor("alerts listed and shaded", 20*time.Second, func(s pageState) bool {
		return len(s.Alerts) == 2 && len(s.Shaded) > 0 && s.Drawn == s.Panels && s.Panels > 0
	})
	if want := []string{"firing AlwaysFiring", "pending GoroutinesPresent"}; !slices.Equal(s.Alerts, want) {
		t.Errorf("alerts listed %v, want %v", s.Alerts, want)
	}
	if !s.AlertsTop {
		t.Error("the alerts are not above the panels")
	}
	if !slices.Equal(s.Shaded, []string{"Goroutines"}) {
		t.Errorf("panels shading an alert: %v, want [Goroutines]", s.Shaded)
	}
	// The periods come from the ALERTS series the rules write into the history.
	asked := false
	for _, r := range pg.requests.since(0) {
		asked = asked || r.Query == "ALERTS"
	}
	if !asked {
		t.Error("the page did not read the alerts' periods from the ALERTS series")
	}
	png, err := chromedp.Run(pg.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "page-e2e-alerts.png", png)
	if p := pg.problems.all(); len(p) > 0 {
		t.Errorf("console errors or failed requests:\n%s", strings.Join(p, "\n"))
	}
}
