package monitoring_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
	"github.com/gemini-flow/gemini-flow/monitoring"
)

// exposition is WritePrometheus's output read back with Prometheus's own text parser, the
// parser the history sampler uses.
type exposition struct {
	text    string
	help    map[string]string
	typ     map[string]string
	order   []string           // families in the order of their HELP lines
	samples map[string]float64 // canonical series -> value
	series  []labels.Labels
}

func scrape(t *testing.T, r *monitoring.Registry) exposition {
	t.Helper()
	var b bytes.Buffer
	r.WritePrometheus(&b)
	e := exposition{text: b.String(), help: map[string]string{}, typ: map[string]string{}, samples: map[string]float64{}}
	p := textparse.NewPromParser(b.Bytes(), labels.NewSymbolTable(), false)
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return e
		}
		if err != nil {
			t.Fatalf("exposition does not parse: %v\n%s", err, b.String())
		}
		switch et {
		case textparse.EntryHelp:
			name, help := p.Help()
			if _, dup := e.help[string(name)]; dup {
				t.Errorf("HELP of %s written twice", name)
			}
			e.help[string(name)] = string(help)
			e.order = append(e.order, string(name))
		case textparse.EntryType:
			name, typ := p.Type()
			e.typ[string(name)] = string(typ)
		case textparse.EntrySeries:
			var ls labels.Labels
			p.Labels(&ls)
			_, _, v := p.Series()
			key := canonical(ls)
			if _, dup := e.samples[key]; dup {
				t.Errorf("series %s written twice", key)
			}
			e.samples[key] = v
			e.series = append(e.series, ls)
		}
	}
}

// canonical renders a label set with sorted labels and le in one float format, since the
// parser rewrites le="2" as le="2.0".
func canonical(ls labels.Labels) string {
	if le := ls.Get("le"); le != "" && le != "+Inf" {
		if f, err := strconv.ParseFloat(le, 64); err == nil {
			ls = labels.NewBuilder(ls).Set("le", formatLe(f)).Labels()
		}
	}
	return ls.String()
}

// key parses a series written as in the text format (name{a="b"}) into its canonical form.
func key(t *testing.T, series string) string {
	t.Helper()
	p := textparse.NewPromParser([]byte(series+" 0\n"), labels.NewSymbolTable(), false)
	for {
		et, err := p.Next()
		if err != nil {
			t.Fatalf("bad series %s in test: %v", series, err)
		}
		if et == textparse.EntrySeries {
			var ls labels.Labels
			p.Labels(&ls)
			return canonical(ls)
		}
	}
}

// value returns the sample of series and fails when it is absent.
func (e exposition) value(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := e.samples[key(t, series)]
	if !ok {
		t.Fatalf("series %s missing from:\n%s", series, e.text)
	}
	return v
}

func (e exposition) has(t *testing.T, series string) bool {
	t.Helper()
	_, ok := e.samples[key(t, series)]
	return ok
}

// les returns the le values of name's buckets whose other labels equal match (name, value
// pairs), each in formatLe's format.
func (e exposition) les(name string, match ...string) []string {
	want := labels.FromStrings(append(match, "__name__", name+"_bucket")...)
	var out []string
	for _, ls := range e.series {
		if labels.NewBuilder(ls).Del("le").Labels().Hash() != want.Hash() {
			continue
		}
		le := ls.Get("le")
		if f, err := strconv.ParseFloat(le, 64); err == nil && le != "+Inf" {
			le = formatLe(f)
		}
		out = append(out, le)
	}
	return out
}

func TestExpositionHasEveryFamilyWithHelpAndType(t *testing.T) {
	r := monitoring.New(monitoring.Options{Version: "1.2.3", Revision: "abc"})
	e := scrape(t, r)
	var names []string
	for _, f := range r.Families() {
		names = append(names, f.Name)
		if got := e.help[f.Name]; got != f.Help {
			t.Errorf("HELP %s = %q, want %q", f.Name, got, f.Help)
		}
		if got := e.typ[f.Name]; got != f.Type {
			t.Errorf("TYPE %s = %q, want %q", f.Name, got, f.Type)
		}
	}
	if !slices.Equal(e.order, names) {
		t.Errorf("families written in order\n%v\nwant the catalogue's\n%v", e.order, names)
	}
	// Every sample belongs to a catalogue family.
	for _, ls := range e.series {
		name := ls.Get("__name__")
		fam := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && e.typ[base] == monitoring.TypeHistogram {
				fam = base
			}
		}
		if _, ok := e.typ[fam]; !ok {
			t.Errorf("sample %s has no catalogue family", ls)
		}
	}
	if strings.Contains(e.text, "vmrange") {
		t.Error("exposition holds vmrange buckets, which stock Prometheus cannot use")
	}
}

