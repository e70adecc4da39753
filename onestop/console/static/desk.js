// A trainee's SPOC desk: log in with the desk's code, then work the party's inbox and send
// as that party. Everything comes from the console's own HTTP API (/api/desks/<party>,
// checked on the server: a desk reads and sends only as its own party) and the desk's own
// server-sent events; nothing is fetched from anywhere else. Exercise control and observers
// may open a desk to watch it (/desk?party=PL), without sending anything.

import { api, onUnauthorised } from "./console-api.js";
import { label, OPENING_KINDS, OUTCOMES, ROLES } from "./console-labels.js";
import { follow, stop } from "./console-live.js";
import { changed, on, state, touch } from "./console-state.js";
import { formatSpeed } from "./console-statusbar.js";
import { clockUtc, dateUtc, exerciseNow, learnServerClock, parseTime, roughly, sinceStart, speedMeaning } from "./console-time.js";
import { byId, clearErrors, counted, showError } from "./console-ui.js";
import { openRequest, setUpDetail, tickDetail } from "./desk-detail.js";
import { setUpForms } from "./desk-forms.js";
import { setUpLists, tickLists } from "./desk-lists.js";
import { notify, renderTitle, setUpNotifications } from "./desk-notify.js";
import { desk } from "./desk-state.js";

const TICK_MS = 250;
const STATUS_POLL_MS = 30_000;
let ticker = null;
let poller = null;
let loadedExercise = null;
let firstLoad = true;

// ---- what this browser has opened (kept over a reload) ---------------------------------------

function openedKey() {
  return `onestop.desk.${desk.party}.${(state.clock && state.clock.exercise_id) || "none"}.opened`;
}

function openedIds() {
  try {
    return new Set(JSON.parse(localStorage.getItem(openedKey()) || "[]"));
  } catch {
    return new Set();
  }
}

function rememberOpened(requestId) {
  const ids = openedIds();
  ids.add(requestId);
  try {
    localStorage.setItem(openedKey(), JSON.stringify([...ids]));
  } catch {
    // a browser that keeps nothing: the "new" marks come back after a reload, that is all
  }
}

// ---- the clock and the header -----------------------------------------------------------------

function applyClock(clock) {
  const previous = state.clock;
  state.clock = clock;
  changed("clock");
  if (previous && previous.exercise_id !== clock.exercise_id && clock.exercise_id) {
    loadDesk(); // another exercise: start over
  }
}

function renderClock() {
  const clock = state.clock;
  const runState = byId("run-state");
  let shown = "Idle";
  let key = "none";
  if (clock && clock.exercise_id) {
    if (clock.ended) [shown, key] = ["Ended", "ended"];
    else if (clock.paused) [shown, key] = ["Paused", "paused"];
    else [shown, key] = ["Running", "running"];
  }
  runState.textContent = shown;
  runState.dataset.state = key;
  document.body.dataset.clock = key;
  byId("speed-sub").textContent = clock && clock.exercise_id
    ? `×${formatSpeed(clock.speed)} · ${speedMeaning(clock.speed)}` : "\u00a0";
  renderBanner();
  tickClock();
}

function tickClock() {
  const clock = state.clock;
  const time = byId("exercise-time");
  const day = byId("exercise-day");
  if (!clock || !clock.exercise_id) {
    time.textContent = "—";
    day.textContent = "no exercise on the clock";
    return;
  }
  const now = exerciseNow(clock);
  const start = parseTime(clock.exercise_start);
  const text = clockUtc(now);
  if (time.textContent !== text) time.textContent = text;
  const sub = `${dateUtc(now)} UTC${start !== null ? ` · ${sinceStart(now, start)}` : ""}`;
  if (day.textContent !== sub) day.textContent = sub;
}

function renderBanner() {
  const banner = byId("desk-banner");
  const clock = state.clock;
  let text = "";
  let kind = "";
  if (desk.problem) {
    [text, kind] = [desk.problem, "problem"];
  } else if (!clock || !clock.exercise_id) {
    [text, kind] = ["No exercise is running: the desk opens when exercise control starts one.", "idle"];
  } else if (clock.ended) {
    [text, kind] = ["The exercise has ended: nothing more can be sent. The after-action report assesses your desk.", "ended"];
  } else if (clock.paused) {
    [text, kind] = ["Exercise control has paused the clock: every countdown holds until it runs again. You may still send.", "paused"];
  } else if (desk.watching) {
    [text, kind] = [`You are watching the ${desk.party} desk as ${label(ROLES, state.session.role).toLowerCase()}: only the desk's own code sends as ${desk.party}.`, "watching"];
  }
  banner.textContent = text;
  banner.dataset.state = kind;
  banner.hidden = !text;
}

