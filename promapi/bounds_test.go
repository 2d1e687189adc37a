package promapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// bomb is one request that once took the heap or the CPU, and the answer it must get now.
type bomb struct {
	name    string
	path    string
	form    url.Values
	status  int
	errType string
	errHas  string // a part of the error text
}

// TestQueryBounds sends each bomb (the known ones scaled down so that an unbounded server
// still lives through them) and checks it is refused in Prometheus's error shape within the
// timeout, allocating little, and that the next query answers normally.
func TestQueryBounds(t *testing.T) {
	db := openFixtureHistory(t)
	const timeout = 5 * time.Second
	base := servePromAPI(t, New(Options{Queryable: db, Timeout: timeout, MaxSamples: 100}))
	week := strconv.Itoa(promT0 - 7*24*3600)
	bombs := []bomb{
		{name: "subquery at 1 ms over an hour", path: "/api/v1/query", form: url.Values{"query": {`sum_over_time(vector(1)[1h:1ms])`}},
			status: 400, errType: "bad_data", errHas: "11,000 points per timeseries"},
		{name: "subquery without bound at the week scale", path: "/api/v1/query", form: url.Values{"query": {`sum_over_time(vector(1)[7d:1ms])`}},
			status: 400, errType: "bad_data", errHas: "11,000 points per timeseries"},
		{name: "nested subqueries, each under 11,000 steps", path: "/api/v1/query", form: url.Values{"query": {`max_over_time(sum_over_time(vector(1)[1m:6ms])[2h:1s])`}},
			status: 400, errType: "bad_data", errHas: "--query-max-points"},
		{name: "subquery inside the widest range query", path: "/api/v1/query_range", form: url.Values{"query": {`sum_over_time(vector(1)[1m:10ms])`}, "start": {"0"}, "end": {"11000"}, "step": {"1"}},
			status: 400, errType: "bad_data", errHas: "--query-max-points"},
		{name: "100 KB query", path: "/api/v1/query", form: url.Values{"query": {strings.Repeat("1+", 50_000) + "1"}},
			status: 400, errType: "bad_data", errHas: "--query-max-length"},
		{name: "deep parentheses", path: "/api/v1/query", form: url.Values{"query": {strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300)}},
			status: 400, errType: "bad_data", errHas: "--query-max-depth"},
		{name: "long operator chain", path: "/api/v1/query_range", form: url.Values{"query": {strings.Repeat("vector(1)+", 300) + "1"}, "start": {"0"}, "end": {"1"}, "step": {"1"}},
			status: 400, errType: "bad_data", errHas: "--query-max-depth"},
		{name: "every series over 7 days at 1 s", path: "/api/v1/query_range", form: url.Values{"query": {`{__name__=~".+"}`}, "start": {week}, "end": {strconv.Itoa(promT0)}, "step": {"1"}},
			status: 400, errType: "bad_data", errHas: "11,000 points"},
		{name: "every sample of every series", path: "/api/v1/query", form: url.Values{"query": {`sum_over_time({__name__=~".+"}[7d:1s])`}, "time": {strconv.Itoa(promT0 + 20)}},
			status: 400, errType: "bad_data", errHas: "11,000 points"},
		{name: "more samples than the limit", path: "/api/v1/query_range", form: url.Values{"query": {`demo_requests_total`}, "start": {strconv.Itoa(promT0)}, "end": {strconv.Itoa(promT0 + 1000)}, "step": {"1"}},
			status: 422, errType: "execution", errHas: "too many samples"},
		{name: "negative step", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"0"}, "end": {"10"}, "step": {"-5"}},
			status: 400, errType: "bad_data", errHas: `"step"`},
		{name: "start beyond year 9999", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"1e20"}, "end": {"1e20"}, "step": {"1"}},
			status: 400, errType: "bad_data", errHas: "outside years 0000 to 9999"},
		{name: "time far before year 0", path: "/api/v1/query", form: url.Values{"query": {`1`}, "time": {"-1e15"}},
			status: 400, errType: "bad_data", errHas: "outside years 0000 to 9999"},
		{name: "end before start", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"100"}, "end": {"10"}, "step": {"1"}},
			status: 400, errType: "bad_data", errHas: "end timestamp must not be before start time"},
		{name: "a day at 1 ms", path: "/api/v1/query_range", form: url.Values{"query": {`1`}, "start": {"0"}, "end": {"86400"}, "step": {"0.001"}},
			status: 400, errType: "bad_data", errHas: "11,000 points"},
		{name: "too many match[]", path: "/api/v1/series", form: url.Values{"match[]": manyMatchers(101)},
			status: 400, errType: "bad_data", errHas: "--query-max-match"},
		{name: "too many match[] on label values", path: "/api/v1/label/job/values", form: url.Values{"match[]": manyMatchers(101)},
			status: 400, errType: "bad_data", errHas: "--query-max-match"},
		{name: "series past its timeout", path: "/api/v1/series", form: url.Values{"match[]": {`{__name__=~".+"}`}, "timeout": {"0.000000001"}},
			status: 503, errType: "timeout", errHas: "timed out"},
		{name: "labels past their timeout", path: "/api/v1/labels", form: url.Values{"timeout": {"0.000000001"}},
			status: 503, errType: "timeout", errHas: "timed out"},
		{name: "a deep matcher", path: "/api/v1/series", form: url.Values{"match[]": {`{a="` + strings.Repeat("x", 40_000) + `"}`}},
			status: 400, errType: "bad_data", errHas: "--query-max-length"},
	}
	for _, b := range bombs {
		t.Run(b.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			began := time.Now()
			status, env := postForm(t, base+b.path, b.form)
			took := time.Since(began)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if status != b.status || env.ErrorType != b.errType || !strings.Contains(env.Error, b.errHas) {
				t.Errorf("got %d %s %q, want %d %s containing %q", status, env.ErrorType, env.Error, b.status, b.errType, b.errHas)
			}
			if took > timeout {
				t.Errorf("answered in %v, past the %v timeout", took, timeout)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("allocated %d MiB answering it", alloc>>20)
			}
			if status, env := postForm(t, base+"/api/v1/query", url.Values{"query": {`sum(demo_requests_total)`}, "time": {strconv.Itoa(promT0 + 20)}}); status != 200 {
				t.Errorf("the next query: %d %s", status, env.Error)
			}
		})
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > 128<<20 {
		t.Errorf("heap holds %d MiB after the bombs", ms.HeapAlloc>>20)
	}
}

