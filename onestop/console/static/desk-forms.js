// The desk's forms: answering the request open in the answer panel, opening a request of
// its own (with the channel the trainee chooses), sending information unasked, and Prüm
// searches and follow-ups. The console builds each message from the wire models and checks
// it before anything is sent; what it refuses comes back field by field and is shown next
// to the field.

import { api } from "./console-api.js";
import { CHANNELS, HANDLING_CODES, label, OUTCOMES } from "./console-labels.js";
import { changed, on, state } from "./console-state.js";
import { byId, clearErrors, fill, h, setOptions, showError, showFieldErrors } from "./console-ui.js";
import { ANSWER_HINTS, ANSWERS, answersFor, groundLetter, MESSAGE_KINDS, REFUSAL_GROUNDS } from "./desk-labels.js";
import { desk, entriesOf, maySend } from "./desk-state.js";

// The wire models' names for what the forms call otherwise.
const OPENING_FIELDS = {
  recipient: "to",
  requested_channel: "channel",
  information: "details",
};

let onOpen = () => {};
let answeringFor = null; // the entry the answer form was drawn for

function options(table) {
  return Object.entries(table).map(([value, text]) => ({ value, label: text }));
}

function sendPath(what) {
  return `/desks/${encodeURIComponent(desk.party)}/${what}`;
}

/** Show what the console refused: next to the fields it names, the rest above the button. */
function refused(form, errorBox, error, mapField) {
  const left = showFieldErrors(form, error.fields || [], mapField);
  if (error.fields && error.fields.length > left.length) {
    const rest = left.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
    errorBox.textContent = `Nothing was sent: correct the fields marked in red.${rest ? ` Also: ${rest}` : ""}`;
    errorBox.hidden = false;
  } else {
    showError(error, "Sending", errorBox);
  }
}

// ---- answering ---------------------------------------------------------------------------------

function chosenAnswer() {
  const checked = byId("answer-kinds").querySelector("input[name=kind]:checked");
  return checked ? checked.value : null;
}

function showAnswerFields() {
  const kind = chosenAnswer();
  const form = byId("answer-form");
  for (const part of form.querySelectorAll("[data-for]")) {
    part.hidden = !part.dataset.for.split(" ").includes(kind);
  }
  byId("answer-hint").textContent = kind ? ANSWER_HINTS[kind] : "";
  const button = form.querySelector("[type=submit]");
  button.textContent = kind ? `Send: ${label(ANSWERS, kind).toLowerCase()}` : "Send the answer";
}

function noteWhyNot(entry) {
  if (entry.settled_at) return `This request is settled (${entry.outcome}): nothing more to send on it.`;
  if (entry.from === desk.party) {
    return `Your request is with ${entry.to}: you answer on it only when ${entry.to} asks for a clarification.`;
  }
  return "Nothing to send on this request now.";
}

/** Draw the answer form for the request open in the panel: the answers it allows. */
export function renderAnswerForm() {
  const form = byId("answer-form");
  const none = byId("answer-none");
  const entry = desk.selected ? state.entries.get(desk.selected) : null;
  const choices = answersFor(entry, desk.party);
  const sameRequest = Boolean(entry && answeringFor && answeringFor.request_id === entry.request_id);
  if (!sameRequest) {
    clearErrors(form, byId("answer-error"));
    byId("answer-result").hidden = true;
  }
  if (!entry || !choices.length) {
    form.hidden = true;
    none.hidden = !entry;
    none.textContent = entry ? noteWhyNot(entry) : "";
    answeringFor = entry;
    return;
  }
  none.hidden = true;
  const previous = sameRequest ? chosenAnswer() : null;
  const key = choices.join(",");
  if (!sameRequest || form.dataset.choices !== key) {
    form.dataset.choices = key;
    fill(byId("answer-kinds"), choices.map((kind) => h("label", { class: "kind-choice" },
      h("input", {
        type: "radio",
        name: "kind",
        value: kind,
        dataset: { test: `answer-kind-${kind}` },
        onchange: showAnswerFields,
      }),
      ` ${label(ANSWERS, kind)}`)));
    const keep = previous && choices.includes(previous) ? previous : choices[0];
    byId("answer-kinds").querySelector(`input[value="${keep}"]`).checked = true;
  }
  byId("answer-legend").textContent = entry.to === desk.party
    ? `Your answer to ${entry.from} on ${entry.name}` : `Your clarification to ${entry.to} on ${entry.name}`;
  answeringFor = entry;
  form.hidden = false;
  showAnswerFields();
}

