package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// pageProblems collects what must never happen while the page runs: console errors,
// uncaught exceptions, failed requests and 4xx/5xx answers.
type pageProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *pageProblems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *pageProblems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// pageState is what the page reports about itself through window.gf.
type pageState struct {
	Panels     int       `json:"panels"`
	Drawn      int       `json:"drawn"`      // charts with a uPlot instance, x values and painted pixels
	WithData   int       `json:"withData"`   // panels with at least one non-null value
	Empty      []string  `json:"empty"`      // titles of panels without data
	Sampled    int       `json:"sampled"`    // metrics.sampled events received
	Refreshes  int       `json:"refreshes"`  // completed refreshes
	WS         string    `json:"ws"`         // WebSocket state
	Theme      string    `json:"theme"`      // data-theme of <html>
	Background string    `json:"background"` // computed body background
	FirstChart float64   `json:"firstChart"` // ms from navigation start to the first chart with data
	Span       float64   `json:"span"`       // seconds covered by the first chart's x values
	Columns    int       `json:"columns"`    // grid tracks of the panel grid
	Throughput []float64 `json:"throughput"` // last values of the request-throughput panel
	Errors     []string  `json:"errors"`     // errors the page caught itself
	KeyForm    string    `json:"keyForm"`    // metrics key form: none | asked | refused | sent
	KeyShown   bool      `json:"keyShown"`   // the key form is on screen
	KeyMessage string    `json:"keyMessage"` // the form's message, when shown
}

const pageStateJS = `(() => {
  const gf = window.gf;
  if (!gf) return null;
  const probe = (window.__probe ||= Object.assign(document.createElement("canvas"), { width: 200, height: 100 }).getContext("2d", { willReadFrequently: true }));
  const painted = (canvas) => {
    if (!canvas || !canvas.width || !canvas.height) return false;
    probe.clearRect(0, 0, 200, 100);
    probe.drawImage(canvas, 0, 0, 200, 100);
    const d = probe.getImageData(0, 0, 200, 100).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
    return false;
  };
  const panels = gf.panels.filter((p) => p.kind !== "row");
  const hasData = (p) => p.lastValues.some((v) => v != null);
  const tp = panels.find((p) => p.def.title === "Request throughput");
  const first = panels.find((p) => p.chart);
  return {
    panels: panels.length,
    drawn: panels.filter((p) => p.kind === "stat" || (p.chart && p.chart.data[0].length > 0 && painted(p.body.querySelector("canvas")))).length,
    withData: panels.filter(hasData).length,
    empty: panels.filter((p) => !hasData(p)).map((p) => p.def.title),
    sampled: gf.sampled,
    refreshes: gf.refreshes,
    ws: gf.wsState,
    theme: document.documentElement.getAttribute("data-theme") || "auto",
    background: getComputedStyle(document.body).backgroundColor,
    firstChart: gf.firstChartMs ?? -1,
    span: first ? first.chart.data[0][first.chart.data[0].length - 1] - first.chart.data[0][0] : -1,
    columns: getComputedStyle(document.getElementById("panels")).gridTemplateColumns.split(" ").length,
    throughput: tp ? tp.lastValues.map((v) => v ?? 0) : [],
    errors: gf.errors,
    keyForm: gf.keyForm,
    keyShown: (() => { const f = document.getElementById("auth"); return !f.hidden && f.offsetHeight > 0; })(),
    keyMessage: (() => { const m = document.getElementById("auth-msg"); return m.hidden ? "" : m.textContent; })(),
  };
})()`

