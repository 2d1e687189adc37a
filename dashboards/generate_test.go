package dashboards

//lint:file-ignore SA1019 The v1 JSON model is what Grafana's import and grafana.com accept; v2 needs Grafana 12's new API.

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// The dashboard is written by code so that its panels stay uniform; the JSON file is the
// artefact users import, regenerated with `go generate ./dashboards`.
var update = flag.Bool("update", false, "rewrite gemini-flow.json from the builders")

const dashboardFile = "gemini-flow.json"

// sel is the matcher every panel query carries, so one dashboard serves one or many binaries,
// behind Prometheus, VictoriaMetrics or the binary's own query API.
const sel = `{job=~"$job",instance=~"$instance"}`

var promDS = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

type query struct{ expr, legend string }

type panelSpec struct {
	title, description, unit string
	queries                  []query
}

func rate(metric string) string {
	return "rate(" + metric + sel + "[$__rate_interval])"
}

func quantile(q, by, metric string) string {
	return "histogram_quantile(" + q + ", sum by (" + by + ") (" + rate(metric+"_bucket") + "))"
}

var panelSpecs = []panelSpec{
	{
		title:       "Request throughput",
		description: "HTTP requests per second by route template (gemini_flow_http_requests_total). Every request is counted, including 404s, preflights and rejected bodies; unmatched paths share the route \"unmatched\".",
		unit:        units.RequestsPerSecond,
		queries:     []query{{"sum by (route) (" + rate("gemini_flow_http_requests_total") + ")", "{{route}}"}},
	},
	{
		title:       "Request latency",
		description: "p50, p95 and p99 of HTTP request duration across all routes, from the gemini_flow_http_request_duration_seconds histogram (buckets 1 ms to 5 s; a quantile beyond 5 s shows as 5 s).",
		unit:        units.Seconds,
		queries: []query{
			{quantile("0.5", "le", "gemini_flow_http_request_duration_seconds"), "p50"},
			{quantile("0.95", "le", "gemini_flow_http_request_duration_seconds"), "p95"},
			{quantile("0.99", "le", "gemini_flow_http_request_duration_seconds"), "p99"},
		},
	},
	{
		title:       "Error rate",
		description: "Errors counted by gemini_flow_errors_total as a percentage of all HTTP requests. Both sides are summed before dividing: their label sets differ (type,path against method,route,status_code), so dividing the raw series matches nothing.",
		unit:        units.Percent,
		queries: []query{{
			"100 * sum(" + rate("gemini_flow_errors_total") + ") / sum(" + rate("gemini_flow_http_requests_total") + ")",
			"errors",
		}},
	},
	{
		title:       "Responses by status code",
		description: "HTTP responses per second by status code (gemini_flow_http_requests_total). 5xx should stay at zero; 4xx follow client behaviour.",
		unit:        units.RequestsPerSecond,
		queries:     []query{{"sum by (status_code) (" + rate("gemini_flow_http_requests_total") + ")", "{{status_code}}"}},
	},
	{
		title:       "WebSocket connections",
		description: "WebSocket clients connected now (gemini_flow_websocket_connections_active). Every way a client leaves, heartbeat misses and slow-client drops included, lowers it.",
		unit:        units.Short,
		queries:     []query{{"sum by (instance) (gemini_flow_websocket_connections_active" + sel + ")", "{{instance}}"}},
	},
	{
		title:       "WebSocket messages",
		description: "WebSocket frames per second by direction (inbound/outbound) and event type (gemini_flow_websocket_messages_total). A broadcast counts one outbound message per client reached.",
		unit:        units.MessagesPerSecond,
		queries:     []query{{"sum by (direction, type) (" + rate("gemini_flow_websocket_messages_total") + ")", "{{direction}} {{type}}"}},
	},
	{
		title:       "DB operation latency (p95)",
		description: "p95 duration of database transactions by operation (read/write/delete) and collection (workflows/store/sessions), from gemini_flow_db_operation_duration_seconds. Writes include the fsync of their commit.",
		unit:        units.Seconds,
		queries: []query{{
			quantile("0.95", "le, operation, collection", "gemini_flow_db_operation_duration_seconds"),
			"{{operation}} {{collection}}",
		}},
	},
	{
		title:       "DB operations",
		description: "Database transactions per second by collection and status (success/error), from gemini_flow_db_operations_total.",
		unit:        units.OpsPerSecond,
		queries:     []query{{"sum by (collection, status) (" + rate("gemini_flow_db_operations_total") + ")", "{{collection}} {{status}}"}},
	},
	{
		title:       "Workflows stored",
		description: "Workflows in the database now (gemini_flow_workflows_total). Despite its suffix this is a gauge: it goes down when workflows are deleted, so it is read directly, never through rate().",
		unit:        units.Short,
		queries:     []query{{"sum by (instance) (gemini_flow_workflows_total" + sel + ")", "{{instance}}"}},
	},
	{
		title:       "Workflow size distribution",
		description: "Stored workflows with at most N nodes (cumulative buckets of gemini_flow_workflow_nodes). The histogram describes the workflows stored now, so its buckets are read as they are, not through rate().",
		unit:        units.Short,
		queries:     []query{{"sum by (le) (gemini_flow_workflow_nodes_bucket" + sel + ")", "≤ {{le}} nodes"}},
	},
	{
		title:       "CPU usage",
		description: "CPU time used per second (gemini_flow_process_cpu_seconds_total, user plus system); 100% is one full core.",
		unit:        units.PercentUnit,
		queries:     []query{{"sum by (instance) (" + rate("gemini_flow_process_cpu_seconds_total") + ")", "{{instance}}"}},
	},
	{
		title:       "Resident memory",
		description: "Resident set size of the process (gemini_flow_process_resident_memory_bytes).",
		unit:        units.BytesIEC,
		queries:     []query{{"sum by (instance) (gemini_flow_process_resident_memory_bytes" + sel + ")", "{{instance}}"}},
	},
	{
		title:       "GC pause",
		description: "Go garbage-collection stop-the-world pauses: the average over the interval (_sum/_count of gemini_flow_go_gc_duration_seconds) and the p99 from its buckets (1 ms to 5 s, so short pauses read as the 1 ms bound).",
		unit:        units.Seconds,
		queries: []query{
			{"sum(" + rate("gemini_flow_go_gc_duration_seconds_sum") + ") / sum(" + rate("gemini_flow_go_gc_duration_seconds_count") + ")", "average"},
			{quantile("0.99", "le", "gemini_flow_go_gc_duration_seconds"), "p99"},
		},
	},
	{
		title:       "Goroutines",
		description: "Goroutines alive now (gemini_flow_go_goroutines): about two per WebSocket client plus a fixed base; steady growth without more clients points at a leak.",
		unit:        units.Short,
		queries:     []query{{"sum by (instance) (gemini_flow_go_goroutines" + sel + ")", "{{instance}}"}},
	},
}