function answerBody(form, entry, kind) {
  const text = (name) => form.elements[name].value.trim();
  const body = { request_id: entry.request_id, kind };
  if (kind === "reply" || kind === "partial_reply") body.information = text("information");
  if (kind === "partial_reply") body.remaining = text("remaining");
  if (kind === "refusal") {
    body.grounds = [...form.querySelectorAll("input[name=grounds]:checked")].map((c) => c.value);
    body.explanation = text("explanation");
  }
  if (kind === "clarification_request") body.question = text("question");
  if (kind === "clarification_reply") body.answer = text("answer");
  if (kind === "delay_notice") {
    const hours = text("expected_delay_hours");
    if (hours !== "") body.expected_delay_hours = Number(hours);
    body.reason = text("reason");
  }
  if (kind === "prum_result") {
    const outcome = form.querySelector("input[name=outcome]:checked");
    if (outcome) body.outcome = outcome.value;
  }
  return body;
}

function resetAnswer(form) {
  for (const name of ["information", "remaining", "explanation", "question", "answer", "expected_delay_hours", "reason"]) {
    form.elements[name].value = "";
  }
  for (const box of form.querySelectorAll("input[name=grounds], input[name=outcome]")) box.checked = false;
}

async function sendAnswer(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = byId("answer-error");
  const result = byId("answer-result");
  clearErrors(form, errorBox);
  result.hidden = true;
  const entry = answeringFor;
  const kind = chosenAnswer();
  if (!entry || !kind) return;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const sent = await api("POST", sendPath("answers"), answerBody(form, entry, kind));
    fill(result, h("strong", {}, label(MESSAGE_KINDS, sent.kind)), ` sent to ${entry.to === desk.party ? entry.from : entry.to} on ${entry.name}.`);
    result.dataset.kind = sent.kind;
    result.hidden = false;
    resetAnswer(form);
  } catch (error) {
    refused(form, errorBox, error, (name) => name);
  } finally {
    button.disabled = !maySend();
  }
}

// ---- opening -----------------------------------------------------------------------------------

function fillParties() {
  const parties = ((state.clock && state.clock.parties) || []).filter((p) => p !== desk.party);
  const key = parties.join(",");
  if (key === fillParties.key) return; // unchanged: an open drop-down stays open
  fillParties.key = key;
  for (const select of document.querySelectorAll("select[data-parties]")) {
    setOptions(select, [
      { value: "", label: parties.length ? "Choose…" : "no exercise running", disabled: true },
      ...parties.map((p) => ({ value: p, label: p })),
    ]);
    if (!select.value) select.value = "";
  }
}

/** What a step-1 search of the desk came to: hit, no_hit, or null while not known. */
function prumOutcome(entry) {
  const detail = desk.details.get(entry.request_id);
  const result = detail && detail.messages.find((m) => m.kind === "prum_result");
  return result ? result.outcome : null;
}

function fillPrumHits() {
  const searches = entriesOf("outgoing").filter((e) => e.kind === "prum_query");
  const select = byId("prum-hit");
  const key = searches.map((e) => `${e.request_id}:${e.outcome}:${prumOutcome(e)}`).join(",");
  if (key === fillPrumHits.key) return;
  fillPrumHits.key = key;
  const stands = (e) => {
    const outcome = prumOutcome(e);
    if (outcome) return outcome === "hit" ? "hit" : "no hit";
    return e.settled_at ? label(OUTCOMES, e.outcome) : "waiting for the result";
  };
  setOptions(select, searches.length
    ? [{ value: "", label: "Choose…", disabled: true }, ...searches.map((e) => ({
      value: e.request_id,
      label: `${e.name} · ${e.to} · ${stands(e)}`,
      disabled: prumOutcome(e) === "no_hit",
    }))]
    : [{ value: "", label: "none of yours yet: run a step-1 search first", disabled: true }]);
  if (!select.value) select.value = "";
}

function prumStep() {
  const checked = byId("prum-form").querySelector("input[name=prum-step]:checked");
  return checked ? checked.value : "prum_query";
}

function showPrumStep() {
  const step = prumStep();
  const form = byId("prum-form");
  form.dataset.kind = step;
  for (const part of form.querySelectorAll("[data-step]")) part.hidden = part.dataset.step !== step;
  fillPrumHits();
}

function hitChosen() {
  const entry = state.entries.get(byId("prum-hit").value);
  if (!entry) return;
  byId("prum-to").value = entry.to;
  const detail = desk.details.get(entry.request_id);
  if (detail && detail.opening && detail.opening.category) byId("prum-category").value = detail.opening.category;
}

