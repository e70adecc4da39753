// The deadline board: every open request with a live countdown to its deadline in exercise
// time, the least time left first, coloured as its limit gets used up.
//
// A countdown runs from the request's `deadline` and the exercise clock (frozen while the
// clock is paused, following speed changes as they come); a request whose own clock is
// stopped (a clarification asked, a court's authorisation awaited) has `remaining_seconds`
// and no deadline: it shows what is left, stopped.

import { api, query } from "./console-api.js";
import { CHANNELS, label, OPENING_KINDS, OUTCOMES, STATES, URGENCIES } from "./console-labels.js";
import { changed, on, parties, state, touch } from "./console-state.js";
import { countdown, exerciseNow, parseTime, roughly, sinceStart } from "./console-time.js";
import { byId, h, setOptions, showError } from "./console-ui.js";

/** @type {Map<string, {tr: HTMLTableRowElement, entry: object, cell: HTMLElement,
 *   value: HTMLElement, sub: HTMLElement, bar: HTMLElement, shown: string}>} */
const rows = new Map();
let order = [];
let onSelect = () => {};

// ---- what a countdown says ---------------------------------------------------------------

/**
 * Time left of `entry`'s limit at exercise time `now` (ms), and how it stands.
 * @returns {{seconds: number|null, mode: "running"|"stopped"|"none"|"settled"}}
 */
export function timeLeft(entry, now) {
  if (entry.settled_at) return { seconds: null, mode: "settled" };
  if (entry.deadline) return { seconds: (parseTime(entry.deadline) - now) / 1000, mode: "running" };
  if (entry.remaining_seconds !== null && entry.remaining_seconds !== undefined) {
    return { seconds: entry.remaining_seconds, mode: "stopped" };
  }
  return { seconds: null, mode: "none" };
}

/** How far through its limit a request is: ok, half (past 50 %), late (past 80 %),
 * overdue; or stopped, none (no limit), settled. */
export function levelOf(entry, left) {
  if (left.mode === "settled") return "settled";
  if (entry.overdue || (left.seconds !== null && left.seconds <= 0)) return "overdue";
  if (left.mode === "none") return "none";
  if (left.mode === "stopped") return "stopped";
  const limit = entry.limit_seconds;
  if (!limit) return "ok";
  const used = 1 - left.seconds / limit;
  if (used >= 0.8) return "late";
  if (used >= 0.5) return "half";
  return "ok";
}

function usedFraction(entry, left) {
  if (!entry.limit_seconds || left.seconds === null) return left.mode === "settled" ? 0 : null;
  return Math.min(Math.max(1 - left.seconds / entry.limit_seconds, 0), 1);
}

function sortKey(entry, now) {
  const left = timeLeft(entry, now);
  if (left.mode === "settled") return [3, parseTime(entry.settled_at)];
  if (left.mode === "none") return [2, parseTime(entry.received_at)];
  return [entry.overdue && left.seconds > 0 ? -1 : 0, left.seconds];
}

function compare(a, b, now) {
  const ka = sortKey(a, now);
  const kb = sortKey(b, now);
  return ka[0] - kb[0] || ka[1] - kb[1] || a.request_id.localeCompare(b.request_id);
}

// ---- the filters -------------------------------------------------------------------------

function filters() {
  return {
    party: byId("filter-party").value,
    channel: byId("filter-channel").value,
    urgency: byId("filter-urgency").value,
    kind: byId("filter-kind").value,
    settled: byId("filter-settled").checked,
  };
}

function passes(entry, f) {
  if (!f.settled && entry.settled_at) return false;
  if (f.party && entry.from !== f.party && entry.to !== f.party) return false;
  if (f.channel && entry.channel !== f.channel) return false;
  if (f.urgency && entry.urgency !== f.urgency) return false;
  if (f.kind && entry.kind !== f.kind) return false;
  return true;
}

function fillFilters() {
  const all = [{ value: "", label: "All" }];
  const key = parties().join(",");
  if (key === fillFilters.key) return; // unchanged: an open drop-down stays open
  fillFilters.key = key;
  setOptions(byId("filter-party"), [...all, ...parties().map((p) => ({ value: p, label: p }))]);
  setOptions(byId("filter-channel"), [...all, ...Object.entries(CHANNELS).map(([value, text]) => ({ value, label: text }))]);
  setOptions(byId("filter-urgency"), [...all, ...Object.entries(URGENCIES).map(([value, text]) => ({ value, label: text }))]);
  setOptions(byId("filter-kind"), [...all, ...Object.entries(OPENING_KINDS).map(([value, text]) => ({ value, label: text }))]);
}

