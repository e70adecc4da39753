// The desk's two lists: its inbox (requests to its party, each with a live countdown to the
// limit that applies to the desk, coloured past 50 % and 80 % of it and when overdue, frozen
// while the exercise clock is paused) and its own requests with their state and the time
// the other party has left. And the figures at the top: waiting, overdue, next due.

import { levelOf, timeLeft } from "./console-board.js";
import { CHANNELS, label, OPENING_KINDS, OUTCOMES, STATES, URGENCIES, ACCESSIBILITIES } from "./console-labels.js";
import { on, state } from "./console-state.js";
import { countdown, exerciseNow, parseTime, roughly, sinceStart } from "./console-time.js";
import { byId, h } from "./console-ui.js";
import { MESSAGE_KINDS } from "./desk-labels.js";
import { byUrgency, desk, entriesOf } from "./desk-state.js";

const STOPPED = {
  clarification_pending: "stopped: clarification asked",
  awaiting_judicial_auth: "stopped: awaiting a court",
};

/** @type {Map<string, {tr: HTMLTableRowElement, entry: object, cell: HTMLElement,
 *   value: HTMLElement, sub: HTMLElement, bar: HTMLElement, shown: string, which: string,
 *   version: string}>} */
const rows = new Map();
let onOpen = () => {};

// ---- a countdown ---------------------------------------------------------------------------

/** What a countdown shows for `entry` at exercise time `now`: text, line under, level. */
export function countdownOf(entry, now) {
  const left = timeLeft(entry, now ?? parseTime(entry.received_at));
  const level = levelOf(entry, left);
  const clock = state.clock;
  const fast = clock && clock.speed >= 60;
  let text;
  let sub;
  if (left.mode === "settled") {
    text = label(OUTCOMES, entry.outcome);
    const start = parseTime(clock && clock.exercise_start);
    sub = start !== null ? `at ${sinceStart(parseTime(entry.settled_at), start)}` : "";
  } else if (left.mode === "none") {
    text = "no limit";
    sub = "";
  } else if (left.mode === "stopped") {
    text = countdown(left.seconds, !fast);
    sub = STOPPED[entry.state] || "clock stopped";
  } else {
    text = countdown(left.seconds, !fast);
    if (left.seconds <= 0) sub = "overdue";
    else if (!clock || clock.ended) sub = "exercise ended";
    else if (clock.paused) sub = "paused";
    else sub = `≈ ${roughly(left.seconds / clock.speed)} wall`;
  }
  const used = !entry.limit_seconds || left.seconds === null ? null
    : Math.min(Math.max(1 - left.seconds / entry.limit_seconds, 0), 1);
  return { left, level, text, sub, used };
}

function countdownCell() {
  const value = h("span", { class: "cd-value mono" });
  const bar = h("span", { class: "cd-bar" });
  const sub = h("span", { class: "cd-sub" });
  const cell = h("td", { class: "countdown num", dataset: { test: "countdown" } },
    value, h("span", { class: "cd-track", "aria-hidden": "true" }, bar), sub);
  return { cell, value, bar, sub };
}

function tickRow(row, now) {
  const shown = countdownOf(row.entry, now);
  const key = `${shown.text}|${shown.sub}|${shown.level}`;
  if (key === row.shown) return;
  row.shown = key;
  row.value.textContent = shown.text;
  row.sub.textContent = shown.sub;
  row.cell.dataset.state = shown.left.mode;
  row.cell.dataset.level = shown.level;
  row.tr.dataset.level = shown.level;
  row.bar.style.width = shown.used === null ? "0" : `${Math.round(shown.used * 100)}%`;
  row.cell.title = row.entry.deadline ? `deadline ${row.entry.deadline} (exercise time)` : "";
}

// ---- rows ------------------------------------------------------------------------------------

function subjectOf(entry) {
  const detail = desk.details.get(entry.request_id);
  const opening = detail && detail.opening;
  if (!opening) return "";
  if (opening.kind === "sirene_form") return `Form ${opening.form} · ${opening.sis_alert_id}`;
  if (opening.kind === "prum_query") return `${opening.category.replaceAll("_", " ")}: ${opening.reference}`;
  if (opening.kind === "prum_followup") return `${opening.category.replaceAll("_", " ")} hit`;
  return opening.subject || "";
}

