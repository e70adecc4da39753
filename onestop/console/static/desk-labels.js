// What the desk calls the answers it can give and the grounds it can refuse on (the wire
// models' enumerations, schemas/enums.py and onestop/console/desks.py).

// Art. 6(1) of Directive (EU) 2023/977: the exhaustive grounds for refusing a request.
export const REFUSAL_GROUNDS = {
  a_not_available: ["(a)", "the information is not available to the SPOC or the competent authorities"],
  b_does_not_meet_art4: ["(b)", "the request does not meet the requirements of Art. 4"],
  c_judicial_authorisation_refused: ["(c)", "the judicial authorisation required was refused"],
  d_personal_data_category: ["(d)", "personal data outside the categories of Art. 10(b)"],
  e_inaccurate_or_outdated: ["(e)", "the information is inaccurate, incomplete or out of date"],
  f_national_security_investigation_safety: ["(f)", "it would harm national security, an investigation or a person's safety"],
  g_minor_or_no_offence: ["(g)", "a minor offence (up to one year) or no criminal offence"],
  h_third_party_no_consent: ["(h)", "obtained from another state or a third country that did not consent"],
};

/** `(f)` of a refusal ground's value. */
export function groundLetter(value) {
  return (REFUSAL_GROUNDS[value] || [value])[0];
}

// The answers a desk gives on a request addressed to it (the requested party's), and the
// one it gives on its own request (the requesting party's).
export const ANSWERS = {
  reply: "Full reply",
  partial_reply: "Partial reply",
  refusal: "Refusal (Art. 6(1))",
  clarification_request: "Ask for clarification",
  delay_notice: "Delay notice (Art. 5(2))",
  acknowledgement: "Acknowledge receipt",
  prum_result: "Prüm result",
  clarification_reply: "Clarify",
};

// What each answer does, in a line, under the choice.
export const ANSWER_HINTS = {
  reply: "Gives the information asked for and settles the request.",
  partial_reply: "Gives part of the information now; say what follows. The request stays open.",
  refusal: "Refuses on one or more of the exhaustive grounds of Art. 6(1); settles the request.",
  clarification_request: "Asks the requester a question: the request's clock stops until the answer comes.",
  delay_notice: "Tells the requester the answer waits for a judicial authorisation (Art. 5(2)): the clock stops.",
  acknowledgement: "Acknowledges receipt; the clock keeps running.",
  prum_result: "Step 1 of Prüm: hit or no hit; settles the search.",
  clarification_reply: "Answers the question the requested party asked: its clock runs again.",
};

/** The answers `party`'s desk may give on `entry`, the most usual first. */
export function answersFor(entry, party) {
  if (!entry || entry.settled_at) return [];
  if (entry.to === party) {
    if (entry.kind === "prum_query") return ["prum_result", "acknowledgement"];
    return ["reply", "partial_reply", "refusal", "clarification_request", "delay_notice", "acknowledgement"];
  }
  if (entry.from === party && entry.state === "clarification_pending") return ["clarification_reply"];
  return [];
}

export const PRUM_CATEGORIES = {
  dna: "DNA profile",
  fingerprints: "Fingerprints",
  vehicle_registration: "Vehicle registration",
};

export const SIRENE_FORMS = {
  A: "A · arrest / extradition",
  G: "G · hit, action taken",
  M: "M · miscellaneous",
  I: "I · use for another purpose",
};

// What the messages on a request's history are called.
export const MESSAGE_KINDS = {
  request: "Request",
  reply: "Reply",
  partial_reply: "Partial reply",
  refusal: "Refusal",
  clarification_request: "Clarification asked",
  clarification_reply: "Clarification given",
  delay_notice: "Delay notice",
  acknowledgement: "Acknowledgement",
  spontaneous_information: "Spontaneous information",
  sirene_form: "SIRENE form",
  prum_query: "Prüm search",
  prum_result: "Prüm result",
  prum_followup: "Prüm follow-up",
  overdue_notice: "Overdue notice",
};
