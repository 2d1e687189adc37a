package history

import (
	"fmt"
	"strings"
)

// The query shapes of the Prometheus compliance suite (prometheus/compliance,
// promql/promql-test-queries.yml), rewritten for the binary's own metrics, plus the shapes
// the suite leaves out (@, set operators, vector matching cases, more functions) and
// the shipped dashboard's panels. The suite's metrics map as:
//
//	demo_memory_usage_bytes{type}       gauge-like, several series  -> $M{operation}
//	demo_num_cpus                        one gauge                   -> $ONE
//	demo_cpu_usage_seconds_total         counters (they reset here)  -> $CTR
//	demo_disk_usage_bytes                a moving gauge              -> $DISK
//	demo_batch_last_success_timestamp    a timestamp gauge           -> $TS
//	demo_api_request_duration_seconds    a histogram                 -> $HIST
//	demo_intermittent_metric             comes and goes              -> $GAP
var complianceNames = strings.NewReplacer(
	"$M", "gemini_flow_db_operation_duration_seconds_sum",
	"$ONE", "gemini_flow_workflows_total",
	"$CTR", "gemini_flow_http_requests_total",
	"$DISK", "gemini_flow_go_memstats_heap_inuse_bytes",
	"$TS", "gemini_flow_process_start_time_seconds",
	"$HIST", "gemini_flow_http_request_duration_seconds",
	"$GAP", "gemini_flow_websocket_connections_active",
	"$INST", testInstance,
)

// complianceVariants are the suite's variant arguments.
var complianceVariants = map[string][]string{
	"offset":               {"1m", "5m", "10m"},
	"simpleAggrOp":         {"sum", "avg", "max", "min", "count", "stddev", "stdvar", "group"},
	"topBottomOp":          {"topk", "bottomk"},
	"quantile":             {"-0.5", "0.5", "0.99", "1", "1.5"},
	"arithBinOp":           {"+", "-", "*", "/", "%", "^", "atan2"},
	"compBinOp":            {"==", "!=", "<", ">", "<=", ">="},
	"binOp":                {"+", "*", "/", "%", "^", "==", "<", ">="},
	"setOp":                {"and", "or", "unless"},
	"simpleTimeAggrOp":     {"avg", "max", "min", "sum", "count", "stddev", "stdvar", "last", "present"},
	"range":                {"1m", "5m", "1h"},
	"simpleMathFunc":       {"abs", "ceil", "floor", "exp", "sqrt", "ln", "log10", "round", "sgn", "tanh"},
	"extrapolatedRateFunc": {"delta", "rate", "increase"},
	"clampFunc":            {"clamp_min", "clamp_max"},
	"instantRateFunc":      {"idelta", "irate"},
	"dateFunc":             {"day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"},
}

