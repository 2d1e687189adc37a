// The time grid: points sit at multiples of the step, as in Grafana, so that a live update
// asks only for the points after the last one drawn. A column holds, per x, the returned
// value (NaN for a non-finite one) or null where the series returned nothing.

// POINTS is about one point per 3–4 px on a typical panel.
export const POINTS = 240;

// stepFor is the step of a window span seconds long: never finer than the sampling interval.
export function stepFor(span, interval) {
  return Math.max(interval, Math.ceil(span / POINTS));
}

// gridXs lists the multiples of step in [from, to].
export function gridXs(from, to, step) {
  const xs = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) xs.push(t);
  return xs;
}

// keyOf names one series of one target, the same way on every query.
export function keyOf(ti, metric) {
  return ti + "\u0001" + JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// collect turns query_range answers ({ti, name(metric), result}) into series sorted by
// target, then by labels.
export function collect(answers) {
  const byKey = new Map();
  for (const { ti, name, result } of answers) {
    for (const s of result) {
      const key = keyOf(ti, s.metric);
      let e = byKey.get(key);
      if (!e) byKey.set(key, (e = { key, ti, metric: s.metric, name: name(s.metric), points: [] }));
      for (const [t, v] of s.values || []) e.points.push([Math.round(t), Number(v)]);
    }
  }
  return [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));
}

// num reads a label value as Prometheus writes numbers ("+Inf" included), NaN if not one.
const num = (v) => (v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : v.trim() === "" ? NaN : Number(v));

// compareKeys orders series by target, then label by label, numbers (bucket bounds such as
// "10" and "+Inf") by value and other values as text.
export function compareKeys(a, b) {
  const [ta, la] = a.split("\u0001"), [tb, lb] = b.split("\u0001");
  if (ta !== tb) return Number(ta) - Number(tb);
  const ea = JSON.parse(la), eb = JSON.parse(lb);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
    const [ka, va] = ea[i], [kb, vb] = eb[i];
    if (ka !== kb) return ka < kb ? -1 : 1;
    if (va === vb) continue;
    const na = num(va), nb = num(vb);
    if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
    return va < vb ? -1 : 1;
  }
  return ea.length - eb.length;
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
// from prev, points from tailFrom on come from the tail series only. The result is what a
// full load of xs returns: a series new in the tail has no point before it (else a full
// load would have drawn it), and a series with no point left in the window is dropped.
export function mergeTail(prev, xs, tailFrom, tail) {
  const old = new Map(prev.xs.map((t, i) => [t, i]));
  const byKey = new Map();
  prev.keys.forEach((k, c) => byKey.set(k, {
    name: prev.names[c],
    col: xs.map((t) => {
      if (t >= tailFrom) return null;
      const i = old.get(t);
      return i === undefined ? null : prev.cols[c][i];
    }),
  }));
  const index = new Map(xs.map((t, i) => [t, i]));
  for (const s of tail) {
    let e = byKey.get(s.key);
    if (!e) byKey.set(s.key, (e = { name: s.name, col: new Array(xs.length).fill(null) }));
    for (const [t, v] of s.points) {
      const i = index.get(t);
      if (i !== undefined && t >= tailFrom) e.col[i] = v;
    }
  }
  const keys = [...byKey.keys()].filter((k) => byKey.get(k).col.some((v) => v != null)).sort(compareKeys);
  return { xs, keys, names: keys.map((k) => byKey.get(k).name), cols: keys.map((k) => byKey.get(k).col) };
}

// drawable is uPlot's data: NaN (0/0 of two idle rates) and ±Inf have no place on a linear
// axis, so they become gaps.
export function drawable(d) {
  return [d.xs, ...d.cols.map((c) => c.map((v) => (v == null || !Number.isFinite(v) ? null : v)))];
}

// lastValue is the newest non-null value of a column.
export function lastValue(col) {
  for (let i = col.length - 1; i >= 0; i--) if (col[i] != null) return col[i];
  return null;
}

// isolated lists the indexes of points with no neighbour to draw a line to, so that a
// series of one point, or a point between two gaps, still shows as a dot.
export function isolated(col) {
  const out = [];
  for (let i = 0; i < col.length; i++) {
    if (col[i] != null && col[i - 1] == null && col[i + 1] == null) out.push(i);
  }
  return out;
}

// PRESETS are the range buttons, in seconds.
export const PRESETS = [300, 3600, 21600, 86400, 604800];

// coveringPreset is the shortest preset that covers a history age seconds long.
export function coveringPreset(age) {
  return PRESETS.find((p) => p >= age) ?? PRESETS[PRESETS.length - 1];
}

// periods turns ALERTS series over a grid into {name, state, from, to} periods: runs of
// consecutive grid points, each point standing for one step.
export function periods(result, step) {
  const out = [];
  for (const s of result) {
    let cur = null;
    for (const [t] of s.values || []) {
      if (cur && t <= cur.to) cur.to = t + step;
      else out.push((cur = { name: s.metric.alertname, state: s.metric.alertstate, from: t, to: t + step }));
    }
  }
  return out;
}
