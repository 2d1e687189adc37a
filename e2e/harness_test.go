package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
)

// requireTool is testkit.RequireTool: skipped outside CI, a failure under CI=true.
func requireTool(t *testing.T, name string) string { return testkit.RequireTool(t, name) }

// startProcess runs an external tool, killed when the test ends.
func startProcess(t *testing.T, name, path string, args ...string) *testkit.Process {
	t.Helper()
	return testkit.Start(t, nil, name, path, args...)
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

// gfBinary is a running gemini-flow.
type gfBinary = testkit.Binary

// startBinary runs gemini-flow on a free port with its data in a temp dir and waits for
// /readyz. args come after the defaults, so they win (the flag package keeps the last value).
func startBinary(t *testing.T, args ...string) *gfBinary {
	t.Helper()
	all := append([]string{
		"--data-dir", t.TempDir(),
		"--rate-limit", "0",
		"--history-interval", "0",
	}, args...)
	return testkit.StartBinary(t, binaryEnv(), all...)
}

// binaryEnv is this process's environment without the variables the binary reads, so that
// only the test's flags configure it (no API key, no Gemini key, no metrics key).
func binaryEnv() []string {
	read := set("GEMINI_FLOW_ADDR", "PORT", "GEMINI_FLOW_DATA_DIR", "API_KEY", "METRICS_KEY", "CORS_ORIGINS",
		"RATE_LIMIT", "HISTORY_INTERVAL", "HISTORY_RETENTION", "PUSH_URL", "PUSH_INTERVAL", "GEMINI_BASE_URL",
		"GEMINI_MODEL", "GEMINI_API_KEY", "GOOGLE_AI_API_KEY", "LOG_FORMAT", "LOG_LEVEL", "MAX_NODES", "MAX_EDGES",
		"RULES_FILE", "ALERTMANAGER_URL", "ALERT_WEBHOOK_URL", "ALERT_RESEND_DELAY", "ALERT_FOR_GRACE_PERIOD",
		"REMOTE_WRITE_URL", "REMOTE_WRITE_INTERVAL", "REMOTE_WRITE_QUEUE")
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !read[k] {
			env = append(env, kv)
		}
	}
	return env
}

// promServer is a running Prometheus.
type promServer struct {
	URL  string
	proc *testkit.Process
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
	p.WaitFor(t, "prometheus /-/ready", 30*time.Second, func() bool { return testkit.StatusOK(s.URL + "/-/ready") })
	return s
}

// vmServer is a running single-node VictoriaMetrics.
type vmServer struct {
	URL  string
	proc *testkit.Process
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
	p.WaitFor(t, "victoria-metrics /health", 30*time.Second, func() bool { return testkit.StatusOK(s.URL + "/health") })
	return s
}

// startVMAgent runs vmagent scraping target every second as job "gemini-flow-backend" and remote
// writing to remoteWriteURL.
func startVMAgent(t *testing.T, target, remoteWriteURL string) *testkit.Process {
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
	p.WaitFor(t, "vmagent /health", 30*time.Second, func() bool { return testkit.StatusOK(url + "/health") })
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
	prom.proc.WaitFor(t, "prometheus to scrape the binary", 20*time.Second, func() bool {
		v, ok := scalarOf(mustInstant(t, prom.URL, "up"+target))
		return ok && v == 1
	})
	return b, prom, target
}
