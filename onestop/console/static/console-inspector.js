// The request inspector: one request's whole life from the audit trail (each step with
// who, when, why and where it sits on Kafka) and the records it came from, as CloudEvents.

import { api } from "./console-api.js";
import { ACCESSIBILITIES, CHANNELS, label, OPENING_KINDS, OUTCOMES, STATES, URGENCIES } from "./console-labels.js";
import { changed, on, state } from "./console-state.js";
import { clockLocal, countdown, parseTime, roughly, sinceStart, stampUtc } from "./console-time.js";
import { byId, counted, fill, h, showError } from "./console-ui.js";

// Details worth reading at a glance, in this order, with what a trainer calls them.
const KEY_DETAILS = [
  ["disclosure", "Disclosure (Art. 25)"],
  ["route_reason", "Channel chosen (Art. 13)"],
  ["fallback_from", "Fallback from"],
  ["limit_why", "Time limit"],
  ["limit_basis", "Limit basis"],
  ["grounds", "Refusal grounds (Art. 6(1))"],
  ["deadline", "Deadline"],
  ["expected_delay_hours", "Announced delay"],
  ["reason", "Reason"],
  ["answer_seconds", "Answered after"],
  ["on_time", "On time"],
  ["handling_code", "Handling code"],
  ["language", "Language"],
  ["delayed", "Judicial delay"],
  ["input", "Came from record"],
  ["deadletter_id", "Dead-letter record"],
  ["action", "Clock action"],
  ["actor", "By"],
];

let onObserve = () => {};
let shownId = null;
let refreshTimer = null;

function exerciseStamp(text) {
  const ms = parseTime(text);
  if (ms === null) return "—";
  const start = parseTime(state.clock && state.clock.exercise_start);
  const since = start !== null ? sinceStart(ms, start) : "";
  return `${stampUtc(ms)}${since ? ` (${since})` : ""}`;
}

function detailValue(key, value) {
  if (value === null || value === undefined) return null;
  switch (key) {
    case "fallback_from":
      return label(CHANNELS, value);
    case "grounds":
      return Array.isArray(value) ? value.join(", ") : String(value);
    case "deadline":
      return exerciseStamp(value);
    case "expected_delay_hours":
      return `${value} h`;
    case "answer_seconds":
      return roughly(value);
    case "on_time":
    case "delayed":
      return value ? "yes" : "no";
    default:
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

function definitions(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function summary(entry) {
  const left = entry.deadline
    ? `deadline ${exerciseStamp(entry.deadline)}`
    : entry.remaining_seconds !== null && entry.remaining_seconds !== undefined
      ? `stopped with ${countdown(entry.remaining_seconds, false)} left`
      : entry.limit_seconds ? "—" : "no limit";
  return definitions([
    ["From → to", `${entry.from} → ${entry.to}${entry.trainee_desk ? " (trainee desk)" : ""}`],
    ["Kind", label(OPENING_KINDS, entry.kind)],
    ["Urgency", `${label(URGENCIES, entry.urgency)}${entry.accessibility ? `, ${label(ACCESSIBILITIES, entry.accessibility)}` : ""}`],
    ["Channel", label(CHANNELS, entry.channel)],
    ["Limit", entry.limit_seconds ? `${roughly(entry.limit_seconds)} · ${entry.limit_why || ""}` : `no limit${entry.limit_why ? ` · ${entry.limit_why}` : ""}`],
    ["Received", exerciseStamp(entry.received_at)],
    ["Time left", entry.settled_at ? `settled ${exerciseStamp(entry.settled_at)}` : left],
    ["State", `${label(STATES, entry.state)} · ${label(OUTCOMES, entry.outcome)}${entry.overdue ? " · overdue" : ""}`],
  ]);
}

function stepItem(step) {
  const details = step.details || {};
  const keyFacts = KEY_DETAILS.filter(([key]) => details[key] !== undefined && details[key] !== null)
    .map(([key, name]) => [name, detailValue(key, details[key])]);
  const wall = parseTime(step.wall_time);
  const moved = step.state_before && step.state_after && step.state_before !== step.state_after
    ? `${label(STATES, step.state_before)} → ${label(STATES, step.state_after)}` : null;
  return h("li", { class: "step", dataset: { test: "inspector-step", event: step.event } },
    h("div", { class: "step-head" },
      h("span", { class: "step-time mono" }, exerciseStamp(step.exercise_time)),
      h("strong", { class: "step-event" }, step.event.replaceAll("_", " ")),
      h("span", { class: "step-actor" }, `by ${step.actor}`),
      moved ? h("span", { class: "step-move" }, moved) : null),
    h("p", { class: "step-why" }, step.justification),
    keyFacts.length ? definitions(keyFacts) : null,
    h("p", { class: "step-kafka mono", dataset: { test: "step-kafka" } },
      `${step.topic} · partition ${step.partition} · offset ${step.offset}`,
      wall !== null ? h("span", { class: "muted" }, ` · wall ${clockLocal(wall)}`) : null),
    h("details", { class: "step-all" }, h("summary", {}, "All details"),
      h("pre", { class: "mono" }, JSON.stringify({ operation: step.operation, record_id: step.record_id, ...details }, null, 2))));
}

function rawItem(raw) {
  const type = raw.headers.ce_type || "record";
  return h("details", { class: "raw", dataset: { test: "raw-event" } },
    h("summary", {},
      h("span", { class: "mono" }, `${raw.topic} · ${raw.partition} · ${raw.offset}`), " ",
      h("strong", {}, type)),
    h("table", { class: "headers" },
      h("caption", {}, "Kafka record and CloudEvents headers"),
      h("tbody", {},
        h("tr", {}, h("th", { scope: "row" }, "key"), h("td", { class: "mono" }, raw.key ?? "—")),
        h("tr", {}, h("th", { scope: "row" }, "timestamp"), h("td", { class: "mono" }, raw.timestamp ?? "—")),
        ...Object.entries(raw.headers).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: "mono" }, v))))),
    h("p", { class: "raw-label" }, "data"),
    h("pre", { class: "mono", dataset: { test: "raw-data" } }, JSON.stringify(raw.data, null, 2)));
}

