// The chromedp tests' view into the page: it imports the page's own modules (the instances
// the page runs, by their versioned URLs) and reads their state. Only the tests evaluate
// it; the page never loads it and the binary does not embed it.
async (what, arg) => {
  const src = document.querySelector('script[type="module"]')?.src;
  if (!src) return null;
  const load = (n) => import(new URL(n, src).href);
  const [st, api, alerts, pm, grid, refresh] = await Promise.all(
    ["state.js", "api.js", "alerts.js", "panels.js", "grid.js", "refresh.js"].map(load));
  const all = st.panels.filter((p) => p.kind !== "row");
  const shown = all.filter((p) => p.el.offsetParent !== null);

  // halves counts, in each half of the plot area, the pixels of a series' colour: opaque
  // and saturated, which grid lines, text and alert shading are not.
  const halves = (p) => {
    const u = p.chart;
    if (!u) return [0, 0];
    const { left, top, width, height } = u.bbox;
    if (width < 2 || height < 2) return [0, 0];
    // Read through a canvas of its own, made for reading back.
    const probe = (window.__gfProbe ||= document.createElement("canvas").getContext("2d", { willReadFrequently: true }));
    probe.canvas.width = width;
    probe.canvas.height = height;
    probe.drawImage(u.ctx.canvas, left, top, width, height, 0, 0, width, height);
    const d = probe.getImageData(0, 0, width, height).data;
    const n = [0, 0];
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i], g = d[i + 1], b = d[i + 2], a = d[i + 3];
      if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 50) n[((i / 4) % width) < width / 2 ? 0 : 1]++;
    }
    return n;
  };

  // painted tells whether a chart's canvas holds any pixel (axes, grid or series).
  const painted = (p) => {
    const c = p.chart?.ctx.canvas;
    if (!c || !c.width || !c.height) return false;
    const probe = (window.__gfProbe ||= document.createElement("canvas").getContext("2d", { willReadFrequently: true }));
    probe.canvas.width = 200;
    probe.canvas.height = 100;
    probe.drawImage(c, 0, 0, 200, 100);
    const d = probe.getImageData(0, 0, 200, 100).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
    return false;
  };

  if (what === "state") {
    const hasData = (p) => (p.kind === "table" ? (p.table?.rows.length ?? 0) > 1 : p.lastValues.some((v) => v != null));
    const drawn = (p) => p.kind === "stat" || p.kind === "table" || (p.chart && p.chart.data[0].length > 0 && painted(p));
    const tp = all.find((p) => p.def.title === "Request throughput");
    const first = shown.find((p) => p.chart);
    const mark = performance.getEntriesByName("gf-first-chart")[0];
    const table = all.find((p) => p.kind === "table");
    return {
      panels: shown.length,
      drawn: shown.filter(drawn).length,
      bothHalves: shown.filter((p) => p.kind !== "chart" || halves(p).every((n) => n > 0)).length,
      halves: shown.filter((p) => p.chart).map((p) => `${p.def.title}: ${halves(p).join("/")}`),
      withData: shown.filter(hasData).length,
      empty: shown.filter((p) => !hasData(p)).map((p) => p.def.title),
      sampled: st.live.sampled,
      refreshes: st.live.refreshes,
      tails: st.live.tails,
      skipped: st.live.skipped,
      ws: st.live.ws,
      theme: document.documentElement.getAttribute("data-theme") || "auto",
      background: getComputedStyle(document.body).backgroundColor,
      firstChart: mark ? mark.startTime : -1,
      span: first ? first.chart.data[0][first.chart.data[0].length - 1] - first.chart.data[0][0] : -1,
      range: st.view.from == null ? refresh.rangeOf() : 0,
      pressed: [...document.querySelectorAll("#ranges button[aria-pressed=true]")].map((b) => b.textContent).join(","),
      search: location.search,
      solo: shown.length === 1 ? shown[0].id : "",
      soloWidth: shown.length === 1 ? shown[0].el.getBoundingClientRect().width : 0,
      mainWidth: document.querySelector("main").clientWidth,
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      columns: getComputedStyle(document.getElementById("panels")).gridTemplateColumns.split(" ").length,
      throughput: tp ? tp.lastValues.map((v) => v ?? 0) : [],
      tableRows: table?.table ? table.table.rows : [],
      alerts: [...document.querySelectorAll("#alerts li")].map((li) => li.dataset.state + " " + li.querySelector("strong").textContent),
      alertsFirst: (() => {
        const a = document.getElementById("alerts");
        return !a.hidden && a.getBoundingClientRect().bottom <= document.getElementById("panels").getBoundingClientRect().top;
      })(),
      shaded: all.filter((p) => p.shade?.length).map((p) => p.def.title),
      errors: st.errors,
      keyForm: api.auth.keyForm,
      keyShown: (() => { const f = document.getElementById("auth"); return !f.hidden && f.offsetHeight > 0; })(),
      keyMessage: (() => { const m = document.getElementById("auth-msg"); return m.hidden ? "" : m.textContent; })(),
    };
  }

  if (what === "compare") {
    // Every drawn chart read again in full over the grid it is drawn on.
    const out = { panels: 0, points: 0, mismatches: [] };
    await Promise.all(shown.filter((p) => p.grid && p.chart).map(async (p) => {
      const g = p.grid, drawn = p.chart.data, opts = JSON.parse(g.key);
      const r = await pm.queryPanel(p, g.xs[0], g.xs[g.xs.length - 1], opts);
      const want = grid.drawable(grid.buildColumns(g.xs, r.series));
      out.panels++;
      if (JSON.stringify(want[0]) !== JSON.stringify(drawn[0]) || want.length !== drawn.length) {
        out.mismatches.push(`${p.def.title}: ${want.length - 1} series over ${want[0].length} points, drawn ${drawn.length - 1} over ${drawn[0].length}`);
        return;
      }
      for (let c = 1; c < want.length; c++) {
        for (let i = 0; i < want[c].length; i++) {
          const a = want[c][i], b = drawn[c][i];
          out.points++;
          if ((a == null) !== (b == null) || (a != null && Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a)))) {
            if (out.mismatches.length < 20) out.mismatches.push(`${p.def.title} series ${c} at ${want[0][i]}: full ${a}, drawn ${b}`);
          }
        }
      }
    }));
    return out;
  }

  if (what === "hide") {
    // Page Visibility as a hidden tab reports it, then (arg false) shown again.
    Object.defineProperty(document, "hidden", { configurable: true, get: () => arg });
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (arg ? "hidden" : "visible") });
    document.dispatchEvent(new Event("visibilitychange"));
    return true;
  }

  if (what === "zoom") {
    // A drag over the middle of the first chart, as uPlot reports one.
    const p = shown.find((x) => x.chart);
    const u = p.chart;
    u.setSelect({ left: u.bbox.width / devicePixelRatio / 4, width: u.bbox.width / devicePixelRatio / 2, top: 0, height: 10 });
    return true;
  }
  return null;
}
