// Time on the page: the exercise clock run on in the browser from the server's last
// ClockState, corrected for the difference between the browser's and the server's clocks;
// and how times and durations read.
//
// All times are milliseconds since the epoch; durations in the API are seconds.

let offsetMs = 0; // server wall clock minus browser wall clock
let bestRoundTrip = Infinity;
let measuredAt = 0;

/** Milliseconds since the epoch of an ISO 8601 time (any number of fraction digits). */
export function parseTime(text) {
  if (!text) return null;
  // Date.parse is only sure of three fraction digits; the server sends six.
  const trimmed = String(text).replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Learn the server's clock from a `wall_time` it sent, read between `sentAt` and
 * `receivedAt` (browser milliseconds). The reading with the shortest round trip of the last
 * minutes wins: it brackets the server's instant most tightly.
 */
export function learnServerClock(wallTime, sentAt, receivedAt) {
  const server = parseTime(wallTime);
  if (server === null) return;
  const roundTrip = Math.max(receivedAt - sentAt, 0);
  const stale = receivedAt - measuredAt > 120_000;
  if (roundTrip <= bestRoundTrip || stale) {
    bestRoundTrip = roundTrip;
    measuredAt = receivedAt;
    offsetMs = server - (sentAt + receivedAt) / 2;
  }
}

/** The server's wall clock now (ms). */
export function serverNow() {
  return Date.now() + offsetMs;
}


/** Exercise time now (ms) from a ClockState: it advances `speed` exercise seconds per wall
 * second from `exercise_time` at `wall_time`, unless paused or ended. */
export function exerciseNow(clock) {
  if (!clock) return null;
  const at = parseTime(clock.exercise_time);
  if (at === null) return null;
  if (clock.paused || clock.ended) return at;
  const wall = parseTime(clock.wall_time);
  return at + (serverNow() - wall) * clock.speed;
}

const pad = (n) => String(Math.floor(n)).padStart(2, "0");
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
  "Dec"];

/** `HH:MM:SS` of an exercise time, in UTC (scenarios are written in UTC). */
export function clockUtc(ms, seconds = true) {
  const d = new Date(ms);
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return seconds ? `${hm}:${pad(d.getUTCSeconds())}` : hm;
}

/** `Mon 2 Mar 2026` of an exercise time, in UTC. */
export function dateUtc(ms) {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** `Mon 2 Mar 09:20` of an exercise time, in UTC: short, for lists. */
export function stampUtc(ms) {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${clockUtc(ms, false)}`;
}

/** `HH:MM:SS` of a wall time, in the browser's time zone (the room's clock). */
export function clockLocal(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `Mon 2 Mar 2026` of a wall time, in the browser's time zone. */
export function dateLocal(ms) {
  const d = new Date(ms);
  return `${DAYS[d.getDay()]} ${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
}

/**
 * A duration in seconds as a countdown reads: `6d 23:10:05`, `07:59:12`, `-00:12:40`.
 * @param {number} seconds
 * @param {boolean} [withSeconds]
 */
export function countdown(seconds, withSeconds = true) {
  const sign = seconds < 0 ? "−" : "";
  let left = Math.floor(Math.abs(seconds));
  const days = Math.floor(left / 86_400);
  left -= days * 86_400;
  const hours = Math.floor(left / 3600);
  left -= hours * 3600;
  const minutes = Math.floor(left / 60);
  const secs = left - minutes * 60;
  const clock = withSeconds ? `${pad(hours)}:${pad(minutes)}:${pad(secs)}` : `${pad(hours)}:${pad(minutes)}`;
  return `${sign}${days ? `${days}d ` : ""}${clock}`;
}

/** A duration in seconds in words, roughly: `7 days`, `8 h`, `12 min`, `40 s`. */
export function roughly(seconds) {
  const s = Math.abs(seconds);
  if (s >= 2 * 86_400) return `${round(s / 86_400)} days`;
  if (s >= 3600) return `${round(s / 3600)} h`;
  if (s >= 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s)} s`;
}

function round(value) {
  const r = Math.round(value * 10) / 10;
  return Number.isInteger(r) ? String(r) : r.toFixed(1);
}

/** `T+1d 02:20` of an exercise time from the exercise's start. */
export function sinceStart(ms, startMs) {
  if (startMs === null || startMs === undefined) return "";
  const seconds = (ms - startMs) / 1000;
  return `T${seconds < 0 ? "" : "+"}${countdown(seconds, false)}`;
}

/** A speed as people say it: `×600 · 1 s = 10 min`. */
export function speedMeaning(speed) {
  if (!speed) return "";
  if (speed === 1) return "real time";
  return `1 s = ${roughly(speed)}`;
}

/** `8 days, 0:00:00` / `4:30:00` (a Python timedelta as text) in seconds, or null. */
export function timedeltaSeconds(text) {
  const match = /^(?:(\d+) days?, )?(\d+):(\d\d):(\d\d)(?:\.\d+)?$/.exec(String(text || ""));
  if (!match) return null;
  return (Number(match[1] || 0) * 86_400 + Number(match[2]) * 3600 + Number(match[3]) * 60
    + Number(match[4]));
}

/** An exercise time as the value of a datetime-local input read as UTC. */
export function toUtcInput(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${clockUtc(ms, false)}`;
}

/** A datetime-local input's value, read as UTC, as an ISO time with its offset. */
export function fromUtcInput(value) {
  if (!value) return null;
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}Z`;
}