// ---- rows --------------------------------------------------------------------------------

function buildRow(entry) {
  const value = h("span", { class: "cd-value mono" });
  const bar = h("span", { class: "cd-bar" });
  const sub = h("span", { class: "cd-sub" });
  const cell = h("td", { class: "countdown num", dataset: { test: "countdown" } },
    value, h("span", { class: "cd-track", "aria-hidden": "true" }, bar), sub);
  const tr = h("tr", {
    dataset: { test: "board-row", requestId: entry.request_id },
    onclick: (event) => {
      if (event.target.closest("button")) return;
      onSelect(entry.request_id);
    },
  });
  const row = { tr, entry, cell, value, sub, bar, shown: "" };
  rows.set(entry.request_id, row);
  updateRow(row, entry);
  return row;
}

function updateRow(row, entry) {
  row.entry = entry;
  const kind = entry.kind !== "request" ? h("span", { class: "tag" }, label(OPENING_KINDS, entry.kind)) : null;
  const desk = entry.trainee_desk
    ? h("span", { class: "tag desk", dataset: { test: "trainee-desk" }, title: `${entry.to} is played by trainees` }, "trainee desk")
    : null;
  const limit = entry.limit_seconds
    ? h("span", { title: entry.limit_why || "" }, roughly(entry.limit_seconds))
    : h("span", { class: "muted", dataset: { test: "no-limit" }, title: entry.limit_why || "" }, "no limit");
  const stateText = entry.settled_at ? label(OUTCOMES, entry.outcome) : label(STATES, entry.state);
  const cells = [
    h("td", { class: "req" },
      h("button", {
        type: "button",
        class: "link",
        dataset: { test: "inspect" },
        "aria-label": `Inspect request ${entry.name}`,
        onclick: () => onSelect(entry.request_id),
      }, entry.name),
      kind),
    h("td", { class: "parties" }, h("span", { class: "party" }, entry.from), " → ",
      h("span", { class: "party" }, entry.to), desk),
    h("td", {}, label(CHANNELS, entry.channel)),
    h("td", { class: entry.urgency === "urgent" ? "urgent" : "" },
      label(URGENCIES, entry.urgency),
      entry.accessibility ? h("span", { class: "sub" }, entry.accessibility) : null),
    h("td", {}, limit),
    row.cell,
    h("td", { class: "state" }, stateText,
      entry.overdue ? h("span", { class: "tag overdue", dataset: { test: "overdue" } }, "overdue") : null),
  ];
  const focused = row.tr.contains(document.activeElement);
  row.tr.replaceChildren(...cells);
  if (focused) row.tr.querySelector("button").focus(); // keyboard users stay where they were
  row.tr.classList.toggle("trainee", Boolean(entry.trainee_desk));
  row.tr.classList.toggle("selected", state.selected === entry.request_id);
  row.shown = "";
  tickRow(row, exerciseNow(state.clock));
}

function tickRow(row, now) {
  const entry = row.entry;
  const left = timeLeft(entry, now ?? parseTime(entry.received_at));
  const level = levelOf(entry, left);
  let text;
  let sub;
  const clock = state.clock;
  const fast = clock && clock.speed >= 60;
  if (left.mode === "settled") {
    text = label(OUTCOMES, entry.outcome);
    const start = parseTime(clock && clock.exercise_start);
    sub = start !== null ? `at ${sinceStart(parseTime(entry.settled_at), start)}` : "";
  } else if (left.mode === "none") {
    text = "no limit";
    sub = "";
  } else if (left.mode === "stopped") {
    text = countdown(left.seconds, !fast);
    sub = { clarification_pending: "stopped: clarification asked", awaiting_judicial_auth: "stopped: awaiting a court" }[entry.state] || "clock stopped";
  } else {
    text = countdown(left.seconds, !fast);
    if (left.seconds <= 0) sub = "overdue";
    else if (!clock || clock.ended) sub = "exercise ended";
    else if (clock.paused) sub = "paused";
    else sub = `≈ ${roughly(left.seconds / clock.speed)} wall`;
  }
  const key = `${text}|${sub}|${level}`;
  if (key === row.shown) return;
  row.shown = key;
  row.value.textContent = text;
  row.sub.textContent = sub;
  row.cell.dataset.state = left.mode;
  row.cell.dataset.level = level;
  row.tr.dataset.level = level;
  const used = usedFraction(entry, left);
  row.bar.style.width = used === null ? "0" : `${Math.round(used * 100)}%`;
  row.cell.title = entry.deadline ? `deadline ${entry.deadline}` : "";
}

