// The status bar: exercise and wall time, speed, running or paused, time left to the
// scenario's end, and the health of the links. Read from across a training room.

import { label, PHASES } from "./console-labels.js";
import { exerciseId, exerciseRunning, on, parties, state, traineeParties } from "./console-state.js";
import {
  clockLocal, clockUtc, countdown, dateLocal, dateUtc, exerciseNow, parseTime, roughly,
  serverNow, sinceStart, speedMeaning,
} from "./console-time.js";
import { byId, fill, h } from "./console-ui.js";

function setText(id, text) {
  const element = byId(id);
  if (element.textContent !== text) element.textContent = text;
}

/** Redraw the parts that move with time (called several times a second). */
export function tickStatus() {
  const wall = serverNow();
  setText("wall-time", clockLocal(wall));
  setText("wall-day", dateLocal(wall));
  const clock = state.clock;
  if (!clock || !clock.exercise_id) {
    setText("exercise-time", "—");
    setText("exercise-day", "no exercise on the clock");
    setText("time-left", "—");
    setText("time-left-sub", "\u00a0");
    return;
  }
  const now = exerciseNow(clock);
  const start = parseTime(clock.exercise_start);
  setText("exercise-time", clockUtc(now));
  setText("exercise-day", `${dateUtc(now)} UTC${start !== null ? ` · ${sinceStart(now, start)}` : ""}`);
  const end = parseTime(clock.exercise_end);
  if (end === null) {
    setText("time-left", "—");
    setText("time-left-sub", "the scenario's end is not known");
  } else if (clock.ended) {
    setText("time-left", "—");
    setText("time-left-sub", "the exercise has ended");
  } else if (now >= end) {
    setText("time-left", "0:00");
    setText("time-left-sub", "past the scenario's end");
  } else {
    const left = (end - now) / 1000;
    setText("time-left", countdown(left, false));
    setText("time-left-sub", clock.paused ? "held while paused" : `≈ ${roughly(left / clock.speed)} of wall time`);
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
  const speed = clock && clock.exercise_id ? clock.speed : null;
  setText("speed", speed ? `×${formatSpeed(speed)}` : "—");
  setText("speed-sub", speed ? speedMeaning(speed) : "\u00a0");
  tickStatus();
}

/** A speed without needless decimals: 600, 7200, 0.5. */
export function formatSpeed(speed) {
  return Number.isInteger(speed) ? String(speed) : String(Number(speed.toPrecision(4)));
}

function renderExercise() {
  const exercise = state.exercise;
  const name = exercise.scenario || (exerciseId() ? exerciseId() : "No exercise");
  setText("exercise-name", name);
  byId("exercise-name").title = exercise.run_id ? `run ${exercise.run_id}` : "";
  let phase = label(PHASES, exercise.phase);
  if (exercise.phase === "idle" && exerciseRunning()) phase = "exercise started elsewhere";
  if (exercise.phase === "failed") phase = `exercise failed: ${exercise.error || "see the console's log"}`;
  setText("phase", phase);
  byId("phase").dataset.phase = exercise.phase;
}

// A part not yet seen in this exercise is "connecting" for this long after the console
// first saw the exercise, then "down": processes take seconds to join their groups.
const CONNECT_GRACE_MS = 30000;
let linkWatch = { exercise: null, since: 0, seen: new Set() };

/** "up", "connecting" (not seen yet in this exercise, within the grace) or "down". */
function linkState(part, up) {
  const exercise = exerciseId();
  if (linkWatch.exercise !== exercise) linkWatch = { exercise, since: Date.now(), seen: new Set() };
  if (up) {
    linkWatch.seen.add(part);
    return "up";
  }
  const waiting = !linkWatch.seen.has(part) && Date.now() - linkWatch.since < CONNECT_GRACE_MS;
  return waiting ? "connecting" : "down";
}

const LINK_CLASS = { up: "good", connecting: "wait", down: "bad" };

function renderHealth() {
  const health = state.health;
  const links = byId("link-health");
  if (!health) {
    fill(links, "waiting for the first check…");
    links.dataset.state = "unknown";
    return;
  }
  const chips = [];
  let bad = false;
  if (!health.kafka) {
    bad = true;
    chips.push(h("span", { class: "chip bad", dataset: { test: "health-kafka" } }, "Kafka unreachable"));
  }
  const running = exerciseRunning();
  const lag = health.hub_lag === null || health.hub_lag === undefined ? "" : ` · lag ${health.hub_lag}`;
  const hub = running ? linkState("hub", health.hub_members > 0) : health.hub_members > 0 ? "up" : "idle";
  if (hub === "down") bad = true;
  const hubText = { up: `×${health.hub_members}`, connecting: "connecting…", down: "down", idle: "not running" }[hub];
  chips.push(
    h("span", {
      class: `chip ${LINK_CLASS[hub] || ""}`,
      dataset: { test: "health-hub", link: hub },
      title: `${health.hub_members} hub worker(s); outbox records not yet read by the hub: ${health.hub_lag ?? "unknown"}`,
    }, `Hub ${hubText}${lag}`),
  );
  const trainees = traineeParties();
  const expected = running ? parties() : Object.keys(health.nodes || {}).sort();
  for (const party of expected) {
    const members = (health.nodes || {})[party] || 0;
    const desk = trainees.has(party);
    const link = desk ? "desk" : linkState(party, members > 0);
    if (link === "down") bad = true;
    const text = { desk: `${party} desk`, up: party, connecting: `${party} …`, down: `${party} ✕` }[link];
    const title = {
      desk: `${party}: played by a trainee desk`,
      up: `${party}: ${members} live node(s)`,
      connecting: `${party}: its node has not joined yet`,
      down: `${party}: no live node`,
    }[link];
    chips.push(
      h("span", { class: `chip ${LINK_CLASS[link] || "desk"}`, dataset: { test: "health-node", party, link }, title }, text),
    );
  }
  fill(links, ...chips);
  links.dataset.state = bad ? "bad" : "good";
  const checked = parseTime(health.checked_at);
  links.title = checked ? `checked at ${clockLocal(checked)}` : "";
}

export function setUpStatusBar() {
  on("clock", renderClock);
  on("clock", renderExercise);
  on("exercise", renderExercise);
  on("scenarios", renderHealth);
  on("health", renderHealth);
  on("clock", renderHealth);
  on("exercise", renderHealth);
  renderClock();
  renderExercise();
  renderHealth();
}
