package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/store"
)

// TestExposureWarned: a bind beyond loopback without keys is logged at start and listed in
// /health; loopback, or keys, say nothing.
func TestExposureWarned(t *testing.T) {
	cases := []struct {
		name       string
		addr       string
		apiKey     string
		metricsKey string
		warnings   int
	}{
		{"network, no keys", "0.0.0.0:0", "", "", 2},
		{"network, api key only", "0.0.0.0:0", "k1", "", 1},
		{"network, both keys", "0.0.0.0:0", "k1", "m1", 0},
		{"loopback, no keys", "127.0.0.1:0", "", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			ts := newTestServer(t, func(cfg *Config, d *Deps) {
				if c.apiKey != "" {
					cfg.APIKeys = []string{c.apiKey}
				}
				cfg.MetricsKey = c.metricsKey
				d.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			// A second listener of the same server, on the case's address.
			ln, err := net.Listen("tcp", c.addr)
			if err != nil {
				t.Fatal(err)
			}
			srv := New(ts.Server.cfg, ts.Server.deps)
			srv.SetReady(true)
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
			port := ln.Addr().(*net.TCPAddr).Port
			resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/health")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var rep struct{ Warnings []string }
			if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Warnings) != c.warnings {
				t.Errorf("/health warnings %q, want %d", rep.Warnings, c.warnings)
			}
			if got := strings.Count(logs.String(), "level=WARN msg=\"listening beyond loopback"); got != c.warnings {
				t.Errorf("%d start-up warnings, want %d: %s", got, c.warnings, logs.String())
			}
		})
	}
}

// TestHealthDegradedOnOlderMeta: a database opened from its older meta page makes /health
// say degraded, naming why.
func TestHealthDegradedOnOlderMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), store.FileName)
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var txid int
	_ = db.View(func(tx *bolt.Tx) error { txid = tx.ID(); return nil })
	db.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The newest meta page (txid%2) loses its checksum.
	if _, err := f.WriteAt(make([]byte, 8), int64(txid%2)*int64(os.Getpagesize())+16+56); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ts := newTestServer(t, func(_ *Config, d *Deps) {
		opened, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { opened.Close() })
		d.Store = opened
	})
	status, _, body := ts.do(t, http.MethodGet, "/health", "", nil)
	if status != http.StatusOK || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, "meta page") {
		t.Fatalf("/health: %d %s", status, body)
	}
}
