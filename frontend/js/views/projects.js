// Projects: the list (each links to its board and settings) and a create form.
import { field, formatTime, h, replace } from "../dom.js";

export async function render(ctx) {
  const { api, query } = ctx;
  const listBody = h("div", { "aria-busy": "true" }, "Loading projects…");
  const name = h("input", { name: "name", required: true, maxlength: "120", autocomplete: "off" });
  const description = h("textarea", { name: "description", maxlength: "2000" });
  const errors = h("div");
  const submit = h("button", { type: "submit", class: "btn" }, "Create project");
  const form = h(
    "form",
    { class: "panel glass", "aria-labelledby": "new-project-h", novalidate: true },
    h("h2", { id: "new-project-h" }, "New project"),
    errors,
    field("Name", name).wrap,
    field("Description", description, "Optional. What the project is for.").wrap,
    submit,
  );

  replace(
    ctx.main,
    h("h1", {}, "Projects"),
    h("section", { class: "panel glass", "aria-labelledby": "plist-h" }, h("h2", { id: "plist-h" }, "Your projects"), listBody),
    form,
  );

  async function load(force = false) {
    try {
      const projects = await query.fetch("projects", () => api.listAll("/projects"), {
        staleTime: force ? 0 : 10_000,
        force,
      });
      listBody.removeAttribute("aria-busy");
      if (!projects.length) {
        replace(listBody, h("p", {}, "No projects yet. Create the first one below."));
        return;
      }
      replace(
        listBody,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "visually-hidden" }, "Projects"),
            h(
              "thead",
              {},
              h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Description"), h("th", { scope: "col" }, "Members"), h("th", { scope: "col" }, "Updated"), h("th", { scope: "col" }, "Settings")),
            ),
            h(
              "tbody",
              {},
              projects.map((p) =>
                h(
                  "tr",
                  {},
                  h("td", {}, h("a", { href: `#/projects/${encodeURIComponent(p.id)}` }, p.name)),
                  h("td", {}, p.description || "—"),
                  h("td", {}, String((p.memberIds || []).length)),
                  h("td", {}, formatTime(p.updatedAt)),
                  h(
                    "td",
                    {},
                    h(
                      "a",
                      {
                        href: `#/projects/${encodeURIComponent(p.id)}/settings`,
                        "aria-label": `Settings of ${p.name}`,
                      },
                      "Settings",
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      replace(listBody, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      replace(errors, h("div", { class: "form-error", role: "alert" }, "Give the project a name."));
      name.setAttribute("aria-invalid", "true");
      name.focus();
      return;
    }
    name.removeAttribute("aria-invalid");
    submit.disabled = true;
    try {
      const project = await api.post("/projects", {
        name: name.value.trim(),
        description: description.value.trim(),
      });
      replace(errors);
      ctx.announce(`Project ${project.name} created`);
      query.invalidate("projects");
      ctx.navigate(`/projects/${encodeURIComponent(project.id)}`);
    } catch (err) {
      replace(errors, h("div", { class: "form-error", role: "alert" }, err.message));
    } finally {
      submit.disabled = false;
    }
  });

  await load(true);
}
