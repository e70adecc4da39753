// What the page calls the values of the API's enumerations (schemas/enums.py).

export const CHANNELS = {
  siena: "SIENA",
  interpol_i247: "Interpol I-24/7",
  sirene: "SIRENE",
  prum: "Prüm",
  pccc: "PCCC",
  liaison_officer: "Liaison officer",
};

export const URGENCIES = { urgent: "Urgent", non_urgent: "Non-urgent" };

export const ACCESSIBILITIES = { direct: "directly accessible", indirect: "indirectly accessible" };

export const HANDLING_CODES = {
  H0: "H0 · crime fighting only",
  H1: "H1 · not in court",
  H2: "H2 · not passed on",
  H3: "H3 · other limits",
};

// Kinds that open a request (they have a deadline, and stand on the board).
export const OPENING_KINDS = {
  request: "Request",
  sirene_form: "SIRENE form",
  prum_query: "Prüm query",
  prum_followup: "Prüm follow-up",
};

// Kinds exercise control can send by hand (the scenario loader's SENDABLE_KINDS).
export const INJECT_KINDS = {
  ...OPENING_KINDS,
  spontaneous_information: "Spontaneous information",
  interpol_notice: "Interpol notice",
  interpol_diffusion: "Interpol diffusion",
};

// What each kind needs beyond the common fields: the inject form's payload hint.
export const PAYLOAD_EXAMPLES = {
  request: { text: '{"details": "Owner and insurer, last known address"}', required: "" },
  sirene_form: {
    text: '{"form": "G", "sis_alert_id": "SIS-DE-2026-004711", "information": "Person stopped"}',
    required: "form (A, G, M or I) and sis_alert_id",
  },
  prum_query: {
    text: '{"category": "vehicle_registration", "reference": "SK-BA-123XY"}',
    required: "category (dna, fingerprints, vehicle_registration) and reference",
  },
  prum_followup: {
    text: '{"category": "dna", "hit_request_id": "prum-dna"}',
    required: "category and hit_request_id (the step-1 query that hit)",
  },
  spontaneous_information: {
    text: '{"information": "Workshop dismantled; buyers may travel north"}',
    required: "information",
  },
  interpol_notice: {
    text: '{"colour": "yellow", "information": "Missing minor"}',
    required: "colour (red, blue, green, yellow, black, orange, purple)",
  },
  interpol_diffusion: {
    text: '{"colour": "blue", "information": "Locate a witness"}',
    required: "colour",
  },
};

export const STATES = {
  submitted: "submitted",
  received: "received",
  validated: "validated",
  routed: "routed",
  delivered: "delivered",
  clarification_pending: "clarification asked",
  awaiting_judicial_auth: "awaiting a court",
  answered: "answered",
  refused: "refused",
  closed: "closed",
  rejected: "rejected",
};

export const OUTCOMES = { answered: "answered", refused: "refused", overdue: "overdue", open: "open" };

export const PHASES = {
  idle: "no exercise running",
  starting: "exercise starting…",
  running: "exercise in progress",
  ending: "exercise ending…",
  ended: "exercise ended",
  failed: "exercise failed",
};

// How an exercise ended (ExerciseStatus.ended_by).
export const ENDINGS = {
  settled: "every request settled",
  "end time": "at the scenario's end",
  ended: "by exercise control",
};

export const ROLES = { trainer: "Exercise control", observer: "Observer", desk: "Trainee desk" };

/** A label of `value` from `table`, the value itself when the table lacks it. */
export function label(table, value) {
  if (value === null || value === undefined || value === "") return "—";
  return table[value] || String(value).replaceAll("_", " ");
}
