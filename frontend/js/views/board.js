// A project's board: tasks in status columns (module and duration on each card), filters and
// a search over what is loaded, live updates (the project's tasks and the project itself), and
// the create-task form with file upload and a "why this route?" preview.
import { loadCatalog } from "../catalog.js";
import { field, formatTime, h, replace, STATUSES, statusBadge, statusLabel, uid } from "../dom.js";
import { formatDuration, taskDurationMs } from "../format.js";
import { loadPeople } from "../people.js";
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
  ctx.rememberProject(projectId);
  const who = await loadPeople(api);

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
  const search = h("input", {
    type: "search",
    id: uid("task-search"),
    name: "q",
    autocomplete: "off",
    placeholder: "Title or instruction",
    "aria-keyshortcuts": "/",
  });
  const filters = h(
    "form",
    { class: "row filters", "aria-label": "Filters", role: "search" },
    h("label", { for: search.id }, "Search"),
    search,
    h("label", { for: statusFilter.id }, "Status"),
    statusFilter,
    h("label", { for: assigneeFilter.id }, "Assignee"),
    assigneeFilter,
  );
  filters.addEventListener("submit", (e) => e.preventDefault());
  // On a phone the filters fold away (one line) so the first card is near the top.
  const filtersFold = h(
    "details",
    { class: "filters-fold", open: !window.matchMedia("(max-width: 640px)").matches },
    h("summary", {}, "Search and filters"),
    filters,
  );

  const boardEl = h("div", { class: "board", "aria-busy": "true" });
  const boardStatus = h("p", { class: "hint", role: "status" });

  // Create form
  const catalog = await loadCatalog(ctx);
  const title = h("input", { name: "title", maxlength: "200", autocomplete: "off" });
  const instruction = h("textarea", { name: "instruction", required: true, maxlength: "20000", "aria-keyshortcuts": "n" });
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

  const heading = h("h1", {}, project.name);
  const descriptionEl = h("p", { hidden: !project.description }, project.description || "");
  const projectNotice = h("div");
  replace(
    ctx.main,
    h("p", {}, h("a", { href: "#/projects" }, "← All projects"), " · ", h("a", { href: `#/projects/${encodeURIComponent(projectId)}/settings` }, "Project settings")),
    heading,
    descriptionEl,
    projectNotice,
    h("section", { class: "panel glass board-panel", "aria-labelledby": "board-h" }, h("h2", { id: "board-h" }, "Tasks"), filtersFold, boardStatus, boardEl),
    createForm,
  );

  // Shortcuts: "n" writes a new task, "/" searches.
  ctx.provide({
    newTask: () => {
      instruction.scrollIntoView({ block: "center" });
      instruction.focus();
    },
    search: () => {
      filtersFold.open = true;
      search.focus();
    },
  });

  // Board data
  let tasks = [];
  function matches(t) {
    const q = search.value.trim().toLowerCase();
    if (!q) return true;
    return `${t.title}\n${t.instruction || ""}`.toLowerCase().includes(q);
  }
  function card(t) {
    const module = (t.route && t.route.module) || t.module;
    const ms = taskDurationMs(t);
    let took = null;
    if (t.status === "running") took = "running";
    else if (ms !== null && t.finishedAt) took = formatDuration(ms);
    return h(
      "li",
      {},
      h(
        "a",
        { class: "card", href: `#/tasks/${encodeURIComponent(t.id)}`, dataset: { taskId: t.id } },
        h("span", { class: "card-title" }, t.title),
        module || took
          ? h(
              "span",
              { class: "meta card-run" },
              module ? h("code", { class: "module" }, module) : null,
              module && took ? " · " : null,
              took ? h("span", { class: "took" }, took) : null,
            )
          : null,
        h("span", { class: "meta" }, `${t.priority} · ${who(t.assigneeId)} · ${formatTime(t.createdAt)}`),
      ),
    );
  }
  function paintBoard() {
    boardEl.removeAttribute("aria-busy");
    const wanted = statusFilter.value ? [statusFilter.value] : STATUSES;
    const shown = tasks.filter(matches);
    boardStatus.textContent = search.value.trim()
      ? `${shown.length} of ${tasks.length} task${tasks.length === 1 ? "" : "s"} match “${search.value.trim()}”.`
      : `${tasks.length} task${tasks.length === 1 ? "" : "s"} shown.`;
    replace(
      boardEl,
      wanted.map((status) => {
        const inColumn = shown
          .filter((t) => t.status === status)
          .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
        const headingId = uid("col");
        return h(
          "section",
          {
            class: "column glass",
            "aria-labelledby": headingId,
            dataset: { column: status, empty: String(!inColumn.length) },
          },
          h("h3", { id: headingId }, statusBadge(status), h("span", { class: "count", "aria-label": `${inColumn.length} tasks` }, String(inColumn.length))),
          inColumn.length ? h("ol", {}, inColumn.map(card)) : h("p", { class: "hint none" }, "None"),
        );
      }),
    );
  }
  search.addEventListener("input", paintBoard);

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
        ctx.titles.rememberAll(tasks);
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
    live.onProject((message) => {
      if (message.projectId !== projectId) return;
      if (message.change === "updated" && message.project) {
        project = message.project;
        heading.textContent = project.name;
        descriptionEl.textContent = project.description || "";
        descriptionEl.hidden = !project.description;
        document.title = `${project.name} · AION`;
      } else if (message.change === "deleted" || message.change === "left") {
        const why = message.change === "deleted" ? "This project was deleted." : "You are no longer a member of this project.";
        replace(projectNotice, h("p", { class: "form-error", role: "alert" }, why, " ", h("a", { href: "#/projects" }, "Go to your projects")));
        createBtn.disabled = true;
      }
    }),
  );
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
        // Start and finish times (the card's duration) live on the task.
        if (ev.kind === "status") refetchSoon();
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
      ctx.titles.remember(task);
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
