// The review queue as the console knows it: which tasks wait for a person (GET /reviews),
// kept live from the WebSocket's scope-all events (a status event into needs_review adds a
// task, any event of a waiting task in another status removes it, and so does its deletion).
// The nav count and the inbox read it. Projects the user is not a member of (an admin's) send no events, so the
// queue is also read again now and then, and after a reconnect.

const REFRESH_MS = 60_000;
const MAX_TRACKED = 500;

/** Why a task waits, in words (the router's reasonCode). */
export const REASON_TEXT = {
  input_missing: "The task has none of the data the module needs.",
  input_mismatch: "The input is not what the module reads (not CSV, not JSON, no expression…).",
  route_unavailable: "The executor or the LLM is down or not configured.",
  low_confidence: "The router could not tell with confidence what the request asks for.",
};

/** Short labels for filters and badges. */
export const REASON_LABEL = {
  input_missing: "Input missing",
  input_mismatch: "Input does not fit",
  route_unavailable: "Route unavailable",
  low_confidence: "Unclear request",
};

export function reasonCodeOf(task) {
  return (task && task.route && task.route.reasonCode) || null;
}

export function reasonWords(task) {
  const code = reasonCodeOf(task);
  return REASON_TEXT[code] || "No route could take this task.";
}

export class ReviewQueue {
  constructor(api, live) {
    this.api = api;
    this.live = live;
    this.ids = new Set();
    this.truncated = false;
    this.loaded = false;
    this.listeners = new Set();
    this.disposers = [];
    this.loading = null;
    this.pending = null; // events heard while a read was on the way: {taskId: status}
  }

  /** fn({count, truncated, added: [ids], removed: [ids], deleted: [ids]}) on every change
   * (deleted: the removed tasks that no longer exist). */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get count() {
    return this.ids.size;
  }

  has(taskId) {
    return this.ids.has(taskId);
  }

  start() {
    if (this.disposers.length) return;
    this.disposers.push(this.live.onEvent((ev) => this.hear(ev)));
    this.disposers.push(this.live.onResync(() => this.reload()));
    // A deleted task says so once, in a task message: its log has no event for it.
    this.disposers.push(
      this.live.onTask((message) => {
        if (message.change !== "deleted") return;
        if (this.pending) this.pending.set(message.taskId, "deleted");
        if (this.ids.delete(message.taskId)) this.emit([], [message.taskId], [message.taskId]);
      }),
    );
    this.disposers.push(
      this.live.onProject((message) => {
        if (["joined", "left", "deleted"].includes(message.change)) this.reload();
      }),
    );
    const timer = setInterval(() => this.reload(), REFRESH_MS);
    this.disposers.push(() => clearInterval(timer));
    this.reload();
  }

  stop() {
    for (const d of this.disposers.splice(0)) d();
    const removed = [...this.ids];
    this.ids.clear();
    this.loaded = false;
    this.emit([], removed);
  }

  /** Reads the queue (the caller's projects, oldest first), then replays what was heard since. */
  reload() {
    if (this.loading) return this.loading;
    this.pending = new Map();
    this.loading = (async () => {
      try {
        const items = await this.api.listAll("/reviews", {}, MAX_TRACKED);
        const fresh = new Set(items.map((t) => t.id));
        for (const [id, status] of this.pending) {
          if (status === "needs_review") fresh.add(id);
          else fresh.delete(id);
        }
        const added = [...fresh].filter((id) => !this.ids.has(id));
        const removed = [...this.ids].filter((id) => !fresh.has(id));
        this.ids = fresh;
        this.truncated = items.length >= MAX_TRACKED;
        this.loaded = true;
        this.emit(added, removed);
      } catch {
        /* keep what is known; the next event or refresh tries again */
      } finally {
        this.pending = null;
        this.loading = null;
      }
    })();
    return this.loading;
  }

  hear(ev) {
    if (!ev || !ev.taskId || !ev.status) return;
    const waiting = ev.status === "needs_review";
    // Only a status event moves a task into review; every event of another status moves it out.
    if (waiting && ev.kind !== "status") return;
    if (this.pending) this.pending.set(ev.taskId, ev.status);
    if (waiting && !this.ids.has(ev.taskId)) {
      this.ids.add(ev.taskId);
      this.emit([ev.taskId], []);
    } else if (!waiting && this.ids.has(ev.taskId)) {
      this.ids.delete(ev.taskId);
      this.emit([], [ev.taskId]);
    }
  }

  /** A task this console acted on left the queue (before its event arrives). */
  forget(taskId) {
    if (this.ids.delete(taskId)) this.emit([], [taskId]);
  }

  emit(added, removed, deleted = []) {
    const change = { count: this.count, truncated: this.truncated, added, removed, deleted };
    for (const fn of this.listeners) fn(change);
  }
}
