// One WebSocket per tab. Opened with a single-use ws-ticket; subscribes with scope "all"
// (every project the user belongs to, now and later) plus whatever the screen watches
// (reference counted); reconnects with exponential backoff and jitter.
//
// Events are deduplicated by (taskId, seq): onEvent listeners see each event once.
//
// Gap-free timelines: a screen that shows a task's log watches it (watchTask). For each watch
// the console knows which seqs the screen holds and up to which seq it holds them without
// holes. An event beyond the next one (a message lost on the way, or a server fan-out that had
// not seen this subscription yet) reads the missing part from
// GET /tasks/{id}/activity?after=<that seq>; so do a reconnect and fillTask() (a screen's
// watchdog). What the console heard before the screen opened (on another screen) still reaches
// it that way. seq strictly increases but need not be contiguous (a writer that died leaves a
// hole), so a read that finds nothing in a hole simply moves past it.

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
    this.watches = new Map(); // taskId -> {listeners, held: Set(seq), complete: seq|undefined}
    this.filling = new Map(); // taskId -> {promise, again}
    this.recent = []; // the latest events across all subscriptions, oldest first
    this.projectIds = new Set(); // what scope all covers
    this.listeners = new Set();
    this.stateListeners = new Set();
    this.resyncListeners = new Set();
    this.projectListeners = new Set();
    this.taskListeners = new Set();
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

  /**
   * fn(message) for task-level changes that the task's own log cannot carry:
   * {type: "task", change: "deleted", taskId, projectId, actor, at}.
   */
  onTask(fn) {
    this.taskListeners.add(fn);
    return () => this.taskListeners.delete(fn);
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
    this.watches.clear();
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
    else if (data.type === "task") this.handleTask(data);
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

  handleTask(message) {
    if (!message.taskId) return;
    if (message.change === "deleted") {
      // A feed opened later must not bring the deleted task back.
      this.recent = this.recent.filter((ev) => ev.taskId !== message.taskId);
    }
    for (const fn of this.taskListeners) fn(message);
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
          if (!this.watches.has(id)) {
            this.seen.delete(id);
            this.lastSeq.delete(id);
            break;
          }
        }
      }
    }
    return seen;
  }

  /**
   * Delivers an event to onEvent listeners unless (taskId, seq) was delivered already, and to
   * the task's watchers unless they hold it.
   */
  ingest(ev) {
    if (!ev || !ev.taskId || typeof ev.seq !== "number") return false;
    const seen = this.seenOf(ev.taskId);
    const fresh = !seen.has(ev.seq);
    if (fresh) {
      seen.add(ev.seq);
      if (seen.size > SEEN_PER_TASK) seen.delete(seen.values().next().value);
      if (ev.seq > (this.lastSeq.get(ev.taskId) || 0)) this.lastSeq.set(ev.taskId, ev.seq);
      this.recent.push(ev);
      if (this.recent.length > RECENT_LIMIT) this.recent.splice(0, this.recent.length - RECENT_LIMIT);
    }
    const watch = this.watches.get(ev.taskId);
    if (watch && !watch.held.has(ev.seq)) {
      watch.held.add(ev.seq);
      if (watch.complete !== undefined) {
        if (ev.seq > watch.complete + 1) this.fillTask(ev.taskId); // a hole below this event
        this.advance(watch);
      }
      for (const fn of watch.listeners) fn(ev);
    }
    if (fresh) for (const fn of this.listeners) fn(ev);
    return fresh;
  }

  /** Moves a watch's hole-free mark over the seqs it holds right after it. */
  advance(watch) {
    if (watch.complete === undefined) return;
    while (watch.held.has(watch.complete + 1)) watch.complete += 1;
  }

  /** Feeds events fetched over REST (gap fill) through the same dedupe. */
  ingestAll(events) {
    const sorted = [...(events || [])].sort((a, b) => a.seq - b.seq);
    for (const ev of sorted) this.ingest({ type: "telemetry", ...ev });
  }

  /**
   * Follows one task's log: subscribes to it and calls fn(event) for each event the screen does
   * not hold yet (live, from the subscribe backlog, or read to fill a hole). Returns the
   * function that stops watching.
   */
  watchTask(taskId, fn) {
    let watch = this.watches.get(taskId);
    if (!watch) {
      watch = { listeners: new Set(), held: new Set(), complete: undefined };
      this.watches.set(taskId, watch);
    }
    watch.listeners.add(fn);
    const unsubscribe = this.subscribe("taskId", taskId);
    return () => {
      unsubscribe();
      watch.listeners.delete(fn);
      if (!watch.listeners.size && this.watches.get(taskId) === watch) this.watches.delete(taskId);
    };
  }

  /**
   * The screen loaded the task's log over REST (GET /tasks/{id}/activity from the start, so
   * without holes up to its last seq): the watch holds all of it.
   */
  holdLog(taskId, events) {
    const watch = this.watches.get(taskId);
    let top = 0;
    for (const ev of events || []) {
      if (!ev || ev.taskId !== taskId || typeof ev.seq !== "number") continue;
      this.seenOf(taskId).add(ev.seq);
      if (ev.seq > (this.lastSeq.get(taskId) || 0)) this.lastSeq.set(taskId, ev.seq);
      if (watch) watch.held.add(ev.seq);
      top = Math.max(top, ev.seq);
    }
    if (!watch) return;
    watch.complete = Math.max(watch.complete ?? 0, top);
    this.advance(watch);
    // The console heard of something newer (here or on another screen): read what is missing.
    const newest = Math.max(this.lastSeq.get(taskId) || 0, ...watch.held);
    if (newest > watch.complete) this.fillTask(taskId);
  }

  fillGaps() {
    return Promise.all([...this.watches.keys()].map((id) => this.fillTask(id)));
  }

  /**
   * Reads the task's log after the watch's hole-free mark and delivers what is missing. One
   * read per task at a time; a hole noticed meanwhile reads again right after.
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
    const watch = this.watches.get(taskId);
    let after = watch ? watch.complete ?? 0 : this.lastSeq.get(taskId) || 0;
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
      if (watch && watch.complete !== undefined) {
        watch.complete = Math.max(watch.complete, top);
        this.advance(watch);
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
    const watch = kind === "taskId" ? this.watches.get(id) : undefined;
    if (action === "subscribe" && watch && watch.complete !== undefined) msg.after = watch.complete;
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
        this.sendSub("unsubscribe", key);
      } else {
        this.subs.set(key, left);
      }
    };
  }
}
