// A small query cache in the spirit of React Query: cached data with a stale time,
// background refetch while someone watches, refetch on focus, and no duplicate in-flight
// requests for the same key.

export class QueryCache {
  constructor() {
    this.entries = new Map();
  }

  entry(key) {
    let e = this.entries.get(key);
    if (!e) {
      e = { data: undefined, error: null, updatedAt: 0, promise: null, listeners: new Set() };
      this.entries.set(key, e);
    }
    return e;
  }

  notify(e) {
    for (const fn of e.listeners) fn({ data: e.data, error: e.error, updatedAt: e.updatedAt });
  }

  /** Cached data while fresh; otherwise one shared request per key. */
  fetch(key, fn, { staleTime = 0, force = false } = {}) {
    const e = this.entry(key);
    const fresh = e.data !== undefined && Date.now() - e.updatedAt < staleTime;
    if (!force && fresh) return Promise.resolve(e.data);
    if (e.promise) return e.promise;
    e.promise = Promise.resolve()
      .then(fn)
      .then(
        (data) => {
          e.data = data;
          e.error = null;
          e.updatedAt = Date.now();
          this.notify(e);
          return data;
        },
        (err) => {
          e.error = err;
          this.notify(e);
          throw err;
        },
      )
      .finally(() => {
        e.promise = null;
      });
    return e.promise;
  }

  /**
   * Watches a key: listener gets cached data at once, then every update. Refetches in the
   * background every `refetchInterval` ms while the tab is visible, and when it regains focus.
   * Returns a function that stops watching.
   */
  watch(key, fn, listener, { staleTime = 30_000, refetchInterval = 30_000 } = {}) {
    const e = this.entry(key);
    e.listeners.add(listener);
    if (e.data !== undefined || e.error) {
      listener({ data: e.data, error: e.error, updatedAt: e.updatedAt });
    }
    const load = () => this.fetch(key, fn, { staleTime }).catch(() => {});
    load();
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") load();
    }, refetchInterval);
    const onFocus = () => load();
    window.addEventListener("focus", onFocus);
    return () => {
      clearInterval(timer);
      window.removeEventListener("focus", onFocus);
      e.listeners.delete(listener);
    };
  }

  invalidate(prefix) {
    for (const [key, e] of this.entries) if (key.startsWith(prefix)) e.updatedAt = 0;
  }

  clear() {
    this.entries.clear();
  }
}
