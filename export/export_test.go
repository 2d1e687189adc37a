package export_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/export"
	"github.com/gemini-flow/gemini-flow/history"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/promql/parser"
)

// t0 is an aligned start; ticks are 10 s apart.
var t0 = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).UnixMilli()

const step = int64(10_000)

// tick renders tick i: a counter per route (route "b" only while i < 5, so it goes stale),
// a gauge and a histogram.
func tick(i int) []byte {
	var b strings.Builder
	b.WriteString("# HELP app_requests_total Requests \"served\".\n# TYPE app_requests_total counter\n")
	fmt.Fprintf(&b, "app_requests_total{route=\"a\"} %d\n", i)
	if i < 5 {
		fmt.Fprintf(&b, "app_requests_total{route=\"b\"} %d\n", 2*i)
	}
	b.WriteString("# HELP app_queue_depth Items waiting.\n# TYPE app_queue_depth gauge\n")
	fmt.Fprintf(&b, "app_queue_depth{path=\"x\\\\y \\\"z\\\"\"} %g\n", 0.5+float64(i)/3)
	b.WriteString("# HELP app_latency_seconds Latency.\n# TYPE app_latency_seconds histogram\n")
	fmt.Fprintf(&b, "app_latency_seconds_bucket{le=\"0.1\"} %d\n", 2*i)
	fmt.Fprintf(&b, "app_latency_seconds_bucket{le=\"+Inf\"} %d\n", 4*i)
	fmt.Fprintf(&b, "app_latency_seconds_sum %g\n", 0.9*float64(i))
	fmt.Fprintf(&b, "app_latency_seconds_count %d\n", 4*i)
	return []byte(b.String())
}

// sample is one exported sample of one series.
type sample struct {
	t int64
	v float64
}

// openHistory returns a history holding ticks [0, n).
func openHistory(t testing.TB, n int) *history.DB {
	t.Helper()
	d, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "j", Instance: "i:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for i := range n {
		if err := d.Append(t0+int64(i)*step, tick(i)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func metadataOf(d *history.DB) export.Metadata {
	return func(family string) (string, string, bool) {
		m, ok := d.FamilyMetadata(family)
		return m.Type, m.Help, ok
	}
}

func selectors(t testing.TB, in ...string) [][]*labels.Matcher {
	t.Helper()
	sets, err := parser.NewParser(parser.Options{}).ParseMetricSelectors(in)
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// want is what ticks [0, n) hold between ticks from and to (inclusive), by series text.
func want(n, from, to int) map[string][]sample {
	out := map[string][]sample{}
	for i := max(from, 0); i <= to && i < n; i++ {
		ts := t0 + int64(i)*step
		add := func(k string, v float64) { out[k] = append(out[k], sample{ts, v}) }
		add(`app_requests_total{instance="i:1",job="j",route="a"}`, float64(i))
		if i < 5 {
			add(`app_requests_total{instance="i:1",job="j",route="b"}`, float64(2*i))
		}
		add(`app_queue_depth{instance="i:1",job="j",path="x\\y \"z\""}`, 0.5+float64(i)/3)
		add(`app_latency_seconds_bucket{instance="i:1",job="j",le="0.1"}`, float64(2*i))
		add(`app_latency_seconds_bucket{instance="i:1",job="j",le="+Inf"}`, float64(4*i))
		add(`app_latency_seconds_sum{instance="i:1",job="j"}`, 0.9*float64(i))
		add(`app_latency_seconds_count{instance="i:1",job="j"}`, float64(4*i))
	}
	return out
}

func compare(t *testing.T, got, want map[string][]sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d series, want %d:\ngot  %v\nwant %v", len(got), len(want), keys(got), keys(want))
	}
	for k, w := range want {
		g := got[k]
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s:\ngot  %v\nwant %v", k, g, w)
		}
	}
}

// seriesKey writes labels as the exposition does: name{a="1",b="2"}.
func seriesKey(l labels.Labels) string {
	var parts []string
	l.Range(func(l labels.Label) {
		if l.Name != "__name__" {
			parts = append(parts, l.Name+"="+strconv.Quote(l.Value))
		}
	})
	return l.Get("__name__") + "{" + strings.Join(parts, ",") + "}"
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// parseOpenMetrics reads an export with Prometheus's OpenMetrics parser, as promtool does,
// and checks that every family comes once and that each series' samples are together.
func parseOpenMetrics(t *testing.T, body []byte) (map[string][]sample, map[string]string) {
	t.Helper()
	p := textparse.NewOpenMetricsParser(body, labels.NewSymbolTable())
	got, types := map[string][]sample{}, map[string]string{}
	last := ""
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("OpenMetrics parser: %v\n%s", err, body)
		}
		switch e {
		case textparse.EntryType:
			name, typ := p.Type()
			if _, dup := types[string(name)]; dup {
				t.Errorf("family %s twice", name)
			}
			types[string(name)] = string(typ)
		case textparse.EntrySeries:
			_, ts, v := p.Series()
			if ts == nil {
				t.Fatal("sample without timestamp")
			}
			var l labels.Labels
			p.Labels(&l)
			k := seriesKey(l)
			if k != last && got[k] != nil {
				t.Errorf("series %s is not contiguous", k)
			}
			last = k
			got[k] = append(got[k], sample{*ts, v})
		}
	}
	return got, types
}

