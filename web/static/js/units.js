// Formatting of values in Grafana units: one value (legends, stat panels) or a set of axis
// ticks, which share one scale and as few decimals as keep them distinct.

const SCALES = {
  bytes: { base: 1024, suffixes: [" B", " KiB", " MiB", " GiB", " TiB"] },
  reqps: { base: 1000, suffixes: [" req/s", "k req/s", "M req/s", "G req/s"] },
  ops: { base: 1000, suffixes: [" ops/s", "k ops/s", "M ops/s", "G ops/s"] },
  mps: { base: 1000, suffixes: [" msg/s", "k msg/s", "M msg/s", "G msg/s"] },
  short: { base: 1000, suffixes: ["", "k", "M", "G", "T"] },
};

// trim writes n with about three significant digits and no trailing zeros.
export function trim(n) {
  const a = Math.abs(n);
  const s = a === 0 ? "0" : a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 1 ? n.toFixed(2) : n.toPrecision(2);
  return s.includes(".") && !s.includes("e") ? s.replace(/\.?0+$/, "") : s;
}

// timeScale picks the unit of a duration in seconds by its magnitude.
function timeScale(a) {
  if (a === 0) return [1, " s"];
  if (a < 1e-6) return [1e-9, " ns"];
  if (a < 1e-3) return [1e-6, " µs"];
  if (a < 1) return [1e-3, " ms"];
  if (a < 60) return [1, " s"];
  if (a < 3600) return [60, " min"];
  return [3600, " h"];
}

// base reduces a unit to a multiplier and the unit the multiplied value is shown in.
function base(unit) {
  if (unit === "ms") return [1e-3, "s"];
  if (unit === "percentunit") return [100, "percent"];
  return [1, unit];
}

// scaleOf returns [divisor, suffix] for a magnitude a in a base unit.
function scaleOf(a, unit) {
  if (unit === "s") return timeScale(a);
  if (unit === "percent") return [1, "%"];
  if (unit === "none") return [1, ""];
  const sc = SCALES[unit] || SCALES.short;
  let i = 0, d = 1;
  while (a / d >= sc.base && i < sc.suffixes.length - 1) { d *= sc.base; i++; }
  return [d, sc.suffixes[i]];
}

function special(v) {
  if (v == null || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return null;
}

// fmt formats one value in a Grafana unit ("s", "bytes", "percentunit", "reqps", …).
export function fmt(v, unit) {
  const s = special(v);
  if (s) return s;
  const [m, u] = base(unit);
  const [d, suffix] = scaleOf(Math.abs(v * m), u);
  return trim((v * m) / d) + suffix;
}

// fmtTicks formats axis ticks: one scale for all (that of the largest), and the fewest
// decimals that the step between ticks needs and that keep every label distinct.
export function fmtTicks(vals, unit) {
  const finite = vals.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return vals.map((v) => special(v) ?? "");
  const [m, u] = base(unit);
  const big = Math.max(...finite.map((v) => Math.abs(v * m)));
  const [d, suffix] = scaleOf(big, u);
  const scaled = vals.map((v) => (v * m) / d);
  const sorted = [...new Set(finite.map((v) => (v * m) / d))].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, sorted[i] - sorted[i - 1]);
  let dec = Number.isFinite(gap) && gap > 0 ? Math.max(0, -Math.floor(Math.log10(gap) + 1e-9)) : 0;
  // More decimals while a label does not say its tick (0.25 written "0.3") or two agree.
  const exact = (x, d) => Math.abs(Number(x.toFixed(d)) - x) <= 1e-9 * Math.max(1, Math.abs(x));
  for (const top = dec + 3; dec < top; dec++) {
    const out = scaled.map((x) => (Number.isFinite(x) ? x.toFixed(dec) : ""));
    if (new Set(out).size === new Set(scaled).size && sorted.every((x) => exact(x, dec))) break;
  }
  return vals.map((v, i) => special(v) ?? fixed(scaled[i], dec) + suffix);
}

// fixed writes x with dec decimals, and "0" rather than "-0".
function fixed(x, dec) {
  const s = x.toFixed(dec);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

// fmtLe writes a histogram bucket bound ("0.0", "10.0", "+Inf") as the number it is.
export function fmtLe(le) {
  const n = Number(le);
  if (le === "+Inf" || n === Infinity) return "+Inf";
  return Number.isNaN(n) ? le : String(n);
}

const pad = (n) => String(n).padStart(2, "0");

// fmtTimeTicks formats x ticks (unix seconds) by the spacing between them: seconds only
// when ticks are less than a minute apart, the date only when they span days.
export function fmtTimeTicks(ts, local = true) {
  const parts = (t) => {
    const d = new Date(t * 1000);
    return local
      ? [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()]
      : [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  };
  let gap = Infinity;
  for (let i = 1; i < ts.length; i++) gap = Math.min(gap, ts[i] - ts[i - 1]);
  const ps = ts.map(parts);
  const days = new Set(ps.map((p) => p[1] * 100 + p[2])).size;
  const styles = [
    (p) => `${pad(p[3])}:${pad(p[4])}`,
    (p) => `${pad(p[3])}:${pad(p[4])}:${pad(p[5])}`,
    (p) => `${pad(p[1])}-${pad(p[2])} ${pad(p[3])}:${pad(p[4])}`,
    (p) => `${pad(p[1])}-${pad(p[2])} ${pad(p[3])}:${pad(p[4])}:${pad(p[5])}`,
  ];
  let start = 0;
  if (gap < 60 || ps.some((p) => p[5] !== 0)) start = 1;
  if (days > 1) {
    if (gap >= 86400 && ps.every((p) => p[3] === 0 && p[4] === 0)) return ps.map((p) => `${pad(p[1])}-${pad(p[2])}`);
    start += 2;
  }
  for (let i = start; i < styles.length; i++) {
    const out = ps.map(styles[i]);
    if (new Set(out).size === ts.length) return out;
  }
  return ps.map(styles[styles.length - 1]);
}
