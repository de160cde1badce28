// One WebSocket per tab. Opened with a single-use ws-ticket; subscribes with scope "all"
// (every project the user belongs to, now and later) plus whatever the screen watches
// (reference counted); reconnects with exponential backoff and jitter.
//
// Gap-free timelines: events are deduplicated by (taskId, seq), and for each task a screen
// watches (a task subscription) the console keeps the seq up to which it holds the log
// without holes. An event beyond the next one (a message lost on the way, or a server fan-out
// that had not seen this subscription yet) fetches the missing part from
// GET /tasks/{id}/activity?after=<that seq>; so does a reconnect and fillTask() (a screen's
// watchdog). seq strictly increases but need not be contiguous (a writer that died leaves a
// hole), so a fill that finds nothing in a hole simply moves past it.

const PING_EVERY_MS = 4.5 * 60_000; // well inside API Gateway's 10-minute idle timeout
const MAX_AGE_MS = 110 * 60_000; // reconnect before the 2-hour connection limit
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const SEEN_PER_TASK = 2_000;
const TASKS_TRACKED = 1_000;
const RECENT_LIMIT = 50;
const FILL_PAGES = 20;

export class Live {
  constructor(api, wsUrl, { scopeAll = true } = {}) {
    this.api = api;
    this.wsUrl = wsUrl;
    this.scopeAll = scopeAll;
    this.ws = null;
    this.state = "idle"; // idle | connecting | open | reconnecting
    this.stopped = true;
    this.attempt = 0;
    this.everOpened = false;
    this.subs = new Map(); // "taskId:<id>" | "projectId:<id>" -> refcount
    this.seen = new Map(); // taskId -> Set(seq) delivered
    this.lastSeq = new Map(); // taskId -> highest seq delivered
    this.complete = new Map(); // watched taskId -> seq up to which the log is held without holes
    this.filling = new Map(); // taskId -> {promise, again}
    this.recent = []; // the latest events across all subscriptions, oldest first
    this.projectIds = new Set(); // what scope all covers
    this.listeners = new Set();
    this.stateListeners = new Set();
    this.resyncListeners = new Set();
    this.projectListeners = new Set();
    this.timers = {};
  }

  onEvent(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onState(fn) {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  /** fn() after a reconnect, for views that should refetch lists (events were missed). */
  onResync(fn) {
    this.resyncListeners.add(fn);
    return () => this.resyncListeners.delete(fn);
  }

  /**
   * fn(message) for project-level changes: {type: "project", change: "created" | "joined" |
   * "updated" | "left" | "deleted", projectId, project?}; also {change: "scope"} when scope
   * all (re)subscribed, with projectIds.
   */
  onProject(fn) {
    this.projectListeners.add(fn);
    return () => this.projectListeners.delete(fn);
  }

  /** The latest events (newest last), for screens that show a feed as soon as they open. */
  recentEvents() {
    return [...this.recent];
  }

  setState(state) {
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "signed out");
    }
    this.subs.clear();
    this.lastSeq.clear();
    this.seen.clear();
    this.complete.clear();
    this.recent = [];
    this.projectIds.clear();
    this.everOpened = false;
    this.setState("idle");
  }

  clearTimers() {
    for (const t of Object.values(this.timers)) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.timers = {};
  }

