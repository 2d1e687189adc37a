// The panels of the shipped Grafana dashboard: built from its JSON, queried with one
// query_range call each, drawn with uPlot (charts) or as a number (stat panels).

import { api } from "./api.js";
import { buildColumns, collect, drawable, gridXs, isolated, lastValue, mergeTail } from "./grid.js";
import { fmt, fmtLe, fmtTicks, fmtTimeTicks } from "./units.js";
import { expand, legendName } from "./vars.js";
import { slug } from "./urlstate.js";
import { server } from "./state.js";

export const COLORS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0", "#508642", "#cca300"];

// TIME_INCRS are the spacings of time ticks, in seconds: never under a second, whose labels
// would repeat.
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000];

// BYTE_INCRS are the spacings of byte ticks: round numbers of KiB, MiB, GiB, so that the
// labels are short.
const BYTE_INCRS = [0, 1, 2, 3, 4].flatMap((k) => [1, 2, 5, 10, 20, 50, 100, 200, 500].map((m) => m * 1024 ** k));

// TARGET is the label that tells apart the targets of one panel asked in one query.
const TARGET = "__gf_target";

// panelDefs lists the dashboard's panels and rows in reading order.
export function panelDefs(dash) {
  const out = [];
  const walk = (panels) => {
    for (const p of [...panels].sort((a, b) => (a.gridPos?.y ?? 0) - (b.gridPos?.y ?? 0) || (a.gridPos?.x ?? 0) - (b.gridPos?.x ?? 0))) {
      out.push(p);
      if (p.type === "row" && p.panels) walk(p.panels);
    }
  };
  walk(dash.panels || []);
  return out;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// buildPanel makes the elements of one panel or row; link is the URL of the panel alone.
export function buildPanel(def, link) {
  if (def.type === "row") return { def, el: el("h2", "row-title", def.title || ""), kind: "row" };
  const id = slug(def.title || "untitled");
  const root = el("article", "panel");
  root.id = "panel-" + id;
  root.style.setProperty("--w", String(def.gridPos?.w || 12));
  root.style.setProperty("--h", Math.max(120, (def.gridPos?.h || 8) * 30 - 40) + "px");
  const h = el("h2");
  const a = el("a", "", def.title || "untitled");
  if (link) a.href = link;
  h.append(a);
  if (def.description) h.title = def.description;
  const kind = def.type === "stat" || def.type === "bargauge" || def.type === "gauge" ? "stat" : "chart";
  const body = el("div", kind === "stat" ? "big" : "chart");
  const legend = el("ul", "legend");
  const warn = el("p", "qwarn");
  warn.hidden = true;
  const err = el("p", "qerr");
  err.hidden = true;
  root.append(h, body, legend, warn, err);
  return { def, id, el: root, body, legend, warn, err, kind, chart: null, seriesKey: "", lastValues: [], grid: null, shade: [] };
}

export function unitOf(def) {
  return def.fieldConfig?.defaults?.unit || "short";
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// drawShade paints the periods of the panel's alerts under its series.
function drawShade(p, u) {
  if (!p.shade.length) return;
  const { ctx, bbox } = u;
  ctx.save();
  for (const s of p.shade) {
    const x0 = Math.max(bbox.left, u.valToPos(s.from, "x", true));
    const x1 = Math.min(bbox.left + bbox.width, u.valToPos(s.to, "x", true));
    if (x1 <= x0) continue;
    ctx.fillStyle = s.state === "firing" ? "rgba(226, 77, 66, .14)" : "rgba(234, 184, 57, .16)";
    ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
  }
  ctx.restore();
}

function chartOpts(p, names, width, height, onZoom) {
  const unit = unitOf(p.def);
  const fg = cssVar("--muted"), grid = cssVar("--grid");
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width, height,
    // Room on the right for the last time label.
    padding: [8, 32, 0, 0],
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false } },
    // The x range is the grid's, widened around a single point.
    scales: { x: { time: true, range: (u, min, max) => (min === max ? [min - p.step, max + p.step] : [min, max]) }, y: { range: yRange } },
    axes: [
      { ...axis, space: 70, incrs: TIME_INCRS, values: (u, splits) => fmtTimeTicks(splits) },
      {
        ...axis,
        values: (u, vals) => fmtTicks(vals, unit),
        ...(unit === "bytes" ? { incrs: BYTE_INCRS } : {}),
        // Ticks and gap, then about 7 px a character of the 12 px system font.
        size: (u, values) => 20 + 7 * Math.max(3, ...(values || []).map((v) => String(v).length)),
      },
    ],
    series: [
      {},
      ...names.map((n, i) => ({
        label: n, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
        points: { show: false, size: 6, fill: COLORS[i % COLORS.length], filter: (u, si) => nullIfEmpty(isolated(u.data[si])) },
        value: (u, v) => fmt(v, unit),
      })),
    ],
    hooks: {
      drawClear: [(u) => drawShade(p, u)],
      setSelect: [(u) => {
        if (u.select.width < 5) return;
        const from = Math.floor(u.posToVal(u.select.left, "x"));
        const to = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
        onZoom(from, to);
      }],
    },
  };
}

