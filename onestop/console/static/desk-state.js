// What the desk page knows beyond the console's shared state (console-state.js holds the
// session, the clock, the exercise and the entries, here only the desk's own): which party
// it plays, the messages read back for each request, which request is open, what is new.

import { state } from "./console-state.js";
import { parseTime } from "./console-time.js";
import { timeLeft } from "./console-board.js";

export const desk = {
  /** The party this desk plays (a desk's session), or the one watched (exercise control). */
  party: null,
  /** Exercise control or an observer reading a desk: nothing can be sent. */
  watching: false,
  /** Per request id: {opening, messages, steps, version} read back from its inspection. */
  details: new Map(),
  /** The request id open in the answer panel. */
  selected: null,
  /** Request ids that arrived (or changed for the desk) and were not opened yet. */
  unread: new Set(),
  /** Request id -> the channel this desk chose when it opened it (known from the answer). */
  chosen: new Map(),
  /** Why the desk cannot open (its party is not a trainee's in the exercise on the clock). */
  problem: null,
};

/** The desk's party's requests: to it (`inbox`) or from it (`outgoing`). */
export function entriesOf(which) {
  const all = [...state.entries.values()];
  return which === "inbox" ? all.filter((e) => e.to === desk.party) : all.filter((e) => e.from === desk.party);
}

/** Soonest due first; stopped clocks by what is left; no limit, then settled, last. */
export function byUrgency(now) {
  const key = (entry) => {
    const left = timeLeft(entry, now);
    if (left.mode === "settled") return [3, -parseTime(entry.settled_at)];
    if (left.mode === "none") return [2, parseTime(entry.received_at)];
    return [entry.overdue ? -1 : 0, left.seconds];
  };
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || a.request_id.localeCompare(b.request_id);
  };
}

/** Whether the desk may send now: its own desk, an exercise running. */
export function maySend() {
  return Boolean(!desk.watching && state.clock && state.clock.exercise_id && !state.clock.ended);
}
