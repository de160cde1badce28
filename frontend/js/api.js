// REST client: bearer auth, the error envelope, and silent token refresh.
// The session lives in sessionStorage (per tab, gone when the tab closes); the access token
// is refreshed a minute before it expires and once more on a 401.

const STORE_KEY = "aion-session";
const REFRESH_MARGIN_MS = 60_000;

export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter) {
    super(message || `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || "error";
    this.details = details ?? null;
    this.retryAfter = retryAfter ?? null;
  }
}

export class Api {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.session = null;
    this.refreshing = null;
    this.refreshTimer = null;
    this.listeners = new Set();
    this.restore();
  }

  /** fn(session|null) is called when the session starts, refreshes or ends. */
  onSession(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get user() {
    return this.session ? this.session.user : null;
  }

  get signedIn() {
    return Boolean(this.session && this.session.refreshToken);
  }

  restore() {
    try {
      const raw = window.sessionStorage.getItem(STORE_KEY);
      if (raw) this.setSession(JSON.parse(raw), { silent: true });
    } catch {
      this.session = null;
    }
  }

  setSession(session, { silent = false } = {}) {
    this.session = session;
    clearTimeout(this.refreshTimer);
    if (session) {
      try {
        window.sessionStorage.setItem(STORE_KEY, JSON.stringify(session));
      } catch {
        /* storage full or blocked: the session still works for this page */
      }
      const wait = Math.max(5_000, session.expiresAt - Date.now() - REFRESH_MARGIN_MS);
      this.refreshTimer = setTimeout(() => this.refresh().catch(() => {}), wait);
    } else {
      window.sessionStorage.removeItem(STORE_KEY);
    }
    if (!silent) for (const fn of this.listeners) fn(session);
  }

  absorbTokens(body, user) {
    const expiresIn = Number(body.expiresIn) || 900;
    this.setSession({
      accessToken: body.accessToken,
      refreshToken: body.refreshToken || (this.session && this.session.refreshToken),
      expiresAt: Date.now() + expiresIn * 1000,
      user: body.user || user || (this.session && this.session.user) || null,
    });
  }

  async login(email, password) {
    const body = await this.request("POST", "/auth/login", {
      body: { email, password },
      auth: false,
    });
    this.absorbTokens(body);
    return body.user;
  }

  /** Single-flight: concurrent 401s share one refresh. */
  refresh() {
    if (!this.session || !this.session.refreshToken) {
      return Promise.reject(new ApiError(401, "unauthorized", "Signed out"));
    }
    if (!this.refreshing) {
      const refreshToken = this.session.refreshToken;
      this.refreshing = this.request("POST", "/auth/refresh", {
        body: { refreshToken },
        auth: false,
      })
        .then((body) => {
          this.absorbTokens(body);
          return this.session;
        })
        .catch((err) => {
          if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
            this.setSession(null); // refresh token revoked or expired: sign out
          }
          throw err;
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  async logout() {
    const refreshToken = this.session && this.session.refreshToken;
    try {
      if (refreshToken) {
        await this.request("POST", "/auth/logout", { body: { refreshToken } });
      }
    } finally {
      this.setSession(null);
    }
  }

  url(path, query) {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
    }
    return url.href;
  }

  async authHeader() {
    if (!this.session) throw new ApiError(401, "unauthorized", "Please sign in.");
    if (this.session.expiresAt - Date.now() < 5_000) await this.refresh();
    return `Bearer ${this.session.accessToken}`;
  }

  /**
   * request("GET", "/projects", {query, body, headers, auth}) → parsed JSON (or null).
   * Throws ApiError with the server's code/message/details.
   */
  async request(method, path, { query, body, headers = {}, auth = true, retried = false } = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (auth) init.headers.Authorization = await this.authHeader();
    let res;
    try {
      res = await fetch(this.url(path, query), init);
    } catch {
      throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
    }
    if (res.status === 401 && auth && !retried && this.signedIn) {
      await this.refresh();
      return this.request(method, path, { query, body, headers, auth, retried: true });
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { raw: text };
      }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const header = Number(res.headers.get("Retry-After"));
      const fromDetails = err.details && Number(err.details.retryAfter ?? err.details.retry_after);
      const retryAfter = header || fromDetails || null;
      throw new ApiError(res.status, err.code, err.message || res.statusText, err.details, retryAfter);
    }
    return data;
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, body, headers) {
    return this.request("POST", path, { body: body ?? {}, headers });
  }

  patch(path, body, version) {
    return this.request("PATCH", path, { body, headers: { "If-Match": String(version) } });
  }

  put(path, body) {
    return this.request("PUT", path, { body: body ?? {} });
  }

  del(path) {
    return this.request("DELETE", path);
  }

  /** Follows nextCursor until exhausted or `max` items. */
  async listAll(path, query = {}, max = 500) {
    const items = [];
    let cursor = null;
    do {
      const page = await this.get(path, { ...query, limit: 100, cursor });
      items.push(...((page && page.items) || []));
      cursor = page && page.nextCursor;
    } while (cursor && items.length < max);
    return items;
  }
}
