package server_test

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
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

// pageHooks is the tests' view into the page (testdata/page_hooks.js): a function of
// (what, arg) that imports the page's modules and reads their state.
//
//go:embed testdata/page_hooks.js
var pageHooks string

// pageState is what the page reports about itself, read by pageHooks("state").
type pageState struct {
	Panels     int        `json:"panels"`      // panels shown
	Drawn      int        `json:"drawn"`       // charts with x values and pixels of a series' colour
	BothHalves int        `json:"bothHalves"`  // charts with a series' pixels in both halves of the plot
	Halves     []string   `json:"halves"`      // per chart, the series' pixels in the left/right half
	WithData   int        `json:"withData"`    // panels with at least one non-null value
	Empty      []string   `json:"empty"`       // titles of panels without data
	Sampled    int        `json:"sampled"`     // metrics.sampled events received
	Refreshes  int        `json:"refreshes"`   // completed refreshes
	Tails      int        `json:"tails"`       // refreshes that read only the new points
	Skipped    int        `json:"skipped"`     // metrics.sampled events ignored while hidden
	WS         string     `json:"ws"`          // WebSocket state
	Theme      string     `json:"theme"`       // data-theme of <html>
	Background string     `json:"background"`  // computed body background
	FirstChart float64    `json:"firstChart"`  // ms from navigation start to the first chart with data
	Span       float64    `json:"span"`        // seconds covered by the first chart's x values
	Range      float64    `json:"range"`       // relative range shown, 0 when zoomed
	Pressed    string     `json:"pressed"`     // range buttons pressed
	Search     string     `json:"search"`      // location.search
	Solo       string     `json:"solo"`        // id of the panel shown alone
	SoloWidth  float64    `json:"soloWidth"`   // its width in CSS pixels
	MainWidth  float64    `json:"mainWidth"`   // the width of <main>
	Overflow   float64    `json:"overflow"`    // horizontal overflow of the document, in CSS pixels
	Columns    int        `json:"columns"`     // grid tracks of the panel grid
	Throughput []float64  `json:"throughput"`  // last values of the request-throughput panel
	TableRows  [][]string `json:"tableRows"`   // the ad-hoc table, header first
	Alerts     []string   `json:"alerts"`      // "state alertname" of each alert listed
	AlertsTop  bool       `json:"alertsFirst"` // the alerts are shown above the panels
	Shaded     []string   `json:"shaded"`      // titles of panels shading an alert's period
	Errors     []string   `json:"errors"`      // errors the page caught itself
	KeyForm    string     `json:"keyForm"`     // metrics key form: none | asked | refused | sent
	KeyShown   bool       `json:"keyShown"`    // the key form is on screen
	KeyMessage string     `json:"keyMessage"`  // the form's message, when shown
}

// rangeRequest is one query_range call the page made, as the browser sent it.
type rangeRequest struct {
	Query            string
	Start, End, Step float64
}

// pageRequests records the page's query_range calls.
type pageRequests struct {
	mu   sync.Mutex
	list []rangeRequest
}

func (r *pageRequests) add(q rangeRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, q)
}

// since returns the calls after the first n.
func (r *pageRequests) since(n int) []rangeRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rangeRequest(nil), r.list[min(n, len(r.list)):]...)
}

func (r *pageRequests) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.list)
}

// parseRangeRequest reads a query_range call from its form body.
func parseRangeRequest(body string) rangeRequest {
	v, _ := url.ParseQuery(body)
	num := func(k string) float64 {
		f, _ := strconv.ParseFloat(v.Get(k), 64)
		return f
	}
	return rangeRequest{Query: v.Get("query"), Start: num("start"), End: num("end"), Step: num("step")}
}