  async connect() {
    if (this.stopped) return;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    let ticket;
    try {
      const body = await this.api.post("/auth/ws-ticket");
      ticket = body.ticket || body.token;
    } catch (err) {
      if (err && err.status === 401) return this.stop();
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    const url = new URL(this.wsUrl);
    url.searchParams.set("token", ticket);
    let ws;
    try {
      ws = new WebSocket(url.href);
    } catch {
      return this.scheduleReconnect();
    }
    this.ws = ws;
    ws.addEventListener("open", () => this.handleOpen(ws));
    ws.addEventListener("message", (msg) => this.handleMessage(msg));
    ws.addEventListener("close", () => this.handleClose(ws));
  }

  handleOpen(ws) {
    if (ws !== this.ws) return;
    const reconnected = this.everOpened;
    this.everOpened = true;
    this.attempt = 0;
    this.setState("open");
    if (this.scopeAll) this.send({ action: "subscribe", scope: "all" });
    for (const key of this.subs.keys()) this.sendSub("subscribe", key);
    this.timers.ping = setInterval(() => this.send({ action: "ping" }), PING_EVERY_MS);
    // Planned reconnect before the hard limit, with jitter so tabs do not reconnect together.
    this.timers.maxAge = setTimeout(
      () => this.recycle(),
      MAX_AGE_MS - Math.floor(Math.random() * 5 * 60_000),
    );
    if (reconnected) {
      this.fillGaps();
      for (const fn of this.resyncListeners) fn();
    }
  }

  recycle() {
    if (this.ws) this.ws.close(1000, "recycle");
  }

  handleClose(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.maxAge);
    if (!this.stopped) this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = cap / 2 + Math.random() * (cap / 2); // "equal jitter": never instant, never lockstep
    this.attempt += 1;
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }

  handleMessage(msg) {
    let data;
    try {
      data = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (!data || typeof data !== "object") return;
    if (data.type === "telemetry") this.ingest(data);
    else if (data.type === "project") this.handleProject(data);
    else if (data.type === "subscribed") {
      if (data.scope === "all" && Array.isArray(data.projectIds)) {
        this.projectIds = new Set(data.projectIds);
        this.emitProject({ type: "project", change: "scope", projectIds: data.projectIds });
      }
      if (Array.isArray(data.events)) {
        const sorted = [...data.events].sort((a, b) => (a.seq || 0) - (b.seq || 0));
        for (const ev of sorted) this.ingest({ type: "telemetry", ...ev });
      }
    }
  }

  handleProject(message) {
    if (!message.projectId) return;
    if (message.change === "created" || message.change === "joined") {
      this.projectIds.add(message.projectId);
    } else if (message.change === "left" || message.change === "deleted") {
      this.projectIds.delete(message.projectId);
    }
    this.emitProject(message);
  }

  emitProject(message) {
    for (const fn of this.projectListeners) fn(message);
  }

  seenOf(taskId) {
    let seen = this.seen.get(taskId);
    if (!seen) {
      seen = new Set();
      this.seen.set(taskId, seen);
      if (this.seen.size > TASKS_TRACKED) {
        // Forget the task heard of longest ago, unless a screen watches it.
        for (const id of this.seen.keys()) {
          if (!this.watched(id)) {
            this.seen.delete(id);
            this.lastSeq.delete(id);
            break;
          }
        }
      }
    }
    return seen;
  }

  watched(taskId) {
    return this.subs.has(`taskId:${taskId}`);
  }

  /** Delivers an event to listeners unless (taskId, seq) was already delivered. */
  ingest(ev) {
    if (!ev || !ev.taskId || typeof ev.seq !== "number") return false;
    const seen = this.seenOf(ev.taskId);
    if (seen.has(ev.seq)) return false;
    seen.add(ev.seq);
    if (seen.size > SEEN_PER_TASK) seen.delete(seen.values().next().value);
    if (ev.seq > (this.lastSeq.get(ev.taskId) || 0)) this.lastSeq.set(ev.taskId, ev.seq);
    this.recent.push(ev);
    if (this.recent.length > RECENT_LIMIT) this.recent.splice(0, this.recent.length - RECENT_LIMIT);
    const held = this.complete.get(ev.taskId);
    if (held !== undefined) {
      if (ev.seq > held + 1) this.fillTask(ev.taskId); // a hole below this event
      this.advance(ev.taskId);
    }
    for (const fn of this.listeners) fn(ev);
    return true;
  }

  /** Moves the hole-free mark of a watched task over the seqs delivered right after it. */
  advance(taskId) {
    let held = this.complete.get(taskId);
    if (held === undefined) return;
    const seen = this.seen.get(taskId);
    while (seen && seen.has(held + 1)) held += 1;
    this.complete.set(taskId, held);
  }

  /** Feeds events fetched over REST (initial load, gap fill) through the same dedupe. */
  ingestAll(events) {
    const sorted = [...(events || [])].sort((a, b) => a.seq - b.seq);
    for (const ev of sorted) this.ingest({ type: "telemetry", ...ev });
  }

  /**
   * Marks events the caller already rendered as delivered, without emitting. `events` is a
   * task's log as GET /tasks/{id}/activity returned it (from the start, without holes), so a
   * watched task is held complete up to its last seq.
   */
  remember(events) {
    const tops = new Map();
    for (const ev of events || []) {
      if (!ev || !ev.taskId || typeof ev.seq !== "number") continue;
      this.seenOf(ev.taskId).add(ev.seq);
      if (ev.seq > (this.lastSeq.get(ev.taskId) || 0)) this.lastSeq.set(ev.taskId, ev.seq);
      tops.set(ev.taskId, Math.max(tops.get(ev.taskId) || 0, ev.seq));
    }
    for (const [taskId, top] of tops) this.markComplete(taskId, top);
  }

  /** The log of a watched task is held without holes up to `seq` (a full read reached it). */
  markComplete(taskId, seq) {
    if (!this.watched(taskId)) return;
    this.complete.set(taskId, Math.max(this.complete.get(taskId) ?? 0, seq));
    this.advance(taskId);
    // Something newer than the mark was delivered already: there is a hole to fill.
    if ((this.lastSeq.get(taskId) || 0) > this.complete.get(taskId)) this.fillTask(taskId);
  }

  fillGaps() {
    const taskIds = [...this.subs.keys()]
      .filter((k) => k.startsWith("taskId:"))
      .map((k) => k.slice("taskId:".length));
    return Promise.all(taskIds.map((id) => this.fillTask(id)));
  }

  /**
   * Reads the task's log after the hole-free mark and delivers what is missing. One read per
   * task at a time; a hole noticed meanwhile reads again right after.
   */
  fillTask(taskId) {
    const running = this.filling.get(taskId);
    if (running) {
      running.again = true;
      return running.promise;
    }
    const entry = { again: false, promise: null };
    entry.promise = (async () => {
      try {
        do {
          entry.again = false;
          await this.readLog(taskId);
        } while (entry.again && !this.stopped);
      } finally {
        this.filling.delete(taskId);
      }
    })();
    this.filling.set(taskId, entry);
    return entry.promise;
  }

  async readLog(taskId) {
    const start = this.complete.get(taskId) ?? this.lastSeq.get(taskId) ?? 0;
    let after = start;
    for (let page = 0; page < FILL_PAGES; page += 1) {
      let body;
      try {
        body = await this.api.get(`/tasks/${encodeURIComponent(taskId)}/activity`, {
          after,
          limit: 100,
        });
      } catch {
        return;
      }
      const items = (body && body.items) || [];
      this.ingestAll(items);
      const top = items.reduce((m, ev) => Math.max(m, ev.seq || 0), after);
      // The log is complete up to what this read reached (a hole in it is a seq never written).
      if (this.complete.has(taskId)) {
        this.complete.set(taskId, Math.max(this.complete.get(taskId), top));
        this.advance(taskId);
      }
      if (!body.nextCursor || top === after) return;
      after = top;
    }
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  sendSub(action, key) {
    const [kind, id] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    const msg = { action, [kind]: id };
    // Resubscribing a task asks only for what came after the log held without holes.
    if (action === "subscribe" && kind === "taskId" && this.complete.has(id)) {
      msg.after = this.complete.get(id);
    }
    this.send(msg);
  }

  /** subscribe("taskId"|"projectId", id) → unsubscribe function. */
  subscribe(kind, id) {
    const key = `${kind}:${id}`;
    const count = this.subs.get(key) || 0;
    this.subs.set(key, count + 1);
    if (count === 0) this.sendSub("subscribe", key);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.subs.get(key) || 1) - 1;
      if (left <= 0) {
        this.subs.delete(key);
        if (kind === "taskId") this.complete.delete(id);
        this.sendSub("unsubscribe", key);
      } else {
        this.subs.set(key, left);
      }
    };
  }
}
