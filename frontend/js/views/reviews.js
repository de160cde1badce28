// Reviews: the tasks that wait for a person (GET /reviews), oldest first, each with why it
// waits (the router's reasonCode in words), its instruction and input, the router's pick and
// alternatives, and the actions (answer, run with a module, give input, reject). Live: a task
// someone acted on (here, in another tab, or someone else) leaves the list at once; a task that
// starts waiting joins it (reviewqueue.js hears both over the WebSocket).
import { formatTime, h, replace, uid } from "../dom.js";
import { inputView, isFileId } from "../route.js";
import { REASON_LABEL, reasonCodeOf, reasonWords } from "../reviewqueue.js";
import { reviewPanel } from "../reviewpanel.js";

const PAGE = 20;
const ACTED = "someone acted on it";

export async function render(ctx) {
  const { api, reviews } = ctx;
  const disposers = [];
  const projectFilter = h("select", { id: uid("rv-project"), name: "projectId" }, h("option", { value: "" }, "All projects"));
  const reasonFilter = h(
    "select",
    { id: uid("rv-reason"), name: "reasonCode" },
    h("option", { value: "" }, "Any reason"),
    Object.entries(REASON_LABEL).map(([code, label]) => h("option", { value: code }, label)),
  );
  const summary = h("p", { class: "hint", id: "reviews-summary" });
  const list = h("ol", { class: "review-list plain-list", "aria-label": "Tasks waiting for review" });
  const more = h("button", { type: "button", class: "btn ghost", hidden: true }, "Show more");
  const listErrors = h("div");
  const heading = h("h1", {}, "Reviews");

  replace(
    ctx.main,
    heading,
    h(
      "p",
      {},
      "Tasks the router could not give to the executor or the language model wait here for a person: answer them, run them with a module, give them their input, or reject them.",
    ),
    h(
      "form",
      { class: "row filters panel glass", role: "search", "aria-label": "Filter reviews" },
      h("label", { for: projectFilter.id }, "Project"),
      projectFilter,
      h("label", { for: reasonFilter.id }, "Why it waits"),
      reasonFilter,
    ),
    summary,
    listErrors,
    list,
    more,
  );

  const projects = new Map();
  try {
    const all = await ctx.query.fetch("projects", () => api.listAll("/projects"), { staleTime: 10_000 });
    for (const p of all) {
      projects.set(p.id, p.name);
      projectFilter.append(h("option", { value: p.id }, p.name));
    }
  } catch {
    /* the filter offers all projects only; items still show their project id */
  }

  const shown = new Map(); // taskId -> li
  const mine = new Set(); // acted on here: no "someone else" note when it leaves
  let cursor = null;
  let loadToken = 0;

  function paintSummary() {
    const n = shown.size;
    if (!n) summary.textContent = cursor ? "Nothing here yet; older tasks are further on." : "Nothing waits for review.";
    else summary.textContent = `${n} task${n === 1 ? "" : "s"} ${n === 1 ? "waits" : "wait"} for a person${cursor ? " (more below)" : ""}.`;
    more.hidden = !cursor;
  }

  async function load(reset) {
    const token = ++loadToken;
    replace(listErrors);
    if (reset) {
      cursor = null;
      shown.clear();
      replace(list);
      list.setAttribute("aria-busy", "true");
    }
    try {
      const page = await api.get("/reviews", {
        projectId: projectFilter.value || undefined,
        reasonCode: reasonFilter.value || undefined,
        limit: PAGE,
        cursor: reset ? undefined : cursor,
      });
      if (token !== loadToken) return;
      for (const task of page.items || []) add(task);
      cursor = page.nextCursor || null;
    } catch (err) {
      if (token === loadToken) replace(listErrors, h("p", { class: "form-error", role: "alert" }, err.message));
    } finally {
      if (token === loadToken) list.removeAttribute("aria-busy");
    }
    paintSummary();
  }

  function matches(task) {
    if (task.status !== "needs_review") return false;
    if (projectFilter.value && task.projectId !== projectFilter.value) return false;
    return !reasonFilter.value || reasonCodeOf(task) === reasonFilter.value;
  }

  function add(task) {
    if (shown.has(task.id) || !matches(task)) return;
    const li = item(task);
    shown.set(task.id, li);
    list.append(li);
  }

  // note: why it left, announced unless this person acted. Focus moves on to the next item when
  // it was in this one, or when the person is acting from it: the busy (disabled) button has
  // dropped focus to the page, and the task's event may arrive before the answer does.
  function drop(taskId, note) {
    const li = shown.get(taskId);
    if (!li) return;
    shown.delete(taskId);
    const active = document.activeElement;
    const sending = (!active || active === document.body) && li.querySelector("button:disabled");
    const hadFocus = li.contains(active) || Boolean(sending);
    const next = li.nextElementSibling || li.previousElementSibling;
    const title = li.dataset.title;
    li.remove();
    if (hadFocus) {
      const target = next ? next.querySelector("h2 a") : heading;
      if (target === heading) heading.setAttribute("tabindex", "-1");
      target.focus();
    }
    if (note && !mine.has(taskId) && !sending) ctx.announce(`“${title}” no longer waits: ${note}`);
    paintSummary();
  }

  function item(task) {
    const titleId = uid("rv-title");
    const route = task.route || {};
    const alternatives = route.alternatives || [];
    const code = reasonCodeOf(task);
    const inputBody = h("div", {}, inputView(task.input));
    if (isFileId(task.input)) fileDetails(task.input, inputBody);
    const panel = reviewPanel(ctx, task, {
      onDone(done) {
        mine.add(task.id);
        reviews.forget(task.id);
        drop(task.id, false);
        return done;
      },
      onStale() {
        // Someone acted first: its event removes the item; read the task in case it was lost.
        api
          .get(`/tasks/${encodeURIComponent(task.id)}`)
          .then((now) => {
            if (now.status !== "needs_review") drop(task.id, ACTED);
          })
          .catch(() => drop(task.id, ACTED));
      },
    });
    return h(
      "li",
      { class: "review-item panel glass", dataset: { taskId: task.id, title: task.title } },
      h(
        "article",
        { "aria-labelledby": titleId },
        h("h2", { id: titleId }, h("a", { href: `#/tasks/${encodeURIComponent(task.id)}` }, task.title)),
        h(
          "p",
          { class: "row hint" },
          h("span", {}, `Project ${projects.get(task.projectId) || task.projectId}`),
          h("span", {}, `Waiting since ${formatTime(task.updatedAt)}`),
          h("span", {}, `Priority ${task.priority}`),
        ),
        h(
          "div",
          { class: "why notice" },
          h("p", {}, h("strong", {}, `Why it waits: ${REASON_LABEL[code] || "no route"}. `), reasonWords(task)),
          route.reason ? h("p", { class: "hint" }, `The router: ${route.reason}`) : null,
        ),
        h(
          "div",
          { class: "review-body" },
          h(
            "dl",
            { class: "kv" },
            h("dt", {}, "Instruction"),
            h("dd", { class: "result-text" }, task.instruction),
            h("dt", {}, "Input"),
            h("dd", {}, inputBody),
            h("dt", {}, "Module asked for"),
            h("dd", {}, route.module ? h("code", {}, route.module) : "—"),
            route.params && Object.keys(route.params).length
              ? [h("dt", {}, "Parameters read"), h("dd", {}, h("code", {}, JSON.stringify(route.params)))]
              : null,
            h("dt", {}, "Alternatives"),
            h(
              "dd",
              {},
              alternatives.length
                ? h(
                    "ul",
                    { class: "tight-list" },
                    alternatives.map((a) => h("li", {}, h("code", {}, String(a.module)), ` score ${Number(a.score || 0).toFixed(2)}`)),
                  )
                : "none",
            ),
          ),
          // Not a landmark (nor are the panel's forms): one per item would repeat "Act on it",
          // and tasks may share a title; the h3 leads to it.
          h("div", {}, h("h3", {}, "Act on it"), panel),
        ),
      ),
    );
  }

  async function fileDetails(fileId, where) {
    try {
      const file = await api.get(`/files/${encodeURIComponent(fileId)}`);
      replace(where, h("p", {}, `File ${file.filename}, ${file.contentType}, ${file.size} bytes`));
    } catch {
      /* the id stays shown */
    }
  }

  // Live: the queue says which tasks left it or joined it.
  disposers.push(
    reviews.onChange(({ added, removed, deleted }) => {
      for (const id of removed) drop(id, deleted.includes(id) ? "it was deleted" : ACTED);
      // A task that starts waiting is the newest: it belongs at the end, once every older page
      // is shown.
      if (cursor) return;
      for (const id of added) {
        if (shown.has(id)) continue;
        api
          .get(`/tasks/${encodeURIComponent(id)}`)
          .then((task) => {
            if (reviews.has(task.id) && !cursor) {
              add(task);
              paintSummary();
            }
          })
          .catch(() => {});
      }
    }),
  );

  projectFilter.addEventListener("change", () => load(true));
  reasonFilter.addEventListener("change", () => load(true));
  projectFilter.closest("form").addEventListener("submit", (event) => event.preventDefault());
  more.addEventListener("click", () => load(false));

  await load(true);
  return () => disposers.forEach((d) => d());
}
