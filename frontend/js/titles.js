// Task titles by id, for places that only have a telemetry event (the dashboard's live feed):
// filled from every task the console loads, fetched once per unknown task otherwise.

const LIMIT = 2_000;

export class TaskTitles {
  constructor(api) {
    this.api = api;
    this.titles = new Map(); // taskId -> title (null: the task is gone or not ours)
    this.pending = new Map();
    this.listeners = new Set();
  }

  /** fn(taskId, title) when a title arrives. */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  remember(task) {
    if (!task || !task.id || typeof task.title !== "string") return;
    if (this.titles.get(task.id) === task.title) return;
    this.set(task.id, task.title);
  }

  rememberAll(tasks) {
    for (const task of tasks || []) this.remember(task);
  }

  set(taskId, title) {
    this.titles.delete(taskId); // re-insert: the map's order is the eviction order
    this.titles.set(taskId, title);
    if (this.titles.size > LIMIT) this.titles.delete(this.titles.keys().next().value);
    for (const fn of this.listeners) fn(taskId, title);
  }

  /** The title if known (undefined: not yet; null: the task cannot be read). */
  get(taskId) {
    return this.titles.get(taskId);
  }

  /** Fetches the title of a task not seen yet (once; concurrent callers share the request). */
  want(taskId) {
    if (this.titles.has(taskId)) return Promise.resolve(this.titles.get(taskId));
    if (this.pending.has(taskId)) return this.pending.get(taskId);
    const promise = this.api
      .get(`/tasks/${encodeURIComponent(taskId)}`)
      .then(
        (task) => {
          this.set(taskId, task.title);
          return task.title;
        },
        (err) => {
          if (err && err.status === 404) this.set(taskId, null);
          return null;
        },
      )
      .finally(() => this.pending.delete(taskId));
    this.pending.set(taskId, promise);
    return promise;
  }
}
