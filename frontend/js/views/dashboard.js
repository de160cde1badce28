// Dashboard: dependency health (cached query), charts from GET /stats, and the live feed of
// the last 25 telemetry events across the user's projects (pause/resume). Everything follows
// the WebSocket's scope-all subscription: projects created, joined, renamed or left appear at
// once, charts refetch when their project's tasks change, and the feed starts with what the
// console has already heard (also on other screens), each item naming its task.
import { lineChart, statusBars } from "../charts.js";
import { formatClock, h, replace, statusBadge, statusLabel, uid } from "../dom.js";

const FEED_SIZE = 25;
const STATS_REFETCH_MS = 1_000;
const HEALTH_STALE_MS = 15_000;
const HEALTH_REFETCH_MS = 30_000;

/** The counts object from the stats payload, whichever shape the server chose. */
export function statusCounts(stats) {
  const raw = stats.byStatus || stats.counts || stats.statusCounts || stats.tasksByStatus || {};
  if (Array.isArray(raw)) {
    return Object.fromEntries(raw.map((r) => [r.status, Number(r.count ?? r.value ?? 0)]));
  }
  return raw;
}

function durationSeconds(item) {
  if (item.durationMs !== undefined) return Number(item.durationMs) / 1000;
  if (item.durationSeconds !== undefined) return Number(item.durationSeconds);
  if (item.seconds !== undefined) return Number(item.seconds);
  if (item.startedAt && item.finishedAt) {
    return (Date.parse(item.finishedAt) - Date.parse(item.startedAt)) / 1000;
  }
  return null;
}

function durations(stats) {
  const raw = stats.recentDurations || stats.durations || stats.recent || [];
  return raw
    .map((d) => ({ at: d.finishedAt || d.at || d.t, seconds: durationSeconds(d) }))
    .filter((d) => d.at && d.seconds !== null && Number.isFinite(d.seconds))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function throughput(stats, recent) {
  const raw = stats.throughput || stats.timeline || stats.perHour || null;
  if (Array.isArray(raw)) {
    return raw.map((p) => ({
      label: formatBucket(p.bucket || p.t || p.hour || p.at || p.date),
      value: Number(p.count ?? p.completed ?? p.value ?? 0),
    }));
  }
  // Derive finished tasks per hour from the recent durations.
  const buckets = new Map();
  for (const d of recent) {
    const t = new Date(d.at);
    t.setMinutes(0, 0, 0);
    buckets.set(t.toISOString(), (buckets.get(t.toISOString()) || 0) + 1);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, n]) => ({ label: formatBucket(t), value: n }));
}

