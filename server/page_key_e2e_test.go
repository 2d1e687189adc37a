package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gemini-flow/gemini-flow/app"
)

// TestPageE2EMetricsKey runs the page against a server with a metrics key and API keys: the
// page asks for the metrics key inline, refuses a wrong one with a message, draws once the
// right one is entered, keeps it for the tab, and, its WebSocket refused for want of an API
// key, still refreshes at the sampling interval.
func TestPageE2EMetricsKey(t *testing.T) {
	chromium := requireTool(t, "/usr/bin/chromium")
	const metricsKey, apiKey = "page-metrics-key", "editor-api-key"
	stack := startLiveStack(t, time.Second, func(c *app.Config) {
		c.MetricsKey = metricsKey
		c.APIKeys = []string{apiKey}
	})
	// A few samples first, so that the page measures the 1 s interval it then polls at.
	for range 3 {
		stack.waitSample(t)
	}
	pg := openPage(t, chromium, stack.URL)
	ctx := pg.ctx
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(stack.URL+"/"),
	); err != nil {
		t.Fatalf("load page: %v", err)
	}

	s := pg.waitFor("key form shown on the first 401", 10*time.Second, func(s pageState) bool {
		return s.KeyForm == "asked" && s.KeyShown
	})
	if s.KeyMessage != "" || s.Panels != 0 {
		t.Fatalf("before any key: message %q, %d panels", s.KeyMessage, s.Panels)
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		writeArtifact(t, name, png)
	}
	shot("page-key-asked-light.png")

	enter := func(key string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.ID("auth-key"), key),
			chromedp.Click(chromedp.CSS(`#auth button[type="submit"]`)),
		); err != nil {
			t.Fatal(err)
		}
	}
	enter("not-the-key")
	s = pg.waitFor("wrong key refused with a message", 10*time.Second, func(s pageState) bool {
		return s.KeyForm == "refused" && s.KeyShown && s.KeyMessage != ""
	})
	if !strings.Contains(s.KeyMessage, "refused") {
		t.Errorf("wrong-key message %q does not say the key was refused", s.KeyMessage)
	}
	shot("page-key-refused-light.png")
	// The same form in the dark palette.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.documentElement.setAttribute("data-theme", "dark")`)); err != nil {
		t.Fatal(err)
	}
	if bg := pg.state().Background; bg == s.Background {
		t.Errorf("dark palette not applied: background %s", bg)
	}
	shot("page-key-refused-dark.png")
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.documentElement.removeAttribute("data-theme")`)); err != nil {
		t.Fatal(err)
	}

	enter(metricsKey)
	s = pg.waitFor("panels drawn with the key", 20*time.Second, func(s pageState) bool {
		return s.KeyForm == "sent" && !s.KeyShown && s.Panels > 0 && s.Drawn == s.Panels && s.WithData > 0
	})
	t.Logf("with the key: %d panels drawn, %d with data", s.Panels, s.WithData)

	// The WebSocket needs an API key the page was not given: it is refused and the page
	// falls back to refreshing at the sampling interval.
	s = pg.waitFor("WebSocket refused", 10*time.Second, func(s pageState) bool { return s.WS == "down" })
	before := s.Refreshes
	s = pg.waitFor("refreshes while the socket is down", 10*time.Second, func(s pageState) bool {
		return s.Refreshes >= before+2 && s.WS != "live"
	})
	t.Logf("polling: %d refreshes, socket %s", s.Refreshes-before, s.WS)

	// The key is kept for the tab: a reload draws without asking again.
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("gf-metrics-key") || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if stored != metricsKey {
		t.Fatalf("sessionStorage holds %q, want the key", stored)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	s = pg.waitFor("reload draws with the kept key", 20*time.Second, func(s pageState) bool {
		return s.Panels > 0 && s.Drawn == s.Panels
	})
	if s.KeyForm != "none" || s.KeyShown {
		t.Errorf("after reload the form was shown again (%s)", s.KeyForm)
	}
	shot("page-key-unlocked.png")

	// Only the refusals this test caused may show up: 401 answers and their console lines.
	for _, p := range pg.problems.all() {
		if !strings.Contains(p, "401") && !strings.Contains(p, "/ws' failed: HTTP Authentication failed") {
			t.Errorf("unexpected page problem: %s", p)
		}
	}
	if len(s.Errors) > 0 {
		t.Errorf("page caught errors: %v", s.Errors)
	}
}
