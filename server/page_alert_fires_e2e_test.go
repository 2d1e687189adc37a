package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gemini-flow/gemini-flow/app"
	"github.com/gemini-flow/gemini-flow/rules"
)

// firesOnErrorRules hold an alert that fires, after a `for` of 2 s, once the server has
// counted an error.
const firesOnErrorRules = `groups:
- name: fires
  interval: 1s
  rules:
  - alert: ErrorsSeen
    expr: sum(gemini_flow_errors_total) > 0
    for: 2s
    labels: {severity: warning}
    annotations: {summary: the server counted an error}
`

// TestPageE2EAlertAppearsWhenItFires keeps the page open on a quiet server, makes the
// server count an error, and waits for the alert to appear above the panels as it fires.
func TestPageE2EAlertAppearsWhenItFires(t *testing.T) {
	chromium := requireTool(t, "/usr/bin/chromium")
	stack := startLiveStack(t, time.Second, func(c *app.Config) {
		c.RuleSources = []rules.Source{{File: "fires.yml", Data: []byte(firesOnErrorRules)}}
	})
	stack.waitSample(t)
	pg := openPage(t, chromium, stack.URL)
	if err := chromedp.Do(pg.ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(stack.URL+"/")); err != nil {
		t.Fatalf("load page: %v", err)
	}
	s := pg.waitFor("the page drawn", 20*time.Second, func(s pageState) bool { return s.Panels > 0 && s.Drawn == s.Panels })
	if len(s.Alerts) != 0 {
		t.Fatalf("alerts listed on a quiet server: %v", s.Alerts)
	}

	resp, err := http.Get(stack.URL + "/api/workflows/no-such-workflow") // a 404, counted as an error
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET a missing workflow: %d", resp.StatusCode)
	}
	s = pg.waitFor("the alert listed as firing", 30*time.Second, func(s pageState) bool {
		return slices.Contains(s.Alerts, "firing ErrorsSeen")
	})
	if !s.AlertsTop {
		t.Error("the firing alert is not above the panels")
	}
	png, err := chromedp.Run(pg.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "page-e2e-alert-fires.png", png)
}
