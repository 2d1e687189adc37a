package history

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/router"
	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/promapi"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/valyala/fasthttp"
)

// TestComplianceWithPrometheusTSDB appends the compliance history (compliance_data_test.go)
// to the history and to a Prometheus TSDB, serves the query API over each on loopback, and
// asks both the same questions over HTTP: the compliance suite's query shapes as instant
// queries at several times and as range queries over several ranges and steps, and
// /series, /labels and /label/…/values with matchers. The history's API keeps its result
// cache, and every range query asks it twice, cold and warm. Over the raw samples the answers
// must be equal but for float rounding in the last place. An answer the history reads from
// a downsampled copy must say so in its warnings; how far it lies from the raw answer is
// measured and logged.
func TestComplianceWithPrometheusTSDB(t *testing.T) {
	built := time.Now()
	d, tdb, end := buildCompliance(t)
	t.Logf("history and TSDB built in %v", time.Since(built).Round(time.Millisecond))
	// The history's API caches range results as the binary's does: every range query runs
	// twice against it, cold and warm, and both answers must equal Prometheus's.
	hist, histAPI := serveQueryAPI(t, promapi.Options{Queryable: d, Timeout: time.Minute, CacheBytes: 8 << 20, Watermark: d.Watermark})
	prom, _ := serveQueryAPI(t, promapi.Options{Queryable: tdb, Timeout: time.Minute})
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)

	st := complianceStats{reference: tdb}
	cases := complianceCases(end)
	for _, c := range cases {
		p, err := getAnswer(client, prom, c)
		if err != nil {
			t.Fatal(err)
		}
		runs := 1
		if c.path == "/api/v1/query_range" {
			runs = 2
		}
		for range runs {
			h, err := getAnswer(client, hist, c)
			if err != nil {
				t.Fatal(err)
			}
			st.add(t, c, h, p)
		}
	}
	t.Logf("%d cases, %d answers of the history (cache %+v): %d equal (%d of them only after rounding in the last place, %d /series answers short of series Prometheus lists without a sample in the range), %d downsampled, %d differ; %d errors on both sides",
		len(cases), st.cases, histAPI.CacheStats(), st.equal, st.rounded, st.chunkGrained, st.downsampled.cases, st.differ, st.bothErr)
	st.downsampled.log(t)
	if cs := histAPI.CacheStats(); cs.Hits == 0 {
		t.Errorf("the warm range queries never hit the cache: %+v", cs)
	}
	if st.differ > 0 {
		t.Errorf("%d of %d answers over the raw samples differ from Prometheus's", st.differ, st.cases-st.downsampled.cases)
	}
	if st.equal < st.cases*3/4 {
		t.Errorf("only %d of %d answers compared over the raw samples", st.equal, st.cases)
	}
}

// serveQueryAPI serves the query API on a loopback port and returns its base URL.
func serveQueryAPI(t *testing.T, o promapi.Options) (string, *promapi.API) {
	t.Helper()
	api := promapi.New(o)
	r := router.New()
	for _, rt := range api.Routes() {
		r.GET(rt.Path, rt.Handler)
		r.POST(rt.Path, rt.Handler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: r.Handler}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String(), api
}

// complianceCase is one request to both APIs.
type complianceCase struct {
	path   string
	params url.Values
	kind   string // how the deviation of a downsampled answer is grouped
}

func (c complianceCase) String() string { return c.path + "?" + c.params.Encode() }

// promTime formats Unix ms as the API's seconds.
func promTime(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) }

// complianceCases are every query of complianceExpand and of the dashboard as instant
// queries at a few telling times and as range queries over a few ranges, and the
// metadata endpoints with matchers.
func complianceCases(end int64) []complianceCase {
	sec := int64(1000)
	instants := []int64{
		end,
		t0 + 2405*sec,       // inside a gap of one route's series, in the file's blocks
		t0 + 5175*sec + 500, // just after the restart, between samples
	}
	ranges := []struct{ start, end, step int64 }{
		{t0 + 1800*sec, t0 + 5700*sec, 30 * sec}, // the file's blocks, a gap, memory, the restart
		{t0 + 5000*sec, t0 + 5400*sec, 5 * sec},  // the restart, closely
		{t0 + 600*sec, end, 60 * sec},            // most of the history at 1 m
		{t0 + 1200*sec + 7*sec, end, 300 * sec},  // at 5 m, off the grid
	}
	queries := complianceExpand((t0 + 4000*sec) / 1000)
	for _, e := range dashboards.Targets() {
		queries = append(queries, expandExpr(e, 60, 30))
	}
	var out []complianceCase
	for _, q := range queries {
		kind := downsampleKind(q)
		for _, at := range instants {
			out = append(out, complianceCase{"/api/v1/query", url.Values{"query": {q}, "time": {promTime(at)}}, kind})
		}
		for _, r := range ranges {
			out = append(out, complianceCase{"/api/v1/query_range", url.Values{"query": {q}, "start": {promTime(r.start)},
				"end": {promTime(r.end)}, "step": {strconv.FormatInt(r.step/1000, 10)}}, kind})
		}
	}
	matchers := [][]string{
		{complianceNames.Replace("$CTR")},
		{`{route=~"/api/workflows.*"}`},
		{`{__name__=~"gemini_flow_go_.*"}`, complianceNames.Replace(`$CTR{status_code!="200", route!~"/api/.*"}`)},
		{complianceNames.Replace("$GAP")},
		{`nonexistent_metric_name`},
		{`{job="gemini-flow-backend", __name__=~".*_count"}`},
	}
	spans := [][2]int64{{t0, end}, {t0 + 2200*sec, t0 + 2600*sec}, {t0 + 5100*sec, t0 + 5200*sec}}
	for _, span := range spans {
		window := url.Values{"start": {promTime(span[0])}, "end": {promTime(span[1])}}
		out = append(out, complianceCase{"/api/v1/labels", window, "labels"})
		out = append(out, complianceCase{"/api/v1/label/route/values", window, "labels"})
		for _, m := range matchers {
			with := url.Values{"start": window["start"], "end": window["end"], "match[]": m}
			out = append(out,
				complianceCase{"/api/v1/series", with, "labels"},
				complianceCase{"/api/v1/labels", with, "labels"},
				complianceCase{"/api/v1/label/__name__/values", with, "labels"},
				complianceCase{"/api/v1/label/route/values", with, "labels"})
		}
	}
	return out
}