// pageTraffic sends requests of every kind the dashboard charts until the test ends, so
// that each rate() and histogram_quantile() has something to show over the whole window.
func pageTraffic(t *testing.T, base string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, p := range []string{"/dashboards/gemini-flow.json", "/api/v1/labels", "/api/workflows", "/no-such-page"} {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
				if res, err := http.DefaultClient.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// pageDriver is one headless Chromium tab with the page's problems and query_range calls
// recorded.
type pageDriver struct {
	ctx      context.Context
	problems *pageProblems
	requests *pageRequests
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
	requests := &pageRequests{}
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			noAlerting := strings.Contains(m.Text, "404") && strings.Contains(m.URL, "/api/v1/alerts")
			if (m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning) && !noAlerting {
				problems.add("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
			}
		}
	}()
	if err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Request != nil && strings.HasSuffix(strings.SplitN(ev.Request.URL, "?", 2)[0], "/api/v1/query_range") {
				var body []byte
				for _, e := range ev.Request.PostDataEntries {
					body = append(body, e.Bytes...)
				}
				requests.add(parseRangeRequest(string(body)))
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				problems.add("request failed: %s %s", ev.Type, ev.ErrorText)
			}
		case *network.EventResponseReceived:
			// A server without alerting answers 404 on its API: the page then shows none.
			noAlerting := ev.Response != nil && ev.Response.Status == 404 &&
				(strings.HasSuffix(ev.Response.URL, "/api/v1/alerts") || strings.Contains(ev.Response.URL, "/api/v1/rules"))
			if ev.Response != nil && ev.Response.Status >= 400 && !noAlerting {
				problems.add("HTTP %d for %s", ev.Response.Status, ev.Response.URL)
			}
			if ev.Response != nil && !strings.HasPrefix(ev.Response.URL, baseURL) && !strings.HasPrefix(ev.Response.URL, "data:") {
				problems.add("external request: %s", ev.Response.URL)
			}
		case *log.EventEntryAdded:
			if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError && !(strings.Contains(ev.Entry.Text, "404") && strings.Contains(ev.Entry.URL, "/api/v1/alerts")) {
				problems.add("browser log: %s %s", ev.Entry.Text, ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

	return &pageDriver{ctx: bctx, problems: problems, requests: requests, t: t}
}

// hook evaluates pageHooks(what, arg) and decodes its answer into a T.
func hook[T any](p *pageDriver, what string, arg any) T {
	p.t.Helper()
	a, err := json.Marshal(arg)
	if err != nil {
		p.t.Fatal(err)
	}
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](fmt.Sprintf("(%s)(%q, %s)", pageHooks, what, a), chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("page hook %s: %v", what, err)
	}
	return v
}

func (p *pageDriver) state() pageState {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[*pageState](fmt.Sprintf("(%s)(\"state\")", pageHooks), chromedp.EvalAwaitPromise))
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

// TestPageE2E drives the built-in page in headless Chromium against the whole server, from
// a history a few seconds old.
func TestPageE2E(t *testing.T) {
	chromium := requireTool(t, "/usr/bin/chromium")
	stack := startLiveStack(t, time.Second)
	pageTraffic(t, stack.URL)
	for range 4 {
		stack.waitSample(t)
	}

	pg := openPage(t, chromium, stack.URL)
	bctx, problems, waitFor := pg.ctx, pg.problems, pg.waitFor
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(stack.URL+"/")); err != nil {
		t.Fatalf("load page: %v", err)
	}
	// The page is served from the same origin as /ws, with no CORS list configured; the
	// WebSocket panel has data only once the page's own socket is up.
	waitFor("the page's WebSocket to /ws is live", 10*time.Second, func(s pageState) bool { return s.WS == "live" })
	s := waitFor("every panel drawn with data in both halves of its plot", 30*time.Second, func(s pageState) bool {
		return s.Panels > 0 && s.Drawn == s.Panels && s.WithData == s.Panels && s.BothHalves == s.Panels
	})
	t.Logf("first look: %d panels, range %.0f s (%s pressed), first chart %.0f ms after navigation start; series pixels left/right: %v",
		s.Panels, s.Range, s.Pressed, s.FirstChart, s.Halves)
	if s.Range != 300 || s.Pressed != "5m" || s.Search != "" {
		t.Errorf("a history seconds old: range %v, pressed %q, URL %q; want 300, 5m and no parameter", s.Range, s.Pressed, s.Search)
	}
	if s.FirstChart <= 0 {
		t.Errorf("first chart mark missing: %v", s.FirstChart)
	}
	if s.Columns < 2 {
		t.Errorf("desktop grid has %d column(s)", s.Columns)
	}
	// One query per panel: its first call is the first look, every later one a live tick
	// asking only for the points after the last one drawn.
	all := pg.requests.since(0)
	queries := map[string]bool{}
	for _, r := range all {
		queries[r.Query] = true
	}
	if len(queries) != s.Panels {
		t.Errorf("the page asked %d distinct queries for %d panels", len(queries), s.Panels)
	}
	checkTails(t, all, map[string]float64{})

	checkLiveTicks(t, pg, s.Panels)
	checkHiddenTab(t, pg, stack, s.Panels)

	// Theme: the toggle leaves "auto", the page repaints in the other palette, the URL says so.
	before := pg.state()
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("theme"))); err != nil {
		t.Fatal(err)
	}
	s = waitFor("theme switched and charts redrawn", 10*time.Second, func(s pageState) bool {
		return s.Theme != "auto" && s.Background != before.Background && s.Refreshes > before.Refreshes && s.Drawn == s.Panels
	})
	if !strings.Contains(s.Search, "theme="+s.Theme) {
		t.Errorf("theme %s not in the URL %q", s.Theme, s.Search)
	}

	checkURLState(t, pg, stack)
	checkAdhoc(t, pg)

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "page-e2e-desktop.png", png)

	// Phone width: one column, nothing wider than the screen.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	// Charts follow their boxes on the next frame.
	s = waitFor("single column at phone width, nothing wider than the screen", 10*time.Second, func(s pageState) bool {
		return s.Columns == 1 && s.Overflow == 0
	})
	png, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
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

