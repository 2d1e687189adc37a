package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/monitoring"
)

// openExportHistory opens a real history file holding a few ticks of two families.
func openExportHistory(t *testing.T) *history.DB {
	t.Helper()
	db, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: monitoring.Job, Instance: "test:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i, v := range []int{1, 2, 4, 7, 11} {
		e := fmt.Sprintf("# TYPE demo_requests_total counter\ndemo_requests_total{route=\"/a\"} %d\ndemo_requests_total{route=\"/b\"} %d\n# TYPE demo_temp gauge\ndemo_temp %d.5\n", v, 2*v, -v)
		if err := db.Append(int64(1_700_000_000+10*i)*1000, []byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// The export takes the query API's metrics key and streams the history's samples.
func TestExportRoute(t *testing.T) {
	hist := openExportHistory(t)
	ts := newTestServer(t, func(c *Config, d *Deps) { d.History = hist; c.MetricsKey = "mkey" })
	url := "/api/v1/export?match[]=demo_requests_total&start=0"
	tests := []struct {
		name    string
		url     string
		headers map[string]string
		status  int
		inBody  string
	}{
		{"no key", url, nil, 401, ""},
		{"wrong key", url, map[string]string{"Authorization": "Bearer nope"}, 401, ""},
		{"JSON lines", url, map[string]string{"Authorization": "Bearer mkey"}, 200, `{"metric":{"__name__":"demo_requests_total","instance":"test:1","job":"gemini-flow-backend","route":"/a"},"values":[`},
		{"OpenMetrics", url + "&format=openmetrics", map[string]string{"Authorization": "Bearer mkey"}, 200, "# TYPE demo_requests counter\n"},
		{"bad format", url + "&format=csv", map[string]string{"Authorization": "Bearer mkey"}, 400, `"errorType":"bad_data"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := ts.do(t, "GET", tt.url, "", tt.headers)
			if status != tt.status || !strings.Contains(body, tt.inBody) {
				t.Fatalf("%d %s", status, body)
			}
		})
	}
}

// A backup of the history opens as a history holding the same samples.
func TestHistoryBackupRestores(t *testing.T) {
	hist := openExportHistory(t)
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.History = hist })
	status, hdr, body := ts.do(t, "GET", "/api/admin/backup?db=history", "", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Disposition"), `attachment; filename="history-`) {
		t.Fatalf("backup: %d %v", status, hdr)
	}
	path := filepath.Join(t.TempDir(), "history.db")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	restored, err := history.Open(history.Options{Path: path, Job: monitoring.Job, Instance: "test:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	url := "/api/v1/export?match[]={instance=\"test:1\"}&start=0&format=openmetrics"
	_, _, want := ts.do(t, "GET", url, "", nil)
	rs := newTestServer(t, func(_ *Config, d *Deps) { d.History = restored })
	_, _, got := rs.do(t, "GET", url, "", nil)
	if got != want || strings.Count(want, "\n") < 10 {
		t.Fatalf("restored history exports\n%s\nwant\n%s", got, want)
	}
}

func TestBackupDatabaseChoice(t *testing.T) {
	off := newTestServer(t)
	tests := []struct {
		name   string
		ts     *testServer
		query  string
		status int
	}{
		{"app by name", off, "?db=app", 200},
		{"unknown database", off, "?db=users", 400},
		{"history while off", off, "?db=history", 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := tt.ts.do(t, "GET", "/api/admin/backup"+tt.query, "", nil)
			if status != tt.status {
				t.Fatalf("%d %s", status, body)
			}
		})
	}
}
