// Alerts, read from the Prometheus API's /api/v1/alerts (firing and pending, at the top of
// the page), /api/v1/rules (their expressions) and the ALERTS series (their periods), to
// shade the panels that read one of the same metrics. A 404 means the server has no
// alerting: nothing is shown or asked again.

import { api, NotFound } from "./api.js";
import { periods } from "./grid.js";
import { targetsOf } from "./panels.js";
import { metricNames } from "./vars.js";
import { errors, panels } from "./state.js";

const $ = (id) => document.getElementById(id);
const EVERY = 10000; // ms between two reads at most
let off = false, last = 0, busy = false;

// shown is the alerts listed: {name, state, labels, summary, activeAt}.
export const alerts = { list: [], reads: 0 };

function activeAt(a) {
  const t = Date.parse(a.activeAt);
  return Number.isNaN(t) ? null : t / 1000;
}

function render(list) {
  const box = $("alerts");
  box.hidden = list.length === 0;
  box.replaceChildren(...list.map((a) => {
    const li = document.createElement("li");
    li.className = "alert " + a.state;
    li.dataset.state = a.state;
    const state = Object.assign(document.createElement("span"), { className: "astate", textContent: a.state });
    const name = Object.assign(document.createElement("strong"), { textContent: a.labels.alertname || "alert" });
    const { alertname: _, ...rest } = a.labels;
    const labels = Object.assign(document.createElement("span"), {
      className: "alabels",
      textContent: Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(", "),
    });
    li.append(state, name, labels);
    const summary = a.annotations?.summary || a.annotations?.description;
    if (summary) li.append(Object.assign(document.createElement("span"), { className: "asummary", textContent: summary }));
    const since = activeAt(a);
    if (since) li.append(Object.assign(document.createElement("time"), { textContent: "since " + new Date(since * 1000).toLocaleTimeString() }));
    return li;
  }));
}

// history reads the alerts' periods in the window from the ALERTS series the rules write,
// or null when the history has none to give.
async function history(win) {
  if (!win) return null;
  try {
    const { data } = await api("/api/v1/query_range", { query: "ALERTS", start: win.from, end: win.to, step: win.step });
    return periods(data.result, win.step);
  } catch {
    return null;
  }
}

// shade marks, on each panel that reads a metric an alert's rule reads, the alert's periods
// in the window (pending and firing, from the history), or the active alerts' periods since
// they became active when the history has none.
async function shade(list, win) {
  const { data } = await api("/api/v1/rules", { type: "alert" }, true);
  const exprs = new Map();
  for (const g of data.groups || []) for (const r of g.rules || []) if (r.type === "alerting") exprs.set(r.name, r.query);
  let marks = exprs.size ? await history(win) : [];
  if (!marks || marks.length === 0) {
    const now = Date.now() / 1000;
    marks = list.filter((a) => activeAt(a)).map((a) => ({ name: a.labels.alertname, state: a.state, from: activeAt(a), to: now }));
  }
  const metrics = new Map([...exprs].map(([name, q]) => [name, metricNames(q)]));
  for (const p of panels) {
    if (!p.def || p.kind === "row") continue;
    const mine = new Set(targetsOf(p.def).flatMap((t) => metricNames(t.expr)));
    const next = marks.filter((m) => (metrics.get(m.name) || []).some((n) => mine.has(n)));
    if (next.length === 0 && (p.shade?.length ?? 0) === 0) continue;
    p.shade = next;
    p.chart?.redraw(false);
  }
}

// readAlerts reads the alerts at most every EVERY ms (force reads now); win is the window
// the panels show, for the alerts' periods.
export async function readAlerts(win, force = false) {
  if (off || busy || (!force && Date.now() - last < EVERY)) return;
  busy = true;
  last = Date.now();
  try {
    const { data } = await api("/api/v1/alerts", {}, true);
    const order = { firing: 0, pending: 1 };
    const list = (data.alerts || []).filter((a) => a.state in order)
      .sort((a, b) => order[a.state] - order[b.state] || String(a.labels.alertname).localeCompare(String(b.labels.alertname)));
    alerts.list = list;
    alerts.reads++;
    render(list);
    await shade(list, win);
  } catch (e) {
    if (e instanceof NotFound) off = true;
    else errors.push("alerts: " + e.message);
  } finally {
    busy = false;
  }
}
