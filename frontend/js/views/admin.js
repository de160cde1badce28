// Admin: users (create, change role, disable / re-enable).
import { confirmDialog } from "../dialog.js";
import { field, formatTime, h, replace } from "../dom.js";

export async function render(ctx) {
  const { api } = ctx;
  if (!(api.user && api.user.role === "admin")) {
    replace(ctx.main, h("h1", {}, "Users"), h("p", {}, "Only admins can manage users."));
    return;
  }
  const listBody = h("div", { "aria-busy": "true" }, "Loading users…");
  const listErrors = h("div");
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const name = h("input", { name: "name", required: true, autocomplete: "off" });
  // The password rule is the server's (its OpenAPI schema), never a second copy here.
  const rule = (await api.schema.field("POST", "/users", "password")) || {};
  const password = h("input", {
    type: "password",
    name: "password",
    required: true,
    autocomplete: "new-password",
    minlength: rule.minLength,
    maxlength: rule.maxLength,
  });
  const passwordHint = rule.minLength
    ? `At least ${rule.minLength} characters. Share it privately.`
    : "Share it privately.";
  const role = h("select", { name: "role" }, h("option", { value: "member" }, "member"), h("option", { value: "admin" }, "admin"));
  const errors = h("div");
  const submit = h("button", { type: "submit", class: "btn" }, "Create user");
  const form = h(
    "form",
    { class: "panel glass", "aria-labelledby": "new-user-h", novalidate: true },
    h("h2", { id: "new-user-h" }, "New user"),
    errors,
    h(
      "div",
      { class: "grid2" },
      field("Email", email).wrap,
      field("Name", name).wrap,
      field("Initial password", password, passwordHint).wrap,
      field("Role", role).wrap,
    ),
    submit,
  );

  replace(
    ctx.main,
    h("h1", {}, "Users"),
    h("section", { class: "panel glass", "aria-labelledby": "users-h" }, h("h2", { id: "users-h" }, "All users"), listErrors, listBody),
    form,
  );

  async function load() {
    try {
      const users = await api.listAll("/users");
      listBody.removeAttribute("aria-busy");
      replace(
        listBody,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "visually-hidden" }, "Users"),
            h("thead", {}, h("tr", {}, ["Name", "Email", "Role", "Status", "Created", "User ID"].map((c) => h("th", { scope: "col" }, c)))),
            h(
              "tbody",
              {},
              users.map((u) => {
                const select = h(
                  "select",
                  { "aria-label": `Role of ${u.email}`, disabled: api.user.id === u.id },
                  ["member", "admin"].map((r) => h("option", { value: r, selected: u.role === r }, r)),
                );
                select.addEventListener("change", async () => {
                  replace(listErrors);
                  try {
                    const updated = await api.patch(`/users/${encodeURIComponent(u.id)}`, { role: select.value }, u.version);
                    Object.assign(u, updated);
                    ctx.announce(`${u.email} is now ${u.role}`);
                  } catch (err) {
                    select.value = u.role;
                    const why = err.status === 412 ? "Someone else changed this user; the list was reloaded. Try again." : err.message;
                    replace(listErrors, h("div", { class: "form-error", role: "alert" }, why));
                    if (err.status === 412) load();
                  }
                });
                return h(
                  "tr",
                  { class: u.disabled ? "user-disabled" : "" },
                  h("td", {}, u.name || "—"),
                  h("td", {}, u.email),
                  h("td", {}, select),
                  h("td", {}, statusCell(u)),
                  h("td", {}, formatTime(u.createdAt)),
                  h("td", {}, h("code", {}, u.id)),
                );
              }),
            ),
          ),
        ),
      );
    } catch (err) {
      replace(listBody, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  }

  // Disabling signs the person out everywhere at once and deletes their API keys; nobody is
  // deleted (their projects and tasks keep their author). An admin cannot disable themselves.
  function statusCell(u) {
    const label = h("span", {}, u.disabled ? "Disabled" : "Active");
    if (api.user.id === u.id) return label;
    const toggle = h(
      "button",
      { type: "button", class: u.disabled ? "btn ghost small" : "btn ghost small danger-text", "aria-label": `${u.disabled ? "Enable" : "Disable"} ${u.email}` },
      u.disabled ? "Enable" : "Disable",
    );
    toggle.addEventListener("click", async () => {
      replace(listErrors);
      const disable = !u.disabled;
      if (disable) {
        const sure = await confirmDialog({
          title: `Disable ${u.email}?`,
          message: "They are signed out everywhere at once, their API keys are deleted, and they cannot sign in until you enable them again. Their projects and tasks stay.",
          confirmLabel: "Disable user",
        });
        if (!sure) return;
      }
      toggle.disabled = true;
      try {
        const updated = await api.patch(`/users/${encodeURIComponent(u.id)}`, { disabled: disable }, u.version);
        Object.assign(u, updated);
        ctx.announce(`${u.email} is ${u.disabled ? "disabled" : "enabled again"}`);
        load();
      } catch (err) {
        toggle.disabled = false;
        const why = err.status === 412 ? "Someone else changed this user; the list was reloaded. Try again." : err.message;
        replace(listErrors, h("div", { class: "form-error", role: "alert" }, why));
        if (err.status === 412) load();
      }
    });
    return h("span", { class: "user-status" }, label, " ", toggle);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const missing = [email, name, password].filter((i) => !i.value.trim());
    if (missing.length) {
      replace(errors, h("div", { class: "form-error", role: "alert" }, "Fill in email, name and password."));
      missing[0].focus();
      return;
    }
    if (rule.minLength && password.value.length < rule.minLength) {
      replace(errors, h("div", { class: "form-error", role: "alert" }, `The password needs at least ${rule.minLength} characters.`));
      password.setAttribute("aria-invalid", "true");
      password.focus();
      return;
    }
    password.removeAttribute("aria-invalid");
    submit.disabled = true;
    try {
      const user = await api.post("/users", {
        email: email.value.trim(),
        name: name.value.trim(),
        password: password.value,
        role: role.value,
      });
      replace(errors, h("div", { class: "notice", role: "status" }, `Created ${user.email}.`));
      email.value = "";
      name.value = "";
      password.value = "";
      load();
    } catch (err) {
      replace(errors, h("div", { class: "form-error", role: "alert" }, err.message));
    } finally {
      submit.disabled = false;
    }
  });

  await load();
}
