package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binaryPath is the gemini-flow binary built once by TestMain.
var binaryPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gemini-flow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binaryPath = filepath.Join(dir, "gemini-flow")
	// Built without -race even when the tests run with it: the binary is a black box here,
	// and a race-instrumented server would make every timing-bound check slower.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", binaryPath, "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the binary failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// goTool finds the go command that runs this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// requireTool returns the path of an external tool, skipping the test when it is missing
// outside CI and failing it in CI.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/bin", name); fileExists(p) {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not installed (set CI to make this a failure)", name)
	}
	t.Fatalf("%s not installed, and CI is set", name)
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// logBuffer collects a process's output for the failure report.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the end of the collected output.
func (b *logBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// process is a started child process that is killed when the test ends.
type process struct {
	name   string
	cmd    *exec.Cmd
	logs   *logBuffer
	exited chan struct{}
}

// startProcess runs path with args, kills it in t.Cleanup and reports its output when the
// test failed.
func startProcess(t *testing.T, name, path string, args ...string) *process {
	t.Helper()
	return startProcessEnv(t, nil, name, path, args...)
}

// startProcessEnv is startProcess with the environment env (nil: this process's).
func startProcessEnv(t *testing.T, env []string, name, path string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(path, args...), logs: &logBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not exit after kill", name)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.logs.tail(6000))
		}
	})
	return p
}

// alive reports whether the process is still running.
func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// httpClient is shared by every test; its timeout bounds each call.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// waitFor polls ok until it returns true or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, p *process, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ok() {
			return
		}
		if p != nil && !p.alive() {
			t.Fatalf("%s exited while waiting for %s:\n%s", p.name, what, p.logs.tail(4000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// statusOK reports whether GET url answers 200.
func statusOK(url string) bool {
	resp, err := httpClient.Get(url)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// gfBinary is a running gemini-flow.
type gfBinary struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT, the instance label of its own history and push
	proc *process
}

// startBinary runs gemini-flow on a free port with its data in a temp dir and waits for
// /readyz. args come after the defaults, so they win (the flag package keeps the last value).
func startBinary(t *testing.T, args ...string) *gfBinary {
	t.Helper()
	all := append([]string{
		"--addr", "127.0.0.1:0",
		"--data-dir", t.TempDir(),
		"--log-format", "json",
		"--log-level", "info",
		"--rate-limit", "0",
		"--history-interval", "0",
	}, args...)
	p := startProcessEnv(t, binaryEnv(), "gemini-flow", binaryPath, all...)
	var addr string
	waitFor(t, "gemini-flow to log its listen address", 20*time.Second, p, func() bool {
		addr = listenAddr(p.logs.String())
		return addr != ""
	})
	b := &gfBinary{URL: "http://" + addr, Addr: addr, proc: p}
	waitFor(t, "gemini-flow /readyz", 20*time.Second, p, func() bool { return statusOK(b.URL + "/readyz") })
	return b
}

// binaryEnv is this process's environment without the variables the binary reads, so that
// only the test's flags configure it (no API key, no Gemini key, no metrics key).
func binaryEnv() []string {
	read := set("GEMINI_FLOW_ADDR", "PORT", "GEMINI_FLOW_DATA_DIR", "API_KEY", "METRICS_KEY", "CORS_ORIGINS",
		"RATE_LIMIT", "HISTORY_INTERVAL", "HISTORY_RETENTION", "PUSH_URL", "PUSH_INTERVAL", "GEMINI_BASE_URL",
		"GEMINI_MODEL", "GEMINI_API_KEY", "GOOGLE_AI_API_KEY", "LOG_FORMAT", "LOG_LEVEL", "MAX_NODES", "MAX_EDGES")
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !read[k] {
			env = append(env, kv)
		}
	}
	return env
}

// listenAddr finds the "listening" log record of the binary and returns its addr attribute.
func listenAddr(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			return rec.Addr
		}
	}
	return ""
}

// promServer is a running Prometheus.
type promServer struct {
	URL  string
	proc *process
}

// startPrometheus runs Prometheus scraping targets (host:port) as job "gemini-flow-backend", the job
// name the binary gives its own history and push, so that both carry the same job and
// instance labels.
func startPrometheus(t *testing.T, targets []string, interval time.Duration) *promServer {
	t.Helper()
	bin := requireTool(t, "prometheus")
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: gemini-flow-backend
    metrics_path: /metrics
    static_configs:
      - targets: [%[2]s]
`, interval, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	p := startProcess(t, "prometheus", bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--log.level=warn",
	)
	s := &promServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	waitFor(t, "prometheus /-/ready", 30*time.Second, p, func() bool { return statusOK(s.URL + "/-/ready") })
	return s
}

// vmServer is a running single-node VictoriaMetrics.
type vmServer struct {
	URL  string
	proc *process
}

// startVictoriaMetrics runs VictoriaMetrics with caching and the query latency offset off, so
// samples are visible to queries as soon as they are ingested.
func startVictoriaMetrics(t *testing.T) *vmServer {
	t.Helper()
	bin := requireTool(t, "victoria-metrics")
	port := freePort(t)
	p := startProcess(t, "victoria-metrics", bin,
		"-storageDataPath="+t.TempDir(),
		fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
		"-retentionPeriod=1d",
		"-search.latencyOffset=0s",
		"-search.disableCache",
		"-loggerLevel=WARN",
	)
	s := &vmServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	waitFor(t, "victoria-metrics /health", 30*time.Second, p, func() bool { return statusOK(s.URL + "/health") })
	return s
}

// startVMAgent runs vmagent scraping target every second as job "gemini-flow-backend" and remote
// writing to remoteWriteURL.
func startVMAgent(t *testing.T, target, remoteWriteURL string) *process {
	t.Helper()
	bin := requireTool(t, "vmagent")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gemini-flow-backend
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "vmagent.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	p := startProcess(t, "vmagent", bin,
		"-promscrape.config="+cfgPath,
		"-remoteWrite.url="+remoteWriteURL,
		"-remoteWrite.tmpDataPath="+filepath.Join(dir, "buffer"),
		"-remoteWrite.flushInterval=500ms",
		fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
		"-loggerLevel=WARN",
	)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "vmagent /health", 30*time.Second, p, func() bool { return statusOK(url + "/health") })
	return p
}

// startScrapedBinary runs the binary with a 1 s history and a Prometheus scraping it every
// second, and waits for the first successful scrape. target is the job/instance selector both
// sides label the binary's series with.
func startScrapedBinary(t *testing.T) (b *gfBinary, prom *promServer, target string) {
	t.Helper()
	b = startBinary(t, "--history-interval", "1s")
	prom = startPrometheus(t, []string{b.Addr}, time.Second)
	target = fmt.Sprintf(`{job="gemini-flow-backend",instance=%q}`, b.Addr)
	waitFor(t, "prometheus to scrape the binary", 20*time.Second, prom.proc, func() bool {
		v, ok := scalarOf(mustInstant(t, prom.URL, "up"+target))
		return ok && v == 1
	})
	return b, prom, target
}
