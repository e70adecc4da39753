// What the page knows, in one place, and who wants to hear when a part of it changes.
// Parts: "session", "clock", "exercise", "health", "board", "observations", "scenarios",
// "selected". Changes are batched: a burst of events (a reconnect's catch-up) renders once.

export const state = {
  /** @type {{role: string, party: string|null} | null} */
  session: null,
  /** The last ClockState (models.ClockState). */
  clock: null,
  /** The last ExerciseStatus. */
  exercise: { phase: "idle", trainee_parties: [] },
  /** The last Health. */
  health: null,
  /** BoardEntry by request id, settled ones included. */
  entries: new Map(),
  /** The event generation that last changed each entry (see `touch`). */
  touched: new Map(),
  /** Observation by id, of every exercise seen (shown: the running one's). */
  observations: new Map(),
  /** ScenarioInfo[] of the shipped scenarios. */
  scenarios: [],
  /** The request id open in the inspector. */
  selected: null,
  generation: 0,
};

const subscribers = new Map();
const dirty = new Set();
let scheduled = false;

/** Call `fn` after `part` changed (once per batch). */
export function on(part, fn) {
  if (!subscribers.has(part)) subscribers.set(part, []);
  subscribers.get(part).push(fn);
}

/** Say that `parts` changed; subscribers run soon, once for a burst of changes. */
export function changed(...parts) {
  for (const part of parts) dirty.add(part);
  if (scheduled) return;
  scheduled = true;
  setTimeout(flush, 20);
}

function flush() {
  scheduled = false;
  const parts = [...dirty];
  dirty.clear();
  const called = new Set();
  for (const part of parts) {
    for (const fn of subscribers.get(part) || []) {
      if (called.has(fn)) continue;
      called.add(fn);
      try {
        fn();
      } catch (error) {
        // A rendering bug must not stop the other parts from rendering; it still shows in
        // the browser's console for whoever fixes it.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}

/** Record that an entry changed by an event now (a later snapshot must not undo it). */
export function touch(requestId) {
  state.generation += 1;
  state.touched.set(requestId, state.generation);
}

/** The id of the exercise the clock runs, or null. */
export function exerciseId() {
  return (state.clock && state.clock.exercise_id) || null;
}

/** Whether an exercise is on the clock and not ended: the clock can be steered. */
export function exerciseRunning() {
  return Boolean(state.clock && state.clock.exercise_id && !state.clock.ended);
}

/** Whether this session is exercise control (the only role allowed to change things). */
export function canSteer() {
  return Boolean(state.session && state.session.role === "trainer");
}

/** The scenario the running exercise plays, when it is a shipped one this console knows. */
export function runningScenario() {
  const name = state.exercise && state.exercise.scenario;
  return (name && state.scenarios.find((s) => s.name === name)) || null;
}

/** The parties of the running exercise: its scenario's nodes when known, and every party
 * seen on the board, in the link health and at a trainee desk. */
export function parties() {
  const found = new Set();
  const scenario = runningScenario();
  if (scenario) scenario.nodes.forEach((p) => found.add(p));
  for (const entry of state.entries.values()) {
    found.add(entry.from);
    found.add(entry.to);
  }
  if (state.health && exerciseRunning()) Object.keys(state.health.nodes || {}).forEach((p) => found.add(p));
  (state.exercise.trainee_parties || []).forEach((p) => found.add(p));
  return [...found].sort();
}

/** The parties played by trainees in the running exercise. */
export function traineeParties() {
  const found = new Set(state.exercise.trainee_parties || []);
  const scenario = runningScenario();
  if (scenario) scenario.trainees.forEach((p) => found.add(p));
  return found;
}
