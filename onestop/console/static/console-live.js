// Live updates: server-sent events from /api/events. The browser reconnects by itself and
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
      handlers[kind](data, id);
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
    open(`/api/events?last_id=${lastId}`);
  }, backoff);
}

/**
 * Follow the console's events from the start of what it keeps.
 * @param {Record<string, (data: any, id: number) => void>} on a handler per event kind
 */
export function follow(on) {
  handlers = on;
  stop();
  lastId = 0;
  indicate("connecting", "Connecting…");
  open("/api/events");
}

/** Stop following (logging out). */
export function stop() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
  indicate("down", "Not connected");
}
