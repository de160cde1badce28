// Keyboard shortcuts and their "?" overlay. Single keys never fire while typing in a field or
// with Ctrl/Alt/Meta held, and they can be turned off in the overlay (WCAG 2.1.4); the overlay
// is also one click away in the header. A "go to" shortcut is listed and works as soon as
// its screen exists: adding the route to app.js is all it takes (see hasRoute).
import { modal } from "./dialog.js";
import { h } from "./dom.js";

const STORE_KEY = "aion-shortcuts";
const SEQUENCE_MS = 1500;

/**
 * keys: what to press ("g d" is g, then d). Either `path` (a screen) or `action` (a name the
 * app resolves: overlay, newTask, search, board).
 */
export const SHORTCUTS = [
  { keys: ["?"], label: "Show keyboard shortcuts", action: "overlay" },
  { keys: ["n"], label: "New task", action: "newTask" },
  { keys: ["/"], label: "Search", action: "search" },
  { keys: ["g", "d"], label: "Go to the dashboard", path: "/dashboard" },
  { keys: ["g", "p"], label: "Go to projects", path: "/projects" },
  { keys: ["g", "b"], label: "Go to the board (this or the last project)", action: "board" },
  { keys: ["g", "r"], label: "Go to reviews", path: "/reviews" },
];

export function shortcutsEnabled() {
  try {
    return window.localStorage.getItem(STORE_KEY) !== "off";
  } catch {
    return true;
  }
}

function setEnabled(on) {
  try {
    if (on) window.localStorage.removeItem(STORE_KEY);
    else window.localStorage.setItem(STORE_KEY, "off");
  } catch {
    /* this page only */
  }
}

function typing(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target.closest("dialog[open]")) return true; // a dialog owns the keyboard
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  const type = (target.getAttribute("type") || "text").toLowerCase();
  return !["checkbox", "radio", "button", "submit", "reset", "file", "range", "color"].includes(type);
}

/**
 * Wires the shortcuts. app: {hasRoute(path), navigate(path), run(action), signedIn()}.
 * Returns {openOverlay, available()}.
 */
export function setupShortcuts(app) {
  let pending = null; // first key of a sequence
  let pendingTimer = null;
  let overlay = null;

  const available = () =>
    SHORTCUTS.filter((s) => (s.path ? app.hasRoute(s.path) : true)).filter(
      (s) => s.action === "overlay" || app.signedIn(),
    );

  function trigger(shortcut) {
    if (shortcut.action === "overlay") openOverlay();
    else if (shortcut.path) app.navigate(shortcut.path);
    else app.run(shortcut.action);
  }

  function openOverlay() {
    if (overlay) return overlay.closed;
    const toggle = h("input", { type: "checkbox", id: "shortcuts-toggle", checked: shortcutsEnabled() });
    toggle.addEventListener("change", () => setEnabled(toggle.checked));
    const close = h("button", { type: "button", class: "btn", autofocus: true }, "Close");
    const rows = available().map((s) =>
      h(
        "tr",
        {},
        h(
          "td",
          {},
          s.keys.flatMap((k, i) => [i ? h("span", { class: "hint" }, " then ") : null, h("kbd", {}, k)]),
        ),
        h("td", {}, s.label),
      ),
    );
    overlay = modal({
      title: "Keyboard shortcuts",
      description: "Single keys work anywhere except while you type in a field.",
      className: "shortcuts",
      content: [
        h(
          "table",
          { class: "shortcut-table" },
          h("caption", { class: "visually-hidden" }, "Keyboard shortcuts"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Keys"), h("th", { scope: "col" }, "Does"))),
          h("tbody", {}, rows),
        ),
        h("p", { class: "row" }, toggle, h("label", { for: toggle.id }, "Single-key shortcuts on")),
        h("div", { class: "row dialog-actions" }, close),
      ],
    });
    close.addEventListener("click", () => overlay && overlay.close());
    close.focus();
    const done = overlay.closed.finally(() => {
      overlay = null;
    });
    return done;
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || !shortcutsEnabled()) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (event.key === "?") {
      event.preventDefault();
      openOverlay();
      return;
    }
    const list = available();
    if (pending) {
      const second = list.find((s) => s.keys.length === 2 && s.keys[0] === pending && s.keys[1] === key);
      pending = null;
      clearTimeout(pendingTimer);
      if (second) {
        event.preventDefault();
        trigger(second);
      }
      return;
    }
    if (list.some((s) => s.keys.length === 2 && s.keys[0] === key)) {
      pending = key;
      clearTimeout(pendingTimer);
      pendingTimer = setTimeout(() => {
        pending = null;
      }, SEQUENCE_MS);
      return;
    }
    const single = list.find((s) => s.keys.length === 1 && s.keys[0] === key && s.action !== "overlay");
    if (single) {
      event.preventDefault();
      trigger(single);
    }
  });

  return { openOverlay, available };
}