function render(inspection) {
  const entry = inspection.request;
  const panel = byId("inspector");
  panel.dataset.requestId = entry.request_id;
  fill(panel,
    h("div", { class: "inspector-head" },
      h("div", {},
        h("h3", { dataset: { test: "inspector-name" } }, entry.name),
        h("p", { class: "mono muted small" }, entry.request_id)),
      h("div", { class: "inspector-buttons" },
        h("button", {
          type: "button",
          dataset: { test: "inspector-observe", control: "" },
          disabled: state.session && state.session.role !== "trainer",
          onclick: () => onObserve(entry.request_id),
        }, "Note on it…"),
        h("button", { type: "button", class: "quiet", dataset: { test: "inspector-refresh" }, onclick: () => show(entry.request_id) }, "Refresh"))),
    summary(entry),
    h("h4", {}, `Its life on the audit trail (${counted(inspection.steps.length, "record")})`),
    h("ol", { class: "steps", dataset: { test: "inspector-steps" } }, inspection.steps.map(stepItem)),
    h("h4", {}, `The messages it came from (${inspection.raw.length}, as Kafka holds them)`),
    h("div", { class: "raws", dataset: { test: "inspector-raw" } },
      inspection.raw.length ? inspection.raw.map(rawItem) : h("p", { class: "muted" }, "None could be read back from Kafka.")));
}

/** Open request `requestId` in the inspector. */
export async function show(requestId) {
  shownId = requestId;
  state.selected = requestId;
  changed("selected");
  const panel = byId("inspector");
  panel.setAttribute("aria-busy", "true");
  try {
    const inspection = await api("GET", `/requests/${encodeURIComponent(requestId)}`);
    if (shownId === requestId) render(inspection);
  } catch (error) {
    const near = shownId === requestId ? h("p", { class: "form-error", role: "alert" }) : null;
    if (near) fill(panel, near);
    showError(error, `Inspecting ${requestId}`, near);
  } finally {
    panel.removeAttribute("aria-busy");
  }
}

/** A request changed: redraw it if it is the one shown (not more than twice a second). */
function entryMoved() {
  if (!shownId || !state.entries.has(shownId)) return;
  const shownEntry = state.entries.get(shownId);
  if (shownEntry === entryMoved.last) return;
  entryMoved.last = shownEntry;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => show(shownId), 500); // show() reports its own errors
}

export function setUpInspector(observe) {
  onObserve = observe;
  on("board", entryMoved);
}

/** Forget the request shown (another exercise started). */
export function clearInspector() {
  shownId = null;
  state.selected = null;
  fill(byId("inspector"), h("p", { class: "empty" },
    "Choose a request on the board to see its whole life: every audit record, where it sits on Kafka, and the messages it came from."));
}
