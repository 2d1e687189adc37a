// The built-in metrics page: renders the panels of the shipped Grafana dashboard with uPlot,
// asks the binary's own /api/v1/query_range, and redraws when the server announces a new
// sample on the WebSocket ("metrics.sampled"). No framework, no build step.

const $ = (id) => document.getElementById(id);
const POINTS = 240; // about one point per 3–4 px on a typical panel
const COLORS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0", "#508642", "#cca300"];

// State shared with tests through window.gf.
const gf = (window.gf = {
  panels: [],            // {def, el, chart, kind, seriesKey, lastValues}
  sampled: 0,            // metrics.sampled events received
  refreshes: 0,          // completed refreshes
  tails: 0,              // refreshes that read only the newest points
  tailMisses: 0,         // panels a tail refresh had to load in full
  queries: [],           // {kind, start, end, step, points} of each query_range call
  refreshLog: [],        // {tail, range, requests, steps, points} of the latest refreshes
  wsState: "connecting",
  interval: 10,          // seconds between history samples, measured when possible
  firstChartMs: null,
  keyForm: "none",       // metrics key form: none | asked | refused | sent
  historyOff: false,     // the server runs with --history-interval 0
  errors: [],
});

const state = {
  range: 3600,           // seconds, relative to now
  zoom: null,            // {from, to} unix seconds, when the user dragged a range
  theme: localStorage.getItem("gf-theme") || "auto",
  vars: { job: ".*", instance: ".*" },
  adhoc: null,
  inflight: null,
  again: null,           // "full" or "tail": another refresh is due when this one ends
};

// ---- units -------------------------------------------------------------------------------

function trim(n) {
  const a = Math.abs(n);
  const s = a === 0 ? "0" : a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 1 ? n.toFixed(2) : n.toPrecision(2);
  return s.includes(".") && !s.includes("e") ? s.replace(/\.?0+$/, "") : s;
}

function scaled(v, steps, base) {
  let i = 0, n = v;
  while (Math.abs(n) >= base && i < steps.length - 1) { n /= base; i++; }
  return trim(n) + steps[i];
}

function seconds(v) {
  const a = Math.abs(v);
  if (a === 0) return "0 s";
  if (a < 1e-6) return trim(v * 1e9) + " ns";
  if (a < 1e-3) return trim(v * 1e6) + " µs";
  if (a < 1) return trim(v * 1e3) + " ms";
  if (a < 60) return trim(v) + " s";
  if (a < 3600) return trim(v / 60) + " min";
  return trim(v / 3600) + " h";
}

// fmt formats a value in a Grafana unit.
export function fmt(v, unit) {
  if (v == null || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  switch (unit) {
    case "s": return seconds(v);
    case "ms": return seconds(v / 1000);
    case "percent": return trim(v) + "%";
    case "percentunit": return trim(v * 100) + "%";
    case "bytes": return scaled(v, [" B", " KiB", " MiB", " GiB", " TiB"], 1024);
    case "reqps": return scaled(v, ["", "k", "M", "G"], 1000) + " req/s";
    case "ops": return scaled(v, ["", "k", "M", "G"], 1000) + " ops/s";
    case "mps": return scaled(v, ["", "k", "M", "G"], 1000) + " msg/s";
    default: return scaled(v, ["", "k", "M", "G", "T"], 1000);
  }
}

// ---- time range and query text -----------------------------------------------------------

function window_() {
  if (state.zoom) return state.zoom;
  const to = Math.floor(Date.now() / 1000);
  return { from: to - state.range, to };
}

function stepFor(span) {
  return Math.max(gf.interval, Math.ceil(span / POINTS));
}

// expand substitutes the Grafana variables the dashboard uses. $__rate_interval follows
// Grafana's definition, max($__interval + scrape interval, 4 × scrape interval), so the page
// and Grafana on the same data source draw the same numbers.
export function expand(expr, step) {
  const rate = Math.max(step + gf.interval, 4 * gf.interval);
  return expr
    .replaceAll("$__rate_interval", rate + "s")
    .replaceAll("${__rate_interval}", rate + "s")
    .replaceAll("$__interval", step + "s")
    .replace(/\$\{?job\}?/g, state.vars.job)
    .replace(/\$\{?instance\}?/g, state.vars.instance)
    .replace(/\$\{?datasource\}?/g, "");
}

function legendName(format, metric) {
  if (format && format !== "__auto") {
    return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k) => metric[k] ?? "");
  }
  const { __name__: name = "", ...rest } = metric;
  const ls = Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(", ");
  return ls ? `${name}{${ls}}` : name || "value";
}

