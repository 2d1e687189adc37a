package promapi

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/history"
)

// cacheMix writes expositions of every metric the shipped dashboard reads (counters grow,
// gauges wobble, histograms fill), with a few label values each, one tick every 10 s.
type cacheMix struct {
	db      *history.DB
	rng     *rand.Rand
	names   []string
	values  map[string]float64
	nextSec int64
}

func newCacheMix(t *testing.T) *cacheMix {
	t.Helper()
	db, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "gemini-flow-backend", Instance: "test:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	seen := map[string]bool{}
	var names []string
	for _, expr := range dashboards.Targets() {
		e, err := parser.NewParser(parser.Options{}).ParseExpr(expandTarget(expr, 60))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		for _, sel := range parser.ExtractSelectors(e) {
			for _, m := range sel {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && !seen[m.Value] {
					seen[m.Value] = true
					names = append(names, m.Value)
				}
			}
		}
	}
	return &cacheMix{db: db, rng: rand.New(rand.NewPCG(1, 2)), names: names, values: map[string]float64{}, nextSec: promT0}
}

// tick appends n more samples of every series.
func (m *cacheMix) tick(t *testing.T, n int) {
	t.Helper()
	for range n {
		var b strings.Builder
		for _, name := range m.names {
			for _, route := range []string{"/a", "/b", "/c"} {
				for _, status := range []string{"200", "500"} {
					m.write(&b, name, fmt.Sprintf(`route=%q,status=%q,method="GET",operation="get",type="x",outcome="ok",le_hint=""`, route, status))
				}
			}
		}
		if err := m.db.Append(m.nextSec*1000, []byte(b.String())); err != nil {
			t.Fatal(err)
		}
		m.nextSec += 10
	}
}

func (m *cacheMix) write(b *strings.Builder, name, ls string) {
	switch {
	case strings.HasSuffix(name, "_bucket"):
		acc := 0.0
		for _, le := range []string{"0.01", "0.1", "1", "+Inf"} {
			key := name + ls + le
			m.values[key] += float64(m.rng.IntN(5))
			acc = max(acc, m.values[key])
			m.values[key] = acc
			fmt.Fprintf(b, "%s{%s,le=%q} %g\n", name, ls, le, acc)
		}
	case strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_sum"):
		m.values[name+ls] += float64(m.rng.IntN(10))
		if m.rng.IntN(200) == 0 {
			m.values[name+ls] = 0 // a reset
		}
		fmt.Fprintf(b, "%s{%s} %g\n", name, ls, m.values[name+ls])
	default:
		m.values[name+ls] += m.rng.Float64() - 0.5
		fmt.Fprintf(b, "%s{%s} %g\n", name, ls, m.values[name+ls])
	}
}

// expandTarget fills a panel expression's Grafana variables as the page does.
func expandTarget(expr string, step int) string {
	rate := strconv.Itoa(max(step+10, 40)) + "s"
	return strings.NewReplacer("$__rate_interval", rate, "${__rate_interval}", rate, "$__interval", strconv.Itoa(step)+"s",
		"${job}", "gemini-flow-backend", "$job", "gemini-flow-backend", "${instance}", ".*", "$instance", ".*").Replace(expr)
}

// cacheQueries are the dashboard's panels plus the shapes the cache must refuse or handle.
func cacheQueries(step int) []string {
	var qs []string
	for _, e := range dashboards.Targets() {
		qs = append(qs, expandTarget(e, step))
	}
	return append(qs,
		`time()`,
		`vector(1)`,
		`absent(nothing_here)`,
		`rate(gemini_flow_http_requests_total[1m] offset 5m)`,
		`rate(gemini_flow_http_requests_total[1m] offset -5m)`,
		`gemini_flow_http_requests_total @ end()`,
		`gemini_flow_http_requests_total @ start()`,
		`gemini_flow_http_requests_total @ 1700003000`,
		`max_over_time(rate(gemini_flow_http_requests_total[1m])[5m:30s])`,
		`topk(2, rate(gemini_flow_http_requests_total[2m]))`,
		`timestamp(gemini_flow_http_requests_total)`,
		`changes(gemini_flow_http_requests_total[5m]) + resets(gemini_flow_http_requests_total[5m])`,
		`rate(gemini_flow_ws_connections[1m])`, // an info annotation
	)
}