function renderExercise() {
  const name = (state.exercise && state.exercise.scenario) || (state.clock && state.clock.exercise_id) || "No exercise";
  byId("exercise-name").textContent = name;
}

// ---- loading -----------------------------------------------------------------------------------

/** The status (clock, exercise) and the desk's requests; returns the last event id known. */
async function loadDesk() {
  const sent = Date.now();
  let status;
  try {
    status = await api("GET", "/status");
  } catch (error) {
    showError(error, "Reading the exercise status");
    return 0;
  }
  learnServerClock(status.clock.wall_time, sent, Date.now());
  state.exercise = status.exercise;
  state.clock = status.clock;
  if (desk.watching && !desk.party) desk.party = (status.clock.trainees || [])[0] || null;
  renderParty();
  changed("clock", "exercise");
  if (!desk.party || !(status.clock.trainees || []).includes(desk.party)) {
    desk.problem = desk.party
      ? `${desk.party} is not played by a trainee in the exercise on the clock.`
      : "No party is played by a trainee in the exercise on the clock.";
    state.entries = new Map();
    changed("board");
    return status.last_event_id;
  }
  desk.problem = null;
  try {
    const view = await api("GET", `/desks/${encodeURIComponent(desk.party)}`);
    state.clock = view.clock;
    const fresh = new Map();
    for (const entry of [...view.inbox, ...view.outgoing]) fresh.set(entry.request_id, entry);
    if (loadedExercise !== view.clock.exercise_id) {
      desk.details.clear();
      desk.chosen.clear();
      desk.selected = null;
      changed("selected");
    }
    loadedExercise = view.clock.exercise_id;
    state.entries = fresh;
    const opened = openedIds();
    desk.unread = desk.watching ? new Set()
      : new Set(view.inbox.filter((e) => !e.settled_at && !opened.has(e.request_id)).map((e) => e.request_id));
    if (firstLoad && desk.unread.size && !desk.watching) {
      notify("arrived", `${counted(desk.unread.size, "request")} waiting for you`,
        "The soonest due is at the top of your inbox.");
    }
    firstLoad = false;
    renderTitle();
    changed("board", "clock");
  } catch (error) {
    showError(error, `Opening the ${desk.party} desk`);
  }
  return status.last_event_id;
}

async function refreshStatus() {
  const sent = Date.now();
  try {
    const status = await api("GET", "/status");
    learnServerClock(status.clock.wall_time, sent, Date.now());
    state.exercise = status.exercise;
    applyClock(status.clock);
    changed("exercise");
  } catch (error) {
    showError(error, "Reading the exercise status");
  }
}

// ---- live updates --------------------------------------------------------------------------

function entryChanged(entry) {
  const previous = state.entries.get(entry.request_id);
  state.entries.set(entry.request_id, entry);
  touch(entry.request_id);
  if (!desk.watching) announce(previous, entry);
  changed("board");
}

function markUnread(entry) {
  if (desk.selected === entry.request_id) return;
  desk.unread.add(entry.request_id);
  renderTitle();
}

/** A notification for what changed at the desk, if it matters to the trainee. */
function announce(previous, entry) {
  const name = entry.name;
  if (entry.to === desk.party) {
    if (!previous) {
      const urgent = entry.urgency === "urgent" ? "urgent " : "";
      const limit = entry.limit_seconds ? ` · answer within ${roughly(entry.limit_seconds)}` : "";
      markUnread(entry);
      notify("arrived", `New ${urgent}${label(OPENING_KINDS, entry.kind).toLowerCase()} from ${entry.from}`, `${name}${limit}`, entry.request_id);
    } else if (previous.state === "clarification_pending" && entry.state !== "clarification_pending" && !entry.settled_at) {
      markUnread(entry);
      notify("clarification", `${entry.from} clarified ${name}`, "Its clock runs again: read the answer and reply.", entry.request_id);
    }
    if (entry.overdue && !(previous && previous.overdue) && !entry.settled_at) {
      notify("overdue", `${name} is overdue`, `The limit for ${entry.from}'s request has passed.`, entry.request_id);
    }
    return;
  }
  if (entry.from !== desk.party || !previous || previous.state === entry.state) return;
  if (entry.settled_at && !previous.settled_at) {
    markUnread(entry);
    notify("answered", `${entry.to} ${label(OUTCOMES, entry.outcome)} ${name}`, "Open it to read what came back.", entry.request_id);
  } else if (entry.state === "clarification_pending") {
    markUnread(entry);
    notify("clarification", `${entry.to} asks about ${name}`, "Their clock is stopped until you clarify.", entry.request_id);
  } else if (entry.state === "awaiting_judicial_auth") {
    notify("info", `${entry.to} awaits a court on ${name}`, "They sent a delay notice (Art. 5(2)).", entry.request_id);
  }
}

