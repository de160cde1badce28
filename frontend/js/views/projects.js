// Projects: the list (each links to its board and settings), live (created, joined, renamed,
// members changed, left, deleted: over the WebSocket's scope all), a search, and a create form.
import { field, formatTime, h, replace, uid } from "../dom.js";

export async function render(ctx) {
  const { api, query, live } = ctx;
  const disposers = [];
  const listBody = h("div", { "aria-busy": "true" }, "Loading projects…");
  const search = h("input", { type: "search", id: uid("project-search"), autocomplete: "off", "aria-keyshortcuts": "/" });
  const intentNote = ctx.takeIntent("newTask")
    ? h("p", { class: "notice", role: "status" }, "Choose the project for the new task, then press n again.")
    : null;
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
    intentNote,
    h(
      "section",
      { class: "panel glass", "aria-labelledby": "plist-h" },
      h("h2", { id: "plist-h" }, "Your projects"),
      h("form", { class: "row filters", role: "search", "aria-label": "Projects" }, h("label", { for: search.id }, "Search"), search),
      listBody,
    ),
    form,
  );
  ctx.provide({ search: () => search.focus() });

  let projects = [];
  async function load(force = false) {
    try {
      projects = await query.fetch("projects", () => api.listAll("/projects"), {
        staleTime: force ? 0 : 10_000,
        force,
      });
      paint();
    } catch (err) {
      replace(listBody, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  }

  function paint() {
    listBody.removeAttribute("aria-busy");
    if (!projects.length) {
      replace(listBody, h("p", {}, "No projects yet. Create the first one below."));
      return;
    }
    const q = search.value.trim().toLowerCase();
    const shown = q ? projects.filter((p) => `${p.name}\n${p.description || ""}`.toLowerCase().includes(q)) : projects;
    if (!shown.length) {
      replace(listBody, h("p", { role: "status" }, `No project matches “${search.value.trim()}”.`));
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
            shown.map((p) =>
              h(
                "tr",
                { dataset: { projectId: p.id } },
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
  }
  search.addEventListener("input", paint);
  search.closest("form").addEventListener("submit", (e) => e.preventDefault());

  // Live: a project created here or elsewhere, shared with me, renamed, left or deleted.
  let reloadTimer = null;
  disposers.push(
    live.onProject((message) => {
      if (message.change === "scope") return;
      const i = projects.findIndex((p) => p.id === message.projectId);
      if (message.change === "left" || message.change === "deleted") {
        if (i >= 0) projects.splice(i, 1);
      } else if (message.project) {
        if (i >= 0) projects[i] = message.project;
        else projects.unshift(message.project);
      }
      query.invalidate("projects");
      paint();
      if (message.change === "joined") ctx.announce(`Project ${message.project.name} shared with you`);
    }),
  );
  disposers.push(
    live.onResync(() => {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => load(true), 300);
    }),
  );
  disposers.push(() => clearTimeout(reloadTimer));

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
  return () => disposers.forEach((d) => d());
}