// TestCacheNeverChangesAnswers asks a cached and an uncached API the same range queries as a
// dashboard does (refreshing, moving on, switching ranges, reaching past the last sample),
// while the history grows and a late sample rewrites the past: the bytes must be equal.
func TestCacheNeverChangesAnswers(t *testing.T) {
	m := newCacheMix(t)
	m.tick(t, 360) // an hour
	cold := servePromAPI(t, New(Options{Queryable: m.db}))
	warmAPI := New(Options{Queryable: m.db, CacheBytes: 8 << 20, Watermark: m.db.Watermark})
	warm := servePromAPI(t, warmAPI)
	past := int64(2) // steps past the last sample the window ends, as a live page asks
	compare := func(span, step int64) {
		t.Helper()
		end := m.nextSec + past*step
		end -= end % step
		for _, q := range cacheQueries(int(step)) {
			form := url.Values{"query": {q}, "start": {strconv.FormatInt(end-span, 10)}, "end": {strconv.FormatInt(end, 10)}, "step": {strconv.FormatInt(step, 10)}}
			want, got := getBody(t, cold, form), getBody(t, warm, form)
			if want != got {
				i := 0
				for i < len(want) && i < len(got) && want[i] == got[i] {
					i++
				}
				from := max(0, i-150)
				t.Errorf("%s over %d s at %d s, from byte %d:\ncold …%.300s\nwarm …%.300s", q, span, step, i, want[from:], got[from:])
			}
		}
	}
	for round := range 4 {
		compare(1800, 10)
		compare(3600, 30)
		compare(600, 10)
		m.tick(t, 1+round)
	}
	past = -3 // windows wholly in the final past: asked twice, the second from the cache alone
	compare(1800, 10)
	compare(1800, 10)
	compare(600, 30)
	past = 2
	s := warmAPI.CacheStats()
	if s.Hits == 0 || s.Misses == 0 || s.Bytes <= 0 || s.Entries == 0 {
		t.Errorf("cache stats %+v: expected hits, misses and bytes", s)
	}
	// A late sample lands before the watermark: every cached answer must follow it.
	m.db.AppendSamples((m.nextSec-600)*1000, []history.Sample{{Labels: labels.FromStrings("__name__", "gemini_flow_http_requests_total", "job", "gemini-flow-backend", "instance", "test:1", "route", "/late"), Value: 7}})
	compare(1800, 10)
	compare(3600, 30)
}

// TestCacheBoundedMemory fills a small cache with many queries and checks its bound.
func TestCacheBoundedMemory(t *testing.T) {
	m := newCacheMix(t)
	m.tick(t, 120)
	api := New(Options{Queryable: m.db, CacheBytes: 64 << 10, Watermark: m.db.Watermark})
	base := servePromAPI(t, api)
	for i := range 40 {
		getBody(t, base, url.Values{"query": {fmt.Sprintf(`gemini_flow_http_requests_total + %d`, i)}, "start": {strconv.Itoa(promT0)}, "end": {strconv.FormatInt(m.nextSec, 10)}, "step": {"10"}})
	}
	if s := api.CacheStats(); s.Bytes > 64<<10 || s.Entries == 0 || s.Entries >= 40 {
		t.Errorf("cache stats %+v: want at most 64 KiB, some entries evicted", s)
	}
}

func getBody(t *testing.T, base string, form url.Values) string {
	t.Helper()
	res, err := http.Get(base + "/api/v1/query_range?" + form.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(res.StatusCode) + " " + string(b)
}

// countingQueryable counts the queriers the engine opens over a real history: one per evaluation.
type countingQueryable struct {
	storage.Queryable
	n atomic.Int64
}

func (c *countingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	c.n.Add(1)
	return c.Queryable.Querier(mint, maxt)
}

// TestCacheRangeDependentAnnotations: a query whose annotations name the range evaluated
// (histogram_quantile over buckets out of order) is evaluated twice once (tail, then whole),
// then remembered and evaluated once per request, with the answer of an uncached API.
func TestCacheRangeDependentAnnotations(t *testing.T) {
	db, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "gemini-flow-backend", Instance: "test:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	sec := int64(promT0)
	tick := func(n int) {
		for range n {
			i := sec - promT0
			// The 0.1 bucket drops below the 0.01 one every other tick: never monotonic.
			e := fmt.Sprintf("h_bucket{le=\"0.01\"} %d\nh_bucket{le=\"0.1\"} %d\nh_bucket{le=\"+Inf\"} %d\n", 2*i, 2*i-(i/10)%2, 3*i)
			if err := db.Append(sec*1000, []byte(e)); err != nil {
				t.Fatal(err)
			}
			sec += 10
		}
	}
	tick(120)
	queryable := &countingQueryable{Queryable: db}
	cold := servePromAPI(t, New(Options{Queryable: db}))
	api := New(Options{Queryable: queryable, CacheBytes: 1 << 20, Watermark: db.Watermark})
	warm := servePromAPI(t, api)
	q := `histogram_quantile(0.9, rate(h_bucket[1m]))`
	for round := range 4 {
		end := sec + 20
		form := url.Values{"query": {q}, "start": {strconv.FormatInt(end-900, 10)}, "end": {strconv.FormatInt(end, 10)}, "step": {"10"}}
		before := queryable.n.Load()
		want, got := getBody(t, cold, form), getBody(t, warm, form)
		if want != got {
			t.Fatalf("round %d: cached answer differs:\ncold %.400s\nwarm %.400s", round, want, got)
		}
		if !strings.Contains(got, "monotonicity") {
			t.Fatalf("round %d: no monotonicity info in %.400s", round, got)
		}
		evals := queryable.n.Load() - before
		wantEvals := int64(1)
		if round == 1 {
			wantEvals = 2 // the tail, then the whole range when its annotations read differently
		}
		if evals != wantEvals {
			t.Errorf("round %d: %d evaluations, want %d", round, evals, wantEvals)
		}
		tick(1)
	}
	if s := api.CacheStats(); s.Misses != 4 || s.Hits != 0 {
		t.Errorf("cache stats %+v: want 4 misses and no hits", s)
	}
}
