// Package testkit holds the helpers the tests of several packages share: finding an external
// tool under the CI rule, polling until a condition holds, and building and starting the
// gemini-flow binary on a port it picks itself.
package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireTool returns the path of an external tool. A missing tool skips the test when the
// CI variable is unset and fails it when it is set.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/bin", filepath.Base(name)); isFile(p) {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not installed (CI unset; under CI=true this fails)", name)
	}
	t.Fatalf("%s is required in CI and is not installed", name)
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// PollUntil calls ok every 20 ms until it returns true, failing the test after timeout.
func PollUntil(t testing.TB, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Logs collects a process's output, bounded at 4 MiB.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Logs) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String is everything collected so far.
func (b *Logs) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail is the last n bytes collected.
func (b *Logs) Tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// Process is a started child process, killed when the test ends.
type Process struct {
	Name   string
	Logs   *Logs
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs path with args and environment env (nil: this process's), kills it in
// t.Cleanup and logs the end of its output when the test failed.
func Start(t testing.TB, env []string, name, path string, args ...string) *Process {
	t.Helper()
	p := &Process{Name: name, Logs: &Logs{}, cmd: exec.Command(path, args...), exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout = p.Logs
	p.cmd.Stderr = p.Logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Logs.Tail(6000))
		}
	})
	return p
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not exit after kill", p.Name)
	}
}

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// ExitCode is the exit code once the process has exited, -1 before or after a signal.
func (p *Process) ExitCode() int {
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// WaitFor polls ok like PollUntil, failing early with the process's output if it exits.
func (p *Process) WaitFor(t testing.TB, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	PollUntil(t, what, timeout, func() bool {
		if ok() {
			return true
		}
		if !p.Alive() {
			t.Fatalf("%s exited while waiting for %s:\n%s", p.Name, what, p.Logs.Tail(4000))
		}
		return false
	})
}

// module is the import path the binary is built from.
const module = "github.com/gemini-flow/gemini-flow"

var built = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gemini-flow-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gemini-flow")
	// Built without -race even when the tests run with it: the binary is a black box to its
	// tests, and an instrumented server would only slow every timing-bound check.
	out, err := exec.Command("go", "build", "-o", bin, module).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// BuildBinary builds the gemini-flow binary once per test process and returns its path.
// The caller's test binary must run inside the module.
func BuildBinary() (string, error) { return built() }

// Binary is a running gemini-flow.
type Binary struct {
	*Process
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT, the instance label of its own history and push
}

// StartBinary runs gemini-flow on 127.0.0.1:0 with its log as JSON at info, reads the bound
// address from its "listening" record and waits for /readyz. args come after those defaults
// and win over them; env nil is this process's environment.
func StartBinary(t testing.TB, env []string, args ...string) *Binary {
	t.Helper()
	bin, err := BuildBinary()
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "info"}, args...)
	p := Start(t, env, "gemini-flow", bin, all...)
	var addr string
	p.WaitFor(t, "gemini-flow to log its listen address", 20*time.Second, func() bool {
		addr = ListenAddr(p.Logs.String())
		return addr != ""
	})
	b := &Binary{Process: p, URL: "http://" + addr, Addr: addr}
	p.WaitFor(t, "gemini-flow /readyz", 20*time.Second, func() bool { return StatusOK(b.URL + "/readyz") })
	return b
}

// ListenAddr finds the binary's "listening" log record and returns its addr attribute.
func ListenAddr(logs string) string {
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

var probe = &http.Client{Timeout: 5 * time.Second}

// StatusOK reports whether GET url answers 200.
func StatusOK(url string) bool {
	resp, err := probe.Get(url)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