async function api(path, params) {
  const body = new URLSearchParams(params);
  for (;;) {
    const key = metricsKey;
    const headers = { "Content-Type": "application/x-www-form-urlencoded" };
    if (key) headers.Authorization = "Bearer " + key;
    const res = await fetch(path, { method: "POST", body, headers });
    if (res.status === 401) {
      // A key entered while this request was out is tried before asking again.
      if (key === metricsKey) await askKey(key);
      continue;
    }
    const json = await res.json();
    // The server answers "unavailable" when it runs with --history-interval 0.
    gf.historyOff = json.errorType === "unavailable";
    if (json.status !== "success") throw new Error(json.error || res.statusText);
    return json.data;
  }
}

// ---- metrics key -------------------------------------------------------------------------
// With --metrics-key the server wants "Authorization: Bearer <key>" on /api/v1/*. The key is
// asked for inline on the first 401 and kept for this tab only.

const KEY_ITEM = "gf-metrics-key";
let metricsKey = sessionStorage.getItem(KEY_ITEM) || "";
let keyWait = null;

// askKey shows the key form (once, however many requests were refused) and resolves when a
// new key is entered. refused is the key the server turned down, "" when none was sent.
function askKey(refused) {
  if (keyWait) return keyWait;
  const form = $("auth"), input = $("auth-key"), msg = $("auth-msg");
  if (refused) {
    sessionStorage.removeItem(KEY_ITEM);
    msg.textContent = "The server refused that key. Check the value of --metrics-key and try again.";
    msg.hidden = false;
  } else {
    msg.hidden = true;
  }
  form.hidden = false;
  gf.keyForm = refused ? "refused" : "asked";
  input.value = "";
  input.focus();
  keyWait = new Promise((resolve) => {
    const submit = (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      form.removeEventListener("submit", submit);
      metricsKey = key;
      sessionStorage.setItem(KEY_ITEM, key);
      form.hidden = true;
      gf.keyForm = "sent";
      keyWait = null;
      resolve();
    };
    form.addEventListener("submit", submit);
  });
  return keyWait;
}

// ---- panels ------------------------------------------------------------------------------

function regexEscape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function panelDefs(dash) {
  const out = [];
  const walk = (panels) => {
    for (const p of [...panels].sort((a, b) => (a.gridPos?.y ?? 0) - (b.gridPos?.y ?? 0) || (a.gridPos?.x ?? 0) - (b.gridPos?.x ?? 0))) {
      if (p.type === "row") {
        out.push(p);
        if (p.panels) walk(p.panels);
      } else {
        out.push(p);
      }
    }
  };
  walk(dash.panels || []);
  return out;
}

function buildPanel(def) {
  if (def.type === "row") {
    const h = document.createElement("h2");
    h.className = "row-title";
    h.textContent = def.title || "";
    return { def, el: h, kind: "row" };
  }
  const el = document.createElement("article");
  el.className = "panel";
  el.style.setProperty("--w", String(def.gridPos?.w || 12));
  el.style.setProperty("--h", Math.max(120, (def.gridPos?.h || 8) * 30 - 40) + "px");
  const h = document.createElement("h2");
  h.textContent = def.title || "untitled";
  if (def.description) h.title = def.description;
  el.append(h);
  const kind = def.type === "stat" || def.type === "bargauge" || def.type === "gauge" ? "stat" : "chart";
  const body = document.createElement("div");
  body.className = kind === "stat" ? "big" : "chart";
  el.append(body);
  const legend = document.createElement("ul");
  legend.className = "legend";
  const err = document.createElement("p");
  err.className = "qerr";
  err.hidden = true;
  el.append(legend, err);
  return { def, el, body, legend, err, kind, chart: null, seriesKey: "", lastValues: [] };
}

