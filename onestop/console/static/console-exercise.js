// Starting an exercise: a shipped scenario, or a scenario file read in the browser and
// checked by the console (its problems with line and field); speed and seed. And what the
// running exercise is.

import { api } from "./console-api.js";
import { ENDINGS, label, PHASES } from "./console-labels.js";
import { canSteer, changed, exerciseRunning, on, state } from "./console-state.js";
import { formatSpeed } from "./console-statusbar.js";
import { roughly, timedeltaSeconds } from "./console-time.js";
import { byId, clearErrors, counted, fill, h, setOptions, showError } from "./console-ui.js";

const UPLOAD = "__upload__";
let upload = null; // {name, text, check} of the file read last

function chosen() {
  const value = byId("scenario-picker").value;
  if (value === UPLOAD) return upload && upload.check.ok ? { upload } : null;
  const scenario = state.scenarios.find((s) => s.file === value);
  return scenario ? { scenario } : null;
}

function busy() {
  return ["starting", "running", "ending"].includes(state.exercise.phase);
}

function renderStartButton() {
  const button = byId("exercise-start");
  button.disabled = !(canSteer() && chosen() && !busy());
  button.title = busy() ? "An exercise of this console is running: end it first" : "";
  byId("start-body").hidden = busy(); // what runs is summed up above
  byId("start-busy").hidden = !busy();
}

function renderInfo() {
  const picked = chosen();
  const info = byId("scenario-info");
  byId("upload-row").hidden = byId("scenario-picker").value !== UPLOAD;
  if (picked && picked.scenario) {
    const s = picked.scenario;
    fill(info,
      h("p", { class: "description" }, s.description),
      h("dl", { class: "facts" },
        h("dt", {}, "Parties"), h("dd", {}, s.nodes.join(", ")),
        s.trainees.length ? [h("dt", {}, "Trainee desks"), h("dd", {}, s.trainees.join(", "))] : null,
        h("dt", {}, "Injects"), h("dd", {}, String(s.injects)),
        h("dt", {}, "Length"), h("dd", {}, roughly(timedeltaSeconds(s.end) ?? 0)),
        h("dt", {}, "As written"), h("dd", {}, `×${formatSpeed(s.speed)}, seed ${s.seed}`)));
  } else {
    fill(info);
  }
  renderDuration();
  renderStartButton();
}

function renderDuration() {
  const picked = chosen();
  const hint = byId("start-duration");
  const speed = Number(byId("start-speed").value);
  const length = picked && picked.scenario ? timedeltaSeconds(picked.scenario.end) : null;
  if (length && speed > 0) {
    hint.textContent = `At ×${formatSpeed(speed)} the scenario's ${roughly(length)} take about ${roughly(length / speed)} of wall time.`;
  } else {
    hint.textContent = "";
  }
}

function pickScenario() {
  const picked = chosen();
  clearErrors(byId("start-form"), byId("start-error"));
  if (byId("scenario-picker").value !== UPLOAD) fill(byId("scenario-check"));
  if (picked && picked.scenario) {
    byId("start-speed").value = String(picked.scenario.speed);
    byId("start-seed").value = String(picked.scenario.seed);
  } else if (byId("scenario-picker").value === UPLOAD) {
    byId("start-speed").value = "";
    byId("start-seed").value = "";
    byId("start-speed").placeholder = "as the file says";
    byId("start-seed").placeholder = "as the file says";
  }
  renderInfo();
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error || new Error(`could not read ${file.name}`));
    reader.readAsText(file);
  });
}