// TestQueryBoundsAdmit checks that what a dashboard asks stays within the bounds.
func TestQueryBoundsAdmit(t *testing.T) {
	db := openFixtureHistory(t)
	base := servePromAPI(t, New(Options{Queryable: db}))
	at := strconv.Itoa(promT0 + 20)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/api/v1/query", url.Values{"query": {`max_over_time(rate(demo_requests_total[1m])[1h:])`}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {`max_over_time(rate(demo_requests_total[1m])[7d:1m])`}, "time": {at}}},
		{"/api/v1/query_range", url.Values{"query": {`max_over_time(rate(demo_requests_total[5m])[1h:1m])`}, "start": {strconv.Itoa(promT0 - 7*24*3600)}, "end": {at}, "step": {"60"}}},
		{"/api/v1/query", url.Values{"query": {`{__name__=~"(a+)+b"}`}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100)}}},
		{"/api/v1/query", url.Values{"query": {`demo_temp{path=~"` + strings.Repeat("a|", 5000) + `b"}`}, "time": {at}}},
		{"/api/v1/series", url.Values{"match[]": manyMatchers(100)}},
	} {
		if status, env := postForm(t, base+c.path, c.form); status != 200 {
			t.Errorf("%s %.80s: %d %s", c.path, c.form.Get("query")+c.form.Get("match[]"), status, env.Error)
		}
	}
}

