package server

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gemini-flow/gemini-flow/history"
)

// TestQueryAPIReadsRollups checks that the server's query API answers a sum of rates from
// the history's rollup. A member that appears inside the window tells the two apart: over
// the members, the engine extrapolates its rate on its own; the rollup counts what it grew.
func TestQueryAPIReadsRollups(t *testing.T) {
	hist, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "gemini-flow", Instance: "test:1",
		Rollups: []history.Rollup{{Metric: "demo_requests_total"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := hist.Close(); err != nil {
			t.Error(err)
		}
	})
	for i := range 6 {
		e := fmt.Sprintf("# TYPE demo_requests_total counter\ndemo_requests_total{route=\"/a\"} %d\n", i+1)
		if i >= 3 {
			e += fmt.Sprintf("demo_requests_total{route=\"/b\"} %d\n", 10+i-3)
		}
		if err := hist.Append(int64(promT0+10*i)*1000, []byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.History = hist })
	at := strconv.Itoa(promT0 + 50)
	for _, tc := range []struct {
		name, method, path, query string
		want                      float64
	}{
		// Ticks 2–5 in the window: the rollup grew 3 → 8, extrapolated by 35/30.
		{"instant, from the rollup", http.MethodGet, "/api/v1/query", `sum(increase(demo_requests_total[35s]))`, 5 * 35.0 / 30},
		{"instant POST, from the rollup", http.MethodPost, "/api/v1/query", `sum(increase(demo_requests_total[35s]))`, 5 * 35.0 / 30},
		{"range, from the rollup", http.MethodGet, "/api/v1/query_range", `sum(increase(demo_requests_total[35s]))`, 5 * 35.0 / 30},
		// Not a rollup's shape: /a grew 3 (×35/30), /b 2 over 20 s (×25/20).
		{"instant, over the members", http.MethodGet, "/api/v1/query", `sum(increase(demo_requests_total[35s]) * 1)`, 3.5 + 2.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"query": {tc.query}, "time": {at}, "start": {at}, "end": {at}, "step": {"10"}}
			var status int
			var body string
			if tc.method == http.MethodPost {
				status, _, body = ts.do(t, tc.method, tc.path, form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			} else {
				status, _, body = ts.do(t, tc.method, tc.path+"?"+form.Encode(), "", nil)
			}
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var env struct {
				Status string
				Data   struct {
					Result []struct {
						Value  [2]any   `json:"value"`
						Values [][2]any `json:"values"`
					} `json:"result"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil || env.Status != "success" {
				t.Fatalf("not a success: %v: %s", err, body)
			}
			res := env.Data
			if len(res.Result) != 1 {
				t.Fatalf("%d series: %s", len(res.Result), body)
			}
			v := res.Result[0].Value[1]
			if len(res.Result[0].Values) == 1 {
				v = res.Result[0].Values[0][1]
			}
			got, err := strconv.ParseFloat(fmt.Sprint(v), 64)
			if err != nil || math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("%s = %v, want %g: %s", tc.query, v, tc.want, body)
			}
		})
	}
}