async function fileChosen() {
  const input = byId("scenario-file");
  const box = byId("scenario-check");
  upload = null;
  renderStartButton();
  const file = input.files && input.files[0];
  if (!file) {
    fill(box);
    return;
  }
  fill(box, h("p", { class: "hint" }, `Checking ${file.name}…`));
  try {
    const text = await readFile(file);
    const check = await api("POST", "/scenarios/check", { text });
    upload = { name: file.name, text, check };
    if (check.ok) {
      fill(box, h("p", { class: "form-ok", dataset: { test: "scenario-ok" } }, `${file.name}: “${check.name}” is a valid scenario.`));
    } else {
      fill(box,
        h("p", { class: "form-error" }, `${file.name} has ${counted(check.problems.length, "problem")}; fix the file and choose it again:`),
        h("ul", { class: "problems", dataset: { test: "scenario-problems" } }, check.problems.map((p) =>
          h("li", { dataset: { test: "scenario-problem" } },
            p.line ? h("span", { class: "mono" }, `line ${p.line}`) : null,
            p.field ? h("span", { class: "mono field-name" }, p.field) : null,
            h("span", {}, p.message)))));
    }
  } catch (error) {
    const shown = h("p", { class: "form-error", role: "alert" });
    fill(box, shown);
    showError(error, `Checking ${file.name}`, shown);
  }
  renderStartButton();
}

async function start(event) {
  event.preventDefault();
  const picked = chosen();
  const errorBox = byId("start-error");
  clearErrors(byId("start-form"), errorBox);
  if (!picked) return;
  const body = picked.upload ? { text: picked.upload.text } : { scenario: picked.scenario.file };
  const speed = byId("start-speed").value.trim();
  const seed = byId("start-seed").value.trim();
  if (speed) body.speed = Number(speed);
  if (seed) body.seed = Number.parseInt(seed, 10);
  const button = byId("exercise-start");
  button.disabled = true;
  try {
    state.exercise = await api("POST", "/exercise", body);
    changed("exercise");
  } catch (error) {
    showError(error, "Starting the exercise", errorBox);
  } finally {
    renderStartButton();
  }
}

function renderSummary() {
  const e = state.exercise;
  const box = byId("exercise-summary");
  if (!e.run_id && !exerciseRunning()) {
    fill(box);
    return;
  }
  fill(box,
    h("h3", {}, "This exercise"),
    h("dl", { class: "facts" },
      h("dt", {}, "Scenario"), h("dd", {}, e.scenario || "started elsewhere"),
      h("dt", {}, "Run"), h("dd", { class: "mono small" }, e.run_id || (state.clock && state.clock.exercise_id) || "—"),
      e.seed !== null && e.seed !== undefined ? [h("dt", {}, "Seed"), h("dd", {}, String(e.seed))] : null,
      h("dt", {}, "Phase"), h("dd", { dataset: { test: "summary-phase" } }, label(PHASES, e.phase)),
      e.trainee_parties && e.trainee_parties.length ? [h("dt", {}, "Trainee desks"), h("dd", {}, e.trainee_parties.join(", "))] : null,
      e.ended_by ? [h("dt", {}, "Ended"), h("dd", {}, label(ENDINGS, e.ended_by))] : null,
      e.error ? [h("dt", {}, "Error"), h("dd", { class: "form-error" }, e.error)] : null,
      e.report ? [h("dt", {}, "Report"), h("dd", {}, h("a", { href: e.report, target: "_blank", rel: "noopener", dataset: { test: "summary-report-link" } }, "the after-action report"))] : null));
}

/** Fetch the shipped scenarios into the picker. */
export async function loadScenarios() {
  try {
    state.scenarios = await api("GET", "/scenarios");
  } catch (error) {
    showError(error, "Loading the scenarios");
    return;
  }
  const picker = byId("scenario-picker");
  const previous = picker.value;
  setOptions(picker, [
    { value: "", label: "Choose a scenario…", disabled: true },
    ...state.scenarios.map((s) => ({ value: s.file, label: s.name })),
    { value: UPLOAD, label: "Upload a scenario file…" },
  ], false);
  picker.value = previous && [...picker.options].some((o) => o.value === previous) ? previous : "";
  changed("scenarios");
  renderInfo();
}

export function setUpExercise() {
  byId("scenario-picker").addEventListener("change", pickScenario);
  byId("scenario-file").addEventListener("change", fileChosen);
  byId("start-speed").addEventListener("input", renderDuration);
  byId("start-form").addEventListener("submit", start);
  on("exercise", renderStartButton);
  on("exercise", renderSummary);
  on("clock", renderSummary);
  on("session", renderStartButton);
}
