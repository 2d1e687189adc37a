package promapi

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// FuzzQueryRequest sends arbitrary query, time and step parameters through the query
// handlers: every answer is Prometheus's envelope with a status it uses, never a panic.
func FuzzQueryRequest(f *testing.F) {
	for _, s := range [][4]string{
		{`sum(rate(demo_requests_total[1m]))`, "1700000000", "1700000020", "10"},
		{`sum_over_time(vector(1)[7d:1ms])`, "1700000000", "1700000000", "1"},
		{`max_over_time(x[1h:])`, "-1e15", "1e20", "0.001"},
		{`((((1))))+1*2`, "2023-11-14T22:13:30Z", "NaN", "1m"},
		{`{__name__=~"(a+)+b"}`, "", "", "-5"},
		{`label_replace(up, "a", "$1", "b", "(.*)") @ end() offset -1h`, "0", "1", "1e-9"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	db := openFixtureHistory(f)
	api := New(Options{Queryable: db, Timeout: 2 * time.Second, MaxSamples: 100_000, Limits: Limits{MaxPoints: 100_000}})
	routes := map[string]fasthttp.RequestHandler{}
	for _, r := range api.Routes() {
		routes[r.Path] = r.Handler
	}
	f.Fuzz(func(t *testing.T, query, start, end, step string) {
		for _, path := range []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/format_query", "/api/v1/query_exemplars"} {
			args := url.Values{"query": {query}, "time": {start}, "start": {start}, "end": {end}, "step": {step}}
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(path + "?" + args.Encode())
			routes[path](&ctx)
			switch ctx.Response.StatusCode() {
			case 200, 400, 422, 503:
			default:
				t.Fatalf("%s %v: status %d: %s", path, args, ctx.Response.StatusCode(), ctx.Response.Body())
			}
			var env struct {
				Status string `json:"status"`
			}
			if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil || (env.Status != "success" && env.Status != "error") {
				t.Fatalf("%s %v: not an envelope (%v): %s", path, args, err, ctx.Response.Body())
			}
		}
	})
}