function unitOf(def) {
  return def.fieldConfig?.defaults?.unit || "short";
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const pad = (n) => String(n).padStart(2, "0");

// timeLabel writes one x tick: the time of day, with seconds on short ranges and the date on
// long ones.
function timeLabel(ts, span) {
  const d = new Date(ts * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (span <= 900) return `${hm}:${pad(d.getSeconds())}`;
  if (span <= 86400) return hm;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

// isolated lists the points that have no neighbour to draw a line to, so a lone sample shows.
function isolated(u, si) {
  const d = u.data[si], out = [];
  for (let i = 0; i < d.length; i++) {
    if (d[i] != null && d[i - 1] == null && d[i + 1] == null) out.push(i);
  }
  return out.length ? out : null;
}

function chartOpts(p, names, width, height) {
  const unit = unitOf(p.def);
  const fg = cssVar("--muted"), grid = cssVar("--grid");
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width, height,
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false } },
    scales: { x: { time: true } },
    axes: [
      {
        ...axis, space: 70,
        values: (u, splits) => {
          const span = u.scales.x.max - u.scales.x.min;
          return splits.map((ts) => timeLabel(ts, span));
        },
      },
      {
        ...axis,
        values: (u, vals) => vals.map((v) => fmt(v, unit)),
        // Wide enough for the longest label ("0.15 msg/s"): ticks and gap, then about 8 px a
        // character of the 12 px system font.
        size: (u, values) => 22 + 8 * Math.max(3, ...(values || []).map((v) => String(v).length)),
      },
    ],
    series: [
      {},
      ...names.map((n, i) => ({
        label: n, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
        points: { show: false, size: 5, fill: COLORS[i % COLORS.length], filter: isolated },
        value: (u, v) => fmt(v, unit),
      })),
    ],
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 5) return;
        const from = Math.floor(u.posToVal(u.select.left, "x"));
        const to = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
        zoomTo(from, to);
      }],
    },
  };
}

// ---- grid and columns --------------------------------------------------------------------
// Points sit at multiples of the step, as in Grafana, so that a live update re-reads only
// the last few of them; one more point at "to" shows the newest sample at once. A column
// holds, per x, the returned value (NaN for a non-finite one) or null where the series
// returned nothing, so that a column of nulls means the series left the window.

// gridXs lists the x values of a window: every multiple of step in [from, to], then to.
export function gridXs(from, to, step) {
  const xs = [];
  const last = Math.floor(to / step) * step;
  for (let t = Math.ceil(from / step) * step; t <= last; t += step) xs.push(t);
  if (last !== to) xs.push(to);
  return xs;
}

// keyOf names one series of one target, the same way on every query.
function keyOf(ti, metric) {
  return ti + "\u0001" + JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// collect turns query_range answers into series sorted by target, then by labels.
export function collect(answers) {
  const byKey = new Map();
  for (const { ti, legendFormat, result } of answers) {
    for (const s of result) {
      const key = keyOf(ti, s.metric);
      let e = byKey.get(key);
      if (!e) byKey.set(key, (e = { key, ti, name: legendName(legendFormat, s.metric), points: [] }));
      for (const [t, v] of s.values || []) e.points.push([Math.round(t), Number(v)]);
    }
  }
  return [...byKey.values()].sort((a, b) => a.ti - b.ti || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

// buildColumns lays series on the x values xs.
export function buildColumns(xs, series) {
  const index = new Map(xs.map((t, i) => [t, i]));
  const cols = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) {
      const i = index.get(t);
      if (i !== undefined) col[i] = v;
    }
    return col;
  });
  return { xs, keys: series.map((s) => s.key), names: series.map((s) => s.name), cols };
}

