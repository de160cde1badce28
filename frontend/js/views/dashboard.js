// Dashboard: dependency health (cached query), charts from GET /stats, and the live feed of
// the last 25 telemetry events across the user's projects (pause/resume).
import { lineChart, statusBars } from "../charts.js";
import { formatClock, h, replace, statusBadge, statusLabel, uid } from "../dom.js";

const FEED_SIZE = 25;
const FEED_PROJECTS = 10;
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

  // Projects: stats selector and feed subscriptions.
  let projects = [];
  try {
    projects = await query.fetch("projects", () => api.listAll("/projects"), { staleTime: 10_000 });
  } catch (err) {
    replace(chartsBody, h("p", { class: "form-error", role: "alert" }, err.message));
  }
  const titles = new Map(projects.map((p) => [p.id, p.name]));

  async function loadStats() {
    const projectId = projectSelect.value;
    if (!projectId) {
      replace(chartsBody, h("p", {}, "Create a project to see task charts. ", h("a", { href: "#/projects" }, "Go to projects")));
      return;
    }
    replace(chartsBody, h("p", {}, "Loading charts…"));
    try {
      const stats = await query.fetch(`stats:${projectId}`, () => api.get("/stats", { projectId }), {
        staleTime: 10_000,
      });
      const recent = durations(stats);
      replace(
        chartsBody,
        h(
          "div",
          { class: "chart-grid" },
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
  for (const p of projects) projectSelect.append(h("option", { value: p.id }, p.name));
  if (!projects.length) projectSelect.append(h("option", { value: "" }, "No projects"));
  projectSelect.addEventListener("change", loadStats);
  loadStats();

  // Live feed.
  const followed = new Set();
  let paused = false;
  let held = [];
  const shown = [];
  function paintFeed() {
    replace(
      feedList,
      shown.map((ev) =>
        h(
          "li",
          {},
          h("span", { class: "when" }, formatClock(ev.at)),
          ev.status ? statusBadge(ev.status) : null,
          ` ${titles.get(ev.projectId) || "Project"}: `,
          h("a", { href: `#/tasks/${encodeURIComponent(ev.taskId)}` }, ev.message || statusLabel(ev.status)),
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
  disposers.push(
    live.onEvent((ev) => {
      if (!followed.has(ev.projectId)) return;
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
  // The feed follows the most recently active projects (one subscription each).
  const recent = [...projects].sort((a, b) =>
    String(b.updatedAt || b.createdAt).localeCompare(String(a.updatedAt || a.createdAt)),
  );
  for (const p of recent.slice(0, FEED_PROJECTS)) {
    followed.add(p.id);
    disposers.push(live.subscribe("projectId", p.id));
  }

  return () => disposers.forEach((d) => d());
}
