package monitoring

import (
	"strconv"
	"strings"
)

// Family describes one metric family: its name, HELP text, TYPE, label names and, for
// histograms, the upper bounds of its buckets (without +Inf).
type Family struct {
	Name    string
	Help    string
	Type    string
	Labels  []string
	Buckets []float64
}

// The metric types written on TYPE lines.
const (
	TypeCounter   = "counter"
	TypeGauge     = "gauge"
	TypeHistogram = "histogram"
)

// Indexes into catalogue; the order is the order of the exposition.
const (
	famHTTPDuration = iota
	famHTTPRequests
	famWSActive
	famWSMessages
	famDBDuration
	famDBOperations
	famWorkflows
	famWorkflowNodes
	famErrors

	famBuildInfo
	famGeminiDuration
	famGeminiRequests
	famRateLimited
	famHistorySeries
	famHistorySamples
	famHistoryBytes
	famHistoryLastSample
	famHistoryCheckpointErrors
	famQueryCacheBytes
	famQueryCacheHits
	famQueryCacheMisses
	famRuleGroupLastDuration
	famRuleGroupLastEvaluation
	famRuleEvaluations
	famRuleEvaluationFailures
	famAlerts
	famNotificationsSent
	famNotificationsErrors
	famNotificationsDropped
	famNotificationsQueueLength
	famNotificationsQueueCapacity
	famRemoteWriteSent
	famRemoteWriteDropped
	famRemoteWriteRetries
	famRemoteWriteQueue

	famProcCPUUser
	famProcCPUSystem
	famProcCPU
	famProcStartTime
	famProcResident
	famProcVirtual
	famProcOpenFDs
	famProcMaxFDs

	famGoGoroutines
	famGoThreads
	famGoAllocBytes
	famGoHeapAlloc
	famGoHeapInuse
	famGoHeapSys
	famGoHeapObjects
	famGoNextGC
	famGoStackInuse
	famGoSys
	famGoGCCycles
	famGoGCDuration
	famGoSchedLatencies

	numFamilies
)