function formatBucket(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function healthWord(value) {
  if (value === true || value === "ok" || (value && value.status === "ok")) return "ok";
  if (value === false || value === "down" || value === "error") return "down";
  if (value && typeof value === "object" && value.ok === true) return "ok";
  if (value && typeof value === "object" && value.ok === false) return "down";
  if (typeof value === "string") return value;
  return "unknown";
}

const HEALTH_GLYPH = { ok: "✓", down: "✕", degraded: "!", unknown: "?" };

function healthBadge(word) {
  const kind = ["ok", "down", "degraded"].includes(word) ? word : "unknown";
  return h(
    "span",
    { class: "badge", dataset: { health: kind } },
    h("span", { "aria-hidden": "true" }, HEALTH_GLYPH[kind]),
    word,
  );
}

export async function render(ctx) {
  const { api, live, query } = ctx;
  const disposers = [];

  const healthBody = h("div", { "aria-busy": "true" }, "Checking…");
  const healthUpdated = h("p", { class: "hint" });
  const refreshHealth = h("button", { type: "button", class: "btn ghost small" }, "Check now");
  const healthPanel = h(
    "section",
    { class: "panel glass", "aria-labelledby": "health-h" },
    h("div", { class: "row spread" }, h("h2", { id: "health-h" }, "System health"), refreshHealth),
    healthBody,
    healthUpdated,
  );

  const projectSelect = h("select", { id: uid("stats-project") });
  const chartsBody = h("div", { class: "stack" }, h("p", {}, "Loading charts…"));
  const chartsPanel = h(
    "section",
    { class: "panel glass", "aria-labelledby": "charts-h" },
    h(
      "div",
      { class: "row spread" },
      h("h2", { id: "charts-h" }, "Tasks"),
      h(
        "div",
        { class: "row" },
        h("label", { for: projectSelect.id }, "Project"),
        projectSelect,
      ),
    ),
    chartsBody,
  );

  const feedList = h("ol", { class: "feed", "aria-label": "Latest events" });
  const pauseBtn = h("button", { type: "button", class: "btn ghost small", "aria-pressed": "false" }, "Pause feed");
  const feedNote = h("p", { class: "hint" }, "Events appear here as tasks run.");
  const feedPanel = h(
    "section",
    { class: "panel glass", "aria-labelledby": "feed-h" },
    h("div", { class: "row spread" }, h("h2", { id: "feed-h" }, "Live feed"), pauseBtn),
    feedNote,
    feedList,
  );

  replace(
    ctx.main,
    h("h1", {}, "Dashboard"),
    h("div", { class: "cards" }, healthPanel, feedPanel),
    chartsPanel,
  );

  // Health: shared cache entry, so returning to the dashboard shows it at once.
  const fetchHealth = () => api.request("GET", "/health", { auth: false });
  function paintHealth({ data, error, updatedAt }) {
    healthBody.removeAttribute("aria-busy");
    if (error && !data) {
      replace(healthBody, h("p", {}, `Health check failed: ${error.message}`));
      return;
    }
    if (!data) return;
    const checks = data.checks || {};
    replace(
      healthBody,
      h(
        "p",
        {},
        "Overall: ",
        healthBadge(healthWord(data.status)),
        data.version ? ` version ${data.version}` : "",
      ),
      h(
        "ul",
        { class: "health-list" },
        Object.entries(checks).map(([name, value]) =>
          h("li", {}, h("span", {}, name), healthBadge(healthWord(value))),
        ),
      ),
    );
    healthUpdated.textContent = `Updated ${formatClock(new Date(updatedAt).toISOString())}${
      error ? " (latest check failed; showing the last result)" : ""
    }`;
  }
  disposers.push(
    query.watch("health", fetchHealth, paintHealth, {
      staleTime: HEALTH_STALE_MS,
      refetchInterval: HEALTH_REFETCH_MS,
    }),
  );
  refreshHealth.addEventListener("click", () => {
    query.fetch("health", fetchHealth, { force: true }).catch(() => {});
  });

  // Projects: the charts' selector, kept live.
  let projects = [];
  try {
    projects = await query.fetch("projects", () => api.listAll("/projects"), { staleTime: 10_000 });
  } catch (err) {
    replace(chartsBody, h("p", { class: "form-error", role: "alert" }, err.message));
  }
  const projectName = (id) => (projects.find((p) => p.id === id) || {}).name;

  function paintProjects() {
    const chosen = projectSelect.value;
    replace(
      projectSelect,
      projects.length
        ? projects.map((p) => h("option", { value: p.id, selected: p.id === chosen }, p.name))
        : h("option", { value: "" }, "No projects"),
    );
    if (projects.length && !projects.some((p) => p.id === chosen)) projectSelect.value = projects[0].id;
    return projectSelect.value !== chosen;
  }

  async function loadStats({ force = false } = {}) {
    const projectId = projectSelect.value;
    if (!projectId) {
      replace(chartsBody, h("p", {}, "Create a project to see task charts. ", h("a", { href: "#/projects" }, "Go to projects")));
      return;
    }
    if (!chartsBody.querySelector(".chart-grid")) replace(chartsBody, h("p", {}, "Loading charts…"));
    try {
      const stats = await query.fetch(`stats:${projectId}`, () => api.get("/stats", { projectId }), {
        staleTime: 10_000,
        force,
      });
      if (projectSelect.value !== projectId) return; // another project was chosen meanwhile
      const recent = durations(stats);
      replace(
        chartsBody,
        h(
          "div",
          { class: "chart-grid", dataset: { projectId, total: String(stats.total ?? "") } },
          h("figure", {}, h("figcaption", {}, `Tasks by status (${stats.total ?? "?"} in all)`), statusBars(statusCounts(stats))),
          h(
            "figure",
            {},
            h("figcaption", {}, "Finished tasks per hour"),
            lineChart("Throughput (finished tasks per hour)", throughput(stats, recent), "tasks"),
          ),
          h(
            "figure",
            {},
            h("figcaption", {}, "Duration of recent tasks"),
            lineChart(
              "Duration of recent tasks",
              recent.map((d) => ({ label: formatClock(d.at), value: d.seconds })),
              "seconds",
            ),
          ),
        ),
      );
    } catch (err) {
      replace(chartsBody, h("p", { class: "form-error", role: "alert" }, `Charts unavailable: ${err.message}`));
    }
  }
  paintProjects();
  projectSelect.addEventListener("change", () => loadStats());
  loadStats();

  let statsTimer = null;
  const statsSoon = () => {
    clearTimeout(statsTimer);
    statsTimer = setTimeout(() => loadStats({ force: true }), STATS_REFETCH_MS);
  };
  disposers.push(() => clearTimeout(statsTimer));

  const refreshProjects = async () => {
    try {
      projects = await query.fetch("projects", () => api.listAll("/projects"), { force: true });
    } catch {
      return; // keep the list shown
    }
    if (paintProjects()) loadStats();
    paintFeed();
  };
  disposers.push(
    live.onProject((message) => {
      if (message.change === "scope") return; // the list was loaded above
      query.invalidate("projects");
      const i = projects.findIndex((p) => p.id === message.projectId);
      if (message.change === "left" || message.change === "deleted") {
        if (i >= 0) projects.splice(i, 1);
      } else if (message.project) {
        if (i >= 0) projects[i] = message.project;
        else projects.push(message.project);
      }
      if (message.change === "created" || message.change === "joined") {
        ctx.announce(`Project ${message.project ? message.project.name : ""} ${message.change === "created" ? "created" : "shared with you"}`);
      }
      if (paintProjects()) loadStats();
      paintFeed();
    }),
  );
  disposers.push(
    live.onResync(() => {
      refreshProjects();
      statsSoon();
    }),
  );

  // Live feed: what the console already heard, then every new event, each naming its task.
  let paused = false;
  let held = [];
  const shown = live.recentEvents().reverse().slice(0, FEED_SIZE);
  function feedTitle(ev) {
    const title = ctx.titles.get(ev.taskId);
    if (title === undefined) ctx.titles.want(ev.taskId);
    return title || (title === null ? "a deleted task" : "a task");
  }
  function paintFeed() {
    if (!shown.length) {
      replace(feedList, h("li", { class: "hint" }, "Nothing yet."));
      return;
    }
    replace(
      feedList,
      shown.map((ev) =>
        h(
          "li",
          {},
          h("span", { class: "when" }, formatClock(ev.at)),
          ev.status ? statusBadge(ev.status) : null,
          " ",
          h("span", { class: "feed-project" }, projectName(ev.projectId) || "A project"),
          " · ",
          h("a", { href: `#/tasks/${encodeURIComponent(ev.taskId)}`, class: "feed-task" }, feedTitle(ev)),
          `: ${ev.message || statusLabel(ev.status)}`,
          h("span", { class: "hint" }, ` (${ev.kind})`),
        ),
      ),
    );
  }
  function addToFeed(ev) {
    shown.unshift(ev);
    shown.splice(FEED_SIZE);
  }
  pauseBtn.addEventListener("click", () => {
    paused = !paused;
    pauseBtn.setAttribute("aria-pressed", String(paused));
    pauseBtn.textContent = paused ? "Resume feed" : "Pause feed";
    if (!paused) {
      held.forEach(addToFeed);
      held = [];
      feedNote.textContent = "Events appear here as tasks run.";
      paintFeed();
    } else {
      feedNote.textContent = "Feed paused. New events are kept and shown when you resume.";
    }
  });
  let titleTimer = null;
  disposers.push(
    ctx.titles.onChange((taskId) => {
      if (!shown.some((ev) => ev.taskId === taskId)) return;
      clearTimeout(titleTimer);
      titleTimer = setTimeout(paintFeed, 50); // titles arrive in bursts
    }),
  );
  disposers.push(() => clearTimeout(titleTimer));
  disposers.push(
    live.onEvent((ev) => {
      if (ev.projectId === projectSelect.value && ev.kind === "status") statsSoon();
      if (paused) {
        held.push(ev);
        held.splice(0, Math.max(0, held.length - FEED_SIZE));
        feedNote.textContent = `Feed paused. ${held.length} new event${held.length === 1 ? "" : "s"} waiting.`;
        return;
      }
      addToFeed(ev);
      paintFeed();
    }),
  );
  // A task deleted anywhere leaves the feed (and its project's charts) at once.
  disposers.push(
    live.onTask((message) => {
      if (message.change !== "deleted") return;
      ctx.titles.set(message.taskId, null);
      if (message.projectId === projectSelect.value) statsSoon();
      const gone = (ev) => ev.taskId === message.taskId;
      held = held.filter((ev) => !gone(ev));
      if (!shown.some(gone)) return;
      shown.splice(0, shown.length, ...shown.filter((ev) => !gone(ev)));
      paintFeed();
    }),
  );
  paintFeed();

  return () => disposers.forEach((d) => d());
}
