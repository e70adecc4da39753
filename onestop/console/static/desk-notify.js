// Notifications at the desk: something arrived, an answer came back, a request fell overdue.
// Each shows for a while at the top right (the newest first, a few at a time), the page's
// title counts what is unread, and a click on one opens its request.

import { desk } from "./desk-state.js";
import { byId, h } from "./console-ui.js";

const SHOWN_MS = 12_000;
const MAX_SHOWN = 4;
let onOpen = () => {};
let baseTitle = document.title;

/** The page's title with the number of unread requests in front. */
export function renderTitle() {
  const unread = desk.unread.size;
  baseTitle = desk.party ? `${desk.party} desk · OneStop` : "OneStop SPOC desk";
  document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
}

/**
 * Show a notification.
 * @param {"arrived"|"answered"|"clarification"|"overdue"|"info"} kind what happened
 * @param {string} title one line, e.g. "New urgent request from CZ"
 * @param {string} text what it is about
 * @param {string|null} requestId the request to open on a click
 */
export function notify(kind, title, text, requestId = null) {
  const area = byId("toasts");
  const close = () => toast.remove();
  const toast = h("div", {
    class: `toast toast-${kind}`,
    role: kind === "overdue" ? "alert" : "status",
    dataset: { test: "notification", kind, requestId },
  },
  h("button", {
    type: "button",
    class: "toast-body",
    onclick: () => {
      close();
      if (requestId) onOpen(requestId);
    },
  }, h("strong", {}, title), h("span", {}, text)),
  h("button", { type: "button", class: "quiet toast-close", "aria-label": "Close this notification", onclick: close }, "×"));
  area.prepend(toast);
  while (area.children.length > MAX_SHOWN) area.lastElementChild.remove();
  setTimeout(close, SHOWN_MS);
}

/** Wire the notifications; `open(requestId)` shows a request. */
export function setUpNotifications(open) {
  onOpen = open;
  renderTitle();
}
