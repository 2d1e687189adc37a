// Controls: range buttons, zoom, job and instance, theme and the single-panel view, kept in
// the URL. Zooms and range changes push a history entry, so Back and Forward move through
// them; the URL of each panel's title shows that panel alone.

import { api } from "./api.js";
import { formatState, parseState } from "./urlstate.js";
import { errors, panels, view } from "./state.js";
import { rangeOf } from "./refresh.js";

const $ = (id) => document.getElementById(id);
const THEME_ITEM = "gf-theme";
let onChange = () => {};

// readURL sets the view from the URL; a theme chosen earlier applies when the URL has none.
export function readURL() {
  Object.assign(view, parseState(location.search));
  if (!new URLSearchParams(location.search).has("theme")) {
    const t = localStorage.getItem(THEME_ITEM);
    if (t === "light" || t === "dark") view.theme = t;
  }
}

// commit writes the view into the URL: a new history entry when push is set.
export function commit(push) {
  const url = location.pathname + formatState(view);
  if (url !== location.pathname + location.search) {
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }
  linkPanels();
}

// linkPanels points each panel's title at the URL of that panel alone.
export function linkPanels() {
  for (const p of panels) {
    const a = p.el?.querySelector("h2 a");
    if (a && p.id) a.href = location.pathname + formatState({ ...view, panel: p.id });
  }
  const all = $("all-panels");
  all.hidden = !view.panel;
  all.href = location.pathname + formatState({ ...view, panel: null });
}

// showView puts the view on the controls and shows the panel chosen alone, if any.
export function showView() {
  const range = view.from == null ? rangeOf() : null;
  for (const b of $("ranges").querySelectorAll("button")) b.setAttribute("aria-pressed", String(Number(b.dataset.range) === range));
  $("reset-zoom").hidden = view.from == null;
  for (const name of ["job", "instance"]) $("var-" + name).value = view[name] ?? "";
  applyTheme();
  document.body.classList.toggle("single", !!view.panel);
  for (const p of panels) p.el?.classList.toggle("solo", !!view.panel && p.id === view.panel);
}

// zoomTo shows [from, to] (a drag on a chart).
export function zoomTo(from, to, minSpan) {
  if (to - from < minSpan) return;
  view.from = from;
  view.to = to;
  commit(true);
  showView();
  onChange();
}

function applyTheme() {
  const t = view.theme;
  if (t === "auto") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", t);
  const btn = $("theme");
  btn.textContent = "Theme: " + t;
  btn.title = t === "auto" ? "Theme: follows the system" : "Theme: " + t;
}

// themeKey names the palette shown, so that charts are redrawn when it changes.
export function themeKey() {
  if (view.theme !== "auto") return view.theme;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

// bindControls wires the controls; changed(full) redraws after a change of the view.
export function bindControls(changed) {
  onChange = changed;
  $("ranges").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-range]");
    if (!b) return;
    view.range = Number(b.dataset.range);
    view.from = view.to = null;
    commit(true);
    showView();
    changed();
  });
  $("reset-zoom").addEventListener("click", () => {
    view.from = view.to = null;
    commit(true);
    showView();
    changed();
  });
  $("theme").addEventListener("click", () => {
    // Cycle auto → the opposite of what auto shows → the other → auto.
    const order = themeKey() === "dark" ? ["auto", "light", "dark"] : ["auto", "dark", "light"];
    view.theme = order[(order.indexOf(view.theme) + 1) % 3];
    localStorage.setItem(THEME_ITEM, view.theme);
    commit(false);
    showView();
    changed();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (view.theme === "auto") changed();
  });
  for (const name of ["job", "instance"]) {
    $("var-" + name).addEventListener("change", (e) => {
      view[name] = e.target.value || null;
      commit(true);
      changed();
    });
  }
  window.addEventListener("popstate", () => {
    readURL();
    showView();
    changed();
  });
}

// loadVariables fills the job and instance lists from the label values.
export async function loadVariables() {
  await Promise.all(["job", "instance"].map(async (name) => {
    try {
      const { data } = await api(`/api/v1/label/${name}/values`, {});
      const sel = $("var-" + name);
      const have = new Set([...sel.options].map((o) => o.value));
      // A value in the URL is kept even when the history no longer holds it.
      for (const v of [...data, view[name]].filter((v) => v && !have.has(v))) {
        const o = document.createElement("option");
        o.value = o.textContent = v;
        sel.append(o);
        have.add(v);
      }
      sel.value = view[name] ?? "";
    } catch (e) {
      errors.push(String(e));
    }
  }));
}
