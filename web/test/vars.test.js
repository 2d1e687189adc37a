import { test } from "node:test";
import assert from "node:assert/strict";
import { expand, legendName, metricNames, regexEscape, seriesName } from "../static/js/vars.js";

test("expand substitutes Grafana's variables as Grafana does", () => {
  const vars = { job: "gemini-flow", instance: ".*" };
  const cases = [
    ['rate(x{job=~"$job"}[$__rate_interval])', 10, 10, 'rate(x{job=~"gemini-flow"}[40s])'],
    ["rate(x[${__rate_interval}])", 60, 10, "rate(x[70s])"],
    ["sum_over_time(x[$__interval]) ${instance}", 30, 10, "sum_over_time(x[30s]) .*"],
    ["x{a=\"$unknown\"} $datasource", 10, 10, "x{a=\"$unknown\"} "],
  ];
  for (const [expr, step, interval, want] of cases) assert.equal(expand(expr, { step, interval, vars }), want);
});

test("regexEscape quotes a label value", () => {
  assert.equal(regexEscape("127.0.0.1:80"), "127\\.0\\.0\\.1:80");
});

test("legendName follows legendFormat, else writes the series as Prometheus does", () => {
  assert.equal(legendName("{{direction}} {{type}}", { direction: "in", type: "x" }), "in x");
  assert.equal(legendName("≤ {{le}} nodes", { le: "10.0" }, (k, v) => (k === "le" ? String(Number(v)) : v)), "≤ 10 nodes");
  assert.equal(legendName("", { __name__: "up", job: "a" }), 'up{job="a"}');
  assert.equal(seriesName({}), "{}");
});

test("metricNames lists the metrics an expression reads", () => {
  const cases = [
    ['histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job"}[5m])))', ["a_bucket"]],
    ["100 * sum(rate(errs_total[1m])) / sum(rate(reqs_total[1m] offset 5m)) > bool 2e3", ["errs_total", "reqs_total"]],
    ["vector(1)", []],
    ["sum(gemini_flow_go_goroutines) > 0", ["gemini_flow_go_goroutines"]],
    ["rate(a[5m]) / on(job) group_left(x) b", ["a", "b"]],
    ['up{job="x"} == 0 and on (instance) other_metric', ["up", "other_metric"]],
  ];
  for (const [expr, want] of cases) assert.deepEqual(metricNames(expr), want, expr);
});
