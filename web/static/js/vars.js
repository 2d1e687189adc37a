// Grafana's variables in the dashboard's expressions, expanded as Grafana expands them.

// regexEscape quotes a label value for a =~ matcher.
export function regexEscape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// rateInterval follows Grafana's $__rate_interval: max($__interval + scrape interval,
// 4 × scrape interval), so that the page and Grafana on the same data draw the same numbers.
export function rateInterval(step, interval) {
  return Math.max(step + interval, 4 * interval);
}

// expand substitutes $__rate_interval, $__interval and the dashboard's variables; vars maps
// a variable name to its regular expression (".*" for All).
export function expand(expr, { step, interval, vars = {} }) {
  const rate = rateInterval(step, interval) + "s";
  return expr
    .replace(/\$\{__rate_interval\}|\$__rate_interval/g, rate)
    .replace(/\$\{__interval\}|\$__interval/g, step + "s")
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a, b) => {
      const name = a || b;
      if (name === "datasource") return "";
      return Object.hasOwn(vars, name) ? vars[name] : all;
    });
}

// legendName writes a series' name from a legendFormat ("{{route}}"), or from its labels as
// Prometheus does when there is none.
export function legendName(format, metric, labelFmt = (k, v) => v) {
  if (format && format !== "__auto") {
    return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k) => (metric[k] == null ? "" : labelFmt(k, metric[k])));
  }
  return seriesName(metric);
}

// seriesName writes a series as Prometheus does: name{label="value", …}.
export function seriesName(metric) {
  const { __name__: name = "", ...rest } = metric;
  const ls = Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(", ");
  return ls ? `${name}{${ls}}` : name || "{}";
}

// metricNames lists the metric names an expression reads: identifiers that are not
// functions, keywords, label names in a grouping clause, or inside a selector or a range.
export function metricNames(expr) {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ")
    .replace(/\{[^}]*\}|\[[^\]]*\]/g, " ");
  const words = new Set(["and", "or", "unless", "offset", "bool", "inf", "nan", "atan2"]);
  const out = new Set();
  for (const [name] of s.matchAll(/(?<![a-zA-Z0-9_:.])[a-zA-Z_:][a-zA-Z0-9_:]*(?![a-zA-Z0-9_:]|\s*\()/g)) {
    if (!words.has(name.toLowerCase())) out.add(name);
  }
  return [...out];
}
