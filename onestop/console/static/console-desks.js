// The trainee desks as exercise control sees them: which parties trainees play, what each
// desk has waiting and how close it is to its limits (a live countdown to its next
// deadline, the requests past 50 % and 80 % of their limit, the overdue ones), and for
// exercise control each desk's access code (GET /api/desks; observers get no codes).

import { api } from "./console-api.js";
import { levelOf, timeLeft } from "./console-board.js";
import { on, state } from "./console-state.js";
import { countdown, exerciseNow, parseTime } from "./console-time.js";
import { byId, counted, fill, h, showError } from "./console-ui.js";

const REFRESH_MS = 15_000;
const RANK = { overdue: 4, late: 3, half: 2, ok: 1, stopped: 0, none: 0, settled: 0 };
/** @type {{party: string, code: string|null, waiting: number, overdue: number,
 *   next_deadline: string|null}[]} */
let desks = [];
let loading = null;
let again = null;
let cards = new Map(); // party -> {card, next, nextSub, shown}

/** How `party`'s desk stands at exercise time `now`, from the board's entries. */
export function deskStanding(party, now) {
  const open = [...state.entries.values()].filter((e) => e.to === party && !e.settled_at);
  const counts = { half: 0, late: 0, overdue: 0, stopped: 0 };
  let worst = "ok";
  let next = null;
  for (const entry of open) {
    const left = timeLeft(entry, now);
    const level = levelOf(entry, left);
    if (level in counts) counts[level] += 1;
    if (RANK[level] > RANK[worst]) worst = level;
    if (left.mode === "running" && left.seconds > 0 && (!next || left.seconds < next.seconds)) {
      next = { seconds: left.seconds, entry };
    }
  }
  return { open: open.length, counts, worst: open.length ? worst : "none", next };
}

function copyButton(code) {
  return h("button", {
    type: "button",
    class: "quiet copy",
    dataset: { test: "desk-code-copy" },
    title: "Copy the code",
    onclick: async (event) => {
      const button = event.currentTarget;
      try {
        await navigator.clipboard.writeText(code);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select it";
      }
      setTimeout(() => {
        button.textContent = "Copy";
      }, 1500);
    },
  }, "Copy");
}

function filterBoard(party) {
  const select = byId("filter-party");
  if (![...select.options].some((o) => o.value === party)) return;
  select.value = party;
  select.dispatchEvent(new Event("change"));
}

function column(name, value, sub, extra = "") {
  return h("div", { class: `desk-col ${extra}` }, h("span", { class: "desk-col-label" }, name), value, sub);
}

function card(summary) {
  const next = h("span", { class: "desk-col-value mono desk-next", dataset: { test: "desk-next" } }, "—");
  const nextSub = h("span", { class: "desk-col-sub" });
  const levels = h("span", { class: "desk-col-sub", dataset: { test: "desk-levels" } });
  const waiting = h("span", { class: "desk-col-value" },
    h("strong", { dataset: { test: "desk-waiting" } }, String(summary.waiting)),
    h("span", { class: "desk-unit" }, summary.waiting === 1 ? "request" : "requests"),
    h("span", { class: `desk-overdue${summary.overdue ? " bad" : ""}` }, "· ",
      h("strong", { dataset: { test: "desk-overdue" } }, String(summary.overdue)), " overdue"));
  const code = summary.code
    ? h("span", { class: "desk-col-value" },
      h("code", { class: "desk-code mono", dataset: { test: "desk-code" } }, summary.code), copyButton(summary.code))
    : h("span", { class: "desk-col-value muted small" }, "exercise control only");
  const links = h("span", { class: "desk-col-sub desk-links" },
    h("button", { type: "button", class: "link", dataset: { test: "desk-filter" }, onclick: () => filterBoard(summary.party) }, "its requests"),
    h("a", { href: `/desk?party=${encodeURIComponent(summary.party)}`, target: "_blank", rel: "noopener", dataset: { test: "desk-watch" } }, "watch the desk"));
  const element = h("article", { class: "desk-card", dataset: { test: "desk-card", party: summary.party } },
    h("div", { class: "desk-card-party" },
      h("span", { class: "desk-card-name" }, summary.party),
      h("span", { class: "tag desk" }, "trainee")),
    column("Waiting", waiting, levels),
    column("Next due", next, nextSub, "desk-col-next"),
    column("Desk code", code, links, "desk-col-code"));
  return { card: element, next, nextSub, levels, shown: "" };
}

function render() {
  const panel = byId("desks-panel");
  const shown = desks;
  panel.hidden = shown.length === 0;
  byId("desks-count").textContent = shown.length
    ? `${counted(shown.length, "desk")} · ${shown.reduce((n, d) => n + d.waiting, 0)} waiting` : "";
  byId("desk-address").textContent = `${window.location.origin}/desk`;
  cards = new Map();
  fill(byId("desk-cards"), shown.map((summary) => {
    const made = card(summary);
    cards.set(summary.party, made);
    return made.card;
  }));
  tickDesks();
}

/** Move the desks' countdowns on (several times a second). */
export function tickDesks() {
  if (!cards.size) return;
  const now = exerciseNow(state.clock);
  const fast = state.clock && state.clock.speed >= 60;
  for (const [party, made] of cards) {
    const standing = deskStanding(party, now);
    const summary = desks.find((d) => d.party === party);
    let text = "—";
    let sub = standing.open ? "no clock running" : "nothing waiting";
    let nextLevel = "none";
    if (standing.next) {
      text = countdown(standing.next.seconds, !fast);
      sub = `${standing.next.entry.name} · ${standing.next.entry.from}`;
      nextLevel = levelOf(standing.next.entry, timeLeft(standing.next.entry, now));
    } else if (!standing.open && summary && summary.next_deadline && now !== null) {
      text = countdown((parseTime(summary.next_deadline) - now) / 1000, !fast);
    }
    const { half, late, overdue, stopped } = standing.counts;
    const levels = [late ? `${late} past 80 %` : null, half ? `${half} past 50 %` : null,
      stopped ? `${stopped} stopped` : null].filter(Boolean).join(" · ") || (overdue ? "" : "all in time");
    const key = `${text}|${sub}|${standing.worst}|${nextLevel}|${levels}`;
    if (key === made.shown) continue;
    made.shown = key;
    made.next.textContent = text;
    made.nextSub.textContent = sub;
    made.levels.textContent = levels;
    made.card.dataset.level = standing.worst;
    made.next.dataset.level = nextLevel;
  }
}

/** Read the desks again (at most once a second; a change meanwhile reads once more). */
export function loadDesks() {
  if (!state.session || state.session.role === "desk") return Promise.resolve();
  if (loading) {
    again = true;
    return loading;
  }
  loading = api("GET", "/desks")
    .then((answer) => {
      desks = answer.desks;
      render();
    })
    .catch((error) => {
      if (error.status !== 401) showError(error, "Reading the trainee desks");
    })
    .finally(() => {
      setTimeout(() => {
        loading = null;
        if (again) {
          again = false;
          loadDesks();
        }
      }, 1000);
    });
  return loading;
}

export function setUpDesks() {
  on("session", loadDesks);
  on("exercise", loadDesks);
  on("board", loadDesks);
  on("clock", () => {
    if (state.clock && state.clock.exercise_id !== setUpDesks.exercise) {
      setUpDesks.exercise = state.clock.exercise_id;
      loadDesks();
    }
    tickDesks();
  });
  setInterval(() => {
    if (state.session) loadDesks();
  }, REFRESH_MS);
  render();
}
