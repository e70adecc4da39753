// Manual injects: a message of exercise control sent as a party sends it, now, at an
// exercise time, or once another request reached an outcome. The console checks it as the
// hub and the scenario loader would; its problems are shown next to the fields.

import { api } from "./console-api.js";
import { ACCESSIBILITIES, HANDLING_CODES, INJECT_KINDS, label, PAYLOAD_EXAMPLES, URGENCIES } from "./console-labels.js";
import { exerciseRunning, on, parties, state, traineeParties } from "./console-state.js";
import { exerciseNow, fromUtcInput, parseTime, sinceStart, stampUtc, toUtcInput } from "./console-time.js";
import { byId, clearErrors, fill, h, setOptions, showError, showFieldErrors } from "./console-ui.js";

const FORM_FIELDS = new Set(["id", "kind", "from", "to", "urgency", "urgency_reason", "accessibility",
  "handling_code", "language", "subject", "payload", "when", "at", "after_inject", "after_outcome", "delay"]);

let onSent = () => {};

function options(table) {
  return Object.entries(table).map(([value, text]) => ({ value, label: text }));
}

function when() {
  const checked = byId("inject-form").querySelector("input[name=when]:checked");
  return checked ? checked.value : "now";
}

function renderParties() {
  const all = parties();
  const trainees = traineeParties();
  const key = `${all.join(",")}|${[...trainees].join(",")}`;
  if (key === renderParties.key) return; // unchanged: an open drop-down stays open
  renderParties.key = key;
  const from = byId("inject-from");
  const to = byId("inject-to");
  const placeholder = { value: "", label: all.length ? "Choose…" : "no exercise running", disabled: true };
  setOptions(from, [placeholder, ...all.map((p) => ({
    value: p, label: trainees.has(p) ? `${p} (trainee desk)` : p, disabled: trainees.has(p),
  }))]);
  setOptions(to, [placeholder, ...all.map((p) => ({ value: p, label: trainees.has(p) ? `${p} (trainee desk)` : p }))]);
  if (!from.value) from.value = "";
  if (!to.value) to.value = "";
}