func TestAlwaysPresentSeries(t *testing.T) {
	r := monitoring.New(monitoring.Options{Version: "1.2.3", Revision: "abc"})
	e := scrape(t, r)
	f := func(series string, want float64) {
		t.Helper()
		if got := e.value(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	f(`gemini_flow_websocket_connections_active`, 0)
	f(`gemini_flow_workflows_total`, 0)
	f(`gemini_flow_workflow_nodes_count`, 0)
	f(`gemini_flow_workflow_nodes_bucket{le="+Inf"}`, 0)
	f(`gemini_flow_build_info{goversion="`+runtime.Version()+`", revision="abc", version="1.2.3"}`, 1)
	f(`gemini_flow_go_gc_duration_seconds_bucket{le="+Inf"}`, e.value(t, `gemini_flow_go_gc_duration_seconds_count`))
	if strings.Contains(e.text, "\ngemini_flow_errors_total{") {
		t.Error("errors_total has a series before any error")
	}

	unnamed := scrape(t, monitoring.New(monitoring.Options{}))
	unnamed.value(t, `gemini_flow_build_info{goversion="`+runtime.Version()+`", revision="unknown", version="unknown"}`)
}

func TestProcessAndRuntimeFamilies(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	for range 2 {
		runtime.GC()
	}
	e := scrape(t, r)
	positive := []string{
		"gemini_flow_process_cpu_seconds_total", "gemini_flow_process_start_time_seconds",
		"gemini_flow_process_resident_memory_bytes", "gemini_flow_process_virtual_memory_bytes",
		"gemini_flow_process_open_fds", "gemini_flow_process_max_fds", "gemini_flow_go_goroutines",
		"gemini_flow_go_threads", "gemini_flow_go_memstats_alloc_bytes_total",
		"gemini_flow_go_memstats_heap_alloc_bytes", "gemini_flow_go_memstats_heap_inuse_bytes",
		"gemini_flow_go_memstats_heap_sys_bytes", "gemini_flow_go_memstats_heap_objects",
		"gemini_flow_go_memstats_next_gc_bytes", "gemini_flow_go_memstats_stack_inuse_bytes",
		"gemini_flow_go_memstats_sys_bytes", "gemini_flow_go_gc_cycles_total",
		"gemini_flow_go_gc_duration_seconds_count", "gemini_flow_go_sched_latencies_seconds_count",
	}
	if runtime.GOOS != "linux" {
		// Outside Linux only the start time of the process is known.
		positive = slices.DeleteFunc(positive, func(name string) bool {
			return strings.HasPrefix(name, "gemini_flow_process_") && name != "gemini_flow_process_start_time_seconds"
		})
	}
	for _, name := range positive {
		if v := e.value(t, ``+name+``); !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	start := e.value(t, `gemini_flow_process_start_time_seconds`)
	if now := float64(time.Now().Unix()); start > now+1 || start < now-24*3600 {
		t.Errorf("process start time %v is not within the last day", start)
	}
	if cpu, user, sys := e.value(t, `gemini_flow_process_cpu_seconds_total`),
		e.value(t, `gemini_flow_process_cpu_user_seconds_total`),
		e.value(t, `gemini_flow_process_cpu_system_seconds_total`); math.Abs(cpu-(user+sys)) > 1e-9 {
		t.Errorf("cpu total %v != user %v + system %v", cpu, user, sys)
	}
	if inuse, sys := e.value(t, `gemini_flow_go_memstats_heap_inuse_bytes`),
		e.value(t, `gemini_flow_go_memstats_heap_sys_bytes`); inuse > sys {
		t.Errorf("heap in use %v > heap obtained %v", inuse, sys)
	}
	if cycles := e.value(t, `gemini_flow_go_gc_cycles_total`); cycles < 2 {
		t.Errorf("gc cycles %v after two runtime.GC()", cycles)
	}
	for _, h := range []string{"gemini_flow_go_gc_duration_seconds", "gemini_flow_go_sched_latencies_seconds"} {
		checkCumulative(t, e, h, bucketsOf(t, r, h))
	}
}

func bucketsOf(t *testing.T, r *monitoring.Registry, name string) []float64 {
	t.Helper()
	for _, f := range r.Families() {
		if f.Name == name {
			return f.Buckets
		}
	}
	t.Fatalf("no family %s", name)
	return nil
}

// checkCumulative asserts an unlabelled histogram has exactly the catalogue's le buckets,
// non-decreasing, ending in +Inf equal to _count.
func checkCumulative(t *testing.T, e exposition, name string, bounds []float64) {
	t.Helper()
	if les := e.les(name); len(les) != len(bounds)+1 {
		t.Fatalf("%s has buckets %v, want %v and +Inf", name, les, bounds)
	}
	prev := 0.0
	for _, ub := range bounds {
		v := e.value(t, name+`_bucket{le="`+formatLe(ub)+`"}`)
		if v < prev {
			t.Errorf("%s bucket le=%v = %v < previous %v", name, ub, v, prev)
		}
		prev = v
	}
	inf, count := e.value(t, name+`_bucket{le="+Inf"}`), e.value(t, name+"_count")
	if inf < prev || inf != count {
		t.Errorf("%s +Inf bucket %v, last bucket %v, count %v", name, inf, prev, count)
	}
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := testkit.RequireTool(t, "promtool")
	r := monitoring.New(monitoring.Options{Version: "1.2.3", Revision: "abc"})
	exercise(r)
	var b bytes.Buffer
	r.WritePrometheus(&b)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &b
	out, _ := cmd.CombinedOutput()
	// The one finding the contract keeps: a gauge named like a counter.
	want := `gemini_flow_workflows_total non-counter metrics should not have "_total" suffix`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("promtool check metrics reported:\n%s\nwant only:\n%s", got, want)
	}
}

// exercise gives every labelled family at least one series.
func exercise(r *monitoring.Registry) {
	r.ObserveHTTP("GET", "/api/workflows/{id}", 200, 3*time.Millisecond)
	r.ObserveHTTP("POST", "/api/workflows", 201, 20*time.Millisecond)
	r.IncError(monitoring.ErrValidation, "/api/workflows")
	r.WSConnected()
	r.WSMessages(monitoring.Outbound, "workflow.created", 3)
	r.ObserveDB(monitoring.OpWrite, monitoring.CollWorkflows, nil, 2*time.Millisecond)
	r.ObserveDB(monitoring.OpRead, monitoring.CollSessions, errors.New("boom"), time.Millisecond)
	r.WorkflowAdded(12)
	r.ObserveGemini(monitoring.OutcomeSuccess, 1200*time.Millisecond)
	r.RateLimited("/api/workflows")
	r.SetHistoryStats(func() monitoring.HistoryStats {
		return monitoring.HistoryStats{Series: 120, SamplesAppended: 5000, Bytes: 1 << 20, LastSample: time.UnixMilli(1_700_000_000_500)}
	})
}

func TestConcurrentUseIsConsistent(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				r.ObserveHTTP("GET", "/r"+string(rune('a'+w)), 200, time.Duration(i)*time.Microsecond)
				r.WorkflowAdded(i)
				r.WorkflowRemoved(i)
				r.WorkflowAdded(w)
				r.WSConnected()
				r.WSDisconnected()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			r.WritePrometheus(io.Discard)
		}
	})
	wg.Wait()
	e := scrape(t, r)
	for w := range workers {
		series := `gemini_flow_http_requests_total{method="GET", route="/r` + string(rune('a'+w)) + `", status_code="200"}`
		if got := e.value(t, series); got != rounds {
			t.Errorf("%s = %v, want %d", series, got, rounds)
		}
	}
	if got := e.value(t, `gemini_flow_workflows_total`); got != workers*rounds {
		t.Errorf("workflows_total = %v, want %d", got, workers*rounds)
	}
	if got := e.value(t, `gemini_flow_websocket_connections_active`); got != 0 {
		t.Errorf("websocket gauge = %v after equal connects and disconnects", got)
	}
}

