package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name  string
		args  []string
		env   func(string) string
		check func(t *testing.T, c config)
		err   string // substring of a usage error, "" for success
	}{
		{
			name: "defaults",
			args: []string{"--data-dir", dir},
			env:  env(),
			check: func(t *testing.T, c config) {
				if c.Addr != "127.0.0.1:3001" || c.RateLimit != 600 || c.HistoryInterval != 10*time.Second ||
					c.HistoryRetention != 168*time.Hour || c.PushInterval != 15*time.Second || c.GeminiModel != "gemini-2.0-flash" ||
					len(c.CORSOrigins) != 3 || len(c.APIKeys) != 0 || c.LogFormat != "json" || c.Limits.MaxNodes != 1000 {
					t.Fatalf("defaults: %+v", c)
				}
			},
		},
		{
			name: "hardening defaults and flags",
			args: []string{"--data-dir", dir, "--allowed-hosts", "gf.example, *.lan", "--max-conns-per-ip", "9", "--memory-limit", "64MiB"},
			env:  env("WRITE_TIMEOUT", "5s"),
			check: func(t *testing.T, c config) {
				if len(c.AllowedHosts) != 2 || c.MaxConns != 4096 || c.MaxConnsPerIP != 9 || c.WriteTimeout != 5*time.Second ||
					c.WSMaxClients != 2048 || c.MemoryLimit != 64<<20 {
					t.Fatalf("hardening: %+v", c)
				}
			},
		},
		{name: "bad memory limit", args: []string{"--data-dir", dir, "--memory-limit", "lots"}, env: env(), err: "--memory-limit"},
		{name: "zero max conns", args: []string{"--data-dir", dir, "--max-conns", "0"}, env: env(), err: "--max-conns"},
		{
			name: "env over default",
			args: []string{"--data-dir", dir},
			env:  env("API_KEY", "a, b", "RATE_LIMIT", "5", "HISTORY_INTERVAL", "0", "GOOGLE_AI_API_KEY", "k"),
			check: func(t *testing.T, c config) {
				if len(c.APIKeys) != 2 || c.APIKeys[1] != "b" || c.RateLimit != 5 || c.HistoryInterval != 0 || c.GeminiAPIKey != "k" {
					t.Fatalf("env: %+v", c)
				}
			},
		},
		{
			name: "flag over env",
			args: []string{"--data-dir", dir, "--rate-limit", "7", "--addr", "127.0.0.1:9"},
			env:  env("RATE_LIMIT", "5", "GEMINI_FLOW_ADDR", "127.0.0.1:8"),
			check: func(t *testing.T, c config) {
				if c.RateLimit != 7 || c.Addr != "127.0.0.1:9" {
					t.Fatalf("flags: %+v", c)
				}
			},
		},
		{
			name: "PORT alone sets the port",
			args: []string{"--data-dir", dir},
			env:  env("PORT", "4000"),
			check: func(t *testing.T, c config) {
				if c.Addr != "127.0.0.1:4000" {
					t.Fatalf("addr %q", c.Addr)
				}
			},
		},
		{
			name: "remote write: repeated flag, interval from the history",
			args: []string{"--data-dir", dir, "--history-interval", "2s", "--remote-write-url", "http://a:9090/api/v1/write", "--remote-write-url", "http://b:8428/api/v1/write"},
			env:  env("REMOTE_WRITE_URL", "http://ignored/"),
			check: func(t *testing.T, c config) {
				rw := c.RemoteWrite
				if len(rw.URLs) != 2 || rw.URLs[1] != "http://b:8428/api/v1/write" || rw.Interval != 0 || rw.Queue != 1_000_000 {
					t.Fatalf("remote write: %+v", rw)
				}
			},
		},
		{
			name: "remote write from the environment",
			args: []string{"--data-dir", dir},
			env:  env("REMOTE_WRITE_URL", "http://a/w, http://b/w", "REMOTE_WRITE_INTERVAL", "30s", "REMOTE_WRITE_QUEUE", "500"),
			check: func(t *testing.T, c config) {
				rw := c.RemoteWrite
				if len(rw.URLs) != 2 || rw.Interval != 30*time.Second || rw.Queue != 500 {
					t.Fatalf("remote write: %+v", rw)
				}
			},
		},
		{name: "remote write needs the history", args: []string{"--data-dir", dir, "--history-interval", "0", "--remote-write-url", "http://a/w"}, env: env(), err: "--remote-write-url"},
		{name: "remote write url scheme", args: []string{"--data-dir", dir, "--remote-write-url", "ftp://a/w"}, env: env(), err: "--remote-write-url"},
		{name: "remote write queue", args: []string{"--data-dir", dir, "--remote-write-queue", "0"}, env: env(), err: "--remote-write-queue"},
		{name: "remote write interval", args: []string{"--data-dir", dir, "--remote-write-interval", "-1s"}, env: env(), err: "--remote-write-interval"},
		{name: "bad duration", args: []string{"--data-dir", dir, "--history-interval", "soon"}, env: env(), err: "--history-interval"},
		{name: "bad env duration names the flag", args: []string{"--data-dir", dir}, env: env("PUSH_INTERVAL", "-1s"), err: "--push-interval"},
		{name: "port out of range", args: []string{"--data-dir", dir, "--addr", "127.0.0.1:70000"}, env: env(), err: "--addr"},
		{name: "negative rate limit", args: []string{"--data-dir", dir, "--rate-limit", "-1"}, env: env(), err: "--rate-limit"},
		{name: "unwritable data dir", args: []string{"--data-dir", "/proc/nope"}, env: env(), err: "--data-dir"},
		{name: "bad log format", args: []string{"--data-dir", dir, "--log-format", "xml"}, env: env(), err: "--log-format"},
		{name: "unknown flag", args: []string{"--nope"}, env: env(), err: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, tt.env, &bytes.Buffer{}, false)
			if tt.err != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("want usage error naming %q, got %v", tt.err, err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error must be one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--version"}, 0, "gemini-flow "},
		{[]string{"--help"}, 0, "-history-interval string"},
		{[]string{"--history-interval", "x"}, 2, "invalid value \"x\" for --history-interval"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(tt.args, func(string) string { return "" }, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.out) {
			t.Errorf("run(%v) = %d, %q %q", tt.args, code, stdout.String(), stderr.String())
		}
	}
}

// TestApplyMemoryLimit: the flag sets the runtime's soft limit unless GOMEMLIMIT already did.
func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	logger := slog.New(slog.DiscardHandler)
	applyMemoryLimit(64<<20, func(string) string { return "" }, logger)
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Errorf("limit %d, want %d", got, 64<<20)
	}
	applyMemoryLimit(32<<20, func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }, logger)
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Errorf("GOMEMLIMIT set: limit changed to %d", got)
	}
}

func TestFlagsHidePasswords(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"http://127.0.0.1:9093":            "http://127.0.0.1:9093",
		"http://u:secret@a:1/x,http://b:2": "http://u:xxxxx@a:1/x,http://b:2",
	} {
		if got := withoutPasswords(in); got != want {
			t.Errorf("withoutPasswords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFlagsOmitKeys(t *testing.T) {
	c, err := parseConfig([]string{"--data-dir", t.TempDir(), "--metrics-key", "m-secret", "--api-key", "a-secret", "--query-max-match", "7"}, func(string) string { return "" }, io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Flags["metrics-key"]; ok {
		t.Error("flags show the metrics key")
	}
	if _, ok := c.Flags["api-key"]; ok {
		t.Error("flags show the API keys")
	}
	if c.Flags["query-max-match"] != "7" || c.QueryLimits.MaxMatchers != 7 || c.QueryCacheBytes != 8<<20 {
		t.Errorf("flags %v, limits %+v, cache %d", c.Flags["query-max-match"], c.QueryLimits, c.QueryCacheBytes)
	}
}
