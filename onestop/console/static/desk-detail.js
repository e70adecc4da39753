// One request at the desk, as the trainee reads it before answering: the message as it
// came (subject, details, the urgency's reason, handling code, language, a SIRENE form's
// alert, a Prüm search's reference), its limit and live countdown, every message since
// (answers, clarifications, delays) and its audit trail. All read back through the desk's
// own API (/api/desks/<party>/requests/<id>), which opens only the desk's own requests.

import { api } from "./console-api.js";
import { ACCESSIBILITIES, CHANNELS, HANDLING_CODES, label, OPENING_KINDS, URGENCIES } from "./console-labels.js";
import { changed, on, state } from "./console-state.js";
import { exerciseNow, parseTime, roughly, sinceStart, stampUtc } from "./console-time.js";
import { byId, counted, fill, h, showError } from "./console-ui.js";
import { groundLetter, MESSAGE_KINDS, PRUM_CATEGORIES, REFUSAL_GROUNDS, SIRENE_FORMS } from "./desk-labels.js";
import { countdownOf } from "./desk-lists.js";
import { desk } from "./desk-state.js";

const loading = new Map(); // request id -> promise of its inspection
const loadedFor = new Map(); // request id -> the entry the details were read for
let version = 0;
let countdownParts = null;

function stamp(text) {
  const ms = parseTime(text);
  if (ms === null) return "—";
  const start = parseTime(state.clock && state.clock.exercise_start);
  return `${stampUtc(ms)}${start !== null ? ` (${sinceStart(ms, start)})` : ""}`;
}

// ---- reading a request back --------------------------------------------------------------

function digest(entry, inspection) {
  const messages = inspection.raw
    .map((raw) => ({ ...raw.data, _offset: raw.offset, _topic: raw.topic }))
    .filter((data) => data && typeof data === "object" && data.request_id === entry.request_id)
    .sort((a, b) => (parseTime(a.sent_at) ?? 0) - (parseTime(b.sent_at) ?? 0) || a._offset - b._offset);
  const opening = messages.find((m) => m.kind === entry.kind) || null;
  version += 1;
  return { opening, messages, steps: inspection.steps, version };
}

/** Read request `requestId` back (its messages and audit trail); once at a time. */
export function loadDetails(requestId) {
  if (loading.has(requestId)) return loading.get(requestId);
  const entry = state.entries.get(requestId);
  if (!entry || !desk.party) return Promise.resolve(null);
  const path = `/desks/${encodeURIComponent(desk.party)}/requests/${encodeURIComponent(requestId)}`;
  const promise = api("GET", path)
    .then((inspection) => {
      const detail = digest(inspection.request || entry, inspection);
      desk.details.set(requestId, detail);
      loadedFor.set(requestId, entry);
      changed("details");
      return detail;
    })
    .finally(() => loading.delete(requestId));
  loading.set(requestId, promise);
  return promise;
}

/** Read back what is missing: the first message of every request (for the lists' subjects),
 * and the open request again when it changed. */
export function catchUpDetails() {
  for (const [id, entry] of state.entries) {
    const known = desk.details.get(id);
    const prumAnswered = entry.kind === "prum_query" && entry.settled_at && entry.from === desk.party;
    const stale = loadedFor.get(id) !== entry && (id === desk.selected || !known || !known.opening || prumAnswered);
    if (stale && !loading.has(id)) {
      loadDetails(id).catch(() => {
        loadedFor.delete(id); // tried again at the next change
      });
    }
  }
}

// ---- what a message says ------------------------------------------------------------------

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function groundsText(grounds) {
  return (grounds || []).map((g) => `${groundLetter(g)} ${(REFUSAL_GROUNDS[g] || ["", g])[1]}`).join("; ");
}

function contentOf(message) {
  switch (message.kind) {
    case "reply":
      return [["Information", message.information]];
    case "partial_reply":
      return [["Information", message.information], ["Follows", message.remaining]];
    case "refusal":
      return [["Grounds", groundsText(message.grounds)], ["Explanation", message.explanation]];
    case "clarification_request":
      return [["Question", message.question]];
    case "clarification_reply":
      return [["Answer", message.answer]];
    case "delay_notice":
      return [["Expected delay", message.expected_delay_hours !== undefined ? `${message.expected_delay_hours} h` : null], ["Reason", message.reason]];
    case "prum_result":
      return [["Outcome", message.outcome === "hit" ? "hit" : "no hit"]];
    default:
      return [];
  }
}

function messageItem(message) {
  const mine = message.sender === desk.party;
  return h("li", { class: `message${mine ? " mine" : ""}`, dataset: { test: "detail-message", kind: message.kind } },
    h("div", { class: "message-head" },
      h("strong", {}, label(MESSAGE_KINDS, message.kind)),
      h("span", { class: "muted" }, `${message.sender} → ${message.recipient}${mine ? " (you)" : ""}`),
      h("span", { class: "mono muted small" }, stamp(message.sent_at))),
    facts(contentOf(message)));
}

