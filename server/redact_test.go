package server

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKeysNeverLogged: after a battery of malformed and refused requests carrying the API
// key, the metrics key and a mistyped key, no log line at any level holds one of them.
func TestKeysNeverLogged(t *testing.T) {
	const apiKey, metricsKey, typo = "gf-api-key-7f3a9c1d", "gf-metrics-key-55e2b0", "gf-typo-key-0c4d8e"
	var logs lockedBuffer
	ts := newTestServer(t, func(c *Config, d *Deps) {
		c.APIKeys = []string{apiKey}
		c.MetricsKey = metricsKey
		d.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	long := strings.Repeat("a", 9000)
	raw := []string{
		"GET /api/workflows?apiKey=" + apiKey + " HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n",
		"GET /ws?apiKey=" + typo + "&x=" + long + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"GET /api/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + apiKey + "\r\nX-Junk: " + long + "\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + metricsKey + "\r\nContent-Length: x\r\n\r\n",
		"POST /api/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + typo + "\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"GET /api/workflows?apiKey=" + apiKey + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n",
		"G\x00T /?apiKey=" + apiKey + " HTTP/1.1\r\n\r\n",
		"GET /api/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-API-Key: " + typo + "\r\n\r\n",
	}
	// Side by side: a request the server waits on (an unfinished chunked body) ends at the
	// client's deadline.
	var wg sync.WaitGroup
	for _, r := range raw {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(conn, r)
			_, _ = io.Copy(io.Discard, conn)
		}()
	}
	wg.Wait()
	out := logs.String()
	if !strings.Contains(out, `"status":400`) && !strings.Contains(out, `"status":431`) {
		t.Fatalf("the battery produced no refusals to log: %s", out)
	}
	for _, secret := range []string{apiKey, metricsKey, typo} {
		if strings.Contains(out, secret) {
			t.Errorf("a log line holds %q:\n%s", secret, out)
		}
	}
}

func TestSecretPattern(t *testing.T) {
	r := newRedactor(slog.DiscardHandler, nil).(redactor)
	cases := map[string]string{
		`contents: "GET /?apiKey=abc&b=1 HTTP/1.1\r\nAuthorization: Bearer xyz\r\nHost: h"`: `contents: "GET /?apiKey=[REDACTED]&b=1 HTTP/1.1\r\nAuthorization: [REDACTED]\r\nHost: h"`,
		"x-api-key:  k1\r\nother: v": "x-api-key:  [REDACTED]\r\nother: v",
		"/api/workflows/{id}":        "/api/workflows/{id}",
	}
	for in, want := range cases {
		if got := r.scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}