// downsampleKind groups queries by what a downsampled copy changes in their answer.
func downsampleKind(q string) string {
	for _, f := range []string{"histogram_quantile", "rate", "increase", "delta", "avg_over_time", "last_over_time"} {
		if strings.Contains(q, f+"(") {
			return f
		}
	}
	return "selector"
}

// apiAnswer is the envelope of every answer of the API.
type apiAnswer struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

func getAnswer(client *http.Client, base string, c complianceCase) (apiAnswer, error) {
	var a apiAnswer
	resp, err := client.Get(base + c.String())
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("%s: %v: %s", c, err, body)
	}
	return a, nil
}

// complianceStats counts the outcomes of the cases.
type complianceStats struct {
	reference                                            storage.Queryable // Prometheus's storage
	cases, equal, rounded, chunkGrained, differ, bothErr int
	downsampled                                          deviations
}

// add compares the history's answer h with Prometheus's p for one case.
func (st *complianceStats) add(t *testing.T, c complianceCase, h, p apiAnswer) {
	t.Helper()
	st.cases++
	var ds []string
	h.Warnings = slices.DeleteFunc(h.Warnings, func(w string) bool {
		if strings.Contains(w, ErrDownsampled.Error()) {
			ds = append(ds, w)
			return true
		}
		return false
	})
	var hv, pv any
	_ = json.Unmarshal(h.Data, &hv)
	_ = json.Unmarshal(p.Data, &pv)
	if mapOrdered(c.params.Get("query")) {
		sortVector(hv)
		sortVector(pv)
	}
	envelope := h.Status == p.Status && h.ErrorType == p.ErrorType && h.Error == p.Error &&
		slices.Equal(h.Warnings, p.Warnings) && slices.Equal(h.Infos, p.Infos)
	if len(ds) > 0 {
		st.downsampled.add(c.kind, envelope, hv, pv)
		return
	}
	rounded := 0
	same := envelope && sameJSON(hv, pv, &rounded)
	if !same && envelope && c.path == "/api/v1/series" && st.onlyEmptyExtra(t, c, hv, pv) {
		st.chunkGrained++
		same = true
	}
	if !same {
		st.differ++
		if st.differ <= 40 {
			t.Errorf("%s\nhistory:    %s %s %s %v %v %.5000s\nprometheus: %s %s %s %v %v %.5000s", c,
				h.Status, h.ErrorType, h.Error, h.Warnings, h.Infos, h.Data, p.Status, p.ErrorType, p.Error, p.Warnings, p.Infos, p.Data)
		}
		return
	}
	st.equal++
	if rounded > 0 {
		st.rounded++
	}
	if p.Status != "success" {
		st.bothErr++
	}
}

// onlyEmptyExtra reports whether the /series answer h is p less series that hold no
// sample in the case's range. Prometheus's head lists every series with a chunk
// overlapping the range (about 120 samples each), the history those with a sample in it.
func (st *complianceStats) onlyEmptyExtra(t *testing.T, c complianceCase, h, p any) bool {
	t.Helper()
	hl, _ := h.([]any)
	pl, _ := p.([]any)
	start, _ := strconv.ParseFloat(c.params.Get("start"), 64)
	end, _ := strconv.ParseFloat(c.params.Get("end"), 64)
	mint, maxt := int64(start*1000), int64(end*1000)
	i := 0
	for _, x := range pl {
		if i < len(hl) && sameJSON(x, hl[i], new(int)) {
			i++
			continue
		}
		if samplesIn(t, st.reference, x.(map[string]any), mint, maxt) > 0 {
			return false
		}
	}
	return i == len(hl)
}

