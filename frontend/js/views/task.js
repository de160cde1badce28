// Task detail: route decision, live timeline with progress, result per module (raw JSON on
// demand), cancel/retry, files with download links. Events are keyed by seq, so a replayed
// or gap-filled event is never shown twice.
import { field, formatClock, formatTime, h, replace, statusBadge, statusLabel } from "../dom.js";
import { decisionView, resultView } from "../route.js";
import { attachFile, runOnFile } from "../upload.js";

const TERMINAL = new Set(["completed", "failed", "canceled"]);

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

  const heading = h("h1", {});
  const statusLine = h("p", { class: "row" });
  const progress = h("progress", { max: "100", value: "0", id: "task-progress", "aria-label": "Task progress" });
  const progressText = h("span", { class: "hint", id: "task-progress-text" });
  const actions = h("div", { class: "row" });
  const actionErrors = h("div");
  const decisionBody = h("div");
  const resultBody = h("div", { id: "task-result" });
  const rawToggle = h("button", { type: "button", class: "btn ghost small", "aria-expanded": "false", "aria-controls": "raw-json" }, "Show raw JSON");
  const raw = h("pre", { class: "raw", id: "raw-json", hidden: true });
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
      statusLine,
      h("div", { class: "field" }, h("label", { for: "task-progress" }, "Progress"), progress, progressText),
      actions,
      actionErrors,
    ),
    h(
      "div",
      { class: "cards" },
      h("section", { class: "panel glass", "aria-labelledby": "route-h" }, h("h2", { id: "route-h" }, "Route decision"), decisionBody),
      h(
        "section",
        { class: "panel glass", "aria-labelledby": "result-h" },
        h("div", { class: "row spread" }, h("h2", { id: "result-h" }, "Result"), rawToggle),
        resultBody,
        raw,
      ),
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

  function paintTask() {
    heading.textContent = task.title;
    replace(
      statusLine,
      statusBadge(task.status),
      h("span", {}, `Priority ${task.priority}`),
      h("span", {}, `Attempt ${task.attempts}`),
      h("span", {}, `Created ${formatTime(task.createdAt)}`),
      task.finishedAt ? h("span", {}, `Finished ${formatTime(task.finishedAt)}`) : null,
    );
    replace(decisionBody, decisionView(task.route));
    const module = (task.route && task.route.module) || task.module;
    if (task.status === "failed" && task.error) {
      replace(resultBody, h("div", { class: "form-error" }, `${task.error.code || "error"}: ${task.error.message || ""}`));
    } else if (task.result !== null && task.result !== undefined) {
      replace(resultBody, resultView(module, task.result));
    } else if (task.status === "completed") {
      replace(resultBody, h("p", {}, "Completed; the result is stored separately (see raw JSON)."));
    } else {
      replace(resultBody, h("p", {}, task.status === "needs_review" ? "Waiting for a person to review." : "No result yet."));
    }
    raw.textContent = JSON.stringify(task, null, 2);
    if (task.status === "completed") setProgress(1);
    const cancel = h("button", { type: "button", class: "btn danger" }, "Cancel task");
    const retry = h("button", { type: "button", class: "btn" }, "Retry");
    cancel.hidden = TERMINAL.has(task.status);
    retry.hidden = !(task.status === "failed" || task.status === "canceled");
    cancel.addEventListener("click", () => act("cancel"));
    retry.addEventListener("click", () => act("retry"));
    replace(actions, cancel, retry);
  }

  async function act(which) {
    replace(actionErrors);
    try {
      task = await api.post(`/tasks/${tid}/${which}`);
      paintTask();
      ctx.announce(which === "cancel" ? "Cancel requested" : "Task queued again");
    } catch (err) {
      replace(actionErrors, h("div", { class: "form-error", role: "alert" }, err.message));
    }
  }

  function setProgress(fraction) {
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    progress.value = pct;
    progress.textContent = `${pct}%`;
    progressText.textContent = `${pct}%`;
  }

  // Timeline
  const events = new Map(); // seq -> event
  function addEvent(ev) {
    if (ev.taskId !== taskId || events.has(ev.seq)) return false;
    events.set(ev.seq, ev);
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
      ` — ${ev.message || statusLabel(ev.status)}`,
      typeof ev.progress === "number" ? ` (${Math.round(ev.progress * 100)}%)` : "",
    );
    // Keep seq order even when a gap fill arrives after later live events.
    const after = [...timeline.children].find((li) => Number(li.dataset.seq) > ev.seq);
    timeline.insertBefore(item, after || null);
    if (typeof ev.progress === "number") setProgress(ev.progress);
    return true;
  }

  let reloadTimer = null;
  const reloadTask = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(async () => {
      try {
        const before = task.status;
        task = await api.get(`/tasks/${tid}`);
        paintTask();
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

  // Listen first, then load the history, so nothing falls between the two.
  disposers.push(live.onEvent(onLiveEvent));
  disposers.push(live.subscribe("taskId", taskId));
  disposers.push(live.onResync(reloadTask));
  paintTask();
  try {
    const history = await api.listAll(`/tasks/${tid}/activity`, {}, 2000);
    history.sort((a, b) => a.seq - b.seq).forEach(addEvent);
    live.remember(history);
  } catch (err) {
    replace(timeline, h("li", {}, `Could not load the history: ${err.message}`));
  }
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
          {},
          files.map((f) => {
            const li = h("li", {}, `${f.filename} (${f.size} bytes, ${f.status}) `);
            if (f.status === "ready") {
              const btn = h("button", { type: "button", class: "btn ghost small", "aria-label": `Get download link for ${f.filename}` }, "Download link");
              btn.addEventListener("click", async () => {
                try {
                  const full = await api.get(`/files/${encodeURIComponent(f.id)}`);
                  if (full.downloadUrl) {
                    const link = h("a", { href: full.downloadUrl, rel: "noopener noreferrer", download: f.filename }, `Download ${f.filename}`);
                    btn.replaceWith(link);
                    link.focus();
                  }
                } catch (err) {
                  li.append(h("span", { class: "form-error" }, err.message));
                }
              });
              li.append(btn);
              if (task.status === "failed" || task.status === "canceled") {
                const run = h("button", { type: "button", class: "btn small", "aria-label": `Run again on ${f.filename}` }, "Run on this file");
                run.addEventListener("click", async () => {
                  try {
                    task = await runOnFile(api, taskId, f.id);
                    paintTask();
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