function openingBody(form) {
  const kind = form.dataset.kind;
  const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
  const body = { kind, to: value("to") || undefined };
  if (kind === "request" || kind === "spontaneous_information") {
    body.handling_code = value("handling_code");
    body.language = value("language");
    body.subject = value("subject");
    body.details = value("details");
    if (value("channel")) body.channel = value("channel");
  }
  if (kind === "request") {
    body.urgency = value("urgency");
    body.accessibility = value("accessibility");
    if (body.urgency === "urgent") body.urgency_reason = value("urgency_reason");
  }
  if (kind === "prum_query" || kind === "prum_followup") body.category = value("category");
  if (kind === "prum_query") body.reference = value("reference");
  if (kind === "prum_followup") body.hit_request_id = value("hit_request_id") || undefined;
  return body;
}

function mapOpeningField(form) {
  return (name) => {
    const mapped = OPENING_FIELDS[name] || name;
    return form.querySelector(`.field[data-field="${mapped}"]:not([hidden])`) ? mapped : "to";
  };
}

async function sendOpening(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = form.querySelector("[data-test=form-error]");
  const result = form.querySelector("[data-test=form-result]");
  clearErrors(form, errorBox);
  result.hidden = true;
  const body = openingBody(form);
  if (!body.to) {
    showFieldErrors(form, [{ field: "to", message: "choose the party it goes to" }]);
    errorBox.textContent = "Nothing was sent: correct the fields marked in red.";
    errorBox.hidden = false;
    return;
  }
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    const sent = await api("POST", sendPath("requests"), body);
    if (body.kind === "request" || body.kind === "spontaneous_information") desk.chosen.set(sent.request_id, body.channel || null);
    const name = sent.request_id.split(".").pop();
    const answerable = body.kind !== "spontaneous_information";
    fill(result,
      h("strong", { dataset: { test: "sent-name" } }, name), ` (${label(MESSAGE_KINDS, sent.kind).toLowerCase()}) sent to ${body.to}`,
      body.channel ? `, on the channel you chose: ${label(CHANNELS, body.channel)}` : ", routed by Art. 13",
      answerable ? ". It is in your requests below. " : ". Nobody answers it.",
      answerable ? h("button", { type: "button", class: "link", onclick: () => onOpen(sent.request_id) }, "Open it") : null);
    result.dataset.requestId = sent.request_id;
    result.hidden = false;
    for (const name of ["subject", "details", "reference", "urgency_reason"]) {
      if (form.elements[name]) form.elements[name].value = "";
    }
    changed("board");
  } catch (error) {
    refused(form, errorBox, error, mapOpeningField(form));
  } finally {
    button.disabled = !maySend();
  }
}

// ---- what may be sent now --------------------------------------------------------------------

function renderEnabled() {
  const allowed = maySend();
  for (const fieldset of document.querySelectorAll("fieldset[data-desk-control]")) {
    fieldset.disabled = !allowed;
    fieldset.title = allowed ? "" : desk.watching
      ? "Only the desk's own code sends as its party"
      : "No exercise is running";
  }
}

/** Wire the forms; `open(requestId)` shows a request in the answer panel. */
export function setUpForms(open) {
  onOpen = open;
  fill(byId("answer-grounds"), Object.entries(REFUSAL_GROUNDS).map(([value, [letter, text]]) =>
    h("label", { class: "ground", title: value },
      h("input", { type: "checkbox", name: "grounds", value, dataset: { test: `ground-${letter.slice(1, 2)}` } }),
      h("span", {}, h("strong", {}, groundLetter(value)), ` ${text}`))));
  byId("answer-form").addEventListener("submit", sendAnswer);
  for (const select of document.querySelectorAll("select[data-channels]")) {
    setOptions(select, [{ value: "", label: "Let the hub route it (Art. 13)" }, ...options(CHANNELS)], false);
  }
  for (const select of document.querySelectorAll("select[data-handling]")) setOptions(select, options(HANDLING_CODES), false);
  byId("request-urgency").addEventListener("change", () => {
    byId("request-reason-field").hidden = byId("request-urgency").value !== "urgent";
  });
  for (const radio of byId("prum-form").querySelectorAll("input[name=prum-step]")) radio.addEventListener("change", showPrumStep);
  byId("prum-hit").addEventListener("change", hitChosen);
  for (const id of ["request-form", "spontaneous-form", "prum-form"]) byId(id).addEventListener("submit", sendOpening);
  on("selected", renderAnswerForm);
  on("board", renderAnswerForm);
  on("board", fillPrumHits);
  on("details", fillPrumHits);
  on("clock", fillParties);
  on("clock", renderEnabled);
  on("session", renderEnabled);
  fillParties();
  showPrumStep();
  renderEnabled();
  renderAnswerForm();
}
