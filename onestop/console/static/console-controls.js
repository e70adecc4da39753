// Clock control (pause, resume, speed, jump) and ending the exercise. Each opens a dialog
// that asks for confirmation and a reason (it goes into the audit trail); a jump and a speed
// change first show which open requests they would hurt.

import { api, query } from "./console-api.js";
import { canSteer, exerciseRunning, on, state } from "./console-state.js";
import { formatSpeed } from "./console-statusbar.js";
import { countdown, exerciseNow, parseTime, sinceStart, speedMeaning } from "./console-time.js";
import { byId, clearErrors, counted, fill, h, showError } from "./console-ui.js";

let refresh = async () => {};

const ACTIONS = {
  pause: {
    doing: "Pausing the clock",
    send: (data) => api("POST", "/clock/pause", { reason: data.reason }),
  },
  resume: {
    doing: "Resuming the clock",
    send: (data) => api("POST", "/clock/resume", { reason: data.reason }),
  },
  speed: {
    doing: "Changing the speed",
    send: (data) => api("POST", "/clock/speed", { speed: Number(data.speed), reason: data.reason }),
  },
  jump: {
    doing: "Jumping forward",
    send: (data) => api("POST", "/clock/jump", { by: data.by.trim(), reason: data.reason }),
  },
  end: {
    doing: "Ending the exercise",
    send: (data) => api("POST", "/exercise/end", { reason: data.reason }),
  },
};

// ---- the previews ------------------------------------------------------------------------

function previewList(entries, empty, heading) {
  if (!entries.length) return [h("p", { class: "preview-none", dataset: { test: "preview-none" } }, empty)];
  const now = exerciseNow(state.clock);
  const start = parseTime(state.clock && state.clock.exercise_start);
  return [
    h("p", { class: "preview-heading" }, heading(entries.length)),
    h("ul", { class: "preview-list" }, entries.map((entry) => {
      const deadline = parseTime(entry.deadline);
      const left = deadline !== null && now !== null ? (deadline - now) / 1000 : null;
      return h("li", { dataset: { test: "preview-item", requestId: entry.request_id } },
        h("strong", {}, entry.name), ` · ${entry.from} → ${entry.to}`,
        left !== null ? h("span", { class: "muted" },
          ` · due ${start !== null ? sinceStart(deadline, start) : ""}, ${countdown(left, false)} from now`) : null);
    })),
  ];
}

/**
 * Fetch a preview as the person types (waiting for a pause in typing) and allow the confirm
 * button only once the preview for the value now typed has been shown.
 */
function wirePreview(dialog, input, confirm, load) {
  const box = dialog.querySelector(".preview");
  let timer = null;
  let asked = 0;
  const update = () => {
    confirm.disabled = true;
    clearTimeout(timer);
    const value = input.value.trim();
    if (!value) {
      fill(box, h("p", { class: "hint" }, input.dataset.emptyHint || ""));
      return;
    }
    timer = setTimeout(async () => {
      const mine = ++asked;
      box.setAttribute("aria-busy", "true");
      try {
        const shown = await load(value);
        if (mine !== asked || input.value.trim() !== value) return;
        fill(box, ...shown);
        confirm.disabled = false;
      } catch (error) {
        if (mine !== asked) return;
        fill(box, h("p", { class: "form-error", dataset: { test: "preview-error" } }, error.detail || String(error)));
      } finally {
        box.removeAttribute("aria-busy");
      }
    }, 250);
  };
  input.addEventListener("input", update);
  return update;
}

const previews = {};

function setUpPreviews() {
  const speedDialog = byId("speed-dialog");
  const speedInput = byId("speed-value");
  speedInput.dataset.emptyHint = "Give a speed to see which open requests would fall due within the next ten wall-clock minutes.";
  previews.speed = wirePreview(speedDialog, speedInput, speedDialog.querySelector("[data-test=speed-confirm]"), async (value) => {
    const speed = Number(value);
    if (!(speed > 0)) throw new Error("the speed must be a number above 0");
    speedDialog.querySelector("[data-slot=speed-meaning]").textContent = speedMeaning(speed);
    const preview = await api("GET", `/clock/preview/speed${query({ speed })}`);
    return previewList(preview.affected,
      `No open request would fall due within the next ten wall-clock minutes at ×${formatSpeed(speed)}.`,
      (n) => `${counted(n, "open request")} would fall due within the next ten wall-clock minutes at ×${formatSpeed(speed)}:`);
  });
  const jumpDialog = byId("jump-dialog");
  const jumpInput = byId("jump-by");
  jumpInput.dataset.emptyHint = "Say how far to see which open requests the jump would make overdue.";
  previews.jump = wirePreview(jumpDialog, jumpInput, jumpDialog.querySelector("[data-test=jump-confirm]"), async (by) => {
    const preview = await api("GET", `/clock/preview/jump${query({ by })}`);
    return previewList(preview.affected,
      `No open request would become overdue by jumping ${by}.`,
      (n) => `${counted(n, "open request")} would become overdue by jumping ${by}:`);
  });
}