// mergeTail moves drawn columns prev onto the x values xs: points before tailFrom are kept
// from prev, points from tailFrom on come from the tail series only. It returns null when
// the result could differ from a full load: a series the tail returns is not drawn, or a
// drawn series has no point left in the window.
export function mergeTail(prev, xs, tailFrom, tail) {
  const at = new Map(prev.keys.map((k, i) => [k, i]));
  for (const s of tail) if (!at.has(s.key)) return null;
  const old = new Map(prev.xs.map((t, i) => [t, i]));
  const cols = prev.cols.map((c) => xs.map((t) => {
    if (t >= tailFrom) return null;
    const i = old.get(t);
    return i === undefined ? null : c[i];
  }));
  const index = new Map(xs.map((t, i) => [t, i]));
  for (const s of tail) {
    const col = cols[at.get(s.key)];
    for (const [t, v] of s.points) {
      const i = index.get(t);
      if (i !== undefined && t >= tailFrom) col[i] = v;
    }
  }
  if (cols.some((c) => c.every((v) => v == null))) return null;
  return { xs, keys: prev.keys, names: prev.names, cols };
}

// drawable is uPlot's data: NaN (0/0 of two idle rates) and ±Inf have no place on a linear
// axis, so they become gaps.
export function drawable(d) {
  return [d.xs, ...d.cols.map((c) => c.map((v) => (v == null || !Number.isFinite(v) ? null : v)))];
}

function lastValue(col) {
  for (let i = col.length - 1; i >= 0; i--) if (col[i] != null) return col[i];
  return null;
}

function renderLegend(p, names, cols) {
  const unit = unitOf(p.def);
  p.lastValues = cols.map(lastValue);
  const items = names.map((n, i) => {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "sw";
    sw.style.background = COLORS[i % COLORS.length];
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = n;
    name.title = n;
    const val = document.createElement("span");
    val.className = "val";
    val.textContent = fmt(p.lastValues[i], unit);
    li.append(sw, name, val);
    return li;
  });
  p.legend.replaceChildren(...items);
}

function markFirstChart() {
  if (gf.firstChartMs != null) return;
  performance.mark("gf-first-chart");
  gf.firstChartMs = Math.round(performance.now());
}

function drawChart(p, names, data) {
  const key = names.join("\u0000") + "|" + state.theme;
  const hasData = data.slice(1).some((c) => c.some((v) => v != null));
  let nodata = p.body.querySelector(".nodata");
  if (!hasData) {
    if (!nodata) {
      nodata = document.createElement("div");
      nodata.className = "nodata";
      p.body.append(nodata);
    }
    nodata.textContent = "No data";
  } else if (nodata) {
    nodata.remove();
  }
  if (p.chart && p.seriesKey === key) {
    p.chart.setData(data);
  } else {
    if (p.chart) p.chart.destroy();
    const w = Math.max(100, p.body.clientWidth), h = Math.max(100, p.body.clientHeight);
    p.chart = new window.uPlot(chartOpts(p, names, w, h), data, p.body);
    p.seriesKey = key;
  }
  renderLegend(p, names, data.slice(1));
  if (hasData) markFirstChart();
}

function drawStat(p, names, data) {
  const unit = unitOf(p.def);
  const v = data.length > 1 ? lastValue(data[1]) : null;
  p.body.textContent = v == null ? "No data" : fmt(v, unit);
  p.lastValues = data.slice(1).map(lastValue);
  if (v != null) markFirstChart();
}

let tally = null; // the query_range calls of the refresh under way

// rangeQuery asks /api/v1/query_range and keeps, in gf.queries (the latest few thousand),
// what each request covered.
async function rangeQuery(query, start, end, step, kind) {
  const data = await api("/api/v1/query_range", { query, start, end, step });
  const q = { kind, start, end, step, points: data.result.reduce((n, s) => n + (s.values?.length || 0), 0) };
  gf.queries.push(q);
  if (kind !== "check") tally?.push(q);
  if (gf.queries.length > 5000) gf.queries.splice(0, 1000);
  return data;
}

