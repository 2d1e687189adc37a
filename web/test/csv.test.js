import { test } from "node:test";
import assert from "node:assert/strict";
import { graphRows, tableRows, toCSV } from "../static/js/csv.js";

test("tableRows lists each series' labels and value under one header", () => {
  const rows = tableRows([
    { metric: { __name__: "up", job: "a" }, value: [1, "1"] },
    { metric: { __name__: "up", instance: "x,y" }, value: [1, "0"] },
  ]);
  assert.deepEqual(tableRows([{ metric: { a: "2" }, value: [1, "0"] }, { metric: { a: "1" }, value: [1, "0"] }]).map((r) => r[0]), ["a", "1", "2"]);
  assert.deepEqual(rows, [["__name__", "instance", "job", "value"], ["up", "", "a", "1"], ["up", "x,y", "", "0"]]);
  assert.equal(toCSV(rows), '__name__,instance,job,value\r\nup,,a,1\r\nup,"x,y",,0\r\n');
});

test("graphRows writes one row per time", () => {
  assert.deepEqual(graphRows([0, 10], ["a"], [[1, null]]), [["time", "a"], ["1970-01-01T00:00:00.000Z", 1], ["1970-01-01T00:00:10.000Z", ""]]);
  assert.equal(toCSV([['say "hi"']]), '"say ""hi"""\r\n');
});
