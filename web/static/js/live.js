// Live updates: the server announces each new history sample on the WebSocket
// ("metrics.sampled"); the page then reads the points after the last one drawn. A hidden
// tab asks for nothing until it is shown again; with the socket down the page polls.

import { live, server } from "./state.js";

const $ = (id) => document.getElementById(id);
let pollTimer = null, wasDown = false, missed = false, onTick = () => {}, onFull = () => {};

function setWS(s, text) {
  live.ws = s;
  const el = $("ws-status");
  el.dataset.state = s;
  el.textContent = text;
}

// tick asks for the new points, or notes that it should once the tab is shown.
function tick() {
  if (document.hidden) {
    missed = true;
    live.skipped++;
    return;
  }
  onTick();
}

function connect(delay) {
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
    if (reconnect) onFull();
  });
  ws.addEventListener("message", (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    if (msg.type !== "metrics.sampled") return;
    live.sampled++;
    const ts = Number(msg.payload?.timestamp);
    if (ts > 0) server.lastSample = ts / 1000;
    tick();
  });
  ws.addEventListener("close", () => {
    wasDown = true;
    const next = opened ? 1000 : Math.min(delay * 2, 30000);
    setWS("down", `live updates down, retrying in ${Math.round(next / 1000)} s`);
    // While the socket is down the page still moves, at the sampling interval.
    if (!pollTimer) pollTimer = setInterval(tick, server.interval * 1000);
    setTimeout(() => connect(next), next);
  });
}

// startLive subscribes to new samples: tickFn reads the new points, fullFn redraws in full.
export function startLive(tickFn, fullFn) {
  onTick = tickFn;
  onFull = fullFn;
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && missed) {
      missed = false;
      onTick();
    }
  });
  connect(1000);
}
