// One WebSocket per tab. Opened with a single-use ws-ticket; subscriptions follow what is on
// screen (reference counted); reconnects with exponential backoff and jitter; after a
// reconnect it resubscribes and fills each watched task's gap from
// GET /tasks/{id}/activity?after=<last seq>. Events are deduplicated by (taskId, seq), so
// listeners see every event exactly once.

const PING_EVERY_MS = 4.5 * 60_000; // well inside API Gateway's 10-minute idle timeout
const MAX_AGE_MS = 110 * 60_000; // reconnect before the 2-hour connection limit
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const SEEN_LIMIT = 2_000;

export class Live {
  constructor(api, wsUrl) {
    this.api = api;
    this.wsUrl = wsUrl;
    this.ws = null;
    this.state = "idle"; // idle | connecting | open | reconnecting
    this.stopped = true;
    this.attempt = 0;
    this.everOpened = false;
    this.subs = new Map(); // "taskId:<id>" | "projectId:<id>" -> refcount
    this.lastSeq = new Map(); // taskId -> highest seq delivered
    this.seen = new Map(); // taskId -> Set(seq)
    this.listeners = new Set();
    this.stateListeners = new Set();
    this.resyncListeners = new Set();
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
    else if (data.type === "subscribed" && Array.isArray(data.events)) {
      for (const ev of data.events) this.ingest({ type: "telemetry", ...ev });
    }
  }

  /** Delivers an event to listeners unless (taskId, seq) was already delivered. */
  ingest(ev) {
    if (!ev || !ev.taskId || typeof ev.seq !== "number") return false;
    let seen = this.seen.get(ev.taskId);
    if (!seen) {
      seen = new Set();
      this.seen.set(ev.taskId, seen);
    }
    if (seen.has(ev.seq)) return false;
    seen.add(ev.seq);
    if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value);
    if (ev.seq > (this.lastSeq.get(ev.taskId) || 0)) this.lastSeq.set(ev.taskId, ev.seq);
    for (const fn of this.listeners) fn(ev);
    return true;
  }

  /** Feeds events fetched over REST (initial load, gap fill) through the same dedupe. */
  ingestAll(events) {
    const sorted = [...(events || [])].sort((a, b) => a.seq - b.seq);
    for (const ev of sorted) this.ingest({ type: "telemetry", ...ev });
  }

  /** Marks events the caller already rendered (from REST) as delivered, without emitting. */
  remember(events) {
    for (const ev of events || []) {
      if (!ev || !ev.taskId || typeof ev.seq !== "number") continue;
      if (!this.seen.has(ev.taskId)) this.seen.set(ev.taskId, new Set());
      this.seen.get(ev.taskId).add(ev.seq);
      if (ev.seq > (this.lastSeq.get(ev.taskId) || 0)) this.lastSeq.set(ev.taskId, ev.seq);
    }
  }

  async fillGaps() {
    const taskIds = [...this.subs.keys()]
      .filter((k) => k.startsWith("taskId:"))
      .map((k) => k.slice("taskId:".length));
    await Promise.all(taskIds.map((id) => this.fillTask(id)));
  }

  async fillTask(taskId) {
    let after = this.lastSeq.get(taskId) || 0;
    // Page through in case many events were missed.
    for (let page = 0; page < 20; page += 1) {
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
    // Resubscribing a task asks only for what came after the last event we have.
    if (action === "subscribe" && kind === "taskId" && this.lastSeq.has(id)) {
      msg.after = this.lastSeq.get(id);
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
        this.sendSub("unsubscribe", key);
      } else {
        this.subs.set(key, left);
      }
    };
  }
}