const EVENTS = {
  clock: applyClock,
  request: entryChanged,
  exercise: (data) => {
    state.exercise = data;
    changed("exercise");
  },
  board: (data) => {
    if (data && data.reset) setTimeout(loadDesk, 300);
  },
  reset: () => {
    loadDesk();
  },
};

// ---- tabs ----------------------------------------------------------------------------------

function selectTab(id, focus = false) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const selected = tab.id === id;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    byId(tab.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focus) tab.focus();
  }
}

function setUpTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab.id));
    tab.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(tab);
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) {
        event.preventDefault();
        selectTab(tabs[(at + step + tabs.length) % tabs.length].id, true);
      }
    });
  }
}

function open(requestId) {
  selectTab("tab-answer");
  rememberOpened(requestId);
  renderTitle();
  openRequest(requestId);
}

// ---- log in and out ------------------------------------------------------------------------

function renderParty() {
  byId("desk-party").textContent = desk.party ? `${desk.party} desk` : "—";
  const role = byId("role");
  role.textContent = desk.watching ? `${label(ROLES, state.session.role)} · watching` : "Trainee";
  role.dataset.role = state.session ? state.session.role : "";
  renderTitle();
}

function showLogin(message = "") {
  stop();
  clearInterval(ticker);
  clearInterval(poller);
  state.session = null;
  byId("app-view").hidden = true;
  byId("login-view").hidden = false;
  const error = byId("login-error");
  error.textContent = message;
  error.hidden = !message;
  byId("login-code").focus();
}

async function showDesk(session) {
  state.session = session;
  desk.watching = session.role !== "desk";
  desk.party = desk.watching ? new URLSearchParams(window.location.search).get("party") : session.party;
  document.body.dataset.role = session.role;
  byId("login-view").hidden = true;
  byId("app-view").hidden = false;
  firstLoad = true;
  renderParty();
  changed("session");
  const since = await loadDesk();
  if (desk.party) follow(EVENTS, `/api/desks/${encodeURIComponent(desk.party)}/events`, since);
  clearInterval(ticker);
  ticker = setInterval(() => {
    tickClock();
    tickLists();
    tickDetail();
  }, TICK_MS);
  clearInterval(poller);
  poller = setInterval(refreshStatus, STATUS_POLL_MS);
}

async function logIn(event) {
  event.preventDefault();
  const code = byId("login-code").value.trim();
  const error = byId("login-error");
  clearErrors(null, error);
  if (!code) {
    error.textContent = "Type the desk code first.";
    error.hidden = false;
    return;
  }
  try {
    const session = await api("POST", "/session", { code }, { quiet401: true });
    byId("login-code").value = "";
    showDesk(session);
  } catch (failure) {
    error.textContent = failure.detail || String(failure);
    error.hidden = false;
  }
}

async function logOut() {
  try {
    await api("DELETE", "/session");
  } catch (error) {
    showError(error, "Logging out");
    return;
  }
  showLogin();
}

// ---- start ---------------------------------------------------------------------------------

async function boot() {
  setUpTabs();
  setUpNotifications(open);
  setUpLists(open);
  setUpDetail();
  setUpForms(open);
  on("clock", renderClock);
  on("clock", renderExercise);
  on("exercise", renderExercise);
  on("session", renderBanner);
  on("board", renderBanner);
  byId("login-form").addEventListener("submit", logIn);
  byId("logout").addEventListener("click", logOut);
  onUnauthorised(() => showLogin("Your session has ended (was the console restarted?): log in again with your desk code."));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.session) refreshStatus();
  });
  try {
    showDesk(await api("GET", "/session", undefined, { quiet401: true }));
  } catch (error) {
    showLogin(error.status === 401 ? "" : error.detail || String(error));
  }
}

boot();