// ---- the dialogs -------------------------------------------------------------------------

function openDialog(name) {
  const dialog = byId(`${name}-dialog`);
  const form = dialog.querySelector("form");
  form.reset();
  const error = dialog.querySelector("[data-test=dialog-error]");
  clearErrors(form, error);
  for (const slot of dialog.querySelectorAll("[data-slot=speed]")) {
    slot.textContent = state.clock ? `×${formatSpeed(state.clock.speed)}` : "—";
  }
  if (name === "speed") {
    byId("speed-value").value = "";
    dialog.querySelector("[data-slot=speed-meaning]").textContent = "";
  }
  if (previews[name]) previews[name]();
  dialog.showModal();
  const first = dialog.querySelector("input, textarea");
  if (first) first.focus();
}

async function submitDialog(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const name = form.dataset.action;
  const action = ACTIONS[name];
  const dialog = form.closest("dialog");
  const error = dialog.querySelector("[data-test=dialog-error]");
  clearErrors(form, error);
  const data = Object.fromEntries(new FormData(form));
  const reason = form.elements.reason;
  if (!data.reason || !data.reason.trim()) {
    error.textContent = "Give the reason: it goes into the audit trail.";
    error.hidden = false;
    reason.setAttribute("aria-invalid", "true");
    reason.focus();
    return;
  }
  data.reason = data.reason.trim();
  const confirm = form.querySelector("[type=submit]");
  confirm.disabled = true;
  try {
    await action.send(data);
    dialog.close("done");
    await refresh();
  } catch (failure) {
    showError(failure, action.doing, error);
  } finally {
    confirm.disabled = false;
  }
}

// ---- which controls are on ---------------------------------------------------------------

function renderControls() {
  const steer = canSteer();
  const running = exerciseRunning();
  const paused = Boolean(state.clock && state.clock.paused);
  const phase = state.exercise.phase;
  byId("clock-pause").disabled = !(steer && running && !paused);
  byId("clock-resume").disabled = !(steer && running && paused);
  byId("clock-speed").disabled = !(steer && running);
  byId("clock-jump").disabled = !(steer && running && paused);
  byId("clock-jump").title = paused ? "Jump forward in exercise time" : "A jump is only allowed while the clock is paused: pause first";
  const busy = ["starting", "running"].includes(phase);
  byId("exercise-end").disabled = !(steer && (busy || (running && phase !== "ending")));
  const link = byId("report-link");
  const report = state.exercise.report;
  link.hidden = !report;
  if (report) link.href = report;
  byId("observer-note").hidden = steer || !state.session;
  for (const fieldset of document.querySelectorAll("form fieldset[data-control]")) {
    const needs = fieldset.hasAttribute("data-needs-exercise");
    fieldset.disabled = !steer || (needs && !running);
  }
  for (const button of document.querySelectorAll("[data-control]:not(fieldset)")) {
    button.disabled = !steer;
  }
}

/** Wire the clock buttons, the dialogs and the end button; `reload` fetches the status
 * after a change so the page shows it at once. */
export function setUpControls(reload) {
  refresh = reload;
  setUpPreviews();
  for (const name of ["pause", "resume", "speed", "jump"]) {
    byId(`clock-${name}`).addEventListener("click", () => openDialog(name));
  }
  byId("exercise-end").addEventListener("click", () => openDialog("end"));
  for (const dialog of document.querySelectorAll("dialog")) {
    const form = dialog.querySelector("form");
    form.noValidate = true;
    form.addEventListener("submit", submitDialog);
    for (const cancel of dialog.querySelectorAll("[data-cancel]")) {
      cancel.addEventListener("click", () => dialog.close("cancel"));
    }
  }
  on("clock", renderControls);
  on("exercise", renderControls);
  on("session", renderControls);
  renderControls();
}
