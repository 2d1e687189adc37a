package promapi

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/fasthttp/router"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/history"
)

// T0 is the first sample's time in the fixture (Unix seconds).
const promT0 = 1700000000

// promFixture writes three expositions ten seconds apart.
var promFixture = []string{
	`# HELP demo_requests_total Requests served.
# TYPE demo_requests_total counter
demo_requests_total{route="/a"} 1
demo_requests_total{route="/b"} 10
# HELP demo_temp A temperature.
# TYPE demo_temp gauge
demo_temp +Inf
`,
	`# TYPE demo_requests_total counter
demo_requests_total{route="/a"} 2
demo_requests_total{route="/b"} 10
# TYPE demo_temp gauge
demo_temp NaN
`,
	`# TYPE demo_requests_total counter
demo_requests_total{route="/a"} 4
demo_requests_total{route="/b"} 10
# TYPE demo_temp gauge
demo_temp -1.5e-7
`,
}

// openFixtureHistory opens a real history file holding promFixture.
func openFixtureHistory(t testing.TB) *history.DB {
	t.Helper()
	db, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "gemini-flow-backend", Instance: "test:1"})
	if err != nil {
		t.Fatalf("open history: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close history: %v", err)
		}
	})
	for i, e := range promFixture {
		if err := db.Append(int64(promT0+10*i)*1000, []byte(e)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return db
}

// servePromAPI serves the API alone on a loopback port and returns its base URL.
func servePromAPI(t *testing.T, api *API) string {
	t.Helper()
	r := router.New()
	for _, route := range api.Routes() {
		r.GET(route.Path, route.Handler)
		r.POST(route.Path, route.Handler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: r.Handler}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return "http://" + ln.Addr().String()
}

type promCase struct {
	name   string
	method string // GET unless POST
	path   string
	form   url.Values
	status int
	body   string
}

func runPromCases(t *testing.T, base string, cases []promCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var (
				res *http.Response
				err error
			)
			if c.method == http.MethodPost {
				res, err = http.PostForm(base+c.path, c.form)
			} else {
				u := base + c.path
				if len(c.form) > 0 {
					u += "?" + c.form.Encode()
				}
				res, err = http.Get(u)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.status {
				t.Errorf("status %d, want %d (body %s)", res.StatusCode, c.status, b)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if string(b) != c.body {
				t.Errorf("body\n got %s\nwant %s", b, c.body)
			}
		})
	}
}

func TestPromAPIResponses(t *testing.T) {
	db := openFixtureHistory(t)
	base := servePromAPI(t, New(Options{
		Queryable: db,
		Metadata: func() map[string][]Metadata {
			out := map[string][]Metadata{}
			for n, ms := range db.Metadata() {
				for _, m := range ms {
					out[n] = append(out[n], Metadata(m))
				}
			}
			return out
		},
		Build: BuildInfo{Version: "1.2.3", Revision: "abc", GoVersion: "go1.26"},
	}))
	const (
		a    = `{"__name__":"demo_requests_total","instance":"test:1","job":"gemini-flow-backend","route":"/a"}`
		b    = `{"__name__":"demo_requests_total","instance":"test:1","job":"gemini-flow-backend","route":"/b"}`
		temp = `{"__name__":"demo_temp","instance":"test:1","job":"gemini-flow-backend"}`
	)
	runPromCases(t, base, []promCase{
		{name: "instant vector", path: "/api/v1/query", form: url.Values{"query": {`demo_requests_total{route="/a"}`}, "time": {"1700000020"}},
			status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":` + a + `,"value":[1700000020,"4"]}]}}`},
		{name: "instant vector at RFC 3339 time, POST", method: http.MethodPost, path: "/api/v1/query", form: url.Values{"query": {`demo_requests_total`}, "time": {"2023-11-14T22:13:30Z"}},
			status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":` + a + `,"value":[1700000010,"2"]},{"metric":` + b + `,"value":[1700000010,"10"]}]}}`},
		{name: "scalar at fractional time", path: "/api/v1/query", form: url.Values{"query": {`1+1`}, "time": {"1700000020.5"}},
			status: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000020.5,"2"]}}`},
		{name: "range: +Inf, NaN, tiny negative", path: "/api/v1/query_range", form: url.Values{"query": {`demo_temp`}, "start": {"1700000000"}, "end": {"1700000020"}, "step": {"10"}},
			status: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":` + temp + `,"values":[[1700000000,"+Inf"],[1700000010,"NaN"],[1700000020,"-1.5e-07"]]}]}}`},
		{name: "range: duration step, millisecond grid, POST", method: http.MethodPost, path: "/api/v1/query_range", form: url.Values{"query": {`sum(demo_requests_total)`}, "start": {"1700000000.25"}, "end": {"1700000020.25"}, "step": {"10s"}},
			status: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000.250,"11"],[1700000010.250,"12"],[1700000020.250,"14"]]}]}}`},
		{name: "range: limit truncates with a warning", path: "/api/v1/query_range", form: url.Values{"query": {`demo_requests_total`}, "start": {"1700000020"}, "end": {"1700000020"}, "step": {"1"}, "limit": {"1"}},
			status: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":` + a + `,"values":[[1700000020,"4"]]}]},"warnings":["results truncated due to limit"]}`},
		{name: "info annotation", path: "/api/v1/query", form: url.Values{"query": {`rate(demo_temp[1m])`}, "time": {"1700000020"}},
			status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"test:1","job":"gemini-flow-backend"},"value":[1700000020,"-Inf"]}]},"infos":["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"demo_temp\" (1:6)"]}`},
		{name: "series", path: "/api/v1/series", form: url.Values{"match[]": {`demo_requests_total`}},
			status: 200, body: `{"status":"success","data":[` + a + `,` + b + `]}`},
		{name: "series, two selectors merged", path: "/api/v1/series", form: url.Values{"match[]": {`demo_temp`, `{route="/b"}`}, "start": {"1700000000"}, "end": {"1700000020"}},
			status: 200, body: `{"status":"success","data":[` + b + `,` + temp + `]}`},
		{name: "labels", path: "/api/v1/labels", status: 200, body: `{"status":"success","data":["__name__","instance","job","route"]}`},
		{name: "label values", path: "/api/v1/label/route/values", status: 200, body: `{"status":"success","data":["/a","/b"]}`},
		{name: "label values with match[], POST", method: http.MethodPost, path: "/api/v1/label/__name__/values", form: url.Values{"match[]": {`{job="gemini-flow-backend"}`}},
			status: 200, body: `{"status":"success","data":["demo_requests_total","demo_temp"]}`},
		{name: "label values of an absent label", path: "/api/v1/label/nothing/values", status: 200, body: `{"status":"success","data":[]}`},
		{name: "metadata of one metric", path: "/api/v1/metadata", form: url.Values{"metric": {"demo_temp"}},
			status: 200, body: `{"status":"success","data":{"demo_temp":[{"type":"gauge","help":"A temperature.","unit":""}]}}`},
		{name: "buildinfo", path: "/api/v1/status/buildinfo",
			status: 200, body: `{"status":"success","data":{"version":"1.2.3","revision":"abc","branch":"","buildUser":"","buildDate":"","goVersion":"go1.26"}}`},

		{name: "zero step", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"0"}, "end": {"10"}, "step": {"0"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"}`},
		{name: "too many points", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"0"}, "end": {"11001"}, "step": {"1"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`},
		{name: "bad start", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"yesterday"}, "end": {"10"}, "step": {"1"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\": cannot parse \"yesterday\" to a valid timestamp"}`},
		{name: "end before start", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"10"}, "end": {"0"}, "step": {"1"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"end\": end timestamp must not be before start time"}`},
		{name: "bad step", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"0"}, "end": {"10"}, "step": {"often"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"step\": cannot parse \"often\" to a valid duration"}`},
		{name: "bad time", path: "/api/v1/query", form: url.Values{"query": {`1`}, "time": {"noon"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": invalid time value for 'time': cannot parse \"noon\" to a valid timestamp"}`},
		{name: "parse error", path: "/api/v1/query", form: url.Values{"query": {`sum(`}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}`},
		{name: "execution error", path: "/api/v1/query", form: url.Values{"query": {`demo_requests_total + on() demo_requests_total`}, "time": {"1700000020"}},
			status: 422, body: `{"status":"error","errorType":"execution","error":"found duplicate series for the match group {} on the right hand-side of the operation: [{__name__=\"demo_requests_total\", instance=\"test:1\", job=\"gemini-flow-backend\", route=\"/a\"}, {__name__=\"demo_requests_total\", instance=\"test:1\", job=\"gemini-flow-backend\", route=\"/b\"}];many-to-many matching not allowed: matching labels must be unique on one side"}`},
		{name: "timeout", path: "/api/v1/query", form: url.Values{"query": {`demo_temp`}, "timeout": {"0.000000001"}},
			status: 503, body: `{"status":"error","errorType":"timeout","error":"query timed out in query execution"}`},
		{name: "negative timeout", path: "/api/v1/query", form: url.Values{"query": {`1`}, "timeout": {"-1"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"timeout\": timeout must be positive, got -1s"}`},
		{name: "series without match[]", path: "/api/v1/series",
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}`},
		{name: "series matching everything", path: "/api/v1/series", form: url.Values{"match[]": {`{route=""}`}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": match[] must contain at least one non-empty matcher"}`},
		{name: "a UTF-8 label name", path: "/api/v1/label/a-b/values",
			status: 200, body: `{"status":"success","data":[]}`},
		{name: "error text escaped as encoding/json does", path: "/api/v1/query", form: url.Values{"query": {`<b>`}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: unexpected \u003cop:\u003c\u003e"}`},
		{name: "bad limit", path: "/api/v1/labels", form: url.Values{"limit": {"-1"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"limit\": limit must be non-negative"}`},
		{name: "bad metadata limit", path: "/api/v1/metadata", form: url.Values{"limit": {"x"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"limit must be a number"}`},
	})
}

func TestPromAPIHistoryOff(t *testing.T) {
	base := servePromAPI(t, New(Options{Build: BuildInfo{Version: "v"}}))
	const off = `{"status":"error","errorType":"unavailable","error":"the metrics history is turned off (history interval 0)"}`
	runPromCases(t, base, []promCase{
		{name: "query", path: "/api/v1/query", form: url.Values{"query": {`up`}}, status: 503, body: off},
		{name: "query_range", path: "/api/v1/query_range", form: url.Values{"query": {`up`}, "start": {"0"}, "end": {"1"}, "step": {"1"}}, status: 503, body: off},
		{name: "series", path: "/api/v1/series", form: url.Values{"match[]": {`up`}}, status: 503, body: off},
		{name: "labels", path: "/api/v1/labels", status: 503, body: off},
		{name: "label values", path: "/api/v1/label/job/values", status: 503, body: off},
		{name: "bad params still bad_data", path: "/api/v1/query_range", form: url.Values{"query": {`up`}, "start": {"0"}, "end": {"1"}, "step": {"-1"}},
			status: 400, body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"}`},
		{name: "metadata still answers", path: "/api/v1/metadata", status: 200, body: `{"status":"success","data":{}}`},
		{name: "buildinfo still answers", path: "/api/v1/status/buildinfo", status: 200,
			body: `{"status":"success","data":{"version":"v","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}}`},
	})
}

// TestPromAPIEncoding compares the writers with the bytes Prometheus's codec produces.
func TestPromAPIEncoding(t *testing.T) {
	f := func(v parser.Value, want string) {
		t.Helper()
		st := jsonAPI.BorrowStream(nil)
		defer jsonAPI.ReturnStream(st)
		writeQueryData(st, v)
		if got := string(st.Buffer()); got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
	ls := labels.FromStrings("__name__", "x", "path", `<a href="q">&</a>`, "utf8", "ünï\u2028")
	// Metric labels are written unescaped, as Prometheus's codec writes them.
	const lsJSON = "{\"__name__\":\"x\",\"path\":\"<a href=\\\"q\\\">&</a>\",\"utf8\":\"ünï\u2028\"}"
	f(promql.Matrix{}, `{"resultType":"matrix","result":[]}`)
	f(promql.Vector{}, `{"resultType":"vector","result":[]}`)
	f(promql.Matrix{{Metric: ls, Floats: []promql.FPoint{{T: 1, F: math.Inf(1)}, {T: -1500, F: math.Inf(-1)}, {T: 1700000000123, F: math.NaN()}, {T: 10, F: 1e21}, {T: 20, F: 0.1}}}},
		`{"resultType":"matrix","result":[{"metric":`+lsJSON+`,"values":[[0.001,"+Inf"],[-1.500,"-Inf"],[1700000000.123,"NaN"],[0.010,"1e+21"],[0.020,"0.1"]]}]}`)
	f(promql.Matrix{{Metric: labels.EmptyLabels()}}, `{"resultType":"matrix","result":[{"metric":{}}]}`)
	f(promql.Vector{{Metric: labels.FromStrings("a", "b"), T: 1700000000000, F: 123456789.5}, {Metric: labels.EmptyLabels(), T: 5, F: -0.000001}, {Metric: labels.EmptyLabels(), T: 6, F: -0.000000999}},
		`{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000,"123456789.5"]},{"metric":{},"value":[0.005,"-0.000001"]},{"metric":{},"value":[0.006,"-9.99e-07"]}]}`)
	f(promql.Scalar{T: 1700000000500, V: math.Inf(1)}, `{"resultType":"scalar","result":[1700000000.5,"+Inf"]}`)
	f(promql.String{T: 1000, V: "hi"}, `{"resultType":"string","result":[1,"hi"]}`)
}

// TestPromAPIErrorTypes checks the mapping from engine and storage errors to errorType and
// HTTP status.
func TestPromAPIErrorTypes(t *testing.T) {
	f := func(err error, typ errorType, status int) {
		t.Helper()
		pe := execError(err)
		if pe.typ != typ || pe.status() != status {
			t.Errorf("%v: got %s %d, want %s %d", err, pe.typ, pe.status(), typ, status)
		}
	}
	f(promql.ErrQueryTimeout("query execution"), errTimeout, 503)
	f(promql.ErrQueryCanceled("query execution"), errCanceled, 503)
	f(context.Canceled, errCanceled, 503)
	f(promql.ErrStorage{Err: errors.New("disk")}, errInternal, 500)
	f(promql.ErrTooManySamples("query execution"), errExecution, 422)
	f(errors.New("boom"), errExecution, 422)
	if s := errStorageOff.status(); s != 503 {
		t.Errorf("history off: %d", s)
	}
}

var _ storage.Queryable = (*history.DB)(nil)
