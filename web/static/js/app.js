// The built-in metrics page: renders the panels of the shipped Grafana dashboard with uPlot,
// asks the binary's own Prometheus API, and reads new points when the server announces a
// sample on the WebSocket. No framework, no build step; each module has one job:
//   units.js     values and ticks in Grafana units       vars.js     Grafana variables
//   grid.js      the time grid and its columns           urlstate.js the view in the URL
//   api.js       the API client and metrics key          state.js    the shared state
//   panels.js    building, querying, drawing panels      refresh.js  windows and redraws
//   controls.js  range, zoom, variables, theme, URL      adhoc.js    ad-hoc Graph and Table
//   alerts.js    firing and pending alerts               live.js     live updates
//   csv.js       CSV downloads

import { adhocPanel, bindAdhoc, showAdhoc } from "./adhoc.js";
import { readAlerts } from "./alerts.js";
import { bindControls, commit, linkPanels, loadVariables, readURL, showView, themeKey, zoomTo } from "./controls.js";
import { startLive } from "./live.js";
import { buildPanel, panelDefs, resizeAll } from "./panels.js";
import { onRefreshed, probeHistory, refresh } from "./refresh.js";
import { errors, panels, server } from "./state.js";

const $ = (id) => document.getElementById(id);

const how = { theme: themeKey, onZoom: (from, to) => zoomTo(from, to, 2 * server.interval) };
const full = () => refresh("full", how);

const resize = new ResizeObserver(() => resizeAll(panels));

// changed redraws after a change of the view (charts are rebuilt when the palette changed).
function changed() {
  syncAdhoc();
  return full();
}

// syncAdhoc shows the ad-hoc query of the view and fits its chart to its box.
function syncAdhoc() {
  showAdhoc();
  const a = adhocPanel();
  if (a) resize.observe(a.body);
}

async function main() {
  readURL();
  showView();
  bindControls(changed);
  bindAdhoc(commit, changed);
  // The variables' lists fill while the panels draw: the URL already holds their values.
  const vars = loadVariables();
  const [dash] = await Promise.all([
    fetch("/dashboards/gemini-flow.json").then((r) => r.json()),
    probeHistory().catch((e) => errors.push(String(e))),
  ]);
  if (dash.title) {
    $("title").textContent = dash.title;
    document.title = dash.title;
  }
  const grid = $("panels");
  for (const def of panelDefs(dash)) {
    const p = buildPanel(def, "");
    panels.push(p);
    grid.append(p.el);
    if (p.body) resize.observe(p.body);
  }
  syncAdhoc();
  showView();
  linkPanels();
  onRefreshed((win) => {
    showView();
    readAlerts(win);
  });
  await Promise.all([full(), vars]);
  startLive(() => refresh("tail", how), full);
}

main().catch((e) => {
  errors.push(String(e));
  const el = $("error");
  el.hidden = false;
  el.textContent = "The page could not load: " + e.message;
});