// TestPageE2E drives the built-in page in headless Chromium against the whole server.
func TestPageE2E(t *testing.T) {
	chromium := requireTool(t, "/usr/bin/chromium")
	stack := startLiveStack(t, time.Second)
	traffic := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			for _, p := range []string{"/dashboards/gemini-flow.json", "/api/v1/labels", "/api/workflows", "/no-such-page"} {
				res, err := http.Get(stack.URL + p)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}
	}
	// Traffic between two samples gives every rate() and histogram_quantile() of the
	// dashboard something to show.
	// A histogram's series appear at its first observation, so a rate() needs traffic
	// across two sample intervals.
	for i := 0; i < 2; i++ {
		stack.waitSample(t)
		traffic(5)
	}
	stack.waitSample(t)

	pg := openPage(t, chromium, stack.URL)
	bctx, problems, waitFor := pg.ctx, pg.problems, pg.waitFor

	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(stack.URL+"/"),
	); err != nil {
		t.Fatalf("load page: %v", err)
	}
	// The page is served from the same origin as /ws, with no CORS list configured; the
	// WebSocket panel has data only once the page's own socket is up.
	waitFor("the page's WebSocket to /ws is live", 10*time.Second, func(s pageState) bool { return s.WS == "live" })
	s := waitFor("every panel drawn with data", 20*time.Second, func(s pageState) bool {
		return s.Panels > 0 && s.Drawn == s.Panels && s.WithData == s.Panels
	})
	t.Logf("page: %d panels drawn, first chart with data %.0f ms after navigation start", s.Panels, s.FirstChart)
	if s.FirstChart <= 0 {
		t.Errorf("first chart mark missing: %v", s.FirstChart)
	}
	if s.Columns < 2 {
		t.Errorf("desktop grid has %d column(s)", s.Columns)
	}

	// Theme: the toggle leaves "auto" and the page repaints in the other palette.
	before := s
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("theme"))); err != nil {
		t.Fatal(err)
	}
	s = waitFor("theme switched and charts redrawn", 10*time.Second, func(s pageState) bool {
		return s.Theme != "auto" && s.Background != before.Background && s.Refreshes > before.Refreshes && s.Drawn == s.Panels
	})
	t.Logf("theme %s: background %s -> %s", s.Theme, before.Background, s.Background)

	// Range: 5 minutes.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`button[data-range="300"]`))); err != nil {
		t.Fatal(err)
	}
	s = waitFor("5m range drawn", 10*time.Second, func(s pageState) bool {
		return s.Span > 200 && s.Span <= 300 && s.Drawn == s.Panels
	})

	// Live update: traffic, then a metrics.sampled event, then new numbers on the chart.
	before = s
	traffic(40)
	s = waitFor("chart updated by metrics.sampled", 15*time.Second, func(s pageState) bool {
		return s.Sampled > before.Sampled && s.Refreshes > before.Refreshes && fmt.Sprint(s.Throughput) != fmt.Sprint(before.Throughput)
	})
	t.Logf("live: %d metrics.sampled events, throughput %v -> %v", s.Sampled, before.Throughput, s.Throughput)

	// Live updates on the 1 h range read only the newest points, and the merged charts
	// equal a full load of the same window.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`button[data-range="3600"]`))); err != nil {
		t.Fatal(err)
	}
	s = waitFor("1h range drawn", 10*time.Second, func(s pageState) bool {
		return s.Span > 3000 && s.Span <= 3600 && s.Drawn == s.Panels
	})
	type liveMark struct {
		Queries, Tails, Sampled int
	}
	mark, err := chromedp.Run(bctx, chromedp.Evaluate[liveMark](`({queries: gf.queries.length, tails: gf.tails, sampled: gf.sampled})`))
	if err != nil {
		t.Fatal(err)
	}
	traffic(10)
	waitFor("three live ticks on 1h", 15*time.Second, func(x pageState) bool { return x.Sampled >= mark.Sampled+3 && x.Refreshes > s.Refreshes+2 })
	type liveTicks struct {
		Tails, Misses, Requests, TailRequests, Points, Wide int
		FullRequests, FullPoints, TailSteps                 int
	}
	ticks, err := chromedp.Run(bctx, chromedp.Evaluate[liveTicks](fmt.Sprintf(`(() => {
  const q = gf.queries.slice(%d), tail = q.filter((r) => r.kind === "tail"), full = q.filter((r) => r.kind === "full");
  return {
    tails: gf.tails - %d, misses: gf.tailMisses, requests: q.length, tailRequests: tail.length,
    points: tail.reduce((n, r) => n + r.points, 0),
    wide: tail.filter((r) => r.end - r.start > 3 * r.step).length,
    tailSteps: tail.reduce((n, r) => n + (r.end - r.start) / r.step + 1, 0),
    fullRequests: full.length, fullPoints: full.reduce((n, r) => n + r.points, 0),
  };
})()`, mark.Queries, mark.Tails)))
	if err != nil {
		t.Fatal(err)
	}
	perTick := func(n int) float64 { return float64(n) / float64(max(ticks.Tails, 1)) }
	t.Logf("1h live: %d tail refreshes, %d tail requests (%.1f per tick) covering %d evaluation steps (%.1f per tick) with %d points (%.1f per tick); %d full requests with %d points; %d panel(s) reloaded in full since load",
		ticks.Tails, ticks.TailRequests, perTick(ticks.TailRequests), ticks.TailSteps, perTick(ticks.TailSteps), ticks.Points, perTick(ticks.Points), ticks.FullRequests, ticks.FullPoints, ticks.Misses)
	if ticks.Tails < 2 || ticks.TailRequests == 0 {
		t.Errorf("live ticks on 1h: %d tail refreshes, %d tail requests; want them to read only the tail", ticks.Tails, ticks.TailRequests)
	}
	if ticks.Wide > 0 {
		t.Errorf("%d tail request(s) cover more than 3 steps", ticks.Wide)
	}
	if ticks.FullRequests >= ticks.TailRequests {
		t.Errorf("live ticks on 1h: %d full requests against %d tail requests", ticks.FullRequests, ticks.TailRequests)
	}
	// Per refresh on 1 h: the full load against a live tick.
	type refreshTally struct {
		Tail                           bool
		Range, Requests, Steps, Points int
	}
	tallies, err := chromedp.Run(bctx, chromedp.Evaluate[[]refreshTally](`gf.refreshLog.filter((r) => r.range === 3600)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tallies {
		kind := "full load"
		if r.Tail {
			kind = "live tick"
		}
		t.Logf("1h %s: %d query_range requests covering %d evaluation steps, %d points returned", kind, r.Requests, r.Steps, r.Points)
	}

	type reloadCompare struct {
		Panels, Points int
		Mismatches     []string
	}
	cmp, err := chromedp.Run(bctx, chromedp.Evaluate[reloadCompare](`gf.fullReloadCompare()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1h live: merged charts against a full load: %d panels, %d points", cmp.Panels, cmp.Points)
	if cmp.Panels != s.Panels || cmp.Points == 0 || len(cmp.Mismatches) > 0 {
		t.Errorf("merged charts differ from a full load (%d of %d panels, %d points): %v", cmp.Panels, s.Panels, cmp.Points, cmp.Mismatches)
	}

	// Back to 5 minutes, where the few seconds of history fill the charts.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`button[data-range="300"]`))); err != nil {
		t.Fatal(err)
	}
	s = waitFor("5m range drawn again", 10*time.Second, func(s pageState) bool {
		return s.Span > 200 && s.Span <= 300 && s.Drawn == s.Panels
	})

	// Ad-hoc PromQL.
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("adhoc-expr"), `sum(rate(gemini_flow_http_requests_total[10s]))`),
		chromedp.Click(chromedp.CSS(`#adhoc button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("ad-hoc graph drawn", 10*time.Second, func(x pageState) bool {
		return x.Panels == s.Panels+1 && x.Drawn == x.Panels && x.WithData == x.Panels
	})

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "page-e2e-desktop.png", png)

	// Phone width: one column.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	s = waitFor("single column at phone width", 10*time.Second, func(s pageState) bool { return s.Columns == 1 })
	png, err = chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "page-e2e-phone.png", png)

	if len(s.Errors) > 0 {
		t.Errorf("page caught errors: %v", s.Errors)
	}
	if p := problems.all(); len(p) > 0 {
		t.Errorf("console errors or failed requests:\n%s", strings.Join(p, "\n"))
	}
}

// pageDriver is one headless Chromium tab with the page's problems recorded.
type pageDriver struct {
	ctx      context.Context
	problems *pageProblems
	t        *testing.T
}

// openPage starts Chromium for a test; it is stopped when the test ends.
func openPage(t *testing.T, chromium, baseURL string) *pageDriver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)

	// Start the browser before anything subscribes: two first calls racing would each
	// start one.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	problems := &pageProblems{}
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				problems.add("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
			}
		}
	}()
	if err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				problems.add("request failed: %s %s", ev.Type, ev.ErrorText)
			}
		case *network.EventResponseReceived:
			if ev.Response != nil && ev.Response.Status >= 400 {
				problems.add("HTTP %d for %s", ev.Response.Status, ev.Response.URL)
			}
			if ev.Response != nil && !strings.HasPrefix(ev.Response.URL, baseURL) && !strings.HasPrefix(ev.Response.URL, "data:") {
				problems.add("external request: %s", ev.Response.URL)
			}
		case *log.EventEntryAdded:
			if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
				problems.add("browser log: %s %s", ev.Entry.Text, ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

	return &pageDriver{ctx: bctx, problems: problems, t: t}
}

func (p *pageDriver) state() pageState {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[*pageState](pageStateJS))
	if err != nil {
		p.t.Fatalf("read page state: %v", err)
	}
	if s == nil {
		return pageState{}
	}
	return *s
}

// waitFor polls the page state until ok holds, for at most d.
func (p *pageDriver) waitFor(what string, d time.Duration, ok func(pageState) bool) pageState {
	p.t.Helper()
	end := time.Now().Add(d)
	for {
		s := p.state()
		if ok(s) {
			p.t.Logf("%s: reached", what)
			return s
		}
		if time.Now().After(end) {
			p.t.Fatalf("%s: not reached in %s; page state %+v; problems %v", what, d, s, p.problems.all())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeArtifact keeps a file after the test: in $TEST_ARTIFACTS when set, else in the
// system temporary directory (t.TempDir is removed when the test ends).
func writeArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gemini-flow-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
