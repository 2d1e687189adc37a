// The application's state, shared by its modules: what is shown (the view, kept in the URL),
// the panels drawn, and what the page knows of the server.

import { defaults } from "./urlstate.js";

// view is what the URL holds (see urlstate.js); range is null while it follows the history.
export const view = defaults();

// panels lists the drawn panels and rows, in order; the ad-hoc panel comes first when set.
export const panels = [];

// server is what the page learnt about the server and its history.
export const server = {
  interval: 10,        // seconds between history samples, measured when possible
  historyStart: null,  // unix seconds of the oldest sample, when known
  lastSample: null,    // unix seconds of the newest sample announced or read
  historyOff: false,   // the server runs with --history-interval 0
};

// live counts what the live updates did.
export const live = {
  ws: "connecting",    // WebSocket state: connecting | live | down
  sampled: 0,          // metrics.sampled events received
  refreshes: 0,        // completed refreshes
  tails: 0,            // refreshes that read only the points after the last drawn
  skipped: 0,          // events that asked for nothing because the tab was hidden
};

// errors collects what went wrong outside a panel, for the page's error line.
export const errors = [];
