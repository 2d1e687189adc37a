import { test } from "node:test";
import assert from "node:assert/strict";
import { fmt, fmtLe, fmtTicks, fmtTimeTicks } from "../static/js/units.js";

test("fmt writes a value in its panel's unit", () => {
  const cases = [
    [0.000502, "s", "502 µs"], [0.0015, "s", "1.5 ms"], [90, "s", "1.5 min"], [250, "ms", "250 ms"],
    [0.2667, "percentunit", "26.7%"], [25, "percent", "25%"], [27262976, "bytes", "26 MiB"],
    [1500, "reqps", "1.5k req/s"], [0.33333, "mps", "0.33 msg/s"], [20, "ops", "20 ops/s"],
    [1234567, "short", "1.23M"], [0, "short", "0"], [null, "s", "–"], [NaN, "s", "–"], [Infinity, "s", "+Inf"],
  ];
  for (const [v, unit, want] of cases) assert.equal(fmt(v, unit), want, `${v} ${unit}`);
});

test("fmtTicks keeps narrow ranges distinct and each label exact", () => {
  const cases = [
    [[0.258, 0.2581, 0.2582], "percentunit", ["25.80%", "25.81%", "25.82%"]],
    [[19.8, 19.9, 20].map((x) => x * 1048576), "bytes", ["19.8 MiB", "19.9 MiB", "20.0 MiB"]],
    [[0, 0.25, 0.5, 0.75, 1], "s", ["0.00 s", "0.25 s", "0.50 s", "0.75 s", "1.00 s"]],
    [[0, 10, 20, 30], "reqps", ["0 req/s", "10 req/s", "20 req/s", "30 req/s"]],
    [[0, 0.0005, 0.001, 0.0015], "s", ["0.0 ms", "0.5 ms", "1.0 ms", "1.5 ms"]],
    [[-1, -0.5, 0, 0.5, 1], "short", ["-1.0", "-0.5", "0.0", "0.5", "1.0"]],
    [[0, 1000, 2000], "short", ["0k", "1k", "2k"]],
  ];
  for (const [vals, unit, want] of cases) {
    const got = fmtTicks(vals, unit);
    assert.deepEqual(got, want, `${vals} ${unit}`);
    assert.equal(new Set(got).size, got.length);
  }
});

test("fmtLe writes a bucket bound as its number", () => {
  assert.deepEqual(["0.0", "10.0", "2.5", "+Inf"].map(fmtLe), ["0", "10", "2.5", "+Inf"]);
});

test("fmtTimeTicks is as short as the spacing allows and never repeats", () => {
  const day = Date.UTC(2026, 0, 2) / 1000;
  const cases = [
    [[0, 10, 20], ["00:00:00", "00:00:10", "00:00:20"]],
    [[0, 60, 120], ["00:00", "00:01", "00:02"]],
    [[0, 3600, 7200], ["00:00", "01:00", "02:00"]],
    [[-3600, 0, 3600], ["01-01 23:00", "01-02 00:00", "01-02 01:00"]],
    [[0, 86400, 172800], ["01-02", "01-03", "01-04"]],
  ];
  for (const [off, want] of cases) assert.deepEqual(fmtTimeTicks(off.map((o) => day + o), false), want);
});