// spans lists the query_range calls that cover the grid points of [from, to]: the
// multiples of step, then "to" alone when it is not one.
function spans(from, to, step) {
  const first = Math.ceil(from / step) * step, last = Math.floor(to / step) * step;
  const out = [];
  if (first <= last) out.push([first, last]);
  if (last !== to) out.push([to, to]);
  return out;
}

async function queryPanel(p, parts, step, kind) {
  const targets = (p.def.targets || []).filter((t) => t.expr && !t.hide);
  const answers = [], errors = [];
  await Promise.all(targets.flatMap((target, ti) => parts.map(async ([s, e]) => {
    try {
      const data = await rangeQuery(expand(target.expr, step), s, e, step, kind);
      answers.push({ ti, legendFormat: target.legendFormat, result: data.result });
    } catch (err) {
      errors.push(`${target.refId || "query"}: ${err.message}`);
    }
  })));
  return { series: collect(answers), errors: [...new Set(errors)] };
}

// queryKey changes whenever the text of the queries does.
function queryKey(step) {
  return JSON.stringify([state.vars, gf.interval, step]);
}

// loadPanel draws one panel over [from, to]. With tail set and the panel drawn over a window
// of the same length and queries, it asks only for the points from one step before the last
// drawn multiple of step on, and merges them into what is drawn.
async function loadPanel(p, from, to, step, tail) {
  const prev = p.grid, key = queryKey(step);
  const xs = gridXs(from, to, step);
  let d = null, errors = [];
  if (tail && prev && prev.key === key && prev.span === to - from && to >= prev.to) {
    const tailFrom = Math.floor(prev.to / step) * step - step;
    const r = await queryPanel(p, spans(tailFrom, to, step), step, "tail");
    if (r.errors.length === 0) d = mergeTail(prev.data, xs, tailFrom, r.series);
    if (!d) gf.tailMisses++;
  }
  if (!d) {
    const r = await queryPanel(p, spans(from, to, step), step, "full");
    d = buildColumns(xs, r.series);
    errors = r.errors;
  }
  p.grid = errors.length ? null : { key, span: to - from, to, from, step, data: d };
  const data = drawable(d);
  if (p.kind === "stat") drawStat(p, d.names, data);
  else drawChart(p, d.names, data);
  p.err.hidden = errors.length === 0 || gf.historyOff;
  p.err.textContent = errors.join("; ");
  return data.slice(1).some((c) => c.some((v) => v != null));
}

// fullReloadCompare loads every drawn panel again in full over the window it is drawn on
// and reports where the drawn data differs.
gf.fullReloadCompare = async (tol = 1e-9) => {
  const out = { panels: 0, points: 0, mismatches: [] };
  const list = gf.panels.filter((p) => p.kind !== "row" && p.grid);
  const snaps = list.map((p) => ({ p, g: p.grid, drawn: p.chart ? p.chart.data : drawable(p.grid.data) }));
  await Promise.all(snaps.map(async ({ p, g, drawn }) => {
    const r = await queryPanel(p, spans(g.from, g.to, g.step), g.step, "check");
    const want = drawable(buildColumns(gridXs(g.from, g.to, g.step), r.series));
    const title = p.def.title;
    out.panels++;
    if (JSON.stringify(want[0]) !== JSON.stringify(drawn[0]) || want.length !== drawn.length) {
      out.mismatches.push(`${title}: x or series differ: ${want.length - 1} series over ${want[0].length} points, drawn ${drawn.length - 1} over ${drawn[0].length}`);
      return;
    }
    for (let c = 1; c < want.length; c++) {
      for (let i = 0; i < want[c].length; i++) {
        const a = want[c][i], b = drawn[c][i];
        out.points++;
        if ((a == null) !== (b == null) || (a != null && Math.abs(a - b) > tol * Math.max(1, Math.abs(a)))) {
          if (out.mismatches.length < 20) out.mismatches.push(`${title} series ${c} at ${want[0][i]}: full ${a}, drawn ${b}`);
        }
      }
    }
  }));
  return out;
};

