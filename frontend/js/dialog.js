// Modal dialogs on the native <dialog> element: showModal() makes the rest of the page inert,
// keeps focus inside, closes on Escape, and the dialog is named and described for screen
// readers. Focus returns to whatever opened it.
import { h, uid } from "./dom.js";

/**
 * Opens a modal. content: nodes for the body; the caller adds its own buttons (or a form).
 * Returns {dialog, close(value), closed: Promise<value|null>} (null: dismissed with Escape).
 */
export function modal({ title, description, content, className = "" }) {
  const titleId = uid("dlg-title");
  const descId = description ? uid("dlg-desc") : null;
  const opener = document.activeElement;
  const dialog = h(
    "dialog",
    {
      class: `dialog ${className}`.trim(),
      "aria-labelledby": titleId,
      "aria-describedby": descId,
    },
    h("h2", { id: titleId }, title),
    description ? h("div", { id: descId, class: "dialog-desc" }, description) : null,
    content,
  );
  document.body.append(dialog);
  let result = null;
  const closed = new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      // Back to the opener; if a repaint replaced it, to the screen's heading, never <body>.
      const back = opener && document.contains(opener) ? opener : document.querySelector("main h1");
      if (back && typeof back.focus === "function") back.focus();
      resolve(result);
    });
  });
  dialog.showModal();
  return {
    dialog,
    closed,
    close(value = null) {
      result = value;
      if (dialog.open) dialog.close();
    },
  };
}

/**
 * Asks before something that cannot be undone. message: text or nodes (what goes, when).
 * requireText: the person types it (say, the project's name) before the button works.
 * Resolves true when confirmed. The safe choice (Cancel) has the focus at first.
 */
export function confirmDialog({ title, message, confirmLabel, requireText = null, danger = true }) {
  const confirm = h("button", { type: "submit", class: danger ? "btn danger-solid" : "btn" }, confirmLabel);
  const cancel = h("button", { type: "button", class: "btn ghost", autofocus: true }, "Cancel");
  let typed = null;
  if (requireText !== null) {
    typed = h("input", { type: "text", autocomplete: "off", spellcheck: "false", id: uid("confirm-text") });
    confirm.disabled = true;
    typed.addEventListener("input", () => {
      confirm.disabled = typed.value.trim() !== String(requireText).trim();
    });
  }
  const form = h(
    "form",
    { method: "dialog", class: "stack" },
    typed
      ? h(
          "div",
          { class: "field" },
          h("label", { for: typed.id }, `Type “${requireText}” to confirm`),
          typed,
        )
      : null,
    h("div", { class: "row dialog-actions" }, cancel, confirm),
  );
  const box = modal({ title, description: message, content: form });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (confirm.disabled) return;
    box.close(true);
  });
  cancel.addEventListener("click", () => box.close(false));
  cancel.focus();
  return box.closed.then((value) => value === true);
}
