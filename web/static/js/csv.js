// CSV (RFC 4180) of the ad-hoc query's table and graph, for download.

function cell(v) {
  const s = v == null ? "" : String(v);
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// toCSV writes rows (arrays of cells) with CRLF line ends.
export function toCSV(rows) {
  return rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

// tableRows lays an instant vector out as Prometheus's table does: one row per series,
// its labels and its value; the header lists every label name once.
export function tableRows(result) {
  const names = [...new Set(result.flatMap((s) => Object.keys(s.metric)))].sort((a, b) =>
    a === "__name__" ? -1 : b === "__name__" ? 1 : a < b ? -1 : a > b ? 1 : 0);
  const rows = result.map((s) => [...names.map((n) => s.metric[n] ?? ""), s.value ? s.value[1] : ""]);
  // Sorted by labels, so that the rows keep their place from one refresh to the next.
  const key = (r) => JSON.stringify(r.slice(0, -1));
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return [[...names, "value"], ...rows];
}

// graphRows lays drawn columns out with one row per time (RFC 3339) and one column a series.
export function graphRows(xs, names, cols) {
  return [["time", ...names], ...xs.map((t, i) => [new Date(t * 1000).toISOString(), ...cols.map((c) => (c[i] == null ? "" : c[i]))])];
}