// ---- refresh -----------------------------------------------------------------------------

// refresh redraws every panel: "full" reads the whole window, "tail" (a new sample) only
// its newest points where a panel allows.
async function refresh(mode = "full") {
  if (state.inflight) {
    state.again = state.again === "full" || mode === "full" ? "full" : "tail";
    return state.inflight;
  }
  state.inflight = (async () => {
    let m = mode;
    do {
      state.again = null;
      const w = window_();
      const from = Math.floor(w.from), to = Math.floor(w.to);
      const step = stepFor(to - from);
      const tail = m === "tail" && !state.zoom;
      const list = gf.panels.filter((p) => p.kind !== "row");
      const mine = [];
      tally = mine;
      const any = await Promise.all(list.map((p) => loadPanel(p, from, to, step, tail)));
      tally = null;
      gf.refreshLog.push({
        tail, range: to - from, requests: mine.length,
        steps: mine.reduce((n, r) => n + (r.end - r.start) / r.step + 1, 0),
        points: mine.reduce((n, r) => n + r.points, 0),
      });
      if (gf.refreshLog.length > 100) gf.refreshLog.shift();
      showEmpty(!any.some(Boolean) && list.length > 0);
      gf.refreshes++;
      if (tail) gf.tails++;
      m = state.again;
    } while (m);
  })();
  try {
    await state.inflight;
  } finally {
    state.inflight = null;
  }
}

function showEmpty(empty) {
  const el = $("empty");
  el.hidden = !empty;
  el.textContent = gf.historyOff
    ? "The metrics history is off (--history-interval 0), so there is nothing to chart. /metrics still serves the current values to Prometheus or vmagent."
    : `No samples yet: the first arrives in ${gf.interval} s.`;
}

function zoomTo(from, to) {
  if (to - from < 2 * gf.interval) return;
  state.zoom = { from, to };
  $("reset-zoom").hidden = false;
  refresh();
}

// ---- controls ----------------------------------------------------------------------------

function applyTheme() {
  const t = state.theme;
  if (t === "auto") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", t);
  const btn = $("theme");
  btn.textContent = "Theme: " + t;
  btn.title = t === "auto" ? "Theme: follows the system" : "Theme: " + t;
}

function effectiveTheme() {
  if (state.theme !== "auto") return state.theme;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function bindControls() {
  $("ranges").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-range]");
    if (!b) return;
    state.range = Number(b.dataset.range);
    state.zoom = null;
    $("reset-zoom").hidden = true;
    for (const x of $("ranges").querySelectorAll("button")) x.setAttribute("aria-pressed", String(x === b));
    refresh();
  });
  $("reset-zoom").addEventListener("click", () => {
    state.zoom = null;
    $("reset-zoom").hidden = true;
    refresh();
  });
  $("theme").addEventListener("click", () => {
    // Cycle auto → the opposite of what auto shows → the other → auto.
    const shown = effectiveTheme();
    const order = shown === "dark" ? ["auto", "light", "dark"] : ["auto", "dark", "light"];
    state.theme = order[(order.indexOf(state.theme) + 1) % 3];
    localStorage.setItem("gf-theme", state.theme);
    applyTheme();
    redrawAll();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (state.theme === "auto") redrawAll();
  });
  for (const name of ["job", "instance"]) {
    $("var-" + name).addEventListener("change", (e) => {
      state.vars[name] = e.target.value;
      refresh();
    });
  }
  $("adhoc").addEventListener("submit", (e) => {
    e.preventDefault();
    const expr = $("adhoc-expr").value.trim();
    if (!expr) return;
    setAdhoc(expr);
  });
  $("adhoc-clear").addEventListener("click", () => setAdhoc(null));
}

