// API keys of the signed-in user (under the user menu): create one (its text is shown once, with
// a copy button), list them with when they were created, expire and were last used, revoke one
// after a confirmation. A key acts as its user from scripts and the `aion` command.
import { confirmDialog } from "../dialog.js";
import { field, formatTime, h, replace } from "../dom.js";

const DAY_MS = 24 * 60 * 60 * 1000;
// [value, label]: days until the key expires ("" = never).
const EXPIRY_CHOICES = [
  ["", "Never"],
  ["30", "In 30 days"],
  ["90", "In 90 days"],
  ["365", "In a year"],
];

function expiryText(key, now) {
  if (!key.expiresAt) return "Never";
  const at = Date.parse(key.expiresAt);
  return at <= now ? `Expired ${formatTime(key.expiresAt)}` : formatTime(key.expiresAt);
}

export async function render(ctx) {
  const { api } = ctx;
  // The name's limits are the server's (its OpenAPI schema), never a second copy here.
  const rule = (await api.schema.field("POST", "/api-keys", "name")) || {};
  const name = h("input", {
    name: "name",
    required: true,
    autocomplete: "off",
    maxlength: rule.maxLength,
    placeholder: "e.g. CI pipeline",
  });
  const expiry = h(
    "select",
    { name: "expiry" },
    EXPIRY_CHOICES.map(([value, label]) => h("option", { value }, label)),
  );
  const formErrors = h("div");
  const submit = h("button", { type: "submit", class: "btn" }, "Create key");
  const form = h(
    "form",
    { class: "panel glass", "aria-labelledby": "new-key-h", novalidate: true },
    h("h2", { id: "new-key-h" }, "New key"),
    formErrors,
    h(
      "div",
      { class: "grid2" },
      field("Name", name, "What the key is for, so you recognise it later.").wrap,
      field("Expires", expiry).wrap,
    ),
    submit,
  );
  const reveal = h("div"); // the new key, while it is shown
  const listHeading = h("h2", { id: "keys-h", tabindex: "-1" }, "Your keys");
  const listErrors = h("div");
  const listBody = h("div", { "aria-busy": "true" }, "Loading keys…");

  replace(
    ctx.main,
    h("h1", {}, "API keys"),
    h(
      "p",
      { class: "hint" },
      "A key acts as you from scripts and the aion command (AION_API_KEY), with your current role. " +
        "It cannot manage keys or users, nor change a password or role.",
    ),
    reveal,
    form,
    h("section", { class: "panel glass", "aria-labelledby": "keys-h" }, listHeading, listErrors, listBody),
  );

  function showKey(created) {
    const keyInput = h("input", {
      type: "text",
      readonly: true,
      value: created.key,
      autocomplete: "off",
      spellcheck: "false",
      class: "secret-key",
    });
    const copied = h("p", { class: "hint", role: "status" });
    const copy = h("button", { type: "button", class: "btn" }, "Copy key");
    const done = h("button", { type: "button", class: "btn ghost" }, "Done");
    const heading = h("h2", { id: "reveal-h", tabindex: "-1" }, `Your new key “${created.name}”`);
    copy.addEventListener("click", async () => {
      let ok = false;
      try {
        await navigator.clipboard.writeText(created.key);
        ok = true;
      } catch {
        // No clipboard permission: select it so Ctrl+C (or the menu) copies it.
        keyInput.focus();
        keyInput.select();
      }
      copied.textContent = ok ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy it.";
    });
    done.addEventListener("click", () => {
      replace(reveal); // the key leaves the page
      listHeading.focus();
    });
    replace(
      reveal,
      h(
        "section",
        { class: "panel glass key-reveal", "aria-labelledby": "reveal-h" },
        heading,
        h(
          "p",
          { class: "notice" },
          h("strong", {}, "Copy it now: you will not see it again. "),
          "AION keeps only a fingerprint of it; if you lose it, revoke it and create another.",
        ),
        field("API key", keyInput).wrap,
        h("div", { class: "row" }, copy, done),
        copied,
        h("p", { class: "hint" }, "Use it as AION_API_KEY, or send it as Authorization: Bearer <key>."),
      ),
    );
    heading.focus();
  }

  async function revoke(key, button) {
    const sure = await confirmDialog({
      title: `Revoke “${key.name}”?`,
      message: "Anything using this key stops working at once. This cannot be undone.",
      confirmLabel: "Revoke key",
    });
    if (!sure) return;
    button.disabled = true;
    replace(listErrors);
    try {
      await api.del(`/api-keys/${encodeURIComponent(key.id)}`);
      ctx.announce(`Revoked ${key.name}`);
    } catch (err) {
      if (err.status !== 404) {
        button.disabled = false;
        replace(listErrors, h("div", { class: "form-error", role: "alert" }, err.message));
        return;
      }
    }
    await load();
    listHeading.focus(); // its row (and button) are gone
  }

  async function load() {
    try {
      const keys = await api.listAll("/api-keys");
      listBody.removeAttribute("aria-busy");
      if (!keys.length) {
        replace(listBody, h("p", {}, "You have no API keys yet."));
        return;
      }
      const now = Date.now();
      replace(
        listBody,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "visually-hidden" }, "Your API keys"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Name", "Key", "Created", "Expires", "Last used", "Actions"].map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h(
              "tbody",
              {},
              keys.map((key) => {
                const button = h(
                  "button",
                  { type: "button", class: "btn small danger", "aria-label": `Revoke ${key.name}` },
                  "Revoke",
                );
                button.addEventListener("click", () => revoke(key, button));
                return h(
                  "tr",
                  {},
                  h("td", {}, key.name),
                  h("td", {}, h("code", {}, `${key.prefix}_…`)),
                  h("td", {}, formatTime(key.createdAt)),
                  h("td", {}, expiryText(key, now)),
                  h("td", {}, key.lastUsedAt ? formatTime(key.lastUsedAt) : "Never"),
                  h("td", {}, button),
                );
              }),
            ),
          ),
        ),
      );
    } catch (err) {
      listBody.removeAttribute("aria-busy");
      replace(listBody, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      replace(formErrors, h("div", { class: "form-error", role: "alert" }, "Give the key a name."));
      name.setAttribute("aria-invalid", "true");
      name.focus();
      return;
    }
    name.removeAttribute("aria-invalid");
    replace(formErrors);
    const body = { name: name.value.trim() };
    if (expiry.value) body.expiresAt = new Date(Date.now() + Number(expiry.value) * DAY_MS).toISOString();
    submit.disabled = true;
    try {
      const created = await api.post("/api-keys", body);
      name.value = "";
      expiry.value = "";
      showKey(created);
      ctx.announce("API key created. Copy it now: you will not see it again.");
      load();
    } catch (err) {
      replace(formErrors, h("div", { class: "form-error", role: "alert" }, err.message));
    } finally {
      submit.disabled = false;
    }
  });

  await load();
  // Leaving the screen takes a key still on show with it.
  return () => replace(reveal);
}
