// Command loadgen starts a gemini-flow binary on a fresh data directory, seeds it with
// workflows through the API, restarts it on that file (time to /livez, idle memory, file
// size) and measures it under a bounded load: requests per second, p50 and p99 latency, and
// resident memory.
//
//	go build -o /tmp/gemini-flow . && go run ./cmd/loadgen -bin /tmp/gemini-flow
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	bin := flag.String("bin", "", "path of the gemini-flow binary to measure")
	conns := flag.Int("c", 32, "concurrent connections")
	duration := flag.Duration("d", 10*time.Second, "duration of each scenario")
	seed := flag.Int("seed", 1000, "workflows stored before the reads")
	logLevel := flag.String("log-level", "info", "the server's --log-level (its request log goes to /dev/null)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -bin is required")
		os.Exit(2)
	}
	if err := run(*bin, *logLevel, *conns, *duration, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(bin, logLevel string, conns int, duration time.Duration, seed int) error {
	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	client := &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

	srv, _, err := start(bin, addr, data, logLevel, client)
	if err != nil {
		return err
	}
	fmt.Printf("idle RSS, empty: %.1f MB (%s)\n", rssMB(srv.Process.Pid), rssParts(srv.Process.Pid))
	began := time.Now()
	id, err := seedWorkflows(client, conns, seed)
	if err != nil {
		stop(srv)
		return err
	}
	fmt.Printf("seeded %d workflows in %s (%.0f/s); RSS %.1f MB\n", seed, time.Since(began).Round(time.Millisecond),
		float64(seed)/time.Since(began).Seconds(), rssMB(srv.Process.Pid))
	stop(srv)

	// The figures that grow with the data: a restart on the seeded file.
	if fi, err := os.Stat(filepath.Join(data, "gemini-flow.db")); err == nil {
		fmt.Printf("file size: %.1f MB\n", float64(fi.Size())/1e6)
	}
	srv, startup, err := start(bin, addr, data, logLevel, client)
	if err != nil {
		return err
	}
	defer stop(srv)
	pid := srv.Process.Pid
	fmt.Printf("start to /livez: %s\n", startup.Round(time.Millisecond))
	time.Sleep(time.Second)
	fmt.Printf("idle RSS, %d workflows: %.1f MB (%s); %s\n", seed, rssMB(pid), rssParts(pid), heapOf(client))

	fmt.Printf("%-22s %10s %10s %10s %10s %8s\n", "scenario", "req/s", "p50", "p99", "maxRSS MB", "errors")
	var n atomic.Int64
	scenarios := []struct {
		name   string
		method string
		path   func() string
		body   func() []byte
		want   int
	}{
		{"GET one workflow", "GET", func() string { return "/api/workflows/" + id }, nil, 200},
		{"GET list (50)", "GET", func() string { return "/api/workflows?limit=50" }, nil, 200},
		{"GET search (1 %)", "GET", func() string { return "/api/workflows?limit=50&search=Quarterly" }, nil, 200},
		{"GET tags (1 %)", "GET", func() string { return "/api/workflows?limit=50&tags=finance" }, nil, 200},
		{"POST workflow", "POST", func() string { return "/api/workflows" }, func() []byte { return createBody(int(n.Add(1)) + seed) }, 201},
	}
	for _, s := range scenarios {
		rps, p50, p99, errs, maxRSS := measure(client, conns, duration, pid, s.method, s.path, s.body, s.want)
		fmt.Printf("%-22s %10.0f %10s %10s %10.1f %8d\n", s.name, rps, p50, p99, maxRSS, errs)
	}
	fmt.Printf("after the load: RSS %.1f MB (%s)\n", rssMB(pid), rssParts(pid))
	return nil
}

// start runs the binary on the data directory and returns it once /livez answers, with how
// long that took.
func start(bin, addr, data, logLevel string, client *fasthttp.HostClient) (*exec.Cmd, time.Duration, error) {
	cmd := exec.Command(bin, "--addr", addr, "--data-dir", data, "--rate-limit", "0", "--log-level", logLevel)
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	if err := waitFor(client, "/livez"); err != nil {
		stop(cmd)
		return nil, 0, err
	}
	took := time.Since(began)
	if err := waitFor(client, "/readyz"); err != nil {
		stop(cmd)
		return nil, 0, err
	}
	return cmd, took, nil
}

// stop ends the binary as an operator would, and waits for it.
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// seedWorkflows creates n workflows through the API from conns workers and returns the id of
// one of them.
func seedWorkflows(client *fasthttp.HostClient, conns, n int) (string, error) {
	var next atomic.Int64
	var id atomic.Value
	errs := make(chan error, conns)
	for range conns {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					errs <- nil
					return
				}
				status, body, err := do(client, "POST", "/api/workflows", createBody(i))
				if err != nil || status != 201 {
					errs <- fmt.Errorf("seed create: %d %v", status, err)
					return
				}
				if i == n/2 || (n == 1 && i == 0) {
					var env struct {
						Data struct {
							Metadata struct{ ID string } `json:"metadata"`
						} `json:"data"`
					}
					if err := json.Unmarshal(body, &env); err != nil {
						errs <- err
						return
					}
					id.Store(env.Data.Metadata.ID)
				}
			}
		}()
	}
	var first error
	for range conns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return "", first
	}
	got, _ := id.Load().(string)
	if got == "" {
		return "", fmt.Errorf("no workflow seeded")
	}
	return got, nil
}