func TestHistoryStats(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	e := scrape(t, r)
	if strings.Contains(e.text, "\ngemini_flow_history_series ") {
		t.Error("history samples written without a stats source")
	}
	if e.help["gemini_flow_history_series"] == "" {
		t.Error("history family lost its HELP without a stats source")
	}
	exercise(r)
	e = scrape(t, r)
	f := func(name string, want float64) {
		t.Helper()
		if got := e.value(t, ``+name+``); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	f("gemini_flow_history_series", 120)
	f("gemini_flow_history_samples_appended_total", 5000)
	f("gemini_flow_history_bytes", 1<<20)
	f("gemini_flow_history_last_sample_timestamp_seconds", 1_700_000_000.5)
	f("gemini_flow_history_checkpoint_errors_total", 0)
	r.SetHistoryStats(nil)
	if strings.Contains(scrape(t, r).text, "\ngemini_flow_history_series ") {
		t.Error("history samples written after the source was removed")
	}
}

// Whole blocks of the text, as a scraper receives them.
func TestExpositionLines(t *testing.T) {
	r := monitoring.New(monitoring.Options{})
	exercise(r)
	r.ObserveHTTP("GET", "/api/workflows/{id}", 200, -time.Second) // a clock step counts as 0 s
	text := scrape(t, r).text
	for _, block := range []string{
		`# HELP gemini_flow_websocket_connections_active Number of active WebSocket connections
# TYPE gemini_flow_websocket_connections_active gauge
gemini_flow_websocket_connections_active 1
# HELP gemini_flow_websocket_messages_total Total WebSocket messages sent/received
# TYPE gemini_flow_websocket_messages_total counter
gemini_flow_websocket_messages_total{direction="outbound",type="workflow.created"} 3
# HELP gemini_flow_db_operation_duration_seconds Duration of database operations in seconds
# TYPE gemini_flow_db_operation_duration_seconds histogram
`,
		`gemini_flow_db_operations_total{operation="read",collection="sessions",status="error"} 1
gemini_flow_db_operations_total{operation="read",collection="sessions",status="success"} 0
gemini_flow_db_operations_total{operation="write",collection="workflows",status="error"} 0
gemini_flow_db_operations_total{operation="write",collection="workflows",status="success"} 1
# HELP gemini_flow_workflows_total Total number of workflows in database
# TYPE gemini_flow_workflows_total gauge
gemini_flow_workflows_total 1
# HELP gemini_flow_workflow_nodes Distribution of node counts across workflows
# TYPE gemini_flow_workflow_nodes histogram
gemini_flow_workflow_nodes_bucket{le="0"} 0
gemini_flow_workflow_nodes_bucket{le="10"} 0
gemini_flow_workflow_nodes_bucket{le="25"} 1
gemini_flow_workflow_nodes_bucket{le="50"} 1
gemini_flow_workflow_nodes_bucket{le="100"} 1
gemini_flow_workflow_nodes_bucket{le="250"} 1
gemini_flow_workflow_nodes_bucket{le="500"} 1
gemini_flow_workflow_nodes_bucket{le="1000"} 1
gemini_flow_workflow_nodes_bucket{le="+Inf"} 1
gemini_flow_workflow_nodes_sum 12
gemini_flow_workflow_nodes_count 1
# HELP gemini_flow_errors_total Total number of errors
# TYPE gemini_flow_errors_total counter
gemini_flow_errors_total{type="validation",path="/api/workflows"} 1
`,
		`gemini_flow_http_request_duration_seconds_bucket{method="GET",route="/api/workflows/{id}",status_code="200",le="0.001"} 1
`,
		`gemini_flow_http_request_duration_seconds_sum{method="GET",route="/api/workflows/{id}",status_code="200"} 0.003
gemini_flow_http_request_duration_seconds_count{method="GET",route="/api/workflows/{id}",status_code="200"} 2
`,
		`gemini_flow_http_requests_total{method="GET",route="/api/workflows/{id}",status_code="200"} 2
`,
		`gemini_flow_history_last_sample_timestamp_seconds 1700000000.5
`,
	} {
		if !strings.Contains(text, block) {
			t.Errorf("exposition lacks the block\n%s\nin\n%s", block, text)
		}
	}
}
