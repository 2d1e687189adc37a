package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
)

// rawSamples is every raw sample of a set of series: series key -> unix ms -> value.
type rawSamples map[string]map[int64]float64

func (r rawSamples) count() int {
	n := 0
	for _, s := range r {
		n += len(s)
	}
	return n
}

// exportOf reads /api/v1/export of base (the binary's or VictoriaMetrics') for selector.
func exportOf(t *testing.T, base, selector string, start, end time.Time, format string) []byte {
	t.Helper()
	q := url.Values{"match[]": {selector}, "start": {formatTime(start)}, "end": {formatTime(end)}}
	if format != "" {
		q.Set("format", format)
	}
	resp, err := httpClient.Get(base + "/api/v1/export?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("export from %s: %d %v %s", base, resp.StatusCode, err, body)
	}
	return body
}

// bareFloats quotes the bare NaN, +Inf and -Inf of VictoriaMetrics' JSON lines for encoding/json.
var bareFloats = strings.NewReplacer(",NaN", `,"NaN"`, "[NaN", `["NaN"`, ",+Inf", `,"+Inf"`, "[+Inf", `["+Inf"`, ",-Inf", `,"-Inf"`, "[-Inf", `["-Inf"`)

// parseJSONLines reads VictoriaMetrics' JSON line format; NaN values are left out, as
// VictoriaMetrics drops them on import.
func parseJSONLines(t *testing.T, body []byte) rawSamples {
	t.Helper()
	out := rawSamples{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		// VictoriaMetrics writes +Inf, -Inf and NaN bare; quote them for encoding/json.
		line := bareFloats.Replace(sc.Text())
		var l struct {
			Metric     map[string]string `json:"metric"`
			Values     []json.Number     `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("JSON line: %v\n%s", err, sc.Bytes())
		}
		k := labelKey(l.Metric)
		if out[k] == nil {
			out[k] = map[int64]float64{}
		}
		for i, v := range l.Values {
			f, err := strconv.ParseFloat(v.String(), 64)
			if err != nil {
				t.Fatalf("value %q: %v", v, err)
			}
			if !math.IsNaN(f) {
				out[k][l.Timestamps[i]] = f
			}
		}
	}
	return out
}

// promRaw reads the raw samples of selector in (end-window, end] from Prometheus with a range
// vector selector.
func promRaw(t *testing.T, base, selector string, window time.Duration, end time.Time) rawSamples {
	t.Helper()
	data, err := apiGet(base, "/api/v1/query", url.Values{"query": {fmt.Sprintf("%s[%dms]", selector, window.Milliseconds())}, "time": {formatTime(end)}})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	out := rawSamples{}
	for _, s := range res.Result {
		m := map[int64]float64{}
		for _, p := range s.Values {
			ts, _ := p[0].(float64)
			v, _ := strconv.ParseFloat(fmt.Sprint(p[1]), 64)
			m[int64(math.Round(ts*1000))] = v
		}
		out[labelKey(s.Metric)] = m
	}
	return out
}

// sameSamples reports the series and samples on which two sets differ by more than rel
// (relative).
func sameSamples(t *testing.T, what string, got, want rawSamples, rel float64) {
	t.Helper()
	bad := 0
	report := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(what+": "+format, args...)
		}
	}
	for k, ws := range want {
		gs, ok := got[k]
		if !ok {
			report("series %s missing", k)
			continue
		}
		for ts, w := range ws {
			if g, ok := gs[ts]; !ok || (g != w && math.Abs(g-w) > rel*math.Max(math.Abs(g), math.Abs(w))) {
				report("%s at %d: %v (present %v), want %v", k, ts, g, ok, w)
			}
		}
		if len(gs) != len(ws) {
			report("%s: %d samples, want %d", k, len(gs), len(ws))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			report("unexpected series %s", k)
		}
	}
	if bad > 0 {
		t.Logf("%s: %d differences; got %d series/%d samples, want %d/%d", what, bad, len(got), got.count(), len(want), want.count())
	}
}

// exactRanges requires two range results to be equal at every step, as two PromQL engines
// over the same raw samples must be (up to float summation order).
func exactRanges(t *testing.T, expr string, got, want map[string]map[int64]float64) {
	t.Helper()
	sorted := seriesKeys(got, want)
	bad := 0
	for _, k := range sorted {
		g, w := got[k], want[k]
		if len(g) != len(w) {
			if bad++; bad <= 5 {
				t.Errorf("%s: %d points from the binary, %d from Prometheus", k, len(g), len(w))
			}
			continue
		}
		for ts, wv := range w {
			gv, ok := g[ts]
			same := ok && (gv == wv || (math.IsNaN(gv) && math.IsNaN(wv)) || math.Abs(gv-wv) <= 1e-9*math.Max(math.Abs(gv), math.Abs(wv)))
			if !same {
				if bad++; bad <= 5 {
					t.Errorf("%s at %d: binary %v, Prometheus %v", k, ts, gv, wv)
				}
			}
		}
	}
	if bad > 0 {
		t.Logf("%d differences for %s", bad, expr)
	}
}

// runTraffic drives steady mixed traffic and a WebSocket session for d.
func runTraffic(t *testing.T, b *gfBinary, d time.Duration) {
	t.Helper()
	id := createWorkflow(t, b.URL, "outgrow", 8)
	conn := dialWS(t, b)
	done := make(chan struct{})
	go drain(conn, done)
	traffic := startSteadyTraffic(b.URL, 25*time.Millisecond, mixedTraffic(id))
	time.Sleep(d)
	if _, errs := traffic.finish(); len(errs) > 0 {
		t.Fatalf("traffic errors: %v", errs)
	}
	closeWS(conn)
	<-done
}

// startPrometheusOn runs Prometheus without scrape targets on a data directory and port (0:
// a free one), with extra flags.
func startPrometheusOn(t *testing.T, dataDir string, port int, flags ...string) *promServer {
	t.Helper()
	bin := requireTool(t, "prometheus")
	cfgPath := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte("global:\n  scrape_interval: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if port == 0 {
		port = freePort(t)
	}
	args := append([]string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + dataDir,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn"}, flags...)
	p := startProcess(t, "prometheus", bin, args...)
	s := &promServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	p.WaitFor(t, "prometheus /-/ready", 30*time.Second, func() bool { return testkit.StatusOK(s.URL + "/-/ready") })
	return s
}

// panelQueries is every dashboard query with $__rate_interval as window.
func panelQueries(t *testing.T, window string) []struct{ name, expr string } {
	var out []struct{ name, expr string }
	for _, q := range dashboardQueries(t) {
		out = append(out, struct{ name, expr string }{q.Title + " " + q.RefID, expandGrafana(q.Expr, window)})
	}
	return out
}

// The history exported leaves with nothing lost: as OpenMetrics through promtool into the
// blocks of a real Prometheus, which then answers the dashboard exactly as the binary; as
// JSON lines into VictoriaMetrics' /api/v1/import, which then holds exactly the same raw
// samples and answers the dashboard within its engine's one difference.
func TestExportBackfillsPrometheusAndVictoriaMetrics(t *testing.T) {
	promtool := requireTool(t, "promtool")
	b := startBinary(t, "--history-interval", "1s")
	runTraffic(t, b, 25*time.Second)
	// Steps fall between samples (the history samples on whole seconds): Prometheus 2, as
	// installed here, selects [t-w, t] where Prometheus 3 and the binary select (t-w, t], and
	// half-second steps make both select the same samples.
	end := time.Now().Truncate(time.Second).Add(-2*time.Second + 500*time.Millisecond)
	start := end.Add(-12 * time.Second)
	selector := `{job="gemini-flow-backend"}`
	// Everything up to the window's end: the queries' [10s] windows reach before it.
	from := end.Add(-10 * time.Minute)

	t.Run("OpenMetrics into Prometheus", func(t *testing.T) {
		om := exportOf(t, b.URL, selector, from, end, "openmetrics")
		dir := t.TempDir()
		in := filepath.Join(dir, "export.om")
		if err := os.WriteFile(in, om, 0o600); err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(dir, "data")
		if out, code := runTool(t, nil, promtool, "tsdb", "create-blocks-from", "openmetrics", in, data); code != 0 {
			t.Fatalf("promtool: exit %d\n%s", code, out)
		}
		prom := startPrometheusOn(t, data, 0)
		sameSamples(t, "raw samples in Prometheus", promRaw(t, prom.URL, selector, end.Sub(start), end),
			parseJSONLines(t, exportOf(t, b.URL, selector, start.Add(time.Millisecond), end, "")), 0)
		for _, q := range panelQueries(t, "10s") {
			t.Run(q.name, func(t *testing.T) {
				got, err := rangeQuery(b.URL, q.expr, start, end, time.Second)
				if err != nil {
					t.Fatalf("binary: %v\n%s", err, q.expr)
				}
				want, err := rangeQuery(prom.URL, q.expr, start, end, time.Second)
				if err != nil {
					t.Fatalf("prometheus: %v\n%s", err, q.expr)
				}
				exactRanges(t, q.expr, byTime(got), byTime(want))
			})
		}
	})

	t.Run("JSON lines into VictoriaMetrics", func(t *testing.T) {
		vm := startVictoriaMetrics(t)
		lines := exportOf(t, b.URL, selector, from, end, "")
		resp, err := httpClient.Post(vm.URL+"/api/v1/import", "application/stream+json", bytes.NewReader(lines))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("import: %d", resp.StatusCode)
		}
		if !testkit.StatusOK(vm.URL + "/internal/force_flush") {
			t.Fatal("force_flush failed")
		}
		// VictoriaMetrics keeps a value as a decimal of about 15 significant digits.
		sameSamples(t, "raw samples in VictoriaMetrics", parseJSONLines(t, exportOf(t, vm.URL, selector, from, end, "")), parseJSONLines(t, lines), 1e-12)
		// The one documented difference of MetricsQL: rate and increase take the last sample
		// before the window and do not extrapolate, so rates differ by about one sample's
		// change over the window; everything else is the same evaluation over the same samples.
		for _, q := range panelQueries(t, "10s") {
			t.Run(q.name, func(t *testing.T) {
				got, err := rangeQuery(b.URL, q.expr, start, end, time.Second)
				if err != nil {
					t.Fatalf("binary: %v\n%s", err, q.expr)
				}
				want, err := rangeQuery(vm.URL, q.expr, start, end, time.Second)
				if err != nil {
					t.Fatalf("victoria-metrics: %v\n%s", err, q.expr)
				}
				compareRanges(t, q.expr, byTime(got), byTime(want), start.Unix(), end.Unix())
			})
		}
	})
}

// startVictoriaMetricsAt runs VictoriaMetrics on a given data directory and port, so that a
// test can stop it and start it again where it was.
func startVictoriaMetricsAt(t *testing.T, dir string, port int) *vmServer {
	t.Helper()
	bin := requireTool(t, "victoria-metrics")
	p := startProcess(t, "victoria-metrics", bin, "-storageDataPath="+dir, fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
		"-retentionPeriod=1d", "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=WARN")
	s := &vmServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	p.WaitFor(t, "victoria-metrics /health", 30*time.Second, func() bool { return testkit.StatusOK(s.URL + "/health") })
	return s
}

// stopGracefully sends SIGTERM and waits for the process to exit.
func stopGracefully(t *testing.T, p *testkit.Process) {
	t.Helper()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM", p.Name)
	}
}

// remoteWriteCounter reads one of the binary's remote-write series for the receiver url.
func remoteWriteCounter(t *testing.T, b *gfBinary, family, receiver, extra string) float64 {
	t.Helper()
	resp, err := httpClient.Get(b.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := family + `{url="` + receiver + `"` + extra + `} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// Remote write into a real Prometheus and a real VictoriaMetrics delivers the history's
// samples exactly; then both receivers stop, Prometheus for less than the queue holds and
// VictoriaMetrics for more: Prometheus ends with every sample, VictoriaMetrics with every
// sample but those counted as dropped. (The 30 s outage is scaled down with the
// queue's bound: 1,000 samples, about 3.5 s of the binary's series at 1 s sampling.)
func TestRemoteWriteIntoPrometheusAndVictoriaMetrics(t *testing.T) {
	promDir, promPort, vmDir, vmPort := t.TempDir(), freePort(t), t.TempDir(), freePort(t)
	prom := startPrometheusOn(t, promDir, promPort, "--web.enable-remote-write-receiver")
	vm := startVictoriaMetricsAt(t, vmDir, vmPort)
	promURL, vmURL := prom.URL+"/api/v1/write", vm.URL+"/api/v1/write"
	b := startBinary(t, "--history-interval", "1s", "--remote-write-url", promURL, "--remote-write-url", vmURL, "--remote-write-queue", "1000")
	selector := `{job="gemini-flow-backend"}`
	drained := func(receiver string) func() bool {
		return func() bool {
			return remoteWriteCounter(t, b, "gemini_flow_remote_write_queue_samples", receiver, "") == 0
		}
	}
	vmExport := func(from, to time.Time) rawSamples {
		if !testkit.StatusOK(vm.URL + "/internal/force_flush") {
			t.Fatal("force_flush failed")
		}
		return parseJSONLines(t, exportOf(t, vm.URL, selector, from, to, ""))
	}

	runTraffic(t, b, 6*time.Second)
	end := time.Now().Truncate(time.Second).Add(-time.Second + 500*time.Millisecond)
	start := end.Add(-5 * time.Second)
	time.Sleep(2 * time.Second)
	b.WaitFor(t, "queues to drain", 20*time.Second, func() bool { return drained(promURL)() && drained(vmURL)() })
	want := parseJSONLines(t, exportOf(t, b.URL, selector, start.Add(time.Millisecond), end, ""))
	if want.count() < 500 {
		t.Fatalf("only %d samples in the window", want.count())
	}
	sameSamples(t, "Prometheus", promRaw(t, prom.URL, selector, end.Sub(start), end), want, 0)
	sameSamples(t, "VictoriaMetrics", vmExport(start.Add(time.Millisecond), end), want, 1e-12)

	// The outage: both receivers stop; Prometheus comes back after 2 s, VictoriaMetrics after 6 s.
	down := time.Now()
	// Stopped as a service stops them: a SIGKILL would lose what each had acknowledged but
	// not yet written out of its own buffers.
	stopGracefully(t, prom.proc)
	stopGracefully(t, vm.proc)
	traffic := startSteadyTraffic(b.URL, 25*time.Millisecond, mixedTraffic(createWorkflow(t, b.URL, "outage", 2)))
	time.Sleep(2 * time.Second)
	prom = startPrometheusOn(t, promDir, promPort, "--web.enable-remote-write-receiver")
	time.Sleep(4 * time.Second)
	vm = startVictoriaMetricsAt(t, vmDir, vmPort)
	up := time.Now()
	time.Sleep(time.Second)
	if _, errs := traffic.finish(); len(errs) > 0 {
		t.Fatalf("traffic errors: %v", errs)
	}
	b.WaitFor(t, "queues to drain after the outage", 30*time.Second, func() bool { return drained(promURL)() && drained(vmURL)() })
	from, to := down.Add(-2*time.Second).Truncate(time.Second), up.Truncate(time.Second)
	// Prometheus's range selector covers (lo, hi]; rule results carry their evaluation's
	// milliseconds, so the export reads exactly that range.
	lo, hi := from.Add(-500*time.Millisecond), to.Add(500*time.Millisecond)
	sameSamples(t, "Prometheus after a 2 s outage", promRaw(t, prom.URL, selector, hi.Sub(lo), hi),
		parseJSONLines(t, exportOf(t, b.URL, selector, lo.Add(time.Millisecond), hi, "")), 0)
	want = parseJSONLines(t, exportOf(t, b.URL, selector, from, to, ""))

	got := vmExport(from, to)
	dropped := remoteWriteCounter(t, b, "gemini_flow_remote_write_samples_dropped_total", vmURL, `,reason="queue_full"`)
	if remoteWriteCounter(t, b, "gemini_flow_remote_write_samples_dropped_total", promURL, `,reason="queue_full"`) != 0 {
		t.Error("samples dropped for Prometheus, whose outage the queue held")
	}
	missing := 0
	for k, ws := range want {
		for ts, w := range ws {
			if g, ok := got[k][ts]; !ok {
				missing++
			} else if math.Abs(g-w) > 1e-12*math.Abs(w) {
				t.Errorf("%s at %d: %v, want %v", k, ts, g, w)
			}
		}
	}
	t.Logf("VictoriaMetrics after a 6 s outage: %d of %d samples, %v counted as dropped", want.count()-missing, want.count(), dropped)
	if missing == 0 || dropped == 0 {
		t.Fatalf("the outage should outgrow the queue: %d missing, %v dropped", missing, dropped)
	}
	// Samples before the window (sent before the outage) never drop, so every missing
	// sample of the window is one of those counted.
	if float64(missing) != dropped {
		t.Errorf("%d samples missing from VictoriaMetrics, %v counted as dropped", missing, dropped)
	}
}

// A backup of the history, taken while the binary serves and samples, restored into a fresh
// data directory, starts and answers the same queries over what it holds.
func TestHistoryBackupRestoresIntoFreshDataDir(t *testing.T) {
	b := startBinary(t, "--history-interval", "1s")
	runTraffic(t, b, 5*time.Second)
	resp, err := httpClient.Get(b.URL + "/api/admin/backup?db=history")
	if err != nil {
		t.Fatal(err)
	}
	backup, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("backup: %d %v", resp.StatusCode, err)
	}
	taken := time.Now()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "history.db"), backup, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := startBinary(t, "--data-dir", dir, "--history-interval", "1s")
	end := taken.Truncate(time.Second).Add(-time.Second + 500*time.Millisecond)
	start := end.Add(-5 * time.Second)
	selector := `{job="gemini-flow-backend",instance="` + b.Addr + `"}`
	want := parseJSONLines(t, exportOf(t, b.URL, selector, start, end, ""))
	if want.count() < 500 {
		t.Fatalf("only %d samples in the window", want.count())
	}
	sameSamples(t, "restored history", parseJSONLines(t, exportOf(t, restored.URL, selector, start, end, "")), want, 0)
	for _, q := range panelQueries(t, "2s")[:6] {
		got, err := rangeQuery(restored.URL, q.expr, start, end, time.Second)
		if err != nil {
			t.Fatalf("restored: %v\n%s", err, q.expr)
		}
		orig, err := rangeQuery(b.URL, q.expr, start, end, time.Second)
		if err != nil {
			t.Fatalf("original: %v\n%s", err, q.expr)
		}
		// The restored binary's own samples carry its own instance label: keep the original's.
		for k := range byTime(got) {
			if strings.Contains(k, restored.Addr) {
				t.Fatalf("query over the restored window answered with the new instance: %s", k)
			}
		}
		exactRanges(t, q.expr, byTime(got), byTime(orig))
	}
}