// TestQueryConcurrency holds every turn and checks that a query waits until its timeout,
// and that one finding the queue full is answered 503 at once.
func TestQueryConcurrency(t *testing.T) {
	db := openFixtureHistory(t)
	api := New(Options{Queryable: db, Limits: Limits{MaxConcurrency: 1, MaxQueued: 1}})
	base := servePromAPI(t, api)
	leave, perr := api.gate.enter(context.Background())
	if perr != nil {
		t.Fatal(perr)
	}
	waited := make(chan int)
	go func() {
		status, _ := postForm(t, base+"/api/v1/query", url.Values{"query": {`1`}, "timeout": {"2s"}})
		waited <- status
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(api.gate.waiting) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	status, env := postForm(t, base+"/api/v1/labels", nil)
	if status != 503 || env.ErrorType != "unavailable" || !strings.Contains(env.Error, "--query-max-concurrency") {
		t.Errorf("with the queue full: %d %s %q", status, env.ErrorType, env.Error)
	}
	leave()
	if status := <-waited; status != 200 {
		t.Errorf("the waiting query: %d", status)
	}
	if status, env := postForm(t, base+"/api/v1/query", url.Values{"query": {`1`}}); status != 200 {
		t.Errorf("after: %d %s", status, env.Error)
	}
}

func TestNesting(t *testing.T) {
	for _, c := range []struct {
		q    string
		want int
	}{
		{`up`, 0},
		{`sum(rate(x{a="b", c!="d"}[5m]))`, 3},
		{`a + b * c`, 2},
		{`((1))`, 2},
		{`x{a=~"((("}`, 0},
		{`"(((" + 1`, 1},
		{`max_over_time(x[1h:1m])`, 2},
		{`sum(`, 1},
	} {
		if got := nesting(c.q); got != c.want {
			t.Errorf("nesting(%q) = %d, want %d", c.q, got, c.want)
		}
	}
}

func TestCheckPoints(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	t0 := time.Unix(promT0, 0)
	l := Limits{MaxPoints: 100_000}
	for _, c := range []struct {
		q    string
		span time.Duration
		step time.Duration
		ok   bool
	}{
		{`x`, 0, 0, true},
		{`x`, 11000 * time.Second, time.Second, true},
		{`max_over_time(x[1h:1s])`, 0, 0, true},
		{`max_over_time(x[4h:1s])`, 0, 0, false}, // 14,400 steps in one subquery
		{`max_over_time(x[1h:1s])`, 48 * time.Hour, time.Minute, false},
		{`max_over_time(x[1h:])`, 24 * time.Hour, time.Minute, true},
		{`max_over_time(max_over_time(x[1m:1s])[1h:1m])`, 0, 0, true},
		{`max_over_time(max_over_time(x[1m:10ms])[1h:1m])`, 0, 0, false}, // 366,000 inner points
	} {
		expr, err := p.ParseExpr(c.q)
		if err != nil {
			t.Fatal(err)
		}
		err = checkPoints(&parser.EvalStmt{Expr: expr, Start: t0, End: t0.Add(c.span), Interval: c.step}, l)
		if (err == nil) != c.ok {
			t.Errorf("%s over %v at %v: %v", c.q, c.span, c.step, err)
		}
	}
}

// envelope is Prometheus's answer envelope.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// postForm posts a form and decodes the envelope.
func postForm(t *testing.T, u string, form url.Values) (int, envelope) {
	t.Helper()
	res, err := http.PostForm(u, form)
	if err != nil {
		t.Error(err)
		return 0, envelope{}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Error(err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Errorf("%s: not JSON: %v: %.200s", u, err, b)
	}
	return res.StatusCode, env
}

func manyMatchers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = `demo_requests_total{route="/` + strconv.Itoa(i) + `"}`
	}
	return out
}
