package export_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/export"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/valyala/fasthttp"
)

// Any query string gets a 400 in Prometheus's error shape or a body its format's reader
// takes: JSON lines, or OpenMetrics that Prometheus's parser reads to # EOF.
func FuzzExportRequest(f *testing.F) {
	for _, s := range []string{
		"match[]=app_queue_depth", "match[]={__name__=~\"app_.*\"}&format=openmetrics", "match[]=up&start=1e300",
		"match[]={}&format=jsonl", "match[]=app_requests_total&start=1767312000&end=2026-01-02T00:01:00Z",
		"format=x", "match[]=a&match[]=b&end=-1", "match[]={route=\"a\\\"\"}",
	} {
		f.Add(s)
	}
	d := openHistory(f, 12)
	h := export.Handler(export.HandlerOptions{Queryable: d, Metadata: metadataOf(d), Now: func() time.Time { return time.UnixMilli(t0 + 20*step) }})
	f.Fuzz(func(t *testing.T, query string) {
		status, ctype, body := serve(h, query)
		switch {
		case status == fasthttp.StatusBadRequest:
			var e struct{ Status, ErrorType, Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != "error" || e.ErrorType != "bad_data" {
				t.Fatalf("400 body %q", body)
			}
		case status != fasthttp.StatusOK:
			t.Fatalf("status %d: %s", status, body)
		case strings.HasPrefix(ctype, "application/openmetrics-text"):
			p := textparse.NewOpenMetricsParser([]byte(body), labels.NewSymbolTable())
			for {
				if _, err := p.Next(); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("OpenMetrics: %v\n%s", err, body)
				}
			}
		default:
			sc := bufio.NewScanner(strings.NewReader(body))
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				if !json.Valid(sc.Bytes()) {
					t.Fatalf("not a JSON line: %s", sc.Bytes())
				}
			}
		}
	})
}