function stateCell(entry) {
  const waiting = entry.to === desk.party && entry.state === "delivered";
  const text = entry.settled_at ? label(OUTCOMES, entry.outcome) : waiting ? "to answer" : label(STATES, entry.state);
  return h("td", { class: "state", dataset: { test: "entry-state" } }, text,
    entry.overdue ? h("span", { class: "tag overdue", dataset: { test: "overdue" } }, "overdue") : null);
}

function nameCell(entry) {
  const kind = entry.kind !== "request"
    ? h("span", { class: "tag" }, label(OPENING_KINDS, entry.kind)) : null;
  const fresh = desk.unread.has(entry.request_id)
    ? h("span", { class: "tag fresh", dataset: { test: "unread" } }, "new") : null;
  const subject = subjectOf(entry);
  return h("td", { class: "req" },
    h("button", {
      type: "button",
      class: "link",
      dataset: { test: "open-request" },
      "aria-label": `Open request ${entry.name}`,
      onclick: () => onOpen(entry.request_id),
    }, entry.name),
    kind, fresh,
    subject ? h("span", { class: "sub subject", title: subject }, subject) : null);
}

function inboxCells(entry, row) {
  const limit = entry.limit_seconds
    ? h("span", { title: entry.limit_why || "" }, roughly(entry.limit_seconds))
    : h("span", { class: "muted", title: entry.limit_why || "" }, "no limit");
  return [
    nameCell(entry),
    h("td", { class: "parties" }, h("span", { class: "party" }, entry.from)),
    h("td", { class: entry.urgency === "urgent" ? "urgent" : "" },
      label(URGENCIES, entry.urgency),
      entry.accessibility ? h("span", { class: "sub", title: label(ACCESSIBILITIES, entry.accessibility) }, entry.accessibility) : null),
    h("td", {}, limit),
    row.cell,
    stateCell(entry),
  ];
}

function chosenChannel(entry) {
  if (desk.chosen.has(entry.request_id)) return desk.chosen.get(entry.request_id);
  const detail = desk.details.get(entry.request_id);
  return detail && detail.opening ? detail.opening.requested_channel ?? null : undefined;
}

function outgoingCells(entry, row) {
  const chosen = chosenChannel(entry);
  let note = null;
  if (chosen && entry.channel && chosen !== entry.channel) {
    note = h("span", { class: "sub deviation", dataset: { test: "deviation" }, title: "The hub routed it by Art. 13; your choice is recorded as a deviation" },
      `you chose ${label(CHANNELS, chosen)}`);
  } else if (chosen) {
    note = h("span", { class: "sub" }, "as you chose");
  } else if (chosen === null) {
    note = h("span", { class: "sub" }, "by Art. 13");
  }
  return [
    nameCell(entry),
    h("td", { class: "parties" }, h("span", { class: "party" }, entry.to)),
    h("td", { dataset: { test: "entry-channel" } }, label(CHANNELS, entry.channel), note),
    row.cell,
    stateCell(entry),
  ];
}

function version(entry) {
  const detail = desk.details.get(entry.request_id);
  return [entry.state, entry.outcome, entry.overdue, entry.settled_at, entry.channel,
    desk.unread.has(entry.request_id), detail ? detail.version : "", desk.chosen.get(entry.request_id) || ""].join("|");
}

function rowOf(entry, which) {
  let row = rows.get(entry.request_id);
  if (!row || row.which !== which) {
    const parts = countdownCell();
    const tr = h("tr", {
      dataset: { test: `${which}-row`, requestId: entry.request_id, name: entry.name },
      onclick: (event) => {
        if (!event.target.closest("button")) onOpen(entry.request_id);
      },
    });
    row = { tr, entry, ...parts, shown: "", which, version: null };
    rows.set(entry.request_id, row);
  }
  const now = version(entry);
  if (row.version !== now || row.entry !== entry) {
    row.entry = entry;
    row.version = now;
    const focused = row.tr.contains(document.activeElement);
    row.tr.replaceChildren(...(which === "inbox" ? inboxCells(entry, row) : outgoingCells(entry, row)));
    if (focused) row.tr.querySelector("button").focus();
    row.tr.classList.toggle("selected", desk.selected === entry.request_id);
    row.tr.classList.toggle("unread", desk.unread.has(entry.request_id));
    row.shown = "";
    tickRow(row, exerciseNow(state.clock));
  }
  return row;
}