// createBody is the i-th workflow created: two nodes; one in a hundred has "quarterly" in its
// description and the tag "Finance", the 1 % that the search and tag scenarios select.
func createBody(i int) []byte {
	desc, tags := "bench", `"load"`
	if i%100 == 0 {
		desc, tags = "Quarterly bench", `"load","Finance"`
	}
	return []byte(fmt.Sprintf(`{"name":"load %d","description":%q,"tags":[%s],"nodes":[{"id":"a","position":{"x":0,"y":0},"data":{"label":"Start"}},{"id":"b","position":{"x":100,"y":0},"data":{"label":"Next"}}],"edges":[{"id":"e","source":"a","target":"b"}]}`, i, desc, tags))
}

// waitFor polls path until it answers 200.
func waitFor(client *fasthttp.HostClient, path string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if status, _, err := do(client, "GET", path, nil); err == nil && status == 200 {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("server: no 200 from %s", path)
}

func do(client *fasthttp.HostClient, method, path string, body []byte) (int, []byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + client.Addr + path)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(body)
	}
	if err := client.Do(req, resp); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), bytes.Clone(resp.Body()), nil
}

// measure runs one scenario on conns workers for d and samples the server's RSS meanwhile.
func measure(client *fasthttp.HostClient, conns int, d time.Duration, pid int, method string, path func() string, body func() []byte, want int) (rps float64, p50, p99 time.Duration, errs int64, maxRSS float64) {
	var errors atomic.Int64
	lat := make([][]time.Duration, conns)
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			for time.Now().Before(stop) {
				req.Reset()
				req.Header.SetMethod(method)
				req.SetRequestURI("http://" + client.Addr + path())
				if body != nil {
					req.Header.SetContentType("application/json")
					req.SetBody(body())
				}
				start := time.Now()
				err := client.Do(req, resp)
				lat[w] = append(lat[w], time.Since(start))
				if err != nil || resp.StatusCode() != want {
					errors.Add(1)
				}
			}
		}(w)
	}
	done := make(chan struct{})
	var peak float64
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
				peak = max(peak, rssMB(pid))
			}
		}
	}()
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) == 0 {
		return 0, 0, 0, errors.Load(), peak
	}
	return float64(len(all)) / elapsed.Seconds(), all[len(all)/2], all[len(all)*99/100], errors.Load(), max(peak, rssMB(pid))
}

// heapOf reads the server's own heap gauges from /metrics: what the Go heap holds in live
// objects, and in spans in use.
func heapOf(client *fasthttp.HostClient) string {
	_, body, err := do(client, "GET", "/metrics", nil)
	if err != nil {
		return "heap: " + err.Error()
	}
	read := func(name string) float64 {
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f / 1e6
			}
		}
		return -1
	}
	return fmt.Sprintf("heap alloc %.1f MB, heap in use %.1f MB",
		read("gemini_flow_go_memstats_heap_alloc_bytes"), read("gemini_flow_go_memstats_heap_inuse_bytes"))
}

// rssMB reads the resident set size of a process from /proc.
func rssMB(pid int) float64 { return statusMB(pid, "VmRSS:") }

// rssParts reads the anonymous and file-backed parts of the resident set (bbolt's mapped file
// pages are file-backed: the kernel may drop them under pressure).
func rssParts(pid int) string {
	return fmt.Sprintf("anon %.1f MB, file %.1f MB", statusMB(pid, "RssAnon:"), statusMB(pid, "RssFile:"))
}

// statusMB reads one kB field of /proc/<pid>/status in MB.
func statusMB(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
