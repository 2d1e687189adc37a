// The page's state in its URL, as Grafana's and Prometheus's UIs keep it, so that a view
// can be shared and survives a reload: range or absolute from/to (epoch milliseconds, as in
// Grafana), job, instance, theme, the ad-hoc query and its view, and a single panel.

const UNITS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

// parseDuration reads a Prometheus duration ("5m", "1h30m", "7d") in seconds, or null.
export function parseDuration(s) {
  if (!s || !/^(\d+(ms|s|m|h|d|w|y))+$/.test(s)) return null;
  let total = 0;
  for (const [, n, u] of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(n) * UNITS[u];
  return total > 0 ? total : null;
}

// formatDuration writes seconds as the shortest Prometheus duration ("300" → "5m").
export function formatDuration(sec) {
  let out = "", rest = Math.round(sec);
  for (const [u, n] of [["w", 604800], ["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (rest >= n) {
      out += Math.floor(rest / n) + u;
      rest %= n;
    }
  }
  return out || "0s";
}

// parseTime reads epoch milliseconds or an RFC 3339 time, in unix seconds, or null.
function parseTime(s) {
  if (!s) return null;
  if (/^\d+$/.test(s)) return Number(s) / 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t / 1000;
}

const THEMES = ["light", "dark"];
const VIEWS = ["graph", "table"];

// defaults is the state of a URL without parameters.
export function defaults() {
  return { range: null, from: null, to: null, job: null, instance: null, theme: "auto", query: null, view: "graph", panel: null };
}

// parseState reads a location.search string.
export function parseState(search) {
  const q = new URLSearchParams(search);
  const st = defaults();
  st.range = parseDuration(q.get("range"));
  const from = parseTime(q.get("from")), to = parseTime(q.get("to"));
  if (from != null && to != null && to > from) {
    st.from = from;
    st.to = to;
  }
  st.job = q.get("job") || null;
  st.instance = q.get("instance") || null;
  if (THEMES.includes(q.get("theme"))) st.theme = q.get("theme");
  st.query = q.get("query") || null;
  if (VIEWS.includes(q.get("view"))) st.view = q.get("view");
  st.panel = q.get("panel") || null;
  return st;
}

// formatState writes the state as a search string ("" or "?…"), leaving defaults out.
export function formatState(st) {
  const q = new URLSearchParams();
  if (st.from != null && st.to != null) {
    q.set("from", String(Math.round(st.from * 1000)));
    q.set("to", String(Math.round(st.to * 1000)));
  } else if (st.range != null) {
    q.set("range", formatDuration(st.range));
  }
  if (st.job) q.set("job", st.job);
  if (st.instance) q.set("instance", st.instance);
  if (st.theme && st.theme !== "auto") q.set("theme", st.theme);
  if (st.query) {
    q.set("query", st.query);
    if (st.view !== "graph") q.set("view", st.view);
  }
  if (st.panel) q.set("panel", st.panel);
  const s = q.toString();
  return s ? "?" + s : "";
}

// slug turns a panel title into its id in the URL ("Request latency" → "request-latency").
export function slug(title) {
  return String(title).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}
