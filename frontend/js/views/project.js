// Project settings: edit name/description with optimistic concurrency (If-Match; a 412 is
// explained with the other person's version, never swallowed), members, and deleting the
// project (owner or admin) after a confirmation that says what goes and when.
import { confirmDialog } from "../dialog.js";
import { field, h, replace } from "../dom.js";

export async function render(ctx) {
  const { api, query } = ctx;
  const projectId = decodeURIComponent(ctx.params[0]);
  const isAdmin = api.user && api.user.role === "admin";
  let project;
  try {
    project = await api.get(`/projects/${encodeURIComponent(projectId)}`);
  } catch (err) {
    replace(ctx.main, h("h1", {}, "Project not found"), h("p", { class: "form-error", role: "alert" }, err.message), h("a", { href: "#/projects" }, "Back to projects"));
    return;
  }

  let users = [];
  if (isAdmin) {
    users = await api.listAll("/users").catch(() => []);
  }
  const userName = (id) => {
    const u = users.find((x) => x.id === id);
    if (u) return `${u.name || u.email} (${u.email})`;
    if (api.user && api.user.id === id) return `${api.user.name || api.user.email} (you)`;
    return id;
  };

  const heading = h("h1", {}, `Settings: ${project.name}`);
  const name = h("input", { name: "name", required: true, maxlength: "120", value: project.name });
  const description = h("textarea", { name: "description", maxlength: "2000" });
  description.value = project.description || "";
  const editErrors = h("div");
  const save = h("button", { type: "submit", class: "btn" }, "Save changes");
  const editForm = h(
    "form",
    { class: "panel glass", "aria-labelledby": "edit-h", novalidate: true },
    h("h2", { id: "edit-h" }, "Details"),
    editErrors,
    field("Name", name).wrap,
    field("Description", description).wrap,
    h("p", { class: "hint", id: "version-hint" }, `Version ${project.version}`),
    save,
  );

  async function patch(body, version) {
    const updated = await api.patch(`/projects/${encodeURIComponent(projectId)}`, body, version);
    project = updated;
    heading.textContent = `Settings: ${project.name}`;
    editForm.querySelector("#version-hint").textContent = `Version ${project.version}`;
    query.invalidate("projects");
    replace(editErrors, h("div", { class: "notice", role: "status" }, "Saved."));
    ctx.announce("Project saved");
  }

  function explainConflict(mine) {
    api
      .get(`/projects/${encodeURIComponent(projectId)}`)
      .then((theirs) => {
        const overwrite = h("button", { type: "button", class: "btn" }, "Save mine over theirs");
        const take = h("button", { type: "button", class: "btn ghost" }, "Use their version");
        const box = h(
          "div",
          { class: "form-error", role: "alert", tabindex: "-1" },
          h("p", {}, "Someone else saved this project after you opened it, so your changes were not saved (version conflict)."),
          h(
            "dl",
            { class: "kv" },
            h("dt", {}, "Their name"),
            h("dd", {}, theirs.name),
            h("dt", {}, "Their description"),
            h("dd", {}, theirs.description || "—"),
            h("dt", {}, "Your name"),
            h("dd", {}, mine.name),
            h("dt", {}, "Your description"),
            h("dd", {}, mine.description || "—"),
          ),
          h("div", { class: "row" }, overwrite, take),
        );
        overwrite.addEventListener("click", () =>
          patch(mine, theirs.version).catch((err) => {
            if (err.status === 412) explainConflict(mine);
            else replace(editErrors, h("div", { class: "form-error", role: "alert" }, err.message));
          }),
        );
        take.addEventListener("click", () => {
          project = theirs;
          name.value = theirs.name;
          description.value = theirs.description || "";
          heading.textContent = `Settings: ${theirs.name}`;
          editForm.querySelector("#version-hint").textContent = `Version ${theirs.version}`;
          replace(editErrors, h("div", { class: "notice", role: "status" }, "Loaded their version."));
          name.focus();
        });
        replace(editErrors, box);
        box.focus();
      })
      .catch((err) => replace(editErrors, h("div", { class: "form-error", role: "alert" }, err.message)));
  }

  editForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const mine = { name: name.value.trim(), description: description.value.trim() };
    if (!mine.name) {
      replace(editErrors, h("div", { class: "form-error", role: "alert" }, "The name cannot be empty."));
      name.focus();
      return;
    }
    save.disabled = true;
    try {
      await patch(mine, project.version);
    } catch (err) {
      if (err.status === 412) explainConflict(mine);
      else replace(editErrors, h("div", { class: "form-error", role: "alert" }, err.message));
    } finally {
      save.disabled = false;
    }
  });

  // Members
  const memberList = h("ul", { class: "plain-list" });
  const memberErrors = h("div");
  const canManage = isAdmin || (api.user && api.user.id === project.ownerId);
  function paintMembers() {
    replace(
      memberList,
      (project.memberIds || []).map((id) => {
        const remove =
          canManage && id !== project.ownerId
            ? h("button", { type: "button", class: "btn danger small", "aria-label": `Remove ${userName(id)}` }, "Remove")
            : null;
        if (remove) {
          remove.addEventListener("click", async () => {
            try {
              await api.del(`/projects/${encodeURIComponent(projectId)}/members/${encodeURIComponent(id)}`);
              project = await api.get(`/projects/${encodeURIComponent(projectId)}`);
              paintMembers();
              ctx.announce("Member removed");
            } catch (err) {
              replace(memberErrors, h("div", { class: "form-error", role: "alert" }, err.message));
            }
          });
        }
        return h(
          "li",
          { class: "row spread" },
          h("span", {}, userName(id), id === project.ownerId ? " — owner" : ""),
          remove,
        );
      }),
    );
  }
  paintMembers();

  let addForm = null;
  if (canManage) {
    let picker;
    if (isAdmin && users.length) {
      picker = h(
        "select",
        { name: "userId" },
        users.map((u) => h("option", { value: u.id }, `${u.name || u.email} (${u.email})`)),
      );
    } else {
      picker = h("input", { name: "userId", autocomplete: "off" });
    }
    const add = h("button", { type: "submit", class: "btn" }, "Add member");
    addForm = h(
      "form",
      { novalidate: true },
      field(isAdmin && users.length ? "User" : "User ID", picker, isAdmin ? null : "Ask an admin for the person's user ID.").wrap,
      add,
    );
    addForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const userId = picker.value.trim();
      if (!userId) return;
      try {
        await api.put(`/projects/${encodeURIComponent(projectId)}/members/${encodeURIComponent(userId)}`);
        project = await api.get(`/projects/${encodeURIComponent(projectId)}`);
        replace(memberErrors);
        paintMembers();
        ctx.announce("Member added");
      } catch (err) {
        replace(memberErrors, h("div", { class: "form-error", role: "alert" }, err.message));
      }
    });
  }

  // Deleting: the owner or an admin; the dialog explains the purge (what goes, when).
  let dangerZone = null;
  if (canManage) {
    const deleteErrors = h("div");
    const del = h("button", { type: "button", class: "btn danger" }, "Delete project");
    dangerZone = h(
      "section",
      { class: "panel glass", "aria-labelledby": "danger-h" },
      h("h2", { id: "danger-h" }, "Delete this project"),
      h("p", {}, "Removes the project, its tasks and everything they hold. This cannot be undone."),
      deleteErrors,
      del,
    );
    del.addEventListener("click", async () => {
      replace(deleteErrors);
      let total = null;
      try {
        total = (await api.get("/stats", { projectId })).total;
      } catch {
        total = null; // the dialog says "its tasks" without a number
      }
      const tasks = total === null || total === undefined ? "its tasks" : `its ${total} task${total === 1 ? "" : "s"}`;
      const ok = await confirmDialog({
        title: `Delete “${project.name}”?`,
        message: h(
          "div",
          { class: "stack" },
          h("p", {}, h("strong", {}, "At once: "), "the project and its members’ access. It disappears from everyone’s list."),
          h(
            "p",
            {},
            h("strong", {}, "Within minutes: "),
            `${tasks}, with their timelines, results and files, and the project’s uploads. A background job removes them in batches every minute; running tasks are canceled first and removed when they stop.`,
          ),
          h("p", {}, "This cannot be undone."),
        ),
        confirmLabel: "Delete project",
        requireText: project.name,
      });
      if (!ok) return;
      try {
        await api.del(`/projects/${encodeURIComponent(projectId)}`);
        query.invalidate("projects");
        ctx.announce(`Project ${project.name} deleted`);
        ctx.navigate("/projects");
      } catch (err) {
        replace(deleteErrors, h("div", { class: "form-error", role: "alert" }, err.message));
      }
    });
  }

  replace(
    ctx.main,
    h("p", {}, h("a", { href: `#/projects/${encodeURIComponent(projectId)}` }, "← Back to the board")),
    heading,
    editForm,
    h(
      "section",
      { class: "panel glass", "aria-labelledby": "members-h" },
      h("h2", { id: "members-h" }, "Members"),
      memberErrors,
      memberList,
      addForm,
    ),
    dangerZone,
  );
}
