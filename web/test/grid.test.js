import { test } from "node:test";
import assert from "node:assert/strict";
import { buildColumns, collect, coveringPreset, drawable, gridXs, isolated, mergeTail, periods, stepFor } from "../static/js/grid.js";

test("gridXs lists the multiples of step in the window", () => {
  assert.deepEqual(gridXs(95, 130, 10), [100, 110, 120, 130]);
  assert.deepEqual(gridXs(100, 135, 10), [100, 110, 120, 130]);
  assert.deepEqual(gridXs(101, 109, 10), []);
});

test("stepFor is never finer than the sampling interval", () => {
  assert.equal(stepFor(300, 10), 10);
  assert.equal(stepFor(300, 1), 2);
  assert.equal(stepFor(86400, 10), 360);
});

test("coveringPreset is the shortest preset that covers the history", () => {
  const cases = [[5, 300], [300, 300], [301, 3600], [7200, 21600], [86400, 86400], [1e9, 604800]];
  for (const [age, want] of cases) assert.equal(coveringPreset(age), want, String(age));
});

const series = (ti, labels, points, name = labels) => ({ ti, name: () => name, result: [{ metric: { l: labels }, values: points }] });

test("a merged tail equals a full load, with series that come and go", () => {
  const full = (xs, pts) => buildColumns(xs, collect(pts));
  const xs0 = [10, 20, 30];
  const prev = full(xs0, [series(0, "a", [[10, "1"], [20, "2"], [30, "3"]]), series(0, "b", [[10, "5"]])]);
  const xs1 = [20, 30, 40];
  const tail = collect([series(0, "a", [[40, "4"]]), series(0, "c", [[40, "9"]])]);
  const got = mergeTail(prev, xs1, 40, tail);
  const want = full(xs1, [series(0, "a", [[20, "2"], [30, "3"], [40, "4"]]), series(0, "c", [[40, "9"]])]);
  assert.deepEqual(got, want);
});

test("series are ordered by target, then labels, bucket bounds by value", () => {
  const got = collect([0, 1].flatMap((ti) => ["+Inf", "10", "2.5", "100"].map((le) => ({ ti, name: (m) => ti + m.le, result: [{ metric: { le }, values: [] }] }))));
  assert.deepEqual(got.map((s) => s.name), ["02.5", "010", "0100", "0+Inf", "12.5", "110", "1100", "1+Inf"]);
});

test("drawable turns NaN and infinities into gaps; isolated finds lone points", () => {
  const d = drawable({ xs: [1, 2, 3, 4], cols: [[NaN, 1, Infinity, null]] });
  assert.deepEqual(d, [[1, 2, 3, 4], [null, 1, null, null]]);
  assert.deepEqual(isolated(d[1]), [1]);
  assert.deepEqual(isolated([1, 2, null, 3]), [3]);
});

test("periods joins consecutive grid points of an alert", () => {
  const got = periods([
    { metric: { alertname: "A", alertstate: "pending" }, values: [[10, "1"], [20, "1"]] },
    { metric: { alertname: "A", alertstate: "firing" }, values: [[30, "1"], [40, "1"], [70, "1"]] },
  ], 10);
  assert.deepEqual(got, [
    { name: "A", state: "pending", from: 10, to: 30 },
    { name: "A", state: "firing", from: 30, to: 50 },
    { name: "A", state: "firing", from: 70, to: 80 },
  ]);
});
