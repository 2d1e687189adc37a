// Ad-hoc PromQL, as in Prometheus's UI: a Graph view over the page's window and a Table view
// of the instant result at its end, both downloadable as CSV.

import { api } from "./api.js";
import { buildPanel } from "./panels.js";
import { graphRows, tableRows, toCSV } from "./csv.js";
import { panels, view } from "./state.js";
import { seriesName } from "./vars.js";

const $ = (id) => document.getElementById(id);
let panel = null;

// adhocPanel is the ad-hoc panel, or null.
export function adhocPanel() {
  return panel;
}

// loadTable asks the instant query at `to` and lists its series and values.
async function loadTable(p, to) {
  let rows = [["series", "value"]], msg = "";
  try {
    const { data, warnings } = await api("/api/v1/query", { query: view.query, time: to });
    const result = data.resultType === "scalar" || data.resultType === "string" ? [{ metric: {}, value: data.result }] : data.result;
    rows = tableRows(result);
    p.table = { rows, names: result.map((s) => seriesName(s.metric)) };
    msg = warnings.join("; ");
  } catch (err) {
    p.table = null;
    p.err.textContent = err.message;
  }
  p.err.hidden = p.table != null;
  p.warn.hidden = !msg;
  p.warn.textContent = msg;
  const table = document.createElement("table");
  table.className = "result";
  const head = table.createTHead().insertRow();
  for (const h of rows[0]) head.append(Object.assign(document.createElement("th"), { textContent: h }));
  const body = table.createTBody();
  for (const r of rows.slice(1)) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = c;
  }
  if (rows.length === 1) body.insertRow().insertCell().textContent = "Empty result";
  p.body.replaceChildren(table);
  return { hasData: rows.length > 1, tailed: false };
}

// showAdhoc makes the ad-hoc panel match view.query and view.view.
export function showAdhoc() {
  const expr = view.query;
  $("adhoc-expr").value = expr ?? "";
  $("adhoc-clear").hidden = !expr;
  $("adhoc-csv").hidden = !expr;
  for (const b of $("adhoc-views").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.view === view.view));
  const table = view.view === "table";
  if (panel && (panel.def.targets[0].expr !== expr || panel.isTable !== table)) {
    if (panel.chart) panel.chart.destroy();
    panel.el.remove();
    panels.splice(panels.indexOf(panel), 1);
    panel = null;
  }
  if (!expr || panel) return;
  panel = buildPanel({ type: "timeseries", title: expr, gridPos: { w: 24, h: 8 }, targets: [{ expr, refId: "A" }] }, "");
  panel.adhoc = true;
  panel.isTable = table;
  panel.el.classList.add("adhoc-panel");
  if (table) {
    panel.kind = "table";
    panel.body.className = "table";
    panel.load = (from, to) => loadTable(panel, to);
  }
  panels.unshift(panel);
  $("panels").prepend(panel.el);
}

function download() {
  if (!panel) return;
  let rows;
  if (panel.kind === "table") rows = panel.table?.rows;
  else if (panel.grid) rows = graphRows(panel.grid.data.xs, panel.grid.data.names, panel.grid.data.cols);
  if (!rows) return;
  const url = URL.createObjectURL(new Blob([toCSV(rows)], { type: "text/csv" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: panel.kind === "table" ? "query-table.csv" : "query-graph.csv" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// bindAdhoc wires the form; changed redraws after the query or its view changed.
export function bindAdhoc(commit, changed) {
  const set = (expr, v) => {
    view.query = expr || null;
    if (v) view.view = v;
    commit(true);
    showAdhoc();
    changed();
  };
  $("adhoc").addEventListener("submit", (e) => {
    e.preventDefault();
    const expr = $("adhoc-expr").value.trim();
    if (expr) set(expr);
  });
  $("adhoc-clear").addEventListener("click", () => set(null));
  $("adhoc-views").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-view]");
    if (!b) return;
    const expr = $("adhoc-expr").value.trim() || view.query;
    if (expr) set(expr, b.dataset.view);
    else {
      view.view = b.dataset.view;
      showAdhoc();
    }
  });
  $("adhoc-csv").addEventListener("click", download);
}