func parseJSONLines(t *testing.T, body []byte) (map[string][]sample, int) {
	t.Helper()
	got := map[string][]sample{}
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines++
		var line struct {
			Metric     map[string]string `json:"metric"`
			Values     []float64         `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d: %v: %s", lines, err, sc.Bytes())
		}
		if len(line.Values) != len(line.Timestamps) || len(line.Values) == 0 {
			t.Fatalf("line %d: %d values, %d timestamps", lines, len(line.Values), len(line.Timestamps))
		}
		k := seriesKey(labels.FromMap(line.Metric))
		for i := range line.Values {
			got[k] = append(got[k], sample{line.Timestamps[i], line.Values[i]})
		}
	}
	return got, lines
}

func TestWrite(t *testing.T) {
	const n = 20
	d := openHistory(t, n)
	tests := []struct {
		name     string
		match    []string
		from, to int // ticks
		filter   func(k string) bool
	}{
		{"everything", []string{`{__name__=~"app_.+"}`}, -5, n + 5, nil},
		{"a window", []string{`{__name__=~".+"}`}, 3, 8, nil},
		{"two overlapping selectors", []string{`app_requests_total`, `{route="a"}`, `app_queue_depth`}, 0, n,
			func(k string) bool { return strings.HasPrefix(k, "app_requests") || strings.HasPrefix(k, "app_queue") }},
		{"nothing matches", []string{`nope`}, 0, n, func(string) bool { return false }},
	}
	for _, tt := range tests {
		for _, f := range []export.Format{export.JSONLines, export.OpenMetrics} {
			t.Run(tt.name+" "+string(f), func(t *testing.T) {
				var buf bytes.Buffer
				req := export.Request{Matchers: selectors(t, tt.match...), Start: t0 + int64(tt.from)*step, End: t0 + int64(tt.to)*step, Format: f}
				st, err := export.Write(context.Background(), &buf, d, metadataOf(d), req)
				if err != nil {
					t.Fatal(err)
				}
				w := want(n, tt.from, tt.to)
				for k := range w {
					if tt.filter != nil && !tt.filter(k) {
						delete(w, k)
					}
				}
				var got map[string][]sample
				if f == export.OpenMetrics {
					var types map[string]string
					got, types = parseOpenMetrics(t, buf.Bytes())
					if len(w) > 0 && tt.filter == nil {
						wantTypes := map[string]string{"app_requests": "counter", "app_queue_depth": "gauge", "app_latency_seconds": "histogram"}
						if fmt.Sprint(types) != fmt.Sprint(wantTypes) {
							t.Errorf("types %v, want %v", types, wantTypes)
						}
					}
					if !bytes.HasSuffix(buf.Bytes(), []byte("# EOF\n")) {
						t.Error("no # EOF at the end")
					}
				} else {
					got, _ = parseJSONLines(t, buf.Bytes())
				}
				compare(t, got, w)
				samples := 0
				for _, s := range w {
					samples += len(s)
				}
				if st.Series != len(w) || st.Samples != samples {
					t.Errorf("stats %+v, want %d series, %d samples", st, len(w), samples)
				}
			})
		}
	}
}

// A series longer than one line's bound is written as several lines with the same labels,
// as VictoriaMetrics' export writes it.
func TestWriteJSONLinesSplitsLongSeries(t *testing.T) {
	const n = 9000
	d, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "j", Instance: "i"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range n {
		if err := d.Append(t0+int64(i)*1000, fmt.Appendf(nil, "g %d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), &buf, d, nil, export.Request{Matchers: selectors(t, "g"), Start: t0, End: t0 + n*1000}); err != nil {
		t.Fatal(err)
	}
	got, lines := parseJSONLines(t, buf.Bytes())
	s := got[`g{instance="i",job="j"}`]
	if lines != 2 || len(s) != n || s[0].t != t0 || s[n-1].v != n-1 {
		t.Fatalf("%d lines, %d samples (want 2 lines, %d samples)", lines, len(s), n)
	}
	for i := 1; i < len(s); i++ {
		if s[i].t != s[i-1].t+1000 {
			t.Fatalf("sample %d at %d after %d", i, s[i].t, s[i-1].t)
		}
	}
}

// Values that JSON cannot hold as numbers are written as VictoriaMetrics' export writes them.
func TestWriteSpecialValues(t *testing.T) {
	d, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db"), Job: "j", Instance: "i"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i, v := range []string{"+Inf", "-Inf", "NaN", "1e-300"} {
		if err := d.Append(t0+int64(i)*1500, []byte("g "+v+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		format export.Format
		want   []string
	}{
		{export.JSONLines, []string{`"values":[+Inf,-Inf,NaN,1e-300],"timestamps":[` + fmt.Sprint(t0) + `,`}},
		{export.OpenMetrics, []string{"} +Inf " + fmt.Sprint(t0/1000) + "\n", "} -Inf " + fmt.Sprint(t0/1000+1) + ".500\n", "} NaN " + fmt.Sprint(t0/1000+3) + "\n"}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if _, err := export.Write(context.Background(), &buf, d, nil, export.Request{Matchers: selectors(t, "g"), Start: t0, End: math.MaxInt64, Format: tt.format}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s: %q not in\n%s", tt.format, w, buf.String())
			}
		}
	}
}