function renderAfterChoices() {
  const select = byId("inject-after-inject");
  const entries = [...state.entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  const key = entries.map((e) => e.name).join(",");
  if (key === renderAfterChoices.key) return;
  renderAfterChoices.key = key;
  setOptions(select, entries.length
    ? entries.map((e) => ({ value: e.name, label: `${e.name} (${e.from} → ${e.to})` }))
    : [{ value: "", label: "no request yet", disabled: true }]);
}

function renderKind() {
  const kind = byId("inject-kind").value;
  const request = kind === "request";
  byId("inject-request-fields").hidden = !request;
  byId("urgency-reason-field").hidden = !(request && byId("inject-urgency").value === "urgent");
  const example = PAYLOAD_EXAMPLES[kind];
  const payload = byId("inject-payload");
  payload.placeholder = example ? example.text : "{}";
  byId("payload-hint").textContent = example && example.required
    ? `Needs ${example.required}.` : "Optional for this kind.";
}

function renderWhen() {
  const chosen = when();
  byId("when-at-fields").hidden = chosen !== "at";
  byId("when-after-fields").hidden = chosen !== "after";
  const at = byId("inject-at");
  if (chosen === "at" && !at.value && state.clock) {
    const now = exerciseNow(state.clock);
    at.value = toUtcInput(Math.ceil((now + 15 * 60_000) / 600_000) * 600_000);
  }
  if (chosen === "after") renderAfterChoices();
}

/** The form's fields as the API takes them; a payload that is not JSON is a problem here. */
function body(form) {
  const value = (name) => form.elements[name].value.trim();
  const kind = value("kind");
  const data = {
    kind,
    from: value("from"),
    to: value("to"),
    handling_code: value("handling_code"),
    language: value("language"),
    subject: value("subject"),
    when: when(),
  };
  if (value("id")) data.id = value("id");
  if (kind === "request") {
    data.urgency = value("urgency");
    data.accessibility = value("accessibility");
    if (data.urgency === "urgent") data.urgency_reason = value("urgency_reason");
  }
  const problems = [];
  const payloadText = value("payload");
  if (payloadText) {
    try {
      const payload = JSON.parse(payloadText);
      if (!payload || typeof payload !== "object" || Array.isArray(payload)) {
        problems.push({ field: "payload", message: "give a JSON object, e.g. {\"form\": \"G\"}" });
      } else {
        data.payload = payload;
      }
    } catch (error) {
      problems.push({ field: "payload", message: `not JSON: ${error.message}` });
    }
  }
  if (!data.from) problems.push({ field: "from", message: "choose the party that sends it" });
  if (!data.to) problems.push({ field: "to", message: "choose the party it goes to" });
  if (data.when === "at") {
    data.at = fromUtcInput(value("at"));
    if (!data.at) problems.push({ field: "at", message: "give the exercise time to send it" });
  } else if (data.when === "after") {
    data.after_inject = value("after_inject") || null;
    data.after_outcome = value("after_outcome") || null;
    if (value("delay")) data.delay = value("delay");
    if (!data.after_inject) problems.push({ field: "after_inject", message: "choose the request to wait for" });
  }
  return { data, problems };
}

function accepted(result, data) {
  const start = parseTime(state.clock && state.clock.exercise_start);
  let when = "sent now";
  if (data.when === "at" && result.scheduled_for) {
    const at = parseTime(result.scheduled_for);
    when = `to be sent ${stampUtc(at)}${start !== null ? ` (${sinceStart(at, start)})` : ""}`;
  } else if (data.when === "after") {
    when = `to be sent once ${data.after_inject} is ${data.after_outcome}${data.delay ? `, ${data.delay} later` : ""}`;
  }
  const box = byId("inject-result");
  fill(box,
    h("strong", {}, result.inject_id), ` (${data.from} → ${data.to}): ${when}. `,
    h("button", { type: "button", class: "link", dataset: { test: "inject-inspect" }, onclick: () => onSent(result.request_id) },
      "Inspect it"));
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = byId("inject-error");
  clearErrors(form, errorBox);
  byId("inject-result").hidden = true;
  const { data, problems } = body(form);
  if (problems.length) {
    showFieldErrors(form, problems);
    errorBox.textContent = "Correct the fields marked in red.";
    errorBox.hidden = false;
    return;
  }
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const result = await api("POST", "/injects", data);
    accepted(result, data);
    form.elements.id.value = "";
  } catch (error) {
    const left = showFieldErrors(form, error.fields || [], (name) => (FORM_FIELDS.has(name) ? name : "payload"));
    if (error.fields && error.fields.length > left.length) {
      const rest = left.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
      errorBox.textContent = `The console refused the inject: see the fields marked in red.${rest ? ` Also: ${rest}` : ""}`;
      errorBox.hidden = false;
    } else {
      showError(error, "Sending the inject", errorBox);
    }
  } finally {
    button.disabled = false;
  }
}

/** Wire the inject form; `inspect(requestId)` opens the inspector on what was sent. */
export function setUpInject(inspect) {
  onSent = inspect;
  setOptions(byId("inject-kind"), options(INJECT_KINDS));
  setOptions(byId("inject-urgency"), options(URGENCIES), false);
  byId("inject-urgency").value = "non_urgent";
  setOptions(byId("inject-accessibility"), Object.entries(ACCESSIBILITIES).map(([value, text]) => ({ value, label: label({}, text) })));
  setOptions(byId("inject-handling-code"), options(HANDLING_CODES));
  const form = byId("inject-form");
  byId("inject-kind").addEventListener("change", renderKind);
  byId("inject-urgency").addEventListener("change", renderKind);
  for (const radio of form.querySelectorAll("input[name=when]")) radio.addEventListener("change", renderWhen);
  form.addEventListener("submit", submit);
  on("board", () => {
    if (when() === "after") renderAfterChoices();
  });
  on("scenarios", renderParties);
  on("exercise", renderParties);
  on("board", renderParties);
  on("clock", () => {
    if (!exerciseRunning()) byId("inject-result").hidden = true;
  });
  renderKind();
  renderWhen();
  renderParties();
}
