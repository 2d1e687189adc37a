package export_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/export"
	"github.com/valyala/fasthttp"
)

func serve(h fasthttp.RequestHandler, query string) (int, string, string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/api/v1/export?" + query)
	h(&ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Header.ContentType()), string(ctx.Response.Body())
}

func TestHandlerBadInput(t *testing.T) {
	d := openHistory(t, 3)
	h := export.Handler(export.HandlerOptions{Queryable: d, Metadata: metadataOf(d)})
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name, query, inError string
	}{
		{"no match[]", q(), `"match[]"`},
		{"empty match[]", q("match[]", ""), `"match[]"`},
		{"match[] matching everything", q("match[]", `{job=~".*"}`), "non-empty matcher"},
		{"invalid match[]", q("match[]", `up{`), `"match[]"`},
		{"unknown format", q("match[]", "up", "format", "csv"), `"format"`},
		{"start not a time", q("match[]", "up", "start", "yesterday"), `"start"`},
		{"absurd start", q("match[]", "up", "start", "1e300"), `"start"`},
		{"absurd end", q("match[]", "up", "end", "-9e18"), `"end"`},
		{"NaN end", q("match[]", "up", "end", "NaN"), `"end"`},
		{"end before start", q("match[]", "up", "start", "100", "end", "99"), `"end"`},
		{"too many match[]", strings.Repeat("match[]=up&", 65), `"match[]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype, body := serve(h, tt.query)
			var e struct{ Status, ErrorType, Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("%d %s: %v", status, body, err)
			}
			if status != fasthttp.StatusBadRequest || ctype != "application/json" || e.Status != "error" || e.ErrorType != "bad_data" || !strings.Contains(e.Error, tt.inError) {
				t.Fatalf("got %d %s %+v, want 400 bad_data naming %s", status, ctype, e, tt.inError)
			}
		})
	}
}

func TestHandlerStreams(t *testing.T) {
	d := openHistory(t, 3)
	h := export.Handler(export.HandlerOptions{Queryable: d, Metadata: metadataOf(d), Now: func() time.Time { return time.UnixMilli(t0 + step) }})
	tests := []struct {
		query, ctype, want string
	}{
		{"match[]=app_queue_depth", "application/stream+json; charset=utf-8", `"values":[0.5,0.8333333333333333],"timestamps":[`},
		{"match[]=app_queue_depth&start=0&format=jsonl", "application/stream+json; charset=utf-8", `"values":[0.5,0.8333333333333333],"timestamps":[`},
		{"match[]=app_queue_depth&format=openmetrics&end=" + time.UnixMilli(t0).UTC().Format(time.RFC3339), "application/openmetrics-text; version=1.0.0; charset=utf-8",
			"# TYPE app_queue_depth gauge\n# HELP app_queue_depth Items waiting.\n" + `app_queue_depth{instance="i:1",job="j",path="x\\y \"z\""} 0.5 1767312000` + "\n# EOF\n"},
	}
	for _, tt := range tests {
		status, ctype, body := serve(h, tt.query)
		if status != fasthttp.StatusOK || ctype != tt.ctype || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s\n%s\nwant %q", tt.query, status, ctype, body, tt.want)
		}
	}
}

func TestHandlerHistoryOff(t *testing.T) {
	status, _, body := serve(export.Handler(export.HandlerOptions{}), "match[]=up")
	if status != fasthttp.StatusServiceUnavailable || !strings.Contains(body, `"errorType":"unavailable"`) {
		t.Fatalf("%d %s", status, body)
	}
}
