// Refreshes: the window the panels show, what the history holds, and the redraw of every
// shown panel, in full or (on a live update) only past the last point drawn.

import { api } from "./api.js";
import { coveringPreset, stepFor } from "./grid.js";
import { loadPanel } from "./panels.js";
import { live, panels, server, view } from "./state.js";
import { regexEscape } from "./vars.js";

const $ = (id) => document.getElementById(id);
let inflight = null, again = null;
const listeners = [];

// onRefreshed registers a function called after each refresh with its window.
export function onRefreshed(fn) {
  listeners.push(fn);
}

// rangeOf is the relative range shown: the URL's, else the shortest preset that covers the
// history.
export function rangeOf() {
  if (view.range != null) return view.range;
  if (server.historyStart == null) return 300;
  return coveringPreset(Date.now() / 1000 - server.historyStart);
}

// windowOf is the [from, to] shown and its step. A relative window ends at the newest
// sample (points after it could still change) and starts no earlier than the history.
export function windowOf() {
  if (view.from != null) {
    const span = view.to - view.from;
    return { from: Math.floor(view.from), to: Math.ceil(view.to), step: stepFor(span, server.interval) };
  }
  const range = rangeOf(), now = Date.now() / 1000;
  let to = Math.floor(now);
  if (server.lastSample != null && now - server.lastSample < 3 * server.interval) to = Math.floor(server.lastSample);
  // On a history younger than the range, the step follows the history's length, so that
  // the points fill the plot (it changes rarely: once per POINTS intervals of growth).
  const start = server.historyStart == null ? to - range : Math.max(to - range, server.historyStart);
  const step = stepFor(Math.max(to - start, 60), server.interval);
  const from = Math.max(to - range, Math.floor(start / step) * step);
  return { from, to, step };
}

// shown lists the panels a refresh draws: one alone with ?panel=, else all.
export function shown() {
  return panels.filter((p) => p.kind !== "row" && (!view.panel || (!p.adhoc && p.id === view.panel)));
}

// vars maps the dashboard's variables to their regular expressions.
function vars() {
  return {
    job: view.job ? regexEscape(view.job) : ".*",
    instance: view.instance ? regexEscape(view.instance) : ".*",
  };
}

// refresh redraws every shown panel: "full" reads the whole window, "tail" (a new sample)
// only the points after the last one drawn.
export async function refresh(mode = "full", opts = {}) {
  if (inflight) {
    again = again === "full" || mode === "full" ? "full" : "tail";
    return inflight;
  }
  inflight = (async () => {
    let m = mode;
    do {
      again = null;
      const { from, to, step } = windowOf();
      const tail = m === "tail" && view.from == null;
      const q = { step, interval: server.interval, vars: vars() };
      const list = shown();
      const how = { tail, theme: opts.theme?.() ?? "", onZoom: opts.onZoom ?? (() => {}) };
      const done = await Promise.all(list.map((p) => (p.load ? p.load(from, to, q) : loadPanel(p, from, to, q, how))));
      showEmpty(!done.some((r) => r.hasData) && list.length > 0);
      live.refreshes++;
      if (tail) live.tails++;
      for (const fn of listeners) fn({ from, to, step });
      m = again;
    } while (m);
  })();
  try {
    await inflight;
  } finally {
    inflight = null;
  }
}

function showEmpty(empty) {
  const el = $("empty");
  el.hidden = !empty;
  el.textContent = server.historyOff
    ? "The metrics history is off (--history-interval 0), so there is nothing to chart. /metrics still serves the current values to Prometheus or vmagent."
    : `No samples yet: the first arrives in ${server.interval} s.`;
}

// probeHistory reads the sampling interval, the newest sample and the oldest: the raw
// samples of the last five minutes give the first two (and the oldest on a new history),
// a subquery over a week the oldest on an older one.
export async function probeHistory() {
  const series = "gemini_flow_build_info";
  const { data } = await api("/api/v1/query", { query: series + "[5m]" });
  let first = Infinity, last = -Infinity;
  for (const s of data.result) {
    const v = s.values || [];
    if (v.length >= 2) {
      const d = Math.round(v[v.length - 1][0] - v[v.length - 2][0]);
      if (d > 0) server.interval = d;
    }
    if (v.length) {
      first = Math.min(first, v[0][0]);
      last = Math.max(last, v[v.length - 1][0]);
    }
  }
  if (last > -Infinity) server.lastSample = last;
  const now = Date.now() / 1000;
  if (first < Infinity && first > now - 300 + 2 * server.interval) {
    server.historyStart = first;
    return;
  }
  const old = await api("/api/v1/query", { query: `min(min_over_time(timestamp(${series})[7d:5m]))` });
  const v = old.data.result[0]?.value;
  if (v) server.historyStart = Number(v[1]);
  else if (first < Infinity) server.historyStart = first;
}
