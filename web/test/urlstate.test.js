import { test } from "node:test";
import assert from "node:assert/strict";
import { defaults, formatDuration, formatState, parseDuration, parseState, slug } from "../static/js/urlstate.js";

test("durations read and write as Prometheus writes them", () => {
  const cases = [["5m", 300], ["1h", 3600], ["1h30m", 5400], ["7d", 604800], ["24h", 86400]];
  for (const [s, n] of cases) assert.equal(parseDuration(s), n);
  assert.equal(formatDuration(86400), "1d");
  assert.equal(formatDuration(5400), "1h30m");
  for (const bad of ["", "5", "m", "-5m", "5 m", "0s"]) assert.equal(parseDuration(bad), null, bad);
});

test("the state survives a round trip through the URL", () => {
  const cases = [
    defaults(),
    { ...defaults(), range: 21600, job: "gemini-flow-backend", panel: "request-latency" },
    { ...defaults(), from: 1700000000, to: 1700003600, theme: "dark", query: "sum(rate(x[1m])) > 0 & y", view: "table" },
    { ...defaults(), instance: "127.0.0.1:8080", query: "up" },
  ];
  for (const st of cases) assert.deepEqual(parseState(formatState(st)), st);
});

test("parseState ignores what it cannot read", () => {
  assert.deepEqual(parseState("?range=soon&from=5&theme=pink&view=pie"), defaults());
  assert.equal(formatState(defaults()), "");
  assert.equal(formatState({ ...defaults(), range: 21600, job: "a b" }), "?range=6h&job=a+b");
  assert.deepEqual(parseState("?from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z").to - parseState("?from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z").from, 3600);
});

test("slug makes a panel's id from its title", () => {
  assert.equal(slug("DB operation latency (p95)"), "db-operation-latency-p95");
});