// checkTails asserts that each query_range call in reqs asks only for points after the
// last one asked with the same query before (last), and records the new ends.
func checkTails(t *testing.T, reqs []rangeRequest, last map[string]float64) {
	t.Helper()
	for _, r := range reqs {
		if end, ok := last[r.Query]; ok && r.Start <= end {
			t.Errorf("a live tick asked [%.0f, %.0f] again after [.., %.0f] for %s", r.Start, r.End, end, r.Query)
		}
		last[r.Query] = max(last[r.Query], r.End)
	}
}

// checkLiveTicks waits for live ticks and counts their query_range calls: at most one per
// panel, each for the points after the last drawn; the merged charts equal a full load.
func checkLiveTicks(t *testing.T, pg *pageDriver, panels int) {
	start := pg.state()
	last := map[string]float64{}
	for _, r := range pg.requests.since(0) {
		last[r.Query] = max(last[r.Query], r.End)
	}
	mark := pg.requests.count()
	s := pg.waitFor("three live ticks", 15*time.Second, func(s pageState) bool { return s.Tails >= start.Tails+3 })
	reqs := pg.requests.since(mark)
	ticks := s.Refreshes - start.Refreshes
	t.Logf("live: %d refreshes (%d reading only new points), %d query_range calls (%.1f per refresh, %d panels)",
		ticks, s.Tails-start.Tails, len(reqs), float64(len(reqs))/float64(max(ticks, 1)), panels)
	if len(reqs) > ticks*panels {
		t.Errorf("%d query_range calls for %d refreshes of %d panels: more than one per panel", len(reqs), ticks, panels)
	}
	checkTails(t, reqs, last)

	type compare struct {
		Panels, Points int
		Mismatches     []string
	}
	cmp := hook[compare](pg, "compare", nil)
	t.Logf("live: merged charts against a full load: %d panels, %d points", cmp.Panels, cmp.Points)
	if cmp.Panels != panels || cmp.Points == 0 || len(cmp.Mismatches) > 0 {
		t.Errorf("merged charts differ from a full load (%d of %d panels, %d points): %v", cmp.Panels, panels, cmp.Points, cmp.Mismatches)
	}
}

// checkHiddenTab hides the tab (as Page Visibility reports it): new samples ask for
// nothing; shown again, the page reads what it missed, once per panel.
func checkHiddenTab(t *testing.T, pg *pageDriver, stack *liveStack, panels int) {
	hook[bool](pg, "hide", true)
	before := pg.state()
	mark := pg.requests.count()
	s := pg.waitFor("two samples while hidden", 10*time.Second, func(s pageState) bool { return s.Skipped >= before.Skipped+2 })
	if n := pg.requests.count() - mark; n != 0 {
		t.Errorf("a hidden tab asked query_range %d times", n)
	}
	mark = pg.requests.count()
	hook[bool](pg, "hide", false)
	pg.waitFor("a refresh once shown", 10*time.Second, func(x pageState) bool { return x.Refreshes > s.Refreshes })
	if n := len(pg.requests.since(mark)); n == 0 || n > panels {
		t.Errorf("shown again, the page asked query_range %d times for %d panels", n, panels)
	}
	t.Logf("hidden tab: %d samples asked nothing; shown again: %d query_range calls", s.Skipped-before.Skipped, len(pg.requests.since(mark)))
}

