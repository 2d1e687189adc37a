package server

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/store"
)

const descriptorChildEnv = "GEMINI_FLOW_TEST_DESCRIPTOR_CHILD"

// TestDescriptorExhaustionChild is the server under test of TestDescriptorExhaustion, run in a
// child process with 64 file descriptors: it prints its address and serves until stdin closes.
// Run directly it does nothing.
func TestDescriptorExhaustionChild(t *testing.T) {
	if os.Getenv(descriptorChildEnv) == "" {
		return
	}
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Version: "test"}, Deps{Store: st, Logger: slog.New(slog.DiscardHandler)})
	srv.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 64, Max: 64}); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := srv.Serve(ln)
		fmt.Printf("serve returned: %v\n", err)
		os.Exit(3)
	}()
	fmt.Printf("addr %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// TestDescriptorExhaustion: one client holding more connections than the process has
// descriptors does not stop the server; once it lets go, requests are answered again.
func TestDescriptorExhaustion(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDescriptorExhaustionChild$")
	cmd.Env = append(os.Environ(), descriptorChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan string, 1)
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "addr ") {
		t.Fatalf("child did not start: %q", lines.Text())
	}
	addr := strings.TrimPrefix(lines.Text(), "addr ")
	go func() {
		var rest strings.Builder
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
		_ = cmd.Wait()
		exited <- rest.String()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})

	var hog []net.Conn
	for range 120 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		hog = append(hog, c)
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case out := <-exited:
		t.Fatalf("the server stopped while out of descriptors: %s", out)
	default:
	}
	for _, c := range hog {
		c.Close()
	}

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case out := <-exited:
			t.Fatalf("the server stopped after the hog left: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer after the hog left: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