/** Redraw the board from `state.entries`. */
function render() {
  const f = filters();
  const now = exerciseNow(state.clock);
  const shown = [...state.entries.values()].filter((e) => passes(e, f));
  shown.sort((a, b) => compare(a, b, now));
  const keep = new Set(shown.map((e) => e.request_id));
  for (const id of [...rows.keys()]) if (!keep.has(id)) rows.delete(id);
  const trs = shown.map((entry) => {
    const row = rows.get(entry.request_id);
    if (!row) return buildRow(entry).tr;
    if (row.entry !== entry) updateRow(row, entry);
    return row.tr;
  });
  const body = byId("board-rows");
  const same = trs.length === body.children.length && trs.every((tr, i) => body.children[i] === tr);
  if (!same) body.replaceChildren(...trs); // only when it changed: a focused row keeps focus
  order = shown.map((e) => e.request_id);
  const open = [...state.entries.values()].filter((e) => !e.settled_at).length;
  const filtered = f.party || f.channel || f.urgency || f.kind;
  byId("board-count").textContent = `${open} open${filtered || f.settled ? ` · ${shown.length} shown` : ""}`;
  const empty = byId("board-empty");
  empty.hidden = shown.length > 0;
  empty.textContent = state.entries.size === 0 ? "No requests yet." : "No request matches the filters.";
}

/** Move the countdowns on; re-sort when the order changed (stopped clocks fall behind). */
export function tickBoard(resort) {
  const now = exerciseNow(state.clock);
  for (const row of rows.values()) tickRow(row, now);
  if (!resort) return;
  const sorted = [...order].map((id) => rows.get(id).entry).sort((a, b) => compare(a, b, now));
  if (sorted.some((entry, i) => entry.request_id !== order[i])) render();
}

// ---- loading -----------------------------------------------------------------------------

let loading = null;

/** Reload the whole board (settled requests too: the page filters). Entries an event
 * changed while the answer was on its way are kept as the event left them. */
export function loadBoard() {
  if (loading) return loading;
  const since = state.generation;
  loading = api("GET", `/requests${query({ settled: true })}`)
    .then((board) => {
      const fresh = new Map();
      for (const entry of board.entries) fresh.set(entry.request_id, entry);
      for (const [id, entry] of state.entries) {
        if ((state.touched.get(id) || 0) > since) fresh.set(id, entry);
      }
      state.entries = fresh;
      changed("board");
    })
    .catch((error) => showError(error, "Loading the deadline board"))
    .finally(() => {
      loading = null;
    });
  return loading;
}

/** A `request` event: the entry's new state. */
export function entryChanged(entry) {
  state.entries.set(entry.request_id, entry);
  touch(entry.request_id);
  changed("board");
}

/** A `board` event with {reset: true}: another exercise started; start over. */
export function boardReset() {
  state.entries = new Map();
  state.touched = new Map();
  changed("board");
  clearTimeout(boardReset.timer);
  boardReset.timer = setTimeout(loadBoard, 300);
}

export function setUpBoard(select) {
  onSelect = select;
  fillFilters();
  for (const id of ["filter-party", "filter-channel", "filter-urgency", "filter-kind", "filter-settled"]) {
    byId(id).addEventListener("change", render);
  }
  byId("board-filters").addEventListener("submit", (event) => event.preventDefault());
  on("board", render);
  on("board", fillFilters);
  on("scenarios", fillFilters);
  on("exercise", fillFilters);
  on("clock", () => tickBoard(true));
  on("selected", () => {
    for (const [id, row] of rows) row.tr.classList.toggle("selected", id === state.selected);
  });
  render();
}

/** The open requests, for other parts of the page (the observation form). */
export function openEntries() {
  return [...state.entries.values()].filter((e) => !e.settled_at);
}
