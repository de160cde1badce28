// Task detail: what it is (status, duration, module), its result for people (raw JSON one click
// away), its input, the route decision, a live timeline without holes, files; edit (If-Match),
// cancel, retry and delete. Events are keyed by seq, so a replayed or gap-filled event is never
// shown twice, and live.js fills any hole it notices. A lost last event leaves no hole to
// notice, so the log is read again when the task (re-read after changes) is further on than
// its timeline, and when a queued or running task has been quiet for a while.
import { confirmDialog, modal } from "../dialog.js";
import { field, formatClock, formatTime, h, replace, statusBadge, statusLabel } from "../dom.js";
import { formatBytes, formatDuration, taskDurationMs } from "../format.js";
import { loadPeople } from "../people.js";
import { decisionView, inputView, isFileId, resultView } from "../route.js";
import { reviewPanel } from "../reviewpanel.js";
import { REASON_LABEL, reasonCodeOf, reasonWords } from "../reviewqueue.js";
import { attachFile, runOnFile } from "../upload.js";

const TERMINAL = new Set(["completed", "failed", "canceled"]);
const PRIORITIES = ["low", "normal", "high", "urgent"];
// The instruction can change while nothing runs it yet, or while a person reviews it.
const INSTRUCTION_EDITABLE = new Set(["queued", "needs_review"]);
const QUIET_MS = 8_000; // a queued/running task this long without an event: read the log again
// "data.csv_profile 1.0.0": the executor saying which module version started; not progress.
const MODULE_STARTED = /^[a-z0-9_]+\.[a-z0-9_.]+ v?\d+(\.\d+)*$/;

/** The words a timeline item shows: no "(0%)" noise, "Started …" for a module's first word. */
export function eventText(ev) {
  const message = ev.message || statusLabel(ev.status);
  if (ev.kind === "progress" && MODULE_STARTED.test(message)) return `Started ${message}`;
  const p = typeof ev.progress === "number" ? ev.progress : null;
  if (p !== null && p > 0 && p < 1 && !message.includes("%")) return `${message} (${Math.round(p * 100)}%)`;
  return message;
}