// checkURLState changes the range and zooms, then goes Back; then loads a shared URL.
func checkURLState(t *testing.T, pg *pageDriver, stack *liveStack) {
	if err := chromedp.Do(pg.ctx, chromedp.Click(chromedp.CSS(`button[data-range="3600"]`))); err != nil {
		t.Fatal(err)
	}
	s := pg.waitFor("1h range drawn and in the URL", 10*time.Second, func(s pageState) bool {
		return s.Range == 3600 && strings.Contains(s.Search, "range=1h") && s.Drawn == s.Panels
	})
	hook[bool](pg, "zoom", nil)
	z := pg.waitFor("drag-zoom in the URL", 10*time.Second, func(x pageState) bool {
		return strings.Contains(x.Search, "from=") && strings.Contains(x.Search, "to=") && x.Range == 0 && x.Span > 0 && x.Span < s.Span
	})
	if err := chromedp.Do(pg.ctx, chromedp.NavigateBack()); err != nil {
		t.Fatal(err)
	}
	pg.waitFor("Back restores the 1h view", 10*time.Second, func(x pageState) bool {
		return x.Range == 3600 && x.Search == s.Search && x.Span == s.Span || (x.Range == 3600 && x.Search == s.Search && x.Refreshes > z.Refreshes)
	})

	// A shared link: 6 h, one job, one panel alone at full width.
	res, err := http.Get(stack.URL + "/api/v1/label/job/values")
	if err != nil {
		t.Fatal(err)
	}
	var jobs struct{ Data []string }
	err = json.NewDecoder(res.Body).Decode(&jobs)
	res.Body.Close()
	if err != nil || len(jobs.Data) == 0 {
		t.Fatalf("job values: %v %v", jobs.Data, err)
	}
	q := url.Values{"range": {"6h"}, "job": {jobs.Data[0]}, "panel": {"request-latency"}}
	if err := chromedp.Do(pg.ctx, chromedp.Navigate(stack.URL+"/?"+q.Encode())); err != nil {
		t.Fatal(err)
	}
	s = pg.waitFor("the shared view: 6h, the job, request latency alone", 15*time.Second, func(s pageState) bool {
		return s.Solo == "request-latency" && s.Range == 21600 && s.Pressed == "6h" && s.Drawn == 1
	})
	job, err := chromedp.Run(pg.ctx, chromedp.Evaluate[string](`document.getElementById("var-job").value`))
	if err != nil {
		t.Fatal(err)
	}
	if job != jobs.Data[0] || s.SoloWidth < 0.9*s.MainWidth {
		t.Errorf("shared view: job %q (want %q), panel %.0f px wide of %.0f", job, jobs.Data[0], s.SoloWidth, s.MainWidth)
	}
	png, err := chromedp.Run(pg.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "page-e2e-panel.png", png)
	if err := chromedp.Do(pg.ctx, chromedp.Navigate(stack.URL+"/?range=5m")); err != nil {
		t.Fatal(err)
	}
	pg.waitFor("the whole page again", 15*time.Second, func(s pageState) bool { return s.Panels > 1 && s.Drawn == s.Panels })
}

// checkAdhoc runs an ad-hoc query as a graph, then as a table, and downloads the table.
func checkAdhoc(t *testing.T, pg *pageDriver) {
	before := pg.state()
	if err := chromedp.Do(pg.ctx,
		chromedp.SetValue(chromedp.ID("adhoc-expr"), `sum by (route) (rate(gemini_flow_http_requests_total[10s]))`),
		chromedp.Click(chromedp.CSS(`#adhoc button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
	pg.waitFor("ad-hoc graph drawn", 10*time.Second, func(x pageState) bool {
		return x.Panels == before.Panels+1 && x.Drawn == x.Panels && x.WithData == x.Panels && strings.Contains(x.Search, "query=")
	})
	if err := chromedp.Do(pg.ctx, chromedp.Click(chromedp.CSS(`#adhoc-views button[data-view="table"]`))); err != nil {
		t.Fatal(err)
	}
	s := pg.waitFor("ad-hoc table listed", 10*time.Second, func(x pageState) bool {
		return len(x.TableRows) > 2 && strings.Contains(x.Search, "view=table")
	})
	if h := s.TableRows[0]; len(h) != 2 || h[0] != "route" || h[1] != "value" {
		t.Errorf("table header %v, want [route value]", h)
	}

	dir := t.TempDir()
	allow := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return err
	})
	if err := chromedp.Do(pg.ctx, allow, chromedp.Click(chromedp.ID("adhoc-csv"))); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && got == nil; time.Sleep(100 * time.Millisecond) {
		got, _ = os.ReadFile(filepath.Join(dir, "query-table.csv"))
	}
	rows, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatalf("CSV download %q: %v", got, err)
	}
	// The values move with each live refresh; the series and their order must not.
	now := pg.state().TableRows
	series := func(rows [][]string) (out []string) {
		for _, r := range rows {
			out = append(out, strings.Join(r[:len(r)-1], "|"))
		}
		return out
	}
	if fmt.Sprint(series(rows)) != fmt.Sprint(series(now)) {
		t.Errorf("CSV download holds %v, the table %v", rows, now)
	}
	for _, r := range rows[1:] {
		if _, err := strconv.ParseFloat(r[len(r)-1], 64); err != nil {
			t.Errorf("CSV row %v: value: %v", r, err)
		}
	}
	t.Logf("ad-hoc table: %d series; CSV of %d bytes holds the same rows", len(now)-1, len(got))
}
