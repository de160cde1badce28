// A project's board: tasks in status columns (module and duration on each card), each column
// paging through its own list with "Load more"; filters, text search and sort done by the
// server (GET /tasks); a selection mode with bulk cancel/retry/delete (POST /tasks/bulk); live
// updates (the project's tasks, deletions, the project itself); and the create-task form with
// file upload and a "why this route?" preview.
import { loadCatalog } from "../catalog.js";
import { confirmDialog } from "../dialog.js";
import { append, field, formatTime, h, replace, STATUSES, statusBadge, statusLabel, uid } from "../dom.js";
import { formatDuration, taskDurationMs } from "../format.js";
import { loadPeople } from "../people.js";
import { decisionView } from "../route.js";
import { uploadToProject } from "../upload.js";

const PRIORITIES = ["low", "normal", "high", "urgent"];
const PAGE_SIZE = 20;
const FINISHED = ["completed", "failed", "canceled"];
const SORTS = {
  "created-desc": { sort: "created", order: "desc", label: "Newest first" },
  "created-asc": { sort: "created", order: "asc", label: "Oldest first" },
  "updated-desc": { sort: "updated", order: "desc", label: "Recently updated" },
  "updated-asc": { sort: "updated", order: "asc", label: "Least recently updated" },
  "duration-desc": { sort: "duration", order: "desc", label: "Longest run first" },
  "duration-asc": { sort: "duration", order: "asc", label: "Shortest run first" },
};
// POST /tasks/bulk takes at most this many ids; a larger selection goes in turns.
const BULK_MAX = 100;
const BULK = {
  cancel: {
    verb: "Cancel",
    doing: "Canceling",
    explain: "Queued tasks and tasks waiting for review are canceled at once; running ones are asked to stop. Finished tasks stay as they are.",
  },
  retry: {
    verb: "Retry",
    doing: "Retrying",
    explain: "Failed and canceled tasks run again as a new attempt. Others stay as they are.",
  },
  delete: {
    verb: "Delete",
    doing: "Deleting",
    explain: "The tasks go with their timeline, files and results. Running tasks are not deleted: cancel them first.",
  },
};
const BULK_DONE = ["canceled", "cancel_requested", "retried", "deleted"];
// How a bulk outcome reads in the summary ("3 canceled, 1 already finished, 1 not found").
const OUTCOME_TEXT = {
  canceled: "canceled",
  cancel_requested: "asked to stop",
  retried: "retried",
  deleted: "deleted",
  already_finished: "already finished",
  not_retryable: "not failed or canceled",
  running: "running (cancel first)",
  not_found: "not found",
  conflict: "changing (try again)",
  error: "could not be changed",
};

