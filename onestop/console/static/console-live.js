// Live updates: server-sent events from /api/events (a trainee desk follows its own,
// /api/desks/<party>/events). The browser reconnects by itself and
// sends the id of the last event it saw (Last-Event-ID); the console replays what came
// after it. When the stream is closed for good (the console restarted, the session ended)
// the page opens it again itself, naming that id in the query.

import { api } from "./console-api.js";
import { byId } from "./console-ui.js";

const KINDS = ["clock", "request", "board", "observation", "exercise", "health", "reset"];

let source = null;
let lastId = 0;
let retry = null;
let backoff = 1000;
let handlers = {};
let streamUrl = "/api/events";

function indicate(stateName, text) {
  const indicator = byId("live-indicator");
  indicator.dataset.state = stateName;
  indicator.textContent = text;
}

function open(url) {
  const manual = url.includes("?");
  const stream = new EventSource(url);
  source = stream;
  stream.onopen = () => {
    backoff = 1000;
    indicate("live", "Live");
  };
  stream.onerror = () => {
    if (source !== stream) return;
    if (stream.readyState === EventSource.CLOSED || manual) {
      // Closed for good, or a stream opened with ?last_id= (the browser would reconnect to
      // the same, stale id): reconnect from here on with the id seen last.
      stream.close();
      indicate("down", "Offline: reconnecting…");
      schedule();
    } else {
      indicate("reconnecting", "Reconnecting…");
    }
  };
  for (const kind of KINDS) {
    stream.addEventListener(kind, (event) => {
      const id = Number(event.lastEventId);
      if (Number.isFinite(id) && id > 0) lastId = id;
      let data = null;
      try {
        data = event.data ? JSON.parse(event.data) : null;
      } catch (error) {
        throw new Error(`the console sent a ${kind} event that is not JSON: ${error.message}`);
      }
      if (handlers[kind]) handlers[kind](data, id);
    });
  }
}

function schedule() {
  clearTimeout(retry);
  retry = setTimeout(async () => {
    try {
      await api("GET", "/session"); // a 401 here sends the person back to the login
    } catch (error) {
      if (error.status === 401) return;
      backoff = Math.min(backoff * 2, 15_000);
      schedule();
      return;
    }
    open(`${streamUrl}?last_id=${lastId}`);
  }, backoff);
}

/**
 * Follow the console's events from the start of what it keeps (or from `since`).
 * @param {Record<string, (data: any, id: number) => void>} on a handler per event kind
 * @param {string} [url] the event stream, /api/events unless a desk's own
 * @param {number} [since] the id of the last event already known
 */
export function follow(on, url = "/api/events", since = 0) {
  handlers = on;
  stop();
  streamUrl = url;
  lastId = since;
  indicate("connecting", "Connecting…");
  open(since > 0 ? `${url}?last_id=${since}` : url);
}

/** Stop following (logging out). */
export function stop() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
  indicate("down", "Not connected");
}
