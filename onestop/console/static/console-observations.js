// Observations: what exercise control notes while the exercise runs, stamped by the console
// with exercise and wall time, optionally about a request or a party.

import { api } from "./console-api.js";
import { openEntries } from "./console-board.js";
import { changed, exerciseId, on, parties, state } from "./console-state.js";
import { clockLocal, parseTime, sinceStart, stampUtc } from "./console-time.js";
import { byId, clearErrors, fill, h, setOptions, showError } from "./console-ui.js";

let onInspect = () => {};

/** Observations of the exercise on the clock, newest first. */
function current() {
  const id = exerciseId();
  return [...state.observations.values()]
    .filter((o) => o.exercise_id === id)
    .sort((a, b) => parseTime(b.wall_time) - parseTime(a.wall_time));
}

function item(o) {
  const start = parseTime(state.clock && state.clock.exercise_start);
  const exercise = parseTime(o.exercise_time);
  const wall = parseTime(o.wall_time);
  const entry = o.request_id ? state.entries.get(o.request_id) : null;
  return h("li", { class: "observation", dataset: { test: "observation", observationId: o.observation_id } },
    h("div", { class: "obs-head" },
      h("span", { class: "mono", dataset: { test: "observation-exercise-time" }, title: "exercise time (UTC)" },
        `${stampUtc(exercise)}${start !== null ? ` · ${sinceStart(exercise, start)}` : ""}`),
      h("span", { class: "muted mono", dataset: { test: "observation-wall-time" }, title: "wall time" },
        `wall ${clockLocal(wall)}`),
      h("span", { class: "muted" }, o.author),
      o.finding ? h("span", { class: "tag", dataset: { test: "observation-finding" } }, o.finding.replaceAll("_", " ")) : null),
    h("p", { class: "obs-text" }, o.text),
    o.request_id || o.party
      ? h("p", { class: "obs-about" },
        o.request_id
          ? h("button", { type: "button", class: "link", onclick: () => onInspect(o.request_id) },
            `request ${entry ? entry.name : o.request_id}`)
          : null,
        o.request_id && o.party ? " · " : null,
        o.party ? `party ${o.party}` : null)
      : null);
}

function renderList() {
  const shown = current();
  fill(byId("observation-list"), ...shown.map(item));
  byId("observations-empty").hidden = shown.length > 0;
  byId("observation-count").textContent = shown.length ? String(shown.length) : "";
}

function renderChoices() {
  const request = byId("observation-request");
  const entries = openEntries().sort((a, b) => a.name.localeCompare(b.name));
  const chosen = request.value;
  const chosenEntry = chosen && state.entries.get(chosen);
  if (chosenEntry && !entries.includes(chosenEntry)) entries.push(chosenEntry); // settled since
  const key = entries.map((e) => e.request_id).join(",");
  if (key !== renderChoices.key) {
    renderChoices.key = key;
    setOptions(request, [{ value: "", label: "—" },
      ...entries.map((e) => ({ value: e.request_id, label: `${e.name} (${e.from} → ${e.to})` }))]);
  }
  const all = parties().join(",");
  if (all !== renderChoices.parties) {
    renderChoices.parties = all;
    setOptions(byId("observation-party"), [{ value: "", label: "—" }, ...parties().map((p) => ({ value: p, label: p }))]);
  }
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = byId("observation-error");
  clearErrors(form, errorBox);
  const text = form.elements.text.value.trim();
  if (!text) {
    errorBox.textContent = "Write what you saw first.";
    errorBox.hidden = false;
    form.elements.text.focus();
    return;
  }
  const note = { text };
  if (form.elements.request_id.value) note.request_id = form.elements.request_id.value;
  if (form.elements.party.value) note.party = form.elements.party.value;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const observation = await api("POST", "/observations", note);
    observationSeen(observation);
    form.elements.text.value = "";
  } catch (error) {
    showError(error, "Saving the observation", errorBox);
  } finally {
    button.disabled = false;
  }
}

/** An observation read back (an event, or the answer to writing one). */
export function observationSeen(observation) {
  state.observations.set(observation.observation_id, observation);
  changed("observations");
}

/** Reload the observations of the running exercise. */
export async function loadObservations() {
  try {
    const answer = await api("GET", "/observations");
    for (const o of answer.observations) state.observations.set(o.observation_id, o);
    changed("observations");
  } catch (error) {
    showError(error, "Loading the observations");
  }
}

/** Prepare an observation about `requestId` (from the inspector). */
export function observeRequest(requestId) {
  renderChoices();
  const request = byId("observation-request");
  if (![...request.options].some((o) => o.value === requestId)) {
    const entry = state.entries.get(requestId);
    request.append(h("option", { value: requestId }, entry ? `${entry.name} (${entry.from} → ${entry.to})` : requestId));
    renderChoices.key = null;
  }
  request.value = requestId;
  byId("observation-text").focus();
}

export function setUpObservations(inspect) {
  onInspect = inspect;
  byId("observation-form").addEventListener("submit", submit);
  on("observations", renderList);
  on("clock", renderList);
  on("board", renderChoices);
  on("scenarios", renderChoices);
  on("exercise", renderChoices);
  renderList();
  renderChoices();
}
