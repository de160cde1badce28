// Tiny DOM helpers. Everything that comes from the API is set with textContent or
// attributes, never parsed as HTML, so titles, results and messages cannot inject markup.

/**
 * h("button", {class: "btn", onclick: fn, "aria-label": "x"}, "text", childNode, [more])
 * Strings become text nodes; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "value" && "value" in el) {
      el.value = value;
    } else if (key === "checked" || key === "selected" || key === "disabled" || key === "hidden") {
      el[key] = Boolean(value);
    } else if (key === "style") {
      throw new Error("style attributes are blocked by the CSP; use classes");
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

const STATUS_GLYPH = {
  queued: "◷",
  running: "▶",
  completed: "✓",
  failed: "✕",
  canceled: "⊘",
  needs_review: "⚑",
};

export const STATUSES = ["queued", "running", "needs_review", "completed", "failed", "canceled"];

export function statusLabel(status) {
  return String(status || "unknown").replace(/_/g, " ");
}

/** A status badge: glyph and word, so status is never told by colour alone. */
export function statusBadge(status) {
  return h(
    "span",
    { class: "badge", dataset: { status: String(status || "") } },
    h("span", { "aria-hidden": "true" }, STATUS_GLYPH[status] || "•"),
    statusLabel(status),
  );
}

export function formatTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function formatClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

let idCounter = 0;
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field; returns {wrap, input}. */
export function field(label, input, hint) {
  const id = input.id || uid("f");
  input.id = id;
  const children = [h("label", { for: id }, label), input];
  if (hint) {
    const hintId = `${id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    children.push(h("span", { class: "hint", id: hintId }, hint));
  }
  return { wrap: h("div", { class: "field" }, children), input };
}