function openingFacts(entry, opening) {
  const o = opening || {};
  const steps = desk.details.get(entry.request_id)?.steps || [];
  const received = steps.find((s) => s.event === "received");
  const route = received && received.details ? received.details.route_reason : null;
  const urgency = [entry.urgency ? label(URGENCIES, entry.urgency) : null,
    entry.accessibility ? label(ACCESSIBILITIES, entry.accessibility) : null].filter(Boolean).join(", ");
  const handling = [o.handling_code ? label(HANDLING_CODES, o.handling_code) : null,
    `language ${o.language || entry.language}`].filter(Boolean).join(" · ");
  return facts([
    [entry.to === desk.party ? "From" : "To", entry.to === desk.party ? `${entry.from} → you` : `you → ${entry.to}`],
    ["Urgency", urgency],
    ["Why urgent", o.urgency_reason],
    ["SIRENE form", o.form ? `${label(SIRENE_FORMS, o.form)} · SIS alert ${o.sis_alert_id}` : null],
    ["Prüm", o.category ? `${label(PRUM_CATEGORIES, o.category)}${o.reference ? `: ${o.reference}` : ""}${o.hit_request_id ? ` · hit of ${o.hit_request_id}` : ""}` : null],
    ["Limit", entry.limit_seconds ? `${roughly(entry.limit_seconds)} · ${entry.limit_why || ""}` : entry.limit_why || "no limit"],
    ["Received", `${stamp(entry.received_at)}${entry.deadline ? ` · due ${stamp(entry.deadline)}` : ""}`],
    ["Channel", `${label(CHANNELS, entry.channel)}${route ? ` · ${route}` : ""}`],
    ["You chose", entry.from === desk.party && o.requested_channel ? label(CHANNELS, o.requested_channel) : null],
    ["Handling", handling],
  ]);
}

function stepItem(step) {
  return h("li", { class: "step", dataset: { test: "detail-step", event: step.event } },
    h("div", { class: "step-head" },
      h("span", { class: "step-time mono" }, stamp(step.exercise_time)),
      h("strong", { class: "step-event" }, step.event.replaceAll("_", " "))),
    h("p", { class: "step-why" }, step.justification));
}

// ---- the panel -----------------------------------------------------------------------------

/** Draw the open request (or the hint to choose one). */
export function renderDetail() {
  const panel = byId("request-detail");
  const entry = desk.selected ? state.entries.get(desk.selected) : null;
  if (!entry) {
    countdownParts = null;
    panel.removeAttribute("data-request-id");
    fill(panel, h("p", { class: "empty" }, "Choose a request in your inbox to read it and answer it."));
    return;
  }
  const detail = desk.details.get(entry.request_id);
  const opening = detail ? detail.opening : null;
  const value = h("span", { class: "cd-value mono" });
  const sub = h("span", { class: "cd-sub" });
  const box = h("div", { class: "detail-countdown", dataset: { test: "detail-countdown" } }, value, sub);
  countdownParts = { box, value, sub, entry, shown: "" };
  const later = detail ? detail.messages.filter((m) => m !== opening) : [];
  const subject = opening ? opening.subject || opening.information || "" : "";
  panel.dataset.requestId = entry.request_id;
  fill(panel,
    h("div", { class: "detail-head" },
      h("div", { class: "detail-title" },
        h("h3", { dataset: { test: "detail-name" } }, entry.name,
          entry.kind !== "request" ? h("span", { class: "tag" }, label(OPENING_KINDS, entry.kind)) : null,
          entry.urgency === "urgent" ? h("span", { class: "tag urgent-tag" }, "urgent") : null),
        h("p", { class: "detail-subject", dataset: { test: "detail-subject" } },
          subject || (detail ? "(no subject)" : "reading the message…"))),
      box),
    opening && opening.details ? h("p", { class: "detail-text", dataset: { test: "detail-text" } }, opening.details) : null,
    openingFacts(entry, opening),
    later.length
      ? [h("h4", {}, `Since then (${later.length})`),
        h("ol", { class: "messages", dataset: { test: "detail-messages" } }, later.map(messageItem))]
      : null,
    detail && detail.steps.length
      ? h("details", { class: "detail-trail" },
        h("summary", {}, `Audit trail (${counted(detail.steps.length, "record")})`),
        h("ol", { class: "steps" }, detail.steps.map(stepItem)))
      : null);
  tickDetail();
}

/** Move the open request's countdown on. */
export function tickDetail() {
  if (!countdownParts) return;
  const entry = state.entries.get(countdownParts.entry.request_id) || countdownParts.entry;
  const shown = countdownOf(entry, exerciseNow(state.clock));
  const key = `${shown.text}|${shown.sub}|${shown.level}`;
  if (key === countdownParts.shown) return;
  countdownParts.shown = key;
  countdownParts.value.textContent = shown.text;
  countdownParts.sub.textContent = shown.sub || (shown.left.mode === "running" ? "left" : "");
  countdownParts.box.dataset.level = shown.level;
  countdownParts.box.dataset.state = shown.left.mode;
}

/** Open request `requestId` in the answer panel. */
export async function openRequest(requestId) {
  if (desk.selected !== requestId) byId("panel-answer").scrollTop = 0;
  desk.selected = requestId;
  desk.unread.delete(requestId);
  changed("selected", "board");
  try {
    await loadDetails(requestId);
  } catch (error) {
    showError(error, `Reading ${state.entries.get(requestId)?.name || requestId}`);
  }
}

export function setUpDetail() {
  on("clock", tickDetail);
  on("selected", renderDetail);
  on("details", renderDetail);
  on("board", () => {
    const entry = desk.selected ? state.entries.get(desk.selected) : null;
    if (entry && countdownParts && countdownParts.entry !== entry) renderDetail();
    catchUpDetails(); // the open request is read again when it moved on

  });
  renderDetail();
}