// yRange is uPlot's y range, except that a constant series is drawn inside the plot rather
// than on its bottom edge (a count still at 0 would not show).
function yRange(u, min, max) {
  if (min == null || max == null) return [0, 1];
  if (min === max) {
    if (min === 0) return [-0.05, 1]; // zero just above the bottom edge, no negative tick
    const pad = Math.abs(min) * 0.1;
    return [min - pad, max + pad];
  }
  return window.uPlot.rangeNum(min, max, 0.1, true);
}

const nullIfEmpty = (a) => (a.length ? a : null);

function renderLegend(p, names, cols) {
  const unit = unitOf(p.def);
  p.lastValues = cols.map(lastValue);
  // A series with no point to draw in the window (NaN quantiles of an idle histogram) has
  // no row: the legend names only what the plot shows.
  const rows = names.map((n, i) => i).filter((i) => cols[i].some((v) => v != null));
  p.legend.replaceChildren(...rows.map((i) => {
    const n = names[i];
    const li = el("li");
    const sw = el("span", "sw");
    sw.style.background = COLORS[i % COLORS.length];
    li.append(sw, el("span", "name", n), el("span", "val", fmt(p.lastValues[i], unit)));
    return li;
  }));
}

// firstChart marks, once, when the first chart with data was drawn.
export function markFirstChart() {
  if (performance.getEntriesByName("gf-first-chart").length === 0) performance.mark("gf-first-chart");
}

// drawChart draws columns on the panel's uPlot, making one when the series or theme changed.
export function drawChart(p, names, data, theme, onZoom) {
  const key = names.join("\u0000") + "|" + theme;
  const hasData = data.slice(1).some((c) => c.some((v) => v != null));
  let nodata = p.body.querySelector(".nodata");
  if (!hasData && !nodata) p.body.append((nodata = el("div", "nodata", "No data")));
  if (hasData && nodata) nodata.remove();
  if (p.chart && p.seriesKey === key) {
    p.chart.setData(data);
  } else {
    if (p.chart) p.chart.destroy();
    const w = Math.max(100, p.body.clientWidth), h = Math.max(100, p.body.clientHeight);
    p.chart = new window.uPlot(chartOpts(p, names, w, h, onZoom), data, p.body);
    p.seriesKey = key;
  }
  renderLegend(p, names, data.slice(1));
  if (hasData) markFirstChart();
}

function drawStat(p, names, data) {
  const v = data.length > 1 ? lastValue(data[1]) : null;
  p.body.textContent = v == null ? "No data" : fmt(v, unitOf(p.def));
  p.lastValues = data.slice(1).map(lastValue);
  if (v != null) markFirstChart();
}

