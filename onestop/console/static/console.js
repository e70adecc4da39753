// The OneStop exercise console: log in, then watch and steer the exercise. Everything the
// page knows comes from the console's own HTTP API (/api, OpenAPI at /api/openapi.json) and
// its server-sent events; nothing is fetched from anywhere else.

import { api, onUnauthorised } from "./console-api.js";
import { boardReset, entryChanged, loadBoard, setUpBoard, tickBoard } from "./console-board.js";
import { setUpControls } from "./console-controls.js";
import { setUpDesks, tickDesks } from "./console-desks.js";
import { loadScenarios, setUpExercise } from "./console-exercise.js";
import { setUpInject } from "./console-inject.js";
import { clearInspector, setUpInspector, show } from "./console-inspector.js";
import { label, ROLES } from "./console-labels.js";
import { follow, stop } from "./console-live.js";
import { loadObservations, observationSeen, observeRequest, setUpObservations } from "./console-observations.js";
import { changed, state } from "./console-state.js";
import { setUpStatusBar, tickStatus } from "./console-statusbar.js";
import { learnServerClock } from "./console-time.js";
import { byId, clearErrors, showError } from "./console-ui.js";

const TICK_MS = 250;
const STATUS_POLL_MS = 30_000;
let ticker = null;
let poller = null;

// ---- the clock and the exercise ------------------------------------------------------------

function applyClock(clock) {
  const previous = state.clock;
  if (previous && previous.exercise_id === clock.exercise_id && !clock.exercise_end) {
    clock = { ...clock, exercise_end: previous.exercise_end }; // keep what the status said
  }
  if (previous && previous.exercise_id && previous.exercise_id !== clock.exercise_id) clearInspector();
  state.clock = clock;
  changed("clock");
}

/** Fetch the status: the clock (and the server's wall clock), the exercise, the links. */
async function loadStatus() {
  const sent = Date.now();
  try {
    const status = await api("GET", "/status");
    learnServerClock(status.clock.wall_time, sent, Date.now());
    applyClock(status.clock);
    state.exercise = status.exercise;
    state.health = status.health;
    changed("exercise", "health");
  } catch (error) {
    showError(error, "Reading the exercise status");
  }
}

async function loadEverything() {
  await Promise.all([loadStatus(), loadScenarios()]);
  await Promise.all([loadBoard(), loadObservations()]);
}

const EVENTS = {
  clock: applyClock,
  request: entryChanged,
  board: (data) => {
    if (data && data.reset) boardReset();
  },
  observation: observationSeen,
  exercise: (data) => {
    state.exercise = data;
    changed("exercise");
  },
  health: (data) => {
    state.health = data;
    changed("health");
  },
  // The console could not replay what this page missed: start over from its state now.
  reset: () => {
    loadEverything();
  },
};

// ---- tabs ------------------------------------------------------------------------------------

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

function inspect(requestId) {
  selectTab("tab-inspector");
  show(requestId);
}

function observe(requestId) {
  selectTab("tab-observations");
  observeRequest(requestId);
}

// ---- log in and out --------------------------------------------------------------------------

function showLogin(message = "") {
  stop();
  clearInterval(ticker);
  clearInterval(poller);
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  state.session = null;
  byId("app-view").hidden = true;
  byId("login-view").hidden = false;
  const error = byId("login-error");
  error.textContent = message;
  error.hidden = !message;
  byId("login-code").focus();
}

function showApp(session) {
  if (session.role === "desk") {
    window.location.replace("/desk"); // a trainee's code: the desk page is theirs
    return;
  }
  state.session = session;
  byId("role").textContent = label(ROLES, session.role) + (session.party ? ` · ${session.party}` : "");
  byId("role").dataset.role = session.role;
  document.body.dataset.role = session.role;
  byId("login-view").hidden = true;
  byId("app-view").hidden = false;
  changed("session");
  loadEverything();
  follow(EVENTS);
  clearInterval(ticker);
  let ticks = 0;
  ticker = setInterval(() => {
    ticks += 1;
    tickStatus();
    tickBoard(ticks % 4 === 0);
    tickDesks();
  }, TICK_MS);
  clearInterval(poller);
  poller = setInterval(loadStatus, STATUS_POLL_MS);
}

async function logIn(event) {
  event.preventDefault();
  const code = byId("login-code").value.trim();
  const error = byId("login-error");
  clearErrors(null, error);
  if (!code) {
    error.textContent = "Type the access code first.";
    error.hidden = false;
    return;
  }
  try {
    const session = await api("POST", "/session", { code }, { quiet401: true });
    byId("login-code").value = "";
    showApp(session);
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

// ---- start -----------------------------------------------------------------------------------

async function boot() {
  setUpTabs();
  setUpStatusBar();
  setUpBoard(inspect);
  setUpDesks();
  setUpInspector(observe);
  setUpControls(loadStatus);
  setUpExercise();
  setUpInject(inspect);
  setUpObservations(inspect);
  byId("login-form").addEventListener("submit", logIn);
  byId("logout").addEventListener("click", logOut);
  onUnauthorised(() => showLogin("Your session has ended (was the console restarted?): log in again."));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.session) loadStatus();
  });
  try {
    showApp(await api("GET", "/session", undefined, { quiet401: true }));
  } catch (error) {
    showLogin(error.status === 401 ? "" : error.detail || String(error));
  }
}

boot();