/** "3 canceled, 1 already finished, 1 not found." from a bulk answer's results. */
export function summarize(results) {
  const counts = new Map();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) || 0) + 1);
  const parts = [...counts].map(([outcome, n]) => `${n} ${OUTCOME_TEXT[outcome] || outcome}`);
  return parts.length ? `${parts.join(", ")}.` : "Nothing to do.";
}

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

  // Filters: every one of them is the server's (GET /tasks), so they hold over thousands of
  // tasks; each column pages through its own list (its status) with "Load more".
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
  const moduleFilter = h("select", { id: uid("module-filter") }, h("option", { value: "" }, "Any module"));
  const fromInput = h("input", { type: "date", id: uid("created-from") });
  const toInput = h("input", { type: "date", id: uid("created-to") });
  const sortSelect = h(
    "select",
    { id: uid("sort") },
    Object.entries(SORTS).map(([value, s]) => h("option", { value }, s.label)),
  );
  const search = h("input", {
    type: "search",
    id: uid("task-search"),
    name: "q",
    autocomplete: "off",
    maxlength: "200",
    placeholder: "Title or instruction",
    "aria-keyshortcuts": "/",
  });
  const filterError = h("p", { class: "form-error", role: "alert", hidden: true });
  const clearFilters = h("button", { type: "button", class: "btn ghost small" }, "Clear filters");
  const pair = (label, input) => h("span", { class: "filter" }, h("label", { for: input.id }, label), input);
  const filters = h(
    "form",
    { class: "row filters", "aria-label": "Filters", role: "search" },
    pair("Search", search),
    pair("Status", statusFilter),
    pair("Module", moduleFilter),
    pair("Assignee", assigneeFilter),
    pair("Created from", fromInput),
    pair("Created to", toInput),
    pair("Sort", sortSelect),
    clearFilters,
  );
  filters.addEventListener("submit", (e) => e.preventDefault());
  // On a phone the filters fold away (one line) so the first card is near the top.
  const filtersFold = h(
    "details",
    { class: "filters-fold", open: !window.matchMedia("(max-width: 640px)").matches },
    h("summary", {}, "Search and filters"),
    filters,
    filterError,
  );

  // Selection: a mode with a checkbox per card and the bulk actions (POST /tasks/bulk).
  const selectToggle = h("button", { type: "button", class: "btn ghost small", "aria-pressed": "false" }, "Select tasks");
  const selectedCount = h("span", { class: "selected-count" }, "None selected");
  const selectAllBtn = h("button", { type: "button", class: "btn ghost small" }, "Select all shown");
  const clearSelBtn = h("button", { type: "button", class: "btn ghost small" }, "Clear selection");
  const bulkButtons = {
    cancel: h("button", { type: "button", class: "btn small", dataset: { bulk: "cancel" } }, "Cancel selected"),
    retry: h("button", { type: "button", class: "btn small", dataset: { bulk: "retry" } }, "Retry selected"),
    delete: h("button", { type: "button", class: "btn danger small", dataset: { bulk: "delete" } }, "Delete selected"),
  };
  const bulkBar = h(
    "div",
    { class: "row bulk-bar", role: "group", "aria-label": "Selected tasks", hidden: true },
    selectedCount,
    selectAllBtn,
    clearSelBtn,
    Object.values(bulkButtons),
  );
  const bulkResult = h("div", { class: "bulk-result", role: "status" });
  const toolbar = h("div", { class: "row board-tools" }, selectToggle);

  const boardEl = h("div", { class: "board", "aria-busy": "true" });
  const boardStatus = h("p", { class: "hint", role: "status" });

  // Create form
  const catalog = await loadCatalog(ctx);
  append(moduleFilter, catalog.map((m) => h("option", { value: m.name }, m.name)));
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
    h(
      "section",
      { class: "panel glass board-panel", "aria-labelledby": "board-h" },
      h("h2", { id: "board-h" }, "Tasks"),
      filtersFold,
      toolbar,
      bulkBar,
      bulkResult,
      boardStatus,
      boardEl,
    ),
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

  // Board data: one list per status column, each with its own cursor.
  const columns = new Map(); // status -> {status, items, cursor, read, loading, error, sort, section}
  const selected = new Map(); // taskId -> task
  let selecting = false;
  let generation = 0; // a filter change makes older answers stale

  function wantedStatuses() {
    return statusFilter.value ? [statusFilter.value] : STATUSES;
  }
  function dayStart(value, addDays = 0) {
    const [y, m, d] = value.split("-").map(Number);
    return new Date(y, m - 1, d + addDays); // the person's own midnight
  }
  function columnQuery(status) {
    const chosen = SORTS[sortSelect.value];
    // Tasks that have not finished have no run time: those columns stay newest first.
    const sortable = chosen.sort !== "duration" || FINISHED.includes(status);
    const query = {
      projectId,
      status,
      limit: PAGE_SIZE,
      sort: sortable ? chosen.sort : "created",
      order: sortable ? chosen.order : "desc",
    };
    if (search.value.trim()) query.q = search.value.trim();
    if (moduleFilter.value) query.module = moduleFilter.value;
    if (assigneeFilter.value) query.assigneeId = assigneeFilter.value;
    if (fromInput.value) query.createdFrom = dayStart(fromInput.value).toISOString();
    if (toInput.value) query.createdBefore = dayStart(toInput.value, 1).toISOString();
    return query;
  }
  function filtered() {
    return Boolean(search.value.trim() || moduleFilter.value || assigneeFilter.value || fromInput.value || toInput.value);
  }

  function card(t) {
    const module = (t.route && t.route.module) || t.module;
    const ms = taskDurationMs(t);
    let took = null;
    if (t.status === "running") took = "running";
    else if (ms !== null && t.finishedAt) took = formatDuration(ms);
    const link = h(
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
    );
    if (!selecting) return h("li", {}, link);
    const box = h("input", {
      type: "checkbox",
      class: "select-task",
      checked: selected.has(t.id),
      "aria-label": `Select ${t.title}`,
      dataset: { taskId: t.id },
    });
    box.addEventListener("change", () => {
      if (box.checked) selected.set(t.id, t);
      else selected.delete(t.id);
      paintSelection();
    });
    return h("li", { class: "selectable" }, box, link);
  }

  function columnSection(col) {
    if (!col.section) {
      col.headingId = uid("col");
      col.section = h("section", { class: "column glass", "aria-labelledby": col.headingId, dataset: { column: col.status } });
    }
    return col.section;
  }

  /** Paints one column; focus: the index of the card to focus (the first of a page loaded). */
  function paintColumn(col, focus = null) {
    const section = columnSection(col);
    const n = col.items.length;
    const more = Boolean(col.cursor);
    section.dataset.empty = String(!n && !more && !col.loading);
    if (col.loading) section.setAttribute("aria-busy", "true");
    else section.removeAttribute("aria-busy");
    const countText = `${n}${more ? "+" : ""}`;
    const countLabel = `${n} task${n === 1 ? "" : "s"} shown${more ? ", more to load" : ""}`;
    let foot = null;
    if (col.error) {
      foot = h("p", { class: "form-error", role: "alert" }, col.error);
    } else if (more) {
      const searched = filtered() && col.read > n;
      const button = h(
        "button",
        { type: "button", class: "btn ghost small load-more", "aria-label": `${searched ? "Search further in" : "Load more"} ${statusLabel(col.status)}`, disabled: col.loading },
        col.loading ? "Loading…" : searched ? "Search further" : "Load more",
      );
      button.addEventListener("click", () => loadColumn(col, true));
      foot = h(
        "div",
        { class: "column-foot" },
        searched ? h("p", { class: "hint" }, `${col.read} read so far${n ? "" : ", none match"}.`) : null,
        button,
      );
    }
    const sortNote =
      col.sort && col.sort !== SORTS[sortSelect.value].sort
        ? h("p", { class: "hint sort-note" }, "Newest first: no run time yet.")
        : null;
    replace(
      section,
      h("h3", { id: col.headingId }, statusBadge(col.status), h("span", { class: "count", "aria-label": countLabel }, countText)),
      sortNote,
      n ? h("ol", {}, col.items.map(card)) : col.loading ? h("p", { class: "hint" }, "Loading…") : more ? null : h("p", { class: "hint none" }, "None"),
      foot,
    );
    if (focus !== null) {
      const target = section.querySelectorAll("a.card")[focus] || section.querySelector(".load-more") || section.querySelector("h3");
      if (target) {
        if (target.tagName === "H3") target.setAttribute("tabindex", "-1");
        target.focus();
      }
    }
  }

  function paintBoard() {
    boardEl.removeAttribute("aria-busy");
    replace(boardEl, wantedStatuses().map((status) => columnSection(columns.get(status))));
    for (const status of wantedStatuses()) paintColumn(columns.get(status));
    paintStatus();
  }

  function paintStatus() {
    const cols = wantedStatuses().map((s) => columns.get(s));
    if (cols.some((c) => c.loading && !c.items.length && !c.cursor)) return;
    const shown = cols.reduce((sum, c) => sum + c.items.length, 0);
    const read = cols.reduce((sum, c) => sum + c.read, 0);
    const more = cols.some((c) => c.cursor);
    const q = search.value.trim();
    const plural = (n) => `${n} task${n === 1 ? "" : "s"}`;
    if (filtered()) {
      const what = q ? ` match “${q}”` : " match the filters";
      boardStatus.textContent = `${plural(shown)}${what} (${plural(read)} read${more ? "; more to search" : ""}).`;
    } else {
      boardStatus.textContent = `${plural(shown)} shown${more ? "; more to load" : ""}.`;
    }
  }

  async function fetchPage(col, cursor) {
    return api.get("/tasks", { ...columnQuery(col.status), cursor: cursor || undefined });
  }

  async function loadColumn(col, more = false) {
    if (col.loading) return;
    const gen = generation;
    const focusFirstNew = more && col.section && col.section.contains(document.activeElement);
    const before = col.items.length;
    col.loading = true;
    paintColumn(col);
    try {
      const page = await fetchPage(col, more ? col.cursor : null);
      if (gen !== generation) return;
      const fresh = (page && page.items) || [];
      ctx.titles.rememberAll(fresh);
      const known = new Set(more ? col.items.map((t) => t.id) : []);
      col.items = more ? [...col.items, ...fresh.filter((t) => !known.has(t.id))] : fresh;
      col.cursor = page.nextCursor || null;
      col.read = (more ? col.read : 0) + (page.itemsRead ?? fresh.length);
      col.sort = columnQuery(col.status).sort;
      col.error = null;
    } catch (err) {
      if (gen !== generation) return;
      col.error = err.message;
    } finally {
      if (gen === generation) {
        col.loading = false;
        paintColumn(col, focusFirstNew ? before : null);
        paintStatus();
      }
    }
  }

  /** Re-reads a column's first pages (as many tasks as it shows), after a live change. */
  async function refreshColumn(col) {
    const gen = generation;
    const want = Math.max(col.items.length, PAGE_SIZE);
    const items = [];
    let cursor = null;
    let read = 0;
    try {
      for (let pages = 0; pages < 5; pages += 1) {
        const page = await fetchPage(col, cursor);
        if (gen !== generation) return;
        for (const t of page.items || []) if (!items.some((x) => x.id === t.id)) items.push(t);
        read += page.itemsRead ?? (page.items || []).length;
        cursor = page.nextCursor || null;
        if (!cursor || items.length >= want) break;
      }
    } catch {
      return; // the next change or a reconnect tries again
    }
    ctx.titles.rememberAll(items);
    Object.assign(col, { items, cursor, read, error: null });
    const focused = col.section && col.section.contains(document.activeElement) ? document.activeElement : null;
    paintColumn(col);
    if (focused && !col.section.contains(focused)) {
      const again = focused.dataset && focused.dataset.taskId && col.section.querySelector(`[data-task-id="${CSS.escape(focused.dataset.taskId)}"]`);
      if (again) again.focus();
    }
    paintStatus();
  }

  function reloadAll() {
    const error = filterProblem();
    filterError.hidden = !error;
    filterError.textContent = error || "";
    if (error) return;
    generation += 1;
    for (const status of STATUSES) {
      const col = columns.get(status);
      Object.assign(col, { items: [], cursor: null, read: 0, loading: false, error: null });
    }
    paintBoard();
    for (const status of wantedStatuses()) loadColumn(columns.get(status));
  }
  function filterProblem() {
    if (fromInput.value && toInput.value && toInput.value < fromInput.value) return "“Created to” is before “Created from”.";
    return null;
  }
  for (const status of STATUSES) columns.set(status, { status, items: [], cursor: null, read: 0, loading: false, error: null, sort: null });

  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(reloadAll, 300);
  });
  disposers.push(() => clearTimeout(searchTimer));
  for (const input of [statusFilter, assigneeFilter, moduleFilter, fromInput, toInput, sortSelect]) {
    input.addEventListener("change", reloadAll);
  }
  clearFilters.addEventListener("click", () => {
    for (const input of [search, statusFilter, assigneeFilter, moduleFilter, fromInput, toInput]) input.value = "";
    sortSelect.value = "created-desc";
    reloadAll();
    search.focus();
  });

  // Where a task is on the board.
  function locate(taskId) {
    for (const col of columns.values()) {
      const index = col.items.findIndex((t) => t.id === taskId);
      if (index >= 0) return { col, index, task: col.items[index] };
    }
    return null;
  }
  function removeTask(taskId) {
    const found = locate(taskId);
    if (!found) return null;
    found.col.items.splice(found.index, 1);
    selected.delete(taskId);
    return found;
  }
  /** Puts a task where the column's order says, if it falls among what is loaded. */
  function place(task) {
    const col = columns.get(task.status);
    if (!col || !wantedStatuses().includes(task.status)) return false;
    const sort = col.sort || "created";
    if (sort !== "created" || filtered()) return false; // the server knows where: ask it
    const desc = columnQuery(task.status).order === "desc";
    const after = (a, b) => (desc ? String(a.createdAt) < String(b.createdAt) : String(a.createdAt) > String(b.createdAt));
    let index = col.items.findIndex((t) => after(t, task));
    if (index < 0) {
      if (col.cursor) return true; // beyond what is loaded: "Load more" brings it
      index = col.items.length;
    }
    col.items.splice(index, 0, task);
    return true;
  }

  const columnTimers = new Map();
  function refreshSoon(status) {
    const col = columns.get(status);
    if (!col || !wantedStatuses().includes(status)) return;
    clearTimeout(columnTimers.get(status));
    columnTimers.set(status, setTimeout(() => refreshColumn(col), 500));
  }
  const taskTimers = new Map();
  function rereadSoon(taskId) {
    clearTimeout(taskTimers.get(taskId));
    taskTimers.set(
      taskId,
      setTimeout(async () => {
        taskTimers.delete(taskId);
        let task;
        try {
          task = await api.get(`/tasks/${encodeURIComponent(taskId)}`);
        } catch {
          return; // gone: its deletion message removes it
        }
        const found = removeTask(taskId);
        if (!place(task)) refreshSoon(task.status);
        if (found) paintColumn(found.col);
        if (found && found.col.status !== task.status) paintColumn(columns.get(task.status));
        paintStatus();
      }, 300),
    );
  }
  disposers.push(() => {
    for (const t of [...columnTimers.values(), ...taskTimers.values()]) clearTimeout(t);
  });

  // Selection and bulk actions
  function paintSelection() {
    const n = selected.size;
    selectedCount.textContent = n ? `${n} selected` : "None selected";
    for (const button of [...Object.values(bulkButtons), clearSelBtn]) button.disabled = !n;
  }
  function setSelecting(on) {
    selecting = on;
    selectToggle.setAttribute("aria-pressed", String(on));
    selectToggle.textContent = on ? "Done selecting" : "Select tasks";
    bulkBar.hidden = !on;
    if (!on) selected.clear();
    paintSelection();
    for (const status of wantedStatuses()) paintColumn(columns.get(status));
  }
  selectToggle.addEventListener("click", () => setSelecting(!selecting));
  selectAllBtn.addEventListener("click", () => {
    for (const status of wantedStatuses()) for (const t of columns.get(status).items) selected.set(t.id, t);
    paintSelection();
    for (const box of boardEl.querySelectorAll("input.select-task")) box.checked = true;
  });
  clearSelBtn.addEventListener("click", () => {
    selected.clear();
    paintSelection();
    for (const box of boardEl.querySelectorAll("input.select-task")) box.checked = false;
    selectToggle.focus();
  });
  for (const [action, button] of Object.entries(bulkButtons)) button.addEventListener("click", () => runBulk(action));

  async function runBulk(action) {
    const ids = [...selected.keys()];
    if (!ids.length) return;
    const n = ids.length;
    const noun = `${n} task${n === 1 ? "" : "s"}`;
    const what = BULK[action];
    const ok = await confirmDialog({
      title: `${what.verb} ${noun}?`,
      message: h("p", {}, what.explain),
      confirmLabel: `${what.verb} ${noun}`,
      danger: action !== "retry",
    });
    if (!ok) return;
    for (const button of Object.values(bulkButtons)) button.disabled = true;
    replace(bulkResult, h("p", {}, `${what.doing} ${noun}…`));
    const results = [];
    try {
      for (let i = 0; i < ids.length; i += BULK_MAX) {
        const body = await api.post("/tasks/bulk", { action, taskIds: ids.slice(i, i + BULK_MAX) });
        results.push(...(body.results || []));
      }
    } catch (err) {
      replace(bulkResult, h("p", { class: "form-error", role: "alert" }, `${err.message}${results.length ? ` (after ${results.length} tasks)` : ""}`));
    }
    if (results.length) {
      const sentence = summarize(results);
      const titled = (r) => (selected.get(r.taskId) || {}).title || ctx.titles.get(r.taskId) || r.taskId;
      const left = results.filter((r) => !BULK_DONE.includes(r.outcome));
      replace(
        bulkResult,
        h("p", { class: "bulk-summary" }, sentence),
        left.length
          ? h(
              "details",
              {},
              h("summary", {}, `Not done: ${left.length}`),
              h("ul", { class: "tight-list" }, left.map((r) => h("li", {}, h("strong", {}, titled(r)), `: ${r.message}`))),
            )
          : null,
      );
      ctx.announce(sentence);
      for (const r of results) {
        if (r.outcome === "deleted" || r.outcome === "not_found") removeTask(r.taskId);
        if (BULK_DONE.includes(r.outcome)) selected.delete(r.taskId);
      }
    }
    paintSelection();
    for (const status of wantedStatuses()) refreshColumn(columns.get(status));
  }

  // Live: the project's events move cards; a deletion removes one; a reconnect re-reads.
  disposers.push(live.subscribe("projectId", projectId));
  disposers.push(
    live.onResync(() => {
      for (const status of wantedStatuses()) refreshSoon(status);
    }),
  );
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
    live.onTask((message) => {
      if (message.projectId !== projectId || message.change !== "deleted") return;
      const found = removeTask(message.taskId);
      if (!found) return;
      paintColumn(found.col);
      paintSelection();
      paintStatus();
      ctx.announce(`${found.task.title}: deleted`);
    }),
  );
  disposers.push(
    live.onEvent((ev) => {
      if (ev.projectId !== projectId) return;
      const found = locate(ev.taskId);
      if (!found) {
        // Someone else's task, or one not loaded: its column asks the server (filters apply).
        if (ev.status) refreshSoon(ev.status);
        return;
      }
      if (ev.kind === "update") {
        rereadSoon(ev.taskId);
        return;
      }
      if (ev.status && ev.status !== found.task.status) {
        removeTask(ev.taskId);
        const moved = { ...found.task, status: ev.status };
        if (!place(moved)) refreshSoon(ev.status);
        paintColumn(found.col);
        if (columns.get(ev.status)) paintColumn(columns.get(ev.status));
        paintStatus();
        // Start and finish times (the card's duration) live on the task.
        if (ev.kind === "status") rereadSoon(ev.taskId);
        ctx.announce(`${found.task.title}: ${statusLabel(ev.status)}`);
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
      if (!locate(task.id) && place(task)) paintColumn(columns.get(task.status));
      ctx.navigate(`/tasks/${encodeURIComponent(task.id)}`);
    } catch (err) {
      if (FILE_GONE.includes(err.code)) uploaded = null; // upload it again on the next try
      fail(err.message);
    } finally {
      createBtn.disabled = false;
      progressWrap.hidden = true;
    }
  });

  paintSelection();
  reloadAll();
  return () => disposers.forEach((d) => d());
}
