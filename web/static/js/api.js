// The client of the server's Prometheus API, with the metrics key asked for inline on the
// first 401 (when the server runs with --metrics-key) and kept for this tab only.

import { server } from "./state.js";

const $ = (id) => document.getElementById(id);
const KEY_ITEM = "gf-metrics-key";
let metricsKey = sessionStorage.getItem(KEY_ITEM) || "";
let keyWait = null;

// keyForm is the state of the key form: none | asked | refused | sent.
export const auth = { keyForm: "none" };

// NotFound is thrown for a 404: the server has no such API.
export class NotFound extends Error {}

// api calls a Prometheus API endpoint and returns {data, warnings}; params are sent as a
// form (POST) or, with get set, in the query string.
export async function api(path, params = {}, get = false) {
  const form = new URLSearchParams(params);
  for (;;) {
    const key = metricsKey;
    const headers = get ? {} : { "Content-Type": "application/x-www-form-urlencoded" };
    if (key) headers.Authorization = "Bearer " + key;
    const qs = get && form.size ? "?" + form : "";
    const res = await fetch(path + qs, get ? { headers } : { method: "POST", body: form, headers });
    if (res.status === 401) {
      // A key entered while this request was out is tried before asking again.
      if (key === metricsKey) await askKey(key);
      continue;
    }
    if (res.status === 404) throw new NotFound(path);
    const json = await res.json();
    // The server answers "unavailable" when it runs with --history-interval 0.
    server.historyOff = json.errorType === "unavailable";
    if (json.status !== "success") throw new Error(json.error || res.statusText);
    return { data: json.data, warnings: json.warnings || [] };
  }
}

// askKey shows the key form (once, however many requests were refused) and resolves when a
// new key is entered. refused is the key the server turned down, "" when none was sent.
function askKey(refused) {
  if (keyWait) return keyWait;
  const form = $("auth"), input = $("auth-key"), msg = $("auth-msg");
  if (refused) {
    sessionStorage.removeItem(KEY_ITEM);
    msg.textContent = "The server refused that key. Check the value of --metrics-key and try again.";
    msg.hidden = false;
  } else {
    msg.hidden = true;
  }
  form.hidden = false;
  auth.keyForm = refused ? "refused" : "asked";
  input.value = "";
  input.focus();
  keyWait = new Promise((resolve) => {
    const submit = (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      form.removeEventListener("submit", submit);
      metricsKey = key;
      sessionStorage.setItem(KEY_ITEM, key);
      form.hidden = true;
      auth.keyForm = "sent";
      keyWait = null;
      resolve();
    };
    form.addEventListener("submit", submit);
  });
  return keyWait;
}
