// Small helpers for building the page and for telling the person what went wrong.

/** The element with this id (it must exist: a missing one is a bug of the page). */
export function byId(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no element #${id}`);
  return found;
}

/** "1 record", "2 records": a count and its noun, plural unless the count is one. */
export function counted(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * An element: h("td", {class: "x", dataset: {test: "y"}}, "text", child, ...).
 * Attributes with null/false values are left out; `text` children are escaped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") {
      for (const [name, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) element.dataset[name] = String(v);
      }
    } else if (key === "class") {
      element.className = value;
    } else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `element`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Fill a <select> with options [{value, label, disabled}], keeping the chosen value when it
 * is still offered. */
export function setOptions(select, options, keep = true) {
  const previous = select.value;
  select.replaceChildren(
    ...options.map((o) => h("option", { value: o.value, disabled: o.disabled }, o.label)),
  );
  if (keep && options.some((o) => o.value === previous && !o.disabled)) select.value = previous;
}

// ---- errors a person must see --------------------------------------------------------------

const MAX_SHOWN = 4;

/**
 * Show an error beside the control it concerns (`near`, a `.form-error` of a form or dialog
 * the person is looking at), else in the page's error area, which the person closes.
 * @param {unknown} error an ApiError or any Error
 * @param {string} doing what the page was doing, e.g. "Pausing the clock"
 * @param {HTMLElement|null} [near] where to show it instead of the error area
 */
export function showError(error, doing, near = null) {
  const detail = error && error.detail ? error.detail : String((error && error.message) || error);
  const status = error && error.status ? ` (${error.status})` : "";
  if (near) {
    near.textContent = `${doing} failed${status}: ${detail}`;
    near.hidden = false;
    return;
  }
  const area = byId("errors");
  const key = `${doing}|${status}|${detail}`;
  for (const shown of [...area.children]) if (shown.dataset.key === key) shown.remove(); // once
  const message = h(
    "div",
    { class: "error", dataset: { test: "error", key } },
    h("strong", {}, `${doing} failed${status}: `),
    h("span", { dataset: { test: "error-detail" } }, detail),
    h("button", {
      type: "button",
      class: "quiet",
      "aria-label": "Close this message",
      onclick: (event) => event.currentTarget.parentElement.remove(),
    }, "×"),
  );
  area.append(message);
  while (area.children.length > MAX_SHOWN) area.firstElementChild.remove();
}

/** Hide a `.form-error` and the field errors of `form`. */
export function clearErrors(form, near = null) {
  if (near) {
    near.hidden = true;
    near.textContent = "";
  }
  if (!form) return;
  for (const field of form.querySelectorAll(".field.invalid")) field.classList.remove("invalid");
  for (const message of form.querySelectorAll("[data-test=field-error]")) message.remove();
  for (const control of form.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    control.removeAttribute("aria-describedby");
  }
}

/**
 * Show the API's field problems ([{field, message}]) next to the fields of `form`
 * (`.field[data-field=name]`); return the problems no field of the form took.
 * @param {(name: string) => string} [mapField] where a field name the form lacks goes
 */
export function showFieldErrors(form, problems, mapField = (name) => name) {
  const left = [];
  for (const problem of problems) {
    const name = problem.field ? mapField(problem.field.split(".")[0], problem.field) : null;
    const field = name ? form.querySelector(`.field[data-field="${CSS.escape(name)}"]`) : null;
    if (!field) {
      left.push(problem);
      continue;
    }
    field.classList.add("invalid");
    const id = `error-${name}-${Math.random().toString(36).slice(2, 8)}`;
    const shown = problem.field !== name ? `${problem.field}: ${problem.message}` : problem.message;
    field.append(
      h("p", { class: "field-error", id, dataset: { test: "field-error", field: name } }, shown),
    );
    const control = field.querySelector("input, select, textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", id);
    }
  }
  return left;
}