function renderList(which) {
  const now = exerciseNow(state.clock);
  let entries = entriesOf(which).sort(byUrgency(now));
  const all = entries.length;
  const open = entries.filter((e) => !e.settled_at).length;
  if (which === "inbox" && !byId("inbox-settled").checked) entries = entries.filter((e) => !e.settled_at);
  const trs = entries.map((entry) => rowOf(entry, which).tr);
  const body = byId(`${which}-rows`);
  const same = trs.length === body.children.length && trs.every((tr, i) => body.children[i] === tr);
  if (!same) body.replaceChildren(...trs);
  byId(`${which}-count`).textContent = all ? `${open} open · ${all} in all` : "";
  byId(`${which}-empty`).hidden = trs.length > 0;
  if (which === "inbox" && all && !trs.length) byId("inbox-empty").textContent = "Everything is settled.";
  return entries;
}

/** Redraw both lists and the figures from the entries. */
export function renderLists() {
  const keep = new Set(state.entries.keys());
  for (const id of [...rows.keys()]) if (!keep.has(id)) rows.delete(id);
  renderList("inbox");
  renderList("outgoing");
  tickLists(); // a new clock (a pause) shows at once, not at the next tick
}

// ---- the figures at the top ----------------------------------------------------------------

function setText(id, text) {
  const element = byId(id);
  if (element.textContent !== text) element.textContent = text;
}

function tickFigures() {
  const now = exerciseNow(state.clock);
  const open = entriesOf("inbox").filter((e) => !e.settled_at);
  const overdue = open.filter((e) => e.overdue).length;
  const urgent = open.filter((e) => e.urgency === "urgent").length;
  setText("desk-waiting", desk.party ? String(open.length) : "—");
  setText("desk-waiting-sub", open.length
    ? [overdue ? `${overdue} overdue` : null, urgent ? `${urgent} urgent` : null].filter(Boolean).join(" · ") || "none overdue"
    : "nothing to answer");
  byId("desk-waiting").dataset.level = overdue ? "overdue" : "ok";
  const running = open.map((e) => ({ e, shown: countdownOf(e, now) }))
    .filter((x) => x.shown.left.mode === "running" && x.shown.left.seconds > 0)
    .sort((a, b) => a.shown.left.seconds - b.shown.left.seconds);
  const tile = byId("next-due-tile");
  if (running.length) {
    const next = running[0];
    setText("next-due", next.shown.text);
    setText("next-due-sub", `${next.e.name} · ${next.e.from}${next.shown.sub ? ` · ${next.shown.sub}` : ""}`);
    tile.dataset.level = next.shown.level;
  } else {
    setText("next-due", "—");
    setText("next-due-sub", open.length ? "no clock running" : "\u00a0");
    tile.dataset.level = "none";
  }
  const own = entriesOf("outgoing");
  const ownOpen = own.filter((e) => !e.settled_at).length;
  setText("own-open", own.length ? String(ownOpen) : "—");
  setText("own-open-sub", own.length ? `open of ${own.length} sent` : "none sent yet");
}

/** Move the countdowns on (several times a second). */
export function tickLists() {
  const now = exerciseNow(state.clock);
  for (const row of rows.values()) tickRow(row, now);
  tickFigures();
}

/** Mark the row of the request open in the answer panel. */
export function markSelected() {
  for (const [id, row] of rows) row.tr.classList.toggle("selected", id === desk.selected);
}

/** What a message kind is called on the desk. */
export function kindName(kind) {
  return label(MESSAGE_KINDS, kind);
}

/** Wire the lists; `open(requestId)` shows a request in the answer panel. */
export function setUpLists(open) {
  onOpen = open;
  byId("inbox-settled").addEventListener("change", renderLists);
  on("board", renderLists);
  on("details", renderLists);
  on("clock", renderLists);
  on("selected", markSelected);
  renderLists();
}
