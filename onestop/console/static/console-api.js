// The console's HTTP API, as the page calls it. Every failure becomes an ApiError that
// carries what the server said ({detail, fields}), so the page can show it to the person.

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the console did not answer at all
   * @param {string} detail what was wrong, for a person
   * @param {{field: string|null, message: string, line?: number|null}[]} fields
   */
  constructor(status, detail, fields = []) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.fields = fields;
  }
}

const listeners = { unauthorised: [] };

/** Call `fn` whenever the server answers 401: the session is gone (a console restart). */
export function onUnauthorised(fn) {
  listeners.unauthorised.push(fn);
}

function detailOf(status, body) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
  }
  return `the console answered ${status}`;
}

/**
 * Call the API; resolve with its JSON (or null for 204), reject with an ApiError.
 * @param {string} method
 * @param {string} path under /api, e.g. "/status"
 * @param {object} [body] sent as JSON
 * @param {{quiet401?: boolean}} [options]
 */
export async function api(method, path, body, options = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch (error) {
    throw new ApiError(0, `the console did not answer (${error.message}); is it still running?`);
  }
  if (response.status === 204) return null;
  let payload = null;
  const text = await response.text();
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(
      response.status,
      detailOf(response.status, payload),
      (payload && Array.isArray(payload.fields) && payload.fields) || [],
    );
    if (response.status === 401 && !options.quiet401) {
      for (const fn of listeners.unauthorised) fn(error);
    }
    throw error;
  }
  return payload;
}

/** Query string from the given parameters, leaving out empty ones. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