func buildDashboard() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("gemini-flow").
		Uid("gemini-flow").
		Description("HTTP, WebSocket, database, workflow and runtime metrics of the gemini-flow backend.").
		Tags([]string{"gemini-flow", "prometheus"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone("browser").
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus")).
		WithVariable(labelVariable("job", "Job", "label_values(gemini_flow_build_info, job)", monitoring.Job)).
		WithVariable(labelVariable("instance", "Instance", `label_values(gemini_flow_build_info{job=~"$job"}, instance)`, ""))
	for _, spec := range panelSpecs {
		b.WithPanel(buildPanel(spec))
	}
	return b.Build()
}

// labelVariable is a multi-value variable over q, preset to current, or to All when empty.
func labelVariable(name, label, q, current string) *dashboard.QueryVariableBuilder {
	text, value := "All", "$__all"
	if current != "" {
		text, value = current, current
	}
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(promDS).
		Query(dashboard.StringOrMap{String: &q}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{String: &text},
			Value: dashboard.StringOrArrayOfString{String: &value},
		})
}

func buildPanel(spec panelSpec) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(spec.title).
		Description(spec.description).
		Datasource(promDS).
		Unit(spec.unit).
		Min(0).
		Height(8).
		Span(12).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
	for i, q := range spec.queries {
		p.WithTarget(prometheus.NewDataqueryBuilder().
			Datasource(promDS).
			Expr(q.expr).
			LegendFormat(q.legend).
			RefId(string(rune('A' + i))).
			Range())
	}
	return p
}

func renderDashboard(t *testing.T) []byte {
	t.Helper()
	d, err := buildDashboard()
	if err != nil {
		t.Fatalf("build dashboard: %v", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		t.Fatalf("encode dashboard: %v", err)
	}
	return buf.Bytes()
}

func TestDashboardGenerated(t *testing.T) {
	got := renderDashboard(t)
	if *update {
		if err := os.WriteFile(dashboardFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, Dashboard()) {
		t.Fatalf("%s differs from the builders; run `go generate ./dashboards` and review the diff", dashboardFile)
	}
}