function setAdhoc(expr) {
  if (state.adhoc) {
    if (state.adhoc.chart) state.adhoc.chart.destroy();
    state.adhoc.el.remove();
    gf.panels = gf.panels.filter((p) => p !== state.adhoc);
    state.adhoc = null;
  }
  $("adhoc-clear").hidden = !expr;
  if (!expr) return;
  const p = buildPanel({ type: "timeseries", title: expr, gridPos: { w: 24, h: 8 }, targets: [{ expr, refId: "A" }] });
  state.adhoc = p;
  gf.panels.unshift(p);
  $("panels").prepend(p.el);
  refresh();
}

function redrawAll() {
  for (const p of gf.panels) {
    if (p.chart) {
      p.chart.destroy();
      p.chart = null;
      p.seriesKey = "";
    }
  }
  refresh();
}

async function loadVariables() {
  for (const name of ["job", "instance"]) {
    try {
      const values = await api(`/api/v1/label/${name}/values`, {});
      const sel = $("var-" + name);
      for (const v of values) {
        const o = document.createElement("option");
        o.value = regexEscape(v);
        o.textContent = v;
        sel.append(o);
      }
    } catch (e) {
      gf.errors.push(String(e));
    }
  }
}

// measureInterval reads the spacing of raw samples, so that $__rate_interval and the empty
// state use the real sampling interval.
async function measureInterval() {
  try {
    const data = await api("/api/v1/query", { query: "gemini_flow_build_info[5m]" });
    const vals = data.result[0]?.values || [];
    if (vals.length >= 2) {
      const d = Math.round(vals[vals.length - 1][0] - vals[vals.length - 2][0]);
      if (d > 0) gf.interval = d;
    }
  } catch (e) {
    gf.errors.push(String(e));
  }
}

// ---- live updates ------------------------------------------------------------------------

function setWS(s, text) {
  gf.wsState = s;
  const el = $("ws-status");
  el.dataset.state = s;
  el.textContent = text;
}

let pollTimer = null;
let wasDown = false;

function connect(delay = 1000) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const key = new URLSearchParams(location.search).get("apiKey");
  const ws = new WebSocket(`${proto}//${location.host}/ws${key ? "?apiKey=" + encodeURIComponent(key) : ""}`);
  let opened = false;
  const reconnect = wasDown;
  ws.addEventListener("open", () => {
    opened = true;
    clearInterval(pollTimer);
    pollTimer = null;
    ws.send(JSON.stringify({ type: "subscribe", payload: { topic: "metrics" } }));
    setWS("live", "live");
    // Samples taken while the socket was down are read in full.
    if (reconnect) refresh();
  });
  ws.addEventListener("message", (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    if (msg.type !== "metrics.sampled") return;
    gf.sampled++;
    refresh("tail");
  });
  ws.addEventListener("close", () => {
    wasDown = true;
    const next = opened ? 1000 : Math.min(delay * 2, 30000);
    setWS("down", `live updates down, retrying in ${Math.round(next / 1000)} s`);
    // While the socket is down the page still moves, at the sampling interval.
    if (!pollTimer) pollTimer = setInterval(() => refresh("tail"), gf.interval * 1000);
    setTimeout(() => connect(next), next);
  });
}

// ---- start -------------------------------------------------------------------------------

async function main() {
  applyTheme();
  bindControls();
  const [dash] = await Promise.all([
    fetch("/dashboards/gemini-flow.json").then((r) => r.json()),
    loadVariables(),
    measureInterval(),
  ]);
  if (dash.title) {
    $("title").textContent = dash.title;
    document.title = dash.title;
  }
  const grid = $("panels");
  for (const def of panelDefs(dash)) {
    const p = buildPanel(def);
    gf.panels.push(p);
    grid.append(p.el);
  }
  new ResizeObserver(() => {
    for (const p of gf.panels) {
      if (p.chart) p.chart.setSize({ width: Math.max(100, p.body.clientWidth), height: Math.max(100, p.body.clientHeight) });
    }
  }).observe(grid);
  await refresh();
  connect();
}

main().catch((e) => {
  gf.errors.push(String(e));
  const el = $("error");
  el.hidden = false;
  el.textContent = "The page could not load: " + e.message;
});