// catalogue is the one table of every family the exposition holds. The first block is the
// seed contract, copied exactly (name, HELP, type, labels, buckets); the rest follow the same
// rules: Prometheus naming, base units, bounded label values, HELP on every family.
var catalogue = [numFamilies]Family{
	// The seed contract.
	famHTTPDuration: {"gemini_flow_http_request_duration_seconds", "Duration of HTTP requests in seconds", TypeHistogram,
		[]string{"method", "route", "status_code"}, []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5}},
	famHTTPRequests: {"gemini_flow_http_requests_total", "Total number of HTTP requests", TypeCounter,
		[]string{"method", "route", "status_code"}, nil},
	famWSActive: {"gemini_flow_websocket_connections_active", "Number of active WebSocket connections", TypeGauge, nil, nil},
	famWSMessages: {"gemini_flow_websocket_messages_total", "Total WebSocket messages sent/received", TypeCounter,
		[]string{"direction", "type"}, nil},
	famDBDuration: {"gemini_flow_db_operation_duration_seconds", "Duration of database operations in seconds", TypeHistogram,
		[]string{"operation", "collection"}, []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1}},
	famDBOperations: {"gemini_flow_db_operations_total", "Total number of database operations", TypeCounter,
		[]string{"operation", "collection", "status"}, nil},
	// A gauge with a counter's suffix: promtool reports it, the name stays for the contract.
	famWorkflows: {"gemini_flow_workflows_total", "Total number of workflows in database", TypeGauge, nil, nil},
	// Describes the workflows stored now, so its _count equals gemini_flow_workflows_total.
	famWorkflowNodes: {"gemini_flow_workflow_nodes", "Distribution of node counts across workflows", TypeHistogram,
		nil, []float64{0, 10, 25, 50, 100, 250, 500, 1000}},
	famErrors: {"gemini_flow_errors_total", "Total number of errors", TypeCounter, []string{"type", "path"}, nil},

	// Additions: build, Gemini upstream, rate limiter, built-in history health.
	famBuildInfo: {"gemini_flow_build_info", "Build information of the running binary; the value is always 1", TypeGauge,
		[]string{"version", "revision", "goversion"}, nil},
	famGeminiDuration: {"gemini_flow_gemini_request_duration_seconds", "Duration of Gemini API requests in seconds", TypeHistogram,
		[]string{"outcome"}, []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}},
	famGeminiRequests: {"gemini_flow_gemini_requests_total", "Total number of Gemini API requests by outcome", TypeCounter,
		[]string{"outcome"}, nil},
	famRateLimited: {"gemini_flow_rate_limit_rejections_total", "Total number of requests rejected by the rate limiter", TypeCounter,
		[]string{"route"}, nil},
	famHistorySeries:           {"gemini_flow_history_series", "Number of series held by the built-in metric history", TypeGauge, nil, nil},
	famHistorySamples:          {"gemini_flow_history_samples_appended_total", "Total number of samples appended to the built-in metric history", TypeCounter, nil, nil},
	famHistoryBytes:            {"gemini_flow_history_bytes", "Size of the built-in metric history on disk in bytes", TypeGauge, nil, nil},
	famHistoryLastSample:       {"gemini_flow_history_last_sample_timestamp_seconds", "Unix time of the last sample appended to the built-in metric history in seconds", TypeGauge, nil, nil},
	famHistoryCheckpointErrors: {"gemini_flow_history_checkpoint_errors_total", "Total number of failed checkpoints of the built-in metric history", TypeCounter, nil, nil},
	famRemoteWriteSent: {"gemini_flow_remote_write_samples_sent_total", "Total number of history samples accepted by a remote-write receiver", TypeCounter,
		[]string{"url"}, nil},
	famRemoteWriteDropped: {"gemini_flow_remote_write_samples_dropped_total", "Total number of history samples a remote write gave up on, by reason", TypeCounter,
		[]string{"url", "reason"}, nil},
	famRemoteWriteRetries: {"gemini_flow_remote_write_retries_total", "Total number of remote-write requests retried after a 5xx, a 429 or a transport error", TypeCounter,
		[]string{"url"}, nil},
	famRemoteWriteQueue: {"gemini_flow_remote_write_queue_samples", "Number of history samples waiting to be remote written", TypeGauge,
		[]string{"url"}, nil},
	famQueryCacheBytes:  {"gemini_flow_query_cache_bytes", "Estimated memory held by the range query result cache in bytes", TypeGauge, nil, nil},
	famQueryCacheHits:   {"gemini_flow_query_cache_hits_total", "Total number of range queries answered partly or wholly from the result cache", TypeCounter, nil, nil},
	famQueryCacheMisses: {"gemini_flow_query_cache_misses_total", "Total number of cacheable range queries evaluated whole", TypeCounter, nil, nil},

	// Built-in rule evaluation and notifications, named as Prometheus's own under the prefix.
	famRuleGroupLastDuration:      {"gemini_flow_rule_group_last_duration_seconds", "Duration of the last rule group evaluation in seconds", TypeGauge, []string{"rule_group"}, nil},
	famRuleGroupLastEvaluation:    {"gemini_flow_rule_group_last_evaluation_timestamp_seconds", "Unix time of the last rule group evaluation in seconds", TypeGauge, []string{"rule_group"}, nil},
	famRuleEvaluations:            {"gemini_flow_rule_evaluations_total", "Total number of rule evaluations", TypeCounter, []string{"rule_group"}, nil},
	famRuleEvaluationFailures:     {"gemini_flow_rule_evaluation_failures_total", "Total number of rule evaluations that failed", TypeCounter, []string{"rule_group"}, nil},
	famAlerts:                     {"gemini_flow_alerts", "Number of active alerts by state", TypeGauge, []string{"state"}, nil},
	famNotificationsSent:          {"gemini_flow_notifications_sent_total", "Total number of alerts sent", TypeCounter, []string{"alertmanager"}, nil},
	famNotificationsErrors:        {"gemini_flow_notifications_errors_total", "Total number of sends that failed after their retries", TypeCounter, []string{"alertmanager"}, nil},
	famNotificationsDropped:       {"gemini_flow_notifications_dropped_total", "Total number of alerts dropped because a send failed or a queue was full", TypeCounter, nil, nil},
	famNotificationsQueueLength:   {"gemini_flow_notifications_queue_length", "Number of alerts waiting in the notification queues", TypeGauge, nil, nil},
	famNotificationsQueueCapacity: {"gemini_flow_notifications_queue_capacity", "Capacity of each notification queue", TypeGauge, nil, nil},

	// Process metrics, named as prom-client's default metrics under the seed's prefix.
	famProcCPUUser:   {"gemini_flow_process_cpu_user_seconds_total", "Total user CPU time spent in seconds", TypeCounter, nil, nil},
	famProcCPUSystem: {"gemini_flow_process_cpu_system_seconds_total", "Total system CPU time spent in seconds", TypeCounter, nil, nil},
	famProcCPU:       {"gemini_flow_process_cpu_seconds_total", "Total user and system CPU time spent in seconds", TypeCounter, nil, nil},
	famProcStartTime: {"gemini_flow_process_start_time_seconds", "Start time of the process since unix epoch in seconds", TypeGauge, nil, nil},
	famProcResident:  {"gemini_flow_process_resident_memory_bytes", "Resident memory size in bytes", TypeGauge, nil, nil},
	famProcVirtual:   {"gemini_flow_process_virtual_memory_bytes", "Virtual memory size in bytes", TypeGauge, nil, nil},
	famProcOpenFDs:   {"gemini_flow_process_open_fds", "Number of open file descriptors", TypeGauge, nil, nil},
	famProcMaxFDs:    {"gemini_flow_process_max_fds", "Maximum number of open file descriptors", TypeGauge, nil, nil},

	// Go runtime metrics, read from runtime/metrics without stopping the world.
	famGoGoroutines:  {"gemini_flow_go_goroutines", "Number of goroutines that currently exist", TypeGauge, nil, nil},
	famGoThreads:     {"gemini_flow_go_threads", "Number of OS threads owned by the Go runtime", TypeGauge, nil, nil},
	famGoAllocBytes:  {"gemini_flow_go_memstats_alloc_bytes_total", "Total number of bytes allocated on the heap, even if freed", TypeCounter, nil, nil},
	famGoHeapAlloc:   {"gemini_flow_go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use", TypeGauge, nil, nil},
	famGoHeapInuse:   {"gemini_flow_go_memstats_heap_inuse_bytes", "Number of heap bytes in in-use spans", TypeGauge, nil, nil},
	famGoHeapSys:     {"gemini_flow_go_memstats_heap_sys_bytes", "Number of heap bytes obtained from the system", TypeGauge, nil, nil},
	famGoHeapObjects: {"gemini_flow_go_memstats_heap_objects", "Number of allocated heap objects", TypeGauge, nil, nil},
	famGoNextGC:      {"gemini_flow_go_memstats_next_gc_bytes", "Heap size target of the next garbage collection in bytes", TypeGauge, nil, nil},
	famGoStackInuse:  {"gemini_flow_go_memstats_stack_inuse_bytes", "Number of bytes in use by goroutine stacks", TypeGauge, nil, nil},
	famGoSys:         {"gemini_flow_go_memstats_sys_bytes", "Number of bytes obtained from the system by the Go runtime", TypeGauge, nil, nil},
	famGoGCCycles:    {"gemini_flow_go_gc_cycles_total", "Total number of completed garbage collection cycles", TypeCounter, nil, nil},
	// The seed's gcDurationBuckets, filled from the runtime's own pause histogram.
	famGoGCDuration: {"gemini_flow_go_gc_duration_seconds", "Stop-the-world garbage collection pause durations in seconds (sum estimated from the runtime's buckets)", TypeHistogram,
		nil, []float64{0.001, 0.01, 0.1, 1, 2, 5}},
	// Go's analogue of Node's event-loop lag: how long runnable goroutines wait for a thread.
	famGoSchedLatencies: {"gemini_flow_go_sched_latencies_seconds", "Time goroutines spent runnable before running in seconds (sum estimated from the runtime's buckets)", TypeHistogram,
		nil, []float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1}},
}

// Catalogue returns a copy of every family the exposition holds, in exposition order.
func Catalogue() []Family {
	out := make([]Family, len(catalogue))
	for i, f := range catalogue {
		f.Labels = append([]string(nil), f.Labels...)
		f.Buckets = append([]float64(nil), f.Buckets...)
		out[i] = f
	}
	return out
}

// Families returns the catalogue (see Catalogue).
func (r *Registry) Families() []Family { return Catalogue() }

// MarkdownTable renders the catalogue as the Markdown table the README carries.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| name | type | labels | buckets | help |\n|---|---|---|---|---|\n")
	for _, f := range catalogue {
		labels := make([]string, len(f.Labels))
		for i, l := range f.Labels {
			labels[i] = "`" + l + "`"
		}
		buckets := make([]string, len(f.Buckets))
		for i, ub := range f.Buckets {
			buckets[i] = strconv.FormatFloat(ub, 'f', -1, 64)
		}
		b.WriteString("| `" + f.Name + "` | " + f.Type + " | " + strings.Join(labels, ", ") + " | " +
			strings.Join(buckets, ", ") + " | " + strings.ReplaceAll(f.Help, "|", `\|`) + " |\n")
	}
	return b.String()
}
