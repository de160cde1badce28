// A project's board: tasks in status columns, filters, live updates over the project
// subscription, and the create-task form with file upload and a "why this route?" preview.
import { loadCatalog } from "../catalog.js";
import { field, formatTime, h, replace, STATUSES, statusBadge, statusLabel, uid } from "../dom.js";
import { decisionView } from "../route.js";
import { uploadToProject } from "../upload.js";

const PRIORITIES = ["low", "normal", "high", "urgent"];

export async function render(ctx) {
  const { api, live } = ctx;
  const projectId = decodeURIComponent(ctx.params[0]);
  const disposers = [];
  let project;
  try {
    project = await api.get(`/projects/${encodeURIComponent(projectId)}`);
  } catch (err) {
    replace(ctx.main, h("h1", {}, "Project not found"), h("p", { class: "form-error", role: "alert" }, err.message), h("a", { href: "#/projects" }, "Back to projects"));
    return;
  }
  const isAdmin = api.user && api.user.role === "admin";
  const users = isAdmin ? await api.listAll("/users").catch(() => []) : [];
  const who = (id) => {
    if (!id) return "nobody";
    if (api.user && id === api.user.id) return "me";
    const u = users.find((x) => x.id === id);
    return u ? u.name || u.email : id;
  };

  // Filters
  const statusFilter = h(
    "select",
    { id: uid("status-filter") },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((s) => h("option", { value: s }, statusLabel(s))),
  );
  const assigneeFilter = h(
    "select",
    { id: uid("assignee-filter") },
    h("option", { value: "" }, "Anyone"),
    (project.memberIds || []).map((id) => h("option", { value: id }, who(id))),
  );
  const filters = h(
    "form",
    { class: "row", "aria-label": "Filters" },
    h("label", { for: statusFilter.id }, "Status"),
    statusFilter,
    h("label", { for: assigneeFilter.id }, "Assignee"),
    assigneeFilter,
  );
  filters.addEventListener("submit", (e) => e.preventDefault());

  const boardEl = h("div", { class: "board", "aria-busy": "true" });
  const boardStatus = h("p", { class: "hint", role: "status" });

  // Create form
  const catalog = await loadCatalog(ctx);
  const title = h("input", { name: "title", maxlength: "200", autocomplete: "off" });
  const instruction = h("textarea", { name: "instruction", required: true, maxlength: "20000" });
  const inputText = h("textarea", { name: "input" });
  const inputFile = h("input", { type: "file", name: "file" });
  const modeText = h("input", { type: "radio", name: "input-mode", value: "text", checked: true, id: uid("mode") });
  const modeFile = h("input", { type: "radio", name: "input-mode", value: "file", id: uid("mode") });
  const textWrap = field("Input text", inputText, "Optional. The text the task works on.").wrap;
  const fileWrap = field("Input file", inputFile, "Uploaded first (with progress); the task is then created with the file as its input.").wrap;
  fileWrap.hidden = true;
  const progress = h("progress", { max: "100", value: "0", id: uid("upload-progress") });
  const progressLabel = h("label", { for: progress.id }, "Upload progress");
  const progressWrap = h("div", { class: "field" }, progressLabel, progress);
  progressWrap.hidden = true;
  const moduleSelect = h(
    "select",
    { name: "module" },
    h("option", { value: "" }, "Automatic (let the router decide)"),
    catalog.map((m) =>
      h(
        "option",
        { value: m.name },
        `${m.name}${m.description ? ` — ${m.description}` : ""}${m.available === false ? " (unavailable)" : ""}`,
      ),
    ),
  );
  const assigneeSelect = h(
    "select",
    { name: "assignee" },
    (project.memberIds || []).map((id) =>
      h("option", { value: id, selected: api.user && id === api.user.id }, who(id)),
    ),
  );
  const prioritySelect = h(
    "select",
    { name: "priority" },
    PRIORITIES.map((p) => h("option", { value: p, selected: p === "normal" }, p)),
  );
  const createErrors = h("div");
  const explainOut = h("div", { "aria-live": "polite" });
  const explainBtn = h("button", { type: "button", class: "btn ghost" }, "Why this route?");
  const createBtn = h("button", { type: "submit", class: "btn" }, "Create task");
  const modeGroup = h(
    "fieldset",
    {},
    h("legend", {}, "Input"),
    h("div", { class: "row" }, modeText, h("label", { for: modeText.id }, "Text"), modeFile, h("label", { for: modeFile.id }, "File")),
  );
  const createForm = h(
    "form",
    { class: "panel glass", "aria-labelledby": "create-h", novalidate: true },
    h("h2", { id: "create-h" }, "New task"),
    createErrors,
    field("Title", title, "Optional; taken from the instruction when empty.").wrap,
    field("Instruction", instruction, "What should be done, e.g. “Summarize this text”.").wrap,
    modeGroup,
    textWrap,
    fileWrap,
    progressWrap,
    h(
      "div",
      { class: "grid2" },
      field(
        "Module",
        moduleSelect,
        ["Pinning skips classification.", ...(catalog.notes || [])].join(" "),
      ).wrap,
      field("Assignee", assigneeSelect).wrap,
      field("Priority", prioritySelect).wrap,
    ),
    h("div", { class: "row" }, createBtn, explainBtn),
    explainOut,
  );
  for (const radio of [modeText, modeFile]) {
    radio.addEventListener("change", () => {
      const file = modeFile.checked;
      fileWrap.hidden = !file;
      textWrap.hidden = file;
    });
  }

  replace(
    ctx.main,
    h("p", {}, h("a", { href: "#/projects" }, "← All projects"), " · ", h("a", { href: `#/projects/${encodeURIComponent(projectId)}/settings` }, "Project settings")),
    h("h1", {}, project.name),
    project.description ? h("p", {}, project.description) : null,
    h("section", { class: "panel glass", "aria-labelledby": "board-h" }, h("h2", { id: "board-h" }, "Tasks"), filters, boardStatus, boardEl),
    createForm,
  );

  // Board data
  let tasks = [];
  function paintBoard() {
    boardEl.removeAttribute("aria-busy");
    const wanted = statusFilter.value ? [statusFilter.value] : STATUSES;
    replace(
      boardEl,
      wanted.map((status) => {
        const inColumn = tasks
          .filter((t) => t.status === status)
          .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
        const headingId = uid("col");
        return h(
          "section",
          { class: "column glass", "aria-labelledby": headingId, dataset: { column: status } },
          h("h3", { id: headingId }, statusBadge(status), h("span", { "aria-label": `${inColumn.length} tasks` }, String(inColumn.length))),
          inColumn.length
            ? h(
                "ol",
                {},
                inColumn.map((t) =>
                  h(
                    "li",
                    {},
                    h(
                      "a",
                      { class: "card", href: `#/tasks/${encodeURIComponent(t.id)}`, dataset: { taskId: t.id } },
                      t.title,
                      h("span", { class: "meta" }, `${t.priority} · ${who(t.assigneeId)} · ${formatTime(t.createdAt)}`),
                    ),
                  ),
                ),
              )
            : h("p", { class: "hint" }, "None"),
        );
      }),
    );
  }

  let loading = null;
  async function loadTasks() {
    if (loading) return loading;
    loading = (async () => {
      try {
        tasks = await api.listAll("/tasks", {
          projectId,
          status: statusFilter.value || undefined,
          assigneeId: assigneeFilter.value || undefined,
        });
        boardStatus.textContent = `${tasks.length} task${tasks.length === 1 ? "" : "s"} shown.`;
        paintBoard();
      } catch (err) {
        replace(boardEl, h("p", { class: "form-error", role: "alert" }, err.message));
      } finally {
        loading = null;
      }
    })();
    return loading;
  }
  statusFilter.addEventListener("change", loadTasks);
  assigneeFilter.addEventListener("change", loadTasks);

  let refetchTimer = null;
  const refetchSoon = () => {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(loadTasks, 300);
  };
  disposers.push(() => clearTimeout(refetchTimer));
  disposers.push(live.subscribe("projectId", projectId));
  disposers.push(live.onResync(refetchSoon));
  disposers.push(
    live.onEvent((ev) => {
      if (ev.projectId !== projectId) return;
      const task = tasks.find((t) => t.id === ev.taskId);
      if (!task) {
        refetchSoon(); // someone else created it: fetch it with the filters applied
        return;
      }
      if (ev.kind === "update") {
        refetchSoon();
        return;
      }
      if (ev.status && ev.status !== task.status) {
        task.status = ev.status;
        paintBoard();
        ctx.announce(`${task.title}: ${statusLabel(ev.status)}`);
      }
    }),
  );
  // Create and explain
  explainBtn.addEventListener("click", async () => {
    if (!instruction.value.trim()) {
      replace(explainOut, h("p", { class: "form-error" }, "Write an instruction first; the router reads it."));
      instruction.focus();
      return;
    }
    replace(explainOut, h("p", {}, "Asking the router…"));
    try {
      const body = { instruction: instruction.value.trim() };
      if (modeText.checked && inputText.value) body.input = inputText.value;
      if (moduleSelect.value) body.module = moduleSelect.value;
      const decision = await api.post("/router/explain", body);
      replace(explainOut, h("section", { class: "notice", "aria-labelledby": "why-h" }, h("h3", { id: "why-h" }, "Why this route?"), decisionView(decision.decision || decision)));
    } catch (err) {
      replace(explainOut, h("p", { class: "form-error" }, err.message));
    }
  });

  function fail(message, input) {
    replace(createErrors, h("div", { class: "form-error", role: "alert" }, message));
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  // A file input is uploaded to the project first, then the task is created with input = the
  // file's id: the server attaches the file in the task's own write, so the task never runs
  // before its file is in place. A file that went up but whose task was refused (say, a
  // validation error) is reused on the next submit instead of being uploaded again.
  let uploaded = null; // { file, id }
  inputFile.addEventListener("change", () => {
    uploaded = null;
  });
  // The same request sent again (a lost response, a second click) keeps its Idempotency-Key,
  // so it returns the task it created instead of finding the file taken.
  let attempt = null; // { body: JSON, key }
  const keyFor = (body) => {
    const text = JSON.stringify(body);
    if (!attempt || attempt.body !== text) {
      const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
      attempt = { body: text, key };
    }
    return attempt.key;
  };
  const FILE_GONE = ["file_already_attached", "file_rejected", "file_not_found", "file_not_ready"];

  async function uploadInput(file) {
    if (uploaded && uploaded.file === file) return uploaded.id;
    progressWrap.hidden = false;
    const setProgress = (f) => {
      progress.value = Math.round(f * 100);
      progress.textContent = `${Math.round(f * 100)}%`;
    };
    setProgress(0);
    const ready = await uploadToProject(api, projectId, file, setProgress);
    uploaded = { file, id: ready.id };
    return ready.id;
  }

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    instruction.removeAttribute("aria-invalid");
    inputFile.removeAttribute("aria-invalid");
    if (!instruction.value.trim()) return fail("Write an instruction for the task.", instruction);
    const file = modeFile.checked ? inputFile.files[0] : null;
    if (modeFile.checked && !file) return fail("Choose a file, or switch the input to text.", inputFile);
    const body = {
      projectId,
      instruction: instruction.value.trim(),
      priority: prioritySelect.value,
    };
    if (title.value.trim()) body.title = title.value.trim();
    if (moduleSelect.value) body.module = moduleSelect.value;
    if (assigneeSelect.value) body.assigneeId = assigneeSelect.value;
    if (!file && inputText.value) body.input = inputText.value;
    createBtn.disabled = true;
    replace(createErrors);
    try {
      if (file) body.input = await uploadInput(file);
      const task = await api.post("/tasks", body, { "Idempotency-Key": keyFor(body) });
      uploaded = null; // the task has it now; the next task needs its own upload
      attempt = null;
      ctx.announce(`Task ${task.title} created`);
      title.value = "";
      instruction.value = "";
      inputText.value = "";
      inputFile.value = "";
      explainOut.textContent = "";
      if (!tasks.find((t) => t.id === task.id)) tasks.push(task);
      paintBoard();
      ctx.navigate(`/tasks/${encodeURIComponent(task.id)}`);
    } catch (err) {
      if (FILE_GONE.includes(err.code)) uploaded = null; // upload it again on the next try
      fail(err.message);
    } finally {
      createBtn.disabled = false;
      progressWrap.hidden = true;
    }
  });

  await loadTasks();
  return () => disposers.forEach((d) => d());
}