// complianceShapes are the query templates; {{.name}} takes every value of the variant.
var complianceShapes = []string{
	// Scalar literals.
	`42`, `1.234`, `.123`, `1.23e-3`, `0x3d`, `Inf`, `+Inf`, `-Inf`, `NaN`,

	// Vector selectors, regex and negative matchers, offset.
	`$M`,
	`{__name__="$M"}`,
	`$M{operation="read"}`,
	`$M{operation!="read"}`,
	`$M{instance=~"127.0.0.1:.*"}`,
	`$M{instance=~"host"}`,
	`$M{instance!~".*:3001"}`,
	`$M{operation="read", collection!="workflows"}`,
	`{operation="read", collection!="workflows"}`,
	`{__name__=~".*"}`,
	`{__name__=~"gemini_flow_(db|http)_.*", status=~"2..|success"}`,
	`$CTR{route=~"/api/workflows.*", status_code!~"2.."}`,
	`$CTR{route!=""}`,
	`nonexistent_metric_name`,
	`$M offset {{.offset}}`,
	`$M offset -{{.offset}}`,
	`$GAP`,
	`$CTR{route="/api/workflows/{id}"}`,

	// Aggregation operators.
	`{{.simpleAggrOp}}($M)`,
	`{{.simpleAggrOp}}(nonexistent_metric_name)`,
	`{{.simpleAggrOp}} by() ($M)`,
	`{{.simpleAggrOp}} by(instance) ($M)`,
	`{{.simpleAggrOp}} by(instance, operation) ($M)`,
	`{{.simpleAggrOp}} by(nonexistent) ($M)`,
	`{{.simpleAggrOp}} without() ($M)`,
	`{{.simpleAggrOp}} without(instance) ($M)`,
	`{{.simpleAggrOp}} without(instance, operation) ($M)`,
	`{{.simpleAggrOp}} without(nonexistent) ($M)`,
	`{{.topBottomOp}} (3, $M)`,
	`{{.topBottomOp}} by(instance) (2, $M)`,
	`{{.topBottomOp}} without(instance) (2, $M)`,
	`{{.topBottomOp}} without() (2, $M)`,
	`quantile({{.quantile}}, $M)`,
	`avg(max by(operation) ($M))`,
	`count_values("value", $HIST_bucket)`,
	`count_values by (route) ("status", $CTR)`,

	// Binary operators and vector matching.
	`1 * 2 + 4 / 6 - 10 % 2 ^ 2`,
	`$ONE + (1 {{.compBinOp}} bool 2)`,
	`$M {{.binOp}} 1.2345`,
	`$M {{.compBinOp}} bool 1.2345`,
	`1.2345 {{.compBinOp}} bool $M`,
	`0.12345 {{.binOp}} $M`,
	`(1 * 2 + 4 / 6 - (10%7)^2) {{.binOp}} $M`,
	`$M {{.binOp}} (1 * 2 + 4 / 6 - 10)`,
	`timestamp($M * 1)`,
	`timestamp(-$M)`,
	`$M {{.binOp}} on(instance, job, operation, collection) $M`,
	`sum by(instance, operation) ($M) {{.binOp}} on(instance, operation) group_left(collection) $M`,
	`$M {{.compBinOp}} bool on(instance, job, operation, collection) $M`,
	`$M / on(instance, job, operation, collection, __name__) $M`,
	`sum without(job) ($M) / on(instance, operation, collection) $M`,
	`sum without(job) ($M) / on(instance, operation, collection) group_left $M`,
	`sum without(job) ($M) / on(instance, operation, collection) group_left(job) $M`,
	`$M / on(instance, job) group_left $ONE`,
	`$M / on(instance, operation, collection, job, non_existent) $M`,
	`$M / $M`,
	`$M / ignoring(collection) group_left sum without(collection) ($M)`,
	`$M + on(operation) $M`,
	`$CTR {{.setOp}} $CTR{status_code="200"}`,
	`$CTR{status_code="200"} {{.setOp}} on(route) $CTR{status_code!="200"}`,
	`$CTR {{.setOp}} ignoring(status_code, method) $HIST_count`,

	// NaN, Inf and unary expressions.
	`$ONE * Inf`, `$ONE * -Inf`, `$ONE * NaN`,
	`$M + -(1)`, `-$M`, `-1 ^ 2`,

	// Binary operators with non-constant scalars.
	`1 {{.arithBinOp}} time()`,
	`time() {{.arithBinOp}} 1`,
	`time() {{.compBinOp}} bool 1`,
	`1 {{.compBinOp}} bool time()`,
	`time() {{.arithBinOp}} time()`,
	`time() {{.compBinOp}} bool time()`,
	`time() {{.binOp}} $M`,
	`$M {{.binOp}} time()`,
	`scalar($ONE) * $M`,
	`scalar($M)`,

	// Functions.
	`{{.simpleTimeAggrOp}}_over_time($M[{{.range}}])`,
	`{{.simpleTimeAggrOp}}_over_time($GAP[{{.range}}])`,
	`quantile_over_time({{.quantile}}, $M[{{.range}}])`,
	`count_over_time($CTR[{{.range}}])`,
	`absent_over_time($GAP[1m])`,
	`absent_over_time(nonexistent_metric_name[{{.range}}])`,
	`timestamp($ONE)`,
	`timestamp(timestamp($ONE))`,
	`{{.simpleMathFunc}}($M)`,
	`{{.simpleMathFunc}}(-$M)`,
	`{{.extrapolatedRateFunc}}(nonexistent_metric[5m])`,
	`{{.extrapolatedRateFunc}}($CTR[{{.range}}])`,
	`{{.extrapolatedRateFunc}}($GAP[{{.range}}])`,
	`deriv($DISK[{{.range}}])`,
	`predict_linear($DISK[{{.range}}], 600)`,
	`time()`,
	`label_replace($ONE, "job", "destination-value-$1", "instance", "127.0.0.1:(.*)")`,
	`label_replace($ONE, "job", "destination-value-$1", "instance", "host:(.*)")`,
	`label_replace($ONE, "job", "$1-$2", "instance", "12(.*):(.*)")`,
	`label_replace($ONE, "job", "value-$1", "nonexistent-src", "source-value-(.*)")`,
	`label_replace($ONE, "job", "value-$1", "nonexistent-src", "(.*)")`,
	`label_replace($ONE, "job", "value-$1", "instance", "non-matching-regex")`,
	`label_replace($ONE, "job", "", "dst", ".*")`,
	`label_replace($ONE, "job", "value-$1", "src", "(.*")`,
	`label_replace($ONE, "instance", "", "", "")`,
	`label_replace($CTR, "route", "", "", "")`,
	`label_join($ONE, "new_label", "-", "instance", "job")`,
	`label_join($ONE, "job", "-", "instance", "job")`,
	`label_join($ONE, "job", "-", "instance")`,
	`{{.dateFunc}}()`,
	`{{.dateFunc}}($TS offset {{.offset}})`,
	`{{.instantRateFunc}}($CTR[{{.range}}])`,
	`{{.clampFunc}}($M, 2)`,
	`clamp($M, 0, 1)`,
	`clamp($M, 0, 1000000000000)`,
	`clamp($M, 1000000000000, 0)`,
	`clamp($M, 1000000000000, 1000000000000)`,
	`resets($CTR[{{.range}}])`,
	`changes($ONE[{{.range}}])`,
	`changes($GAP[{{.range}}])`,
	`vector(1.23)`,
	`vector(time())`,
	`sort($M)`, `sort_desc($M)`,
	`histogram_quantile({{.quantile}}, rate($HIST_bucket[1m]))`,
	`histogram_quantile(0.9, sum by (le, route) (rate($HIST_bucket[5m])))`,
	`histogram_quantile(0.9, nonexistent_metric)`,
	`histogram_quantile(0.9, $M)`,
	`histogram_quantile(0.9, {__name__=~"$HIST_.+"})`,
	`histogram_fraction(0, 0.1, sum by (le) (rate($HIST_bucket[5m])))`,
	`absent($M)`,
	`absent(nonexistent_metric_name)`,
	`absent(nonexistent_metric_name{job="x", instance=~"y"})`,

	// The @ modifier.
	`$M @ start()`,
	`$M @ end()`,
	`rate($CTR[5m] @ end())`,
	`sum(rate($CTR[5m] @ start())) by (route)`,
	`$M @ $AT offset 1m`,
	`max_over_time($GAP[10m] @ $AT)`,

	// Subqueries.
	`max_over_time((time() - max($TS) < 1000)[5m:10s] offset 5m)`,
	`avg_over_time(rate($CTR[1m])[2m:10s])`,
	`max_over_time(sum by (route) (rate($CTR[1m]))[10m:30s])`,
	`rate($CTR[5m:])`,
	`min_over_time(deriv($DISK[5m])[15m:1m] offset 2m)`,
}

// complianceExpand expands every shape over its variants and names the binary's metrics;
// at names the seconds of a fixed evaluation time for @.
func complianceExpand(at int64) []string {
	var out []string
	names := strings.NewReplacer("$AT", fmt.Sprint(at))
	for _, shape := range complianceShapes {
		for _, q := range expandVariants([]string{shape}) {
			out = append(out, names.Replace(complianceNames.Replace(q)))
		}
	}
	return out
}

// expandVariants replaces the first {{.name}} of each query by every value of its
// variant, until none is left.
func expandVariants(qs []string) []string {
	var out []string
	for _, q := range qs {
		i := strings.Index(q, "{{.")
		if i < 0 {
			out = append(out, q)
			continue
		}
		j := strings.Index(q[i:], "}}")
		name := q[i+3 : i+j]
		var next []string
		for _, v := range complianceVariants[name] {
			next = append(next, strings.Replace(q, q[i:i+j+2], v, 1))
		}
		out = append(out, expandVariants(next)...)
	}
	return out
}