// samplesIn counts the samples of the series with labels ls in [mint, maxt].
func samplesIn(t *testing.T, q storage.Queryable, ls map[string]any, mint, maxt int64) int {
	t.Helper()
	var ms []*labels.Matcher
	for k, v := range ls {
		ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, k, v.(string)))
	}
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	n := 0
	for set := qr.Select(context.Background(), false, nil, ms...); set.Next(); {
		for it := set.At().Iterator(nil); it.Next() != chunkenc.ValNone; {
			if ts := it.AtT(); ts >= mint && ts <= maxt {
				n++
			}
		}
	}
	return n
}

// mapOrdered reports whether the engine lists an instant vector of q in the order of a Go
// map (count_values, histogram_quantile and histogram_fraction group through one), so that
// two runs of Prometheus itself list it differently.
func mapOrdered(q string) bool {
	return strings.Contains(q, "count_values") || strings.Contains(q, "histogram_")
}

// sortVector sorts the result of an instant vector answer by its labels.
func sortVector(data any) {
	m, ok := data.(map[string]any)
	if !ok || m["resultType"] != "vector" {
		return
	}
	list, _ := m["result"].([]any)
	key := func(x any) string {
		b, _ := json.Marshal(x.(map[string]any)["metric"])
		return string(b)
	}
	slices.SortFunc(list, func(a, b any) int { return strings.Compare(key(a), key(b)) })
}

// sameJSON compares two decoded JSON values; strings that are both numbers may differ by
// rounding in the last place, counted in rounded.
func sameJSON(a, b any, rounded *int) bool {
	return walkJSON(a, b, func(a, b string) bool {
		if a == b {
			return true
		}
		x, errA := strconv.ParseFloat(a, 64)
		y, errB := strconv.ParseFloat(b, 64)
		if errA == nil && errB == nil && lastPlace(x, y) {
			*rounded++
			return true
		}
		return false
	})
}

// walkJSON reports whether two decoded JSON values have the same shape, with every pair of
// strings accepted by leaf and every other scalar equal.
func walkJSON(a, b any, leaf func(a, b string) bool) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !walkJSON(v, w, leaf) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !walkJSON(a[i], b[i], leaf) {
				return false
			}
		}
		return true
	case string:
		b, ok := b.(string)
		return ok && leaf(a, b)
	default:
		return a == b
	}
}

// lastPlace reports whether x and y differ by float rounding alone: a few units in the
// last place.
func lastPlace(x, y float64) bool {
	if math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y) {
		return false
	}
	return math.Abs(x-y) <= 1e-12*math.Max(math.Abs(x), math.Abs(y))
}

// deviations measures downsampled answers against the raw ones, per kind of query.
type deviations struct {
	cases  int
	byKind map[string]*deviation
}

type deviation struct {
	cases, reshaped int       // answers, and those whose series or points differ
	rel             []float64 // the relative deviation of every value of the answers of equal shape
}

func (ds *deviations) add(kind string, envelope bool, h, p any) {
	ds.cases++
	if ds.byKind == nil {
		ds.byKind = map[string]*deviation{}
	}
	d := ds.byKind[kind]
	if d == nil {
		d = &deviation{}
		ds.byKind[kind] = d
	}
	d.cases++
	var rel []float64
	if !envelope || !deviationsOf(h, p, &rel) {
		d.reshaped++
		return
	}
	d.rel = append(d.rel, rel...)
}

func (ds *deviations) log(t *testing.T) {
	t.Helper()
	kinds := make([]string, 0, len(ds.byKind))
	for k := range ds.byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		d := ds.byKind[k]
		slices.Sort(d.rel)
		q := func(f float64) float64 {
			if len(d.rel) == 0 {
				return math.NaN()
			}
			return d.rel[min(len(d.rel)-1, int(f*float64(len(d.rel))))]
		}
		within := func(x float64) float64 {
			n, _ := slices.BinarySearch(d.rel, math.Nextafter(x, math.Inf(1)))
			return 100 * float64(n) / float64(max(1, len(d.rel)))
		}
		t.Logf("downsampled %-18s %4d answers (%3d with other series or points), %6d values: %5.1f%% equal, %5.1f%% within 1%%, %5.1f%% within 10%%; p99 %.2g, max %.2g",
			k, d.cases, d.reshaped, len(d.rel), within(0), within(0.01), within(0.1), q(0.99), q(1))
	}
}

// deviationsOf walks two answers of the same shape and appends to rel the relative
// difference of each pair of values; it reports false when the shapes differ.
func deviationsOf(a, b any, rel *[]float64) bool {
	return walkJSON(a, b, func(a, b string) bool {
		x, errA := strconv.ParseFloat(a, 64)
		y, errB := strconv.ParseFloat(b, 64)
		switch {
		case errA != nil || errB != nil:
			return a == b // label values and the like
		case a == b:
			*rel = append(*rel, 0)
		case !math.IsNaN(x) && !math.IsNaN(y):
			*rel = append(*rel, math.Abs(x-y)/math.Max(math.Abs(x), math.Abs(y)))
		default:
			return false
		}
		return true
	})
}