// targetsOf lists the panel's queries that are shown.
export function targetsOf(def) {
  return (def.targets || []).filter((t) => t.expr && !t.hide);
}

// panelQuery is the one query that answers every target of a panel: each target's series
// carry their index in a label of their own.
export function panelQuery(def, opts) {
  const ts = targetsOf(def);
  if (ts.length === 1) return expand(ts[0].expr, opts);
  return ts.map((t, i) => `label_replace(${expand(t.expr, opts)}, "${TARGET}", "${i}", "", "")`).join(" or ");
}

const labelFmt = (k, v) => (k === "le" ? fmtLe(v) : v);

// queryPanel asks query_range once for the panel's grid points in [start, end] and returns
// its series, or the error.
export async function queryPanel(p, start, end, opts) {
  const ts = targetsOf(p.def);
  if (ts.length === 0 || start > end) return { series: [], errors: [], warnings: [] };
  try {
    const { data, warnings } = await api("/api/v1/query_range", { query: panelQuery(p.def, opts), start, end, step: opts.step });
    const answers = ts.map((t, ti) => ({ ti, name: (m) => legendName(t.legendFormat, m, labelFmt), result: [] }));
    for (const s of data.result) {
      const ti = ts.length === 1 ? 0 : Number(s.metric[TARGET]);
      if (ts.length > 1) {
        const { [TARGET]: _, ...rest } = s.metric;
        s.metric = rest;
      }
      answers[ti]?.result.push(s);
    }
    return { series: collect(answers), errors: [], warnings };
  } catch (err) {
    return { series: [], errors: [err.message], warnings: [] };
  }
}

// loadPanel draws one panel on the grid of [from, to]. With tail set and the panel drawn
// with the same queries and step, it asks only for the points after the last one drawn.
// It returns whether the panel has data and whether it read only the tail.
export async function loadPanel(p, from, to, opts, { tail, theme, onZoom }) {
  const prev = p.grid, key = JSON.stringify(opts);
  p.step = opts.step;
  const xs = gridXs(from, to, opts.step);
  let d = null, errors = [], warnings = [], tailed = false;
  if (tail && prev && prev.key === key && to >= prev.to && from >= prev.from) {
    const tailFrom = prev.xs.length ? prev.xs[prev.xs.length - 1] + opts.step : from;
    const last = xs.length ? xs[xs.length - 1] : tailFrom - 1;
    const r = await queryPanel(p, tailFrom, last, opts);
    if (r.errors.length === 0) d = mergeTail(prev.data, xs, tailFrom, r.series);
    errors = r.errors;
    warnings = r.warnings;
    tailed = d != null;
  }
  if (!d && errors.length === 0) {
    const r = xs.length ? await queryPanel(p, xs[0], xs[xs.length - 1], opts) : { series: [], errors: [], warnings: [] };
    d = buildColumns(xs, r.series);
    errors = r.errors;
    warnings = r.warnings;
  }
  if (!d) d = prev && prev.key === key ? prev.data : buildColumns(xs, []);
  p.grid = errors.length ? prev : { key, from, to, xs, data: d };
  const data = drawable(d);
  if (p.kind === "stat") drawStat(p, d.names, data);
  else drawChart(p, d.names, data, theme, onZoom);
  p.err.hidden = errors.length === 0 || server.historyOff;
  p.err.textContent = errors.join("; ");
  p.warn.hidden = warnings.length === 0;
  p.warn.textContent = warnings.join("; ");
  return { hasData: data.slice(1).some((c) => c.some((v) => v != null)), tailed };
}

// resizeAll fits every chart to its box.
export function resizeAll(list) {
  for (const p of list) {
    if (p.chart) p.chart.setSize({ width: Math.max(100, p.body.clientWidth), height: Math.max(100, p.body.clientHeight) });
  }
}