export async function render(ctx) {
  const { api, live } = ctx;
  const taskId = decodeURIComponent(ctx.params[0]);
  const tid = encodeURIComponent(taskId);
  const disposers = [];
  let task;
  try {
    task = await api.get(`/tasks/${tid}`);
  } catch (err) {
    replace(ctx.main, h("h1", {}, "Task not found"), h("p", { class: "form-error", role: "alert" }, err.message), h("a", { href: "#/projects" }, "Back to projects"));
    return;
  }
  ctx.titles.remember(task);
  ctx.rememberProject(task.projectId);
  const who = await loadPeople(api);

  const heading = h("h1", {});
  const statusLine = h("p", { class: "row task-facts" });
  const duration = h("p", { class: "duration", id: "task-duration" });
  const progress = h("progress", { max: "100", value: "0", id: "task-progress", "aria-labelledby": "task-progress-label", "aria-describedby": "task-progress-text" });
  const progressText = h("span", { class: "hint", id: "task-progress-text" });
  const actions = h("div", { class: "row" });
  const actionErrors = h("div");
  const decisionBody = h("div");
  const reviewBody = h("div");
  const reviewSection = h(
    "section",
    { class: "panel glass", "aria-labelledby": "review-h", id: "task-review", hidden: true },
    h("h2", { id: "review-h" }, "Waiting for you: review"),
    reviewBody,
  );
  const resultBody = h("div", { id: "task-result" });
  const rawToggle = h("button", { type: "button", class: "btn ghost small", "aria-expanded": "false", "aria-controls": "raw-json" }, "Show raw JSON");
  const raw = h("pre", { class: "raw", id: "raw-json", hidden: true, tabindex: "0", "aria-label": "The task as JSON" });
  const inputBody = h("div", { id: "task-input" });
  const timeline = h("ol", { class: "timeline", id: "timeline", "aria-label": "Task events" });
  const filesBody = h("div");
  const fileInput = h("input", { type: "file", name: "file" });
  const uploadProgress = h("progress", { max: "100", value: "0", id: "file-progress" });
  const uploadProgressWrap = h("div", { class: "field", hidden: true }, h("label", { for: "file-progress" }, "Upload progress"), uploadProgress);
  const uploadErrors = h("div");
  const uploadBtn = h("button", { type: "submit", class: "btn ghost" }, "Upload file");
  const uploadForm = h(
    "form",
    { "aria-label": "File upload", novalidate: true },
    uploadErrors,
    field("Attach a file", fileInput).wrap,
    uploadProgressWrap,
    uploadBtn,
  );

  replace(
    ctx.main,
    h("p", {}, h("a", { href: `#/projects/${encodeURIComponent(task.projectId)}` }, "← Back to the board")),
    heading,
    h(
      "section",
      { class: "panel glass", "aria-labelledby": "overview-h" },
      h("h2", { id: "overview-h", class: "visually-hidden" }, "Overview"),
      duration,
      statusLine,
      h("div", { class: "field" }, h("span", { class: "label", id: "task-progress-label" }, "Progress"), progress, progressText),
      actions,
      actionErrors,
    ),
    reviewSection,
    h(
      "section",
      { class: "panel glass", "aria-labelledby": "result-h" },
      h("div", { class: "row spread" }, h("h2", { id: "result-h" }, "Result"), rawToggle),
      resultBody,
      raw,
    ),
    h(
      "div",
      { class: "cards" },
      h("section", { class: "panel glass", "aria-labelledby": "input-h" }, h("h2", { id: "input-h" }, "Input"), inputBody),
      h("section", { class: "panel glass", "aria-labelledby": "route-h" }, h("h2", { id: "route-h" }, "Route decision"), decisionBody),
    ),
    h("section", { class: "panel glass", "aria-labelledby": "timeline-h" }, h("h2", { id: "timeline-h" }, "Timeline"), timeline),
    h("section", { class: "panel glass", "aria-labelledby": "files-h" }, h("h2", { id: "files-h" }, "Files"), filesBody, uploadForm),
  );

  // Handlers go on before any await, so an early submit never falls through to the browser.
  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) {
      replace(uploadErrors, h("div", { class: "form-error", role: "alert" }, "Choose a file first."));
      fileInput.focus();
      return;
    }
    replace(uploadErrors);
    uploadBtn.disabled = true;
    uploadProgressWrap.hidden = false;
    try {
      await attachFile(api, taskId, file, (f) => {
        uploadProgress.value = Math.round(f * 100);
        uploadProgress.textContent = `${Math.round(f * 100)}%`;
      });
      fileInput.value = "";
      ctx.announce(`${file.name} uploaded`);
      await loadFiles();
    } catch (err) {
      replace(uploadErrors, h("div", { class: "form-error", role: "alert" }, err.message));
    } finally {
      uploadBtn.disabled = false;
    }
  });

  rawToggle.addEventListener("click", () => {
    const open = raw.hidden;
    raw.hidden = !open;
    rawToggle.setAttribute("aria-expanded", String(open));
    rawToggle.textContent = open ? "Hide raw JSON" : "Show raw JSON";
  });

  // Progress: a bar only when the module reports steps between 0 and 100; otherwise words.
  let fraction = 0;
  let stepped = false;
  function paintProgress() {
    const s = task.status;
    let text;
    if (s === "completed") {
      progress.value = 100;
      text = "Done";
    } else if (s === "running" && !stepped) {
      progress.removeAttribute("value"); // indeterminate: it runs, no steps to show
      text = "Running";
    } else if (s === "running") {
      progress.value = Math.round(fraction * 100);
      text = `${Math.round(fraction * 100)}%`;
    } else {
      progress.value = Math.round(fraction * 100);
      text = { queued: "Waiting to start", needs_review: "Waiting for a person", failed: "Failed", canceled: "Canceled" }[s] || statusLabel(s);
    }
    progress.textContent = text;
    progressText.textContent = text;
  }

  function paintDuration() {
    const ms = taskDurationMs(task);
    if (task.status === "queued") duration.textContent = "Waiting in the queue";
    else if (ms === null) duration.textContent = task.status === "needs_review" ? "Waiting for a person" : "Did not run";
    else if (task.finishedAt) duration.textContent = `Took ${formatDuration(ms)}`;
    else duration.textContent = `Running for ${formatDuration(ms)}`;
  }
  const ticker = setInterval(() => {
    if (task.status === "running") paintDuration();
  }, 1000);
  disposers.push(() => clearInterval(ticker));

  const cancelBtn = h("button", { type: "button", class: "btn danger" }, "Cancel task");
  const retryBtn = h("button", { type: "button", class: "btn" }, "Retry");
  const editBtn = h("button", { type: "button", class: "btn ghost" }, "Edit");
  const deleteBtn = h("button", { type: "button", class: "btn ghost danger-text" }, "Delete task");
  const deleteHint = h("span", { class: "hint", id: "delete-hint", hidden: true }, "A running task is canceled before it can be deleted.");
  cancelBtn.addEventListener("click", () => act("cancel"));
  retryBtn.addEventListener("click", () => act("retry"));
  editBtn.addEventListener("click", () => openEditor());
  deleteBtn.addEventListener("click", () => deleteTask());
  replace(actions, cancelBtn, retryBtn, editBtn, deleteBtn, deleteHint);

  let paintedKey = null;
  function paintOutcome(module) {
    replace(decisionBody, decisionView(task.route));
    if (task.status === "failed" && task.error) {
      replace(resultBody, h("div", { class: "form-error" }, `${task.error.code || "error"}: ${task.error.message || ""}`));
    } else if (task.result !== null && task.result !== undefined) {
      replace(resultBody, resultView(module, task.result));
    } else if (task.status === "completed") {
      replace(resultBody, h("p", {}, "Completed; the result is stored separately (see raw JSON)."));
    } else {
      replace(resultBody, h("p", {}, task.status === "needs_review" ? "Waiting for a person to review." : "No result yet."));
    }
  }

  function paintTask() {
    heading.textContent = task.title;
    const module = (task.route && task.route.module) || task.module;
    replace(
      statusLine,
      statusBadge(task.status),
      module ? h("span", {}, h("code", {}, module)) : null,
      h("span", {}, `Priority ${task.priority}`),
      h("span", {}, `Assignee ${who(task.assigneeId)}`),
      h("span", {}, `Attempt ${task.attempts}`),
      h("span", {}, `Created ${formatTime(task.createdAt)}`),
      task.finishedAt ? h("span", {}, `Finished ${formatTime(task.finishedAt)}`) : null,
    );
    paintDuration();
    // Repaint the result and the decision only when they change: no flicker, and focus or a
    // scrolled table stays where the person left it.
    const key = JSON.stringify([task.status, task.result, task.error, task.route, module]);
    if (key !== paintedKey) {
      paintedKey = key;
      paintOutcome(module);
    }
    raw.textContent = JSON.stringify(task, null, 2);
    paintProgress();
    // The buttons stay the same elements (a dialog gives focus back to the one that opened it).
    cancelBtn.hidden = TERMINAL.has(task.status);
    retryBtn.hidden = !["failed", "canceled", "needs_review"].includes(task.status);
    retryBtn.textContent = task.status === "needs_review" ? "Route again" : "Retry";
    paintReview();
    deleteBtn.disabled = task.status === "running";
    deleteHint.hidden = task.status !== "running";
    if (task.status === "running") deleteBtn.setAttribute("aria-describedby", "delete-hint");
    else deleteBtn.removeAttribute("aria-describedby");
  }

  // A task waiting for a person offers the review actions here too (reviewpanel.js). The panel
  // is built again only when the task changed, never under the person's cursor.
  let reviewKey = null;
  function paintReview() {
    const waiting = task.status === "needs_review";
    reviewSection.hidden = !waiting;
    if (!waiting) {
      reviewKey = null;
      replace(reviewBody);
      return;
    }
    const key = `${task.version}`;
    if (key === reviewKey || reviewBody.contains(document.activeElement)) return;
    reviewKey = key;
    const code = reasonCodeOf(task);
    replace(
      reviewBody,
      h(
        "div",
        { class: "why notice" },
        h("p", {}, h("strong", {}, `Why it waits: ${REASON_LABEL[code] || "no route"}. `), reasonWords(task)),
        task.route && task.route.reason ? h("p", { class: "hint" }, `The router: ${task.route.reason}`) : null,
      ),
      reviewPanel(ctx, task, {
        onDone(done) {
          task = done;
          ctx.reviews.forget(task.id);
          paintTask();
          paintInput();
          h1Focus();
        },
        onStale: () => reloadTask(),
      }),
    );
  }

  function h1Focus() {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  async function act(which) {
    replace(actionErrors);
    try {
      task = await api.post(`/tasks/${tid}/${which}`);
      paintTask();
      ctx.announce(which === "cancel" ? "Cancel requested" : "Task queued again");
      if (which === "retry") ctx.reviews.forget(task.id);
    } catch (err) {
      replace(actionErrors, h("div", { class: "form-error", role: "alert" }, err.message));
    }
  }

  async function deleteTask() {
    const ok = await confirmDialog({
      title: `Delete “${task.title}”?`,
      message: h(
        "div",
        {},
        h("p", {}, "The task goes at once, with its timeline, its result and its files (uploads and large results included)."),
        h("p", {}, "This cannot be undone."),
      ),
      confirmLabel: "Delete task",
    });
    if (!ok) return;
    try {
      await api.del(`/tasks/${tid}`);
      ctx.announce(`Task ${task.title} deleted`);
      ctx.navigate(`/projects/${encodeURIComponent(task.projectId)}`);
    } catch (err) {
      replace(actionErrors, h("div", { class: "form-error", role: "alert" }, err.message));
    }
  }

  async function openEditor() {
    let project = null;
    try {
      project = await api.get(`/projects/${encodeURIComponent(task.projectId)}`);
    } catch {
      project = { memberIds: task.assigneeId ? [task.assigneeId] : [] };
    }
    let base = task; // the version the edit is made against
    const title = h("input", { name: "title", maxlength: "200", required: true, value: task.title });
    const priority = h("select", { name: "priority" }, PRIORITIES.map((p) => h("option", { value: p, selected: p === task.priority }, p)));
    const members = [...new Set([...(project.memberIds || []), task.assigneeId].filter(Boolean))];
    const assignee = h(
      "select",
      { name: "assignee" },
      h("option", { value: "", selected: !task.assigneeId }, "Nobody"),
      members.map((id) => h("option", { value: id, selected: id === task.assigneeId }, who(id))),
    );
    const canInstruct = INSTRUCTION_EDITABLE.has(task.status);
    const instruction = h("textarea", { name: "instruction", maxlength: "20000", disabled: !canInstruct });
    instruction.value = task.instruction;
    const errors = h("div");
    const save = h("button", { type: "submit", class: "btn" }, "Save changes");
    const cancelBtn = h("button", { type: "button", class: "btn ghost" }, "Cancel");
    const form = h(
      "form",
      { novalidate: true },
      errors,
      field("Title", title).wrap,
      h("div", { class: "grid2" }, field("Priority", priority).wrap, field("Assignee", assignee).wrap),
      field(
        "Instruction",
        instruction,
        canInstruct
          ? "Changing it changes what the task does; the router reads it again."
          : `The instruction can change while the task is queued or waiting for review; it is ${statusLabel(task.status)}.`,
      ).wrap,
      h("div", { class: "row dialog-actions" }, cancelBtn, save),
    );
    const box = modal({ title: "Edit task", content: form });
    cancelBtn.addEventListener("click", () => box.close(null));
    title.focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      if (!title.value.trim()) {
        replace(errors, h("div", { class: "form-error", role: "alert" }, "The title cannot be empty."));
        title.focus();
        return;
      }
      if (title.value.trim() !== base.title) body.title = title.value.trim();
      if (priority.value !== base.priority) body.priority = priority.value;
      if ((assignee.value || null) !== (base.assigneeId || null)) body.assigneeId = assignee.value || null;
      if (canInstruct && instruction.value.trim() && instruction.value.trim() !== base.instruction) {
        body.instruction = instruction.value.trim();
      }
      if (!Object.keys(body).length) {
        box.close(null);
        return;
      }
      save.disabled = true;
      try {
        task = await api.patch(`/tasks/${tid}`, body, base.version);
        ctx.titles.remember(task);
        paintTask();
        ctx.announce("Task saved");
        box.close(true);
      } catch (err) {
        if (err.status === 412) {
          // Someone saved in between: show what they changed; a second Save overwrites it.
          try {
            base = await api.get(`/tasks/${tid}`);
          } catch {
            /* keep the old base; the message still explains */
          }
          replace(
            errors,
            h(
              "div",
              { class: "form-error", role: "alert" },
              `Someone else changed this task while you edited it (now: “${base.title}”, priority ${base.priority}, assignee ${who(base.assigneeId)}). Your changes are still here; Save again to replace theirs.`,
            ),
          );
        } else {
          replace(errors, h("div", { class: "form-error", role: "alert" }, err.message));
        }
      } finally {
        save.disabled = false;
      }
    });
  }

  // Input: text, JSON, or a file (name, size, download).
  async function paintInput() {
    if (!isFileId(task.input)) {
      replace(inputBody, inputView(task.input));
      return;
    }
    try {
      const file = await api.get(`/files/${encodeURIComponent(task.input)}`);
      const download = h("button", { type: "button", class: "btn ghost small" }, `Download ${file.filename}`);
      download.addEventListener("click", () => fetchDownload(file, download));
      replace(
        inputBody,
        h(
          "dl",
          { class: "kv" },
          h("dt", {}, "File"),
          h("dd", {}, file.filename),
          h("dt", {}, "Size"),
          h("dd", {}, formatBytes(file.size)),
          h("dt", {}, "Type"),
          h("dd", {}, file.contentType),
        ),
        h("p", {}, download),
      );
    } catch (err) {
      replace(inputBody, h("p", {}, `A file (${task.input}); its details could not be loaded: ${err.message}`));
    }
  }

  /** Download links are short-lived: fetch one when asked, then offer it. */
  async function fetchDownload(file, button) {
    try {
      const full = await api.get(`/files/${encodeURIComponent(file.id)}`);
      if (full.downloadUrl) {
        const link = h("a", { href: full.downloadUrl, rel: "noopener noreferrer", download: file.filename }, `Download ${file.filename}`);
        button.replaceWith(link);
        link.focus();
      }
    } catch (err) {
      button.after(h("span", { class: "form-error" }, err.message));
    }
  }

  // Timeline
  const events = new Map(); // seq -> event
  let lastEventAt = Date.now();
  function addEvent(ev) {
    if (ev.taskId !== taskId || events.has(ev.seq)) return false;
    events.set(ev.seq, ev);
    lastEventAt = Date.now();
    const item = h(
      "li",
      { dataset: { seq: String(ev.seq), kind: ev.kind } },
      h("span", { class: "seq" }, `#${ev.seq}`),
      " ",
      h("span", { class: "when" }, formatClock(ev.at)),
      " ",
      ev.status ? statusBadge(ev.status) : null,
      " ",
      h("strong", {}, ev.kind),
      ` — ${eventText(ev)}`,
    );
    // Keep seq order even when a gap fill arrives after later live events.
    const after = [...timeline.children].find((li) => Number(li.dataset.seq) > ev.seq);
    timeline.insertBefore(item, after || null);
    if (typeof ev.progress === "number" && ev.seq >= maxSeq()) {
      fraction = ev.progress;
      if (ev.progress > 0 && ev.progress < 1) stepped = true;
    }
    return true;
  }
  const maxSeq = () => Math.max(0, ...events.keys());

  let reloadTimer = null;
  const reloadTask = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(async () => {
      try {
        const before = task.status;
        const inputBefore = task.input;
        task = await api.get(`/tasks/${tid}`);
        ctx.titles.remember(task);
        paintTask();
        // The task is further on than its timeline: an event was lost on the way; read the log.
        const last = events.get(maxSeq());
        if (!last || last.status !== task.status) live.fillTask(taskId);
        if (task.input !== inputBefore) paintInput();
        if (task.status !== before) loadFiles();
      } catch {
        /* keep what is shown; the next event retries */
      }
    }, 150);
  };
  disposers.push(() => clearTimeout(reloadTimer));

  function onLiveEvent(ev) {
    if (ev.taskId !== taskId) return;
    if (!addEvent(ev)) return;
    if (ev.status && ev.status !== task.status) {
      task.status = ev.status;
      ctx.announce(`Task ${statusLabel(ev.status)}`);
    }
    // Route, result and version live on the task: fetch it after meaningful changes.
    if (ev.kind !== "progress" && ev.kind !== "log") reloadTask();
    else paintTask();
  }

  // A queued or running task that has gone quiet: its next event may have been lost on the
  // way (the log has it), so read the log and the task again.
  const watchdog = setInterval(() => {
    if (!["queued", "running"].includes(task.status) || Date.now() - lastEventAt < QUIET_MS) return;
    lastEventAt = Date.now();
    live.fillTask(taskId);
    reloadTask();
  }, 1000);
  disposers.push(() => clearInterval(watchdog));

  // Watch first, then load the history, so nothing falls between the two; live.js fills
  // any hole between what the history had and what arrives live.
  disposers.push(live.watchTask(taskId, onLiveEvent));
  disposers.push(live.onResync(reloadTask));
  // Deleted elsewhere (someone else, another tab): say so rather than show what is gone.
  disposers.push(
    live.onTask((message) => {
      if (message.taskId !== taskId || message.change !== "deleted") return;
      clearInterval(watchdog);
      const board = `#/projects/${encodeURIComponent(task.projectId)}`;
      replace(actionErrors, h("p", { class: "form-error", role: "alert" }, "This task was deleted. ", h("a", { href: board }, "Back to the board")));
    }),
  );
  paintTask();
  paintInput();
  try {
    const history = await api.listAll(`/tasks/${tid}/activity`, {}, 2000);
    history.sort((a, b) => a.seq - b.seq).forEach(addEvent);
    live.holdLog(taskId, history);
  } catch (err) {
    replace(timeline, h("li", {}, `Could not load the history: ${err.message}`));
  }
  paintTask();
  // The task may have moved on while the history loaded.
  reloadTask();

  // Files
  async function loadFiles() {
    try {
      const files = await api.listAll(`/tasks/${tid}/files`);
      if (!files.length) {
        replace(filesBody, h("p", {}, "No files."));
        return;
      }
      replace(
        filesBody,
        h(
          "ul",
          { class: "plain-list files" },
          files.map((f) => {
            const li = h("li", {}, h("strong", {}, f.filename), ` ${formatBytes(f.size)}, ${f.status} `);
            if (f.status === "ready") {
              const btn = h("button", { type: "button", class: "btn ghost small", "aria-label": `Download link for ${f.filename}` }, "Download link");
              btn.addEventListener("click", () => fetchDownload(f, btn));
              li.append(btn);
              if (task.status === "failed" || task.status === "canceled") {
                const run = h("button", { type: "button", class: "btn small", "aria-label": `Run again on ${f.filename}` }, "Run on this file");
                run.addEventListener("click", async () => {
                  try {
                    task = await runOnFile(api, taskId, f.id);
                    paintTask();
                    paintInput();
                    ctx.announce("Task queued again on the file");
                  } catch (err) {
                    li.append(h("span", { class: "form-error" }, err.message));
                  }
                });
                li.append(" ", run);
              }
            }
            return li;
          }),
        ),
      );
    } catch (err) {
      replace(filesBody, h("p", {}, err.message));
    }
  }
  loadFiles();

  return () => disposers.forEach((d) => d());
}
