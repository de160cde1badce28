// REST client: bearer auth, the error envelope, and silent token refresh shared by all tabs.
//
// The session lives in localStorage, so every tab of the console (a link opened in a new tab,
// "Duplicate tab") is signed in with the same session. Trade-off: script running on the page
// could read the tokens from localStorage (as it could from sessionStorage, and it could call
// the API as the user either way); the mitigation is that no such script can get in: a CSP
// without inline scripts or eval (index.html, csp.txt), and API data only ever set as text.
//
// Refresh tokens rotate and the server revokes the whole login session when a rotated token
// is presented again, so tabs must never refresh with the same token. A refresh is therefore
// single-flight per tab (one promise) and across tabs (the Web Lock "aion-refresh"): inside
// the lock the tab re-reads storage and, when another tab has already rotated (the stored
// refresh token is not the one this tab held) and the stored access token is still fresh,
// adopts that session instead of calling /auth/refresh; otherwise it refreshes with the stored
// (newest) token. The `storage` event keeps tabs in step: a refreshed session is adopted by
// every tab, signing out anywhere signs out everywhere, signing in anywhere signs in the rest.
// Per tab, the access token is refreshed a minute before it expires and once more on a 401;
// a 4xx answer to a refresh signs out (everywhere).

import { Schema } from "./schema.js";

const STORE_KEY = "aion-session";
// Why the last session ended, for the other tabs (they only see the session disappear).
const END_KEY = "aion-session-end";
const END_NOTE_FRESH_MS = 30_000;
// A 401 for an access token that was not due to expire, this recently, means the server no
// longer accepts its signature: restarted with new keys (dev stack) or reset.
const REJECTED_FRESH_MS = 60_000;
const LOCK_NAME = "aion-refresh";
const REFRESH_MARGIN_MS = 60_000;
// Another tab's session is adopted when its access token is usable for at least this long.
const ADOPT_MIN_LIFE_MS = 10_000;
// After waiting for the lock, how long to let another tab's storage write arrive (20 x 25 ms).
const SETTLE_POLLS = 20;
const SETTLE_POLL_MS = 25;

function readStored() {
  try {
    const raw = window.localStorage.getItem(STORE_KEY);
    return raw ? parseSession(raw) : null;
  } catch {
    return undefined; // storage blocked: this tab keeps its own session
  }
}

function parseSession(raw) {
  try {
    const s = JSON.parse(raw);
    return s && typeof s === "object" && s.refreshToken && s.accessToken ? s : null;
  } catch {
    return null;
  }
}

function writeStored(session) {
  try {
    if (session) window.localStorage.setItem(STORE_KEY, JSON.stringify(session));
    else window.localStorage.removeItem(STORE_KEY);
  } catch {
    /* storage full or blocked: the session still works for this page */
  }
}

/**
 * Runs fn(waited) while holding the cross-tab refresh lock (just runs it where Web Locks are
 * missing); waited: another tab held the lock first, so it may have just rotated.
 */
function withRefreshLock(fn) {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (!locks || typeof locks.request !== "function") return Promise.resolve().then(() => fn(false));
  return locks.request(LOCK_NAME, { ifAvailable: true }, (lock) =>
    lock ? fn(false) : locks.request(LOCK_NAME, () => fn(true)),
  );
}

/**
 * The stored session once another tab's write has reached this tab. Each tab reads its own
 * copy of localStorage, updated asynchronously, so a tab granted the lock right after another
 * tab rotated may still see the old token for a moment: presenting it would revoke the login.
 */
async function settledStored(held) {
  let stored = readStored();
  for (let i = 0; i < SETTLE_POLLS && stored && stored.refreshToken === held; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    stored = readStored();
  }
  return stored;
}

/**
 * Why a session ended, as one sentence for the sign-in screen. reason: "signed_out" (here),
 * "other_tab", "server_restarted", "expired", "reused", "ended".
 */
export const END_SENTENCES = {
  signed_out: "You signed out.",
  other_tab: "You signed out in another tab.",
  server_restarted:
    "Your session ended because the server restarted and no longer knows it. Sign in again.",
  expired: "Your session expired. Sign in again.",
  reused:
    "Your session was ended for your safety: the same sign-in was used in two places. Sign in again.",
  ended:
    "Your session was ended on the server (a password or role change, or an admin ended it). Sign in again.",
};

function writeEndNote(reason) {
  try {
    window.localStorage.setItem(END_KEY, JSON.stringify({ reason, at: Date.now() }));
  } catch {
    /* the other tabs fall back to "signed out in another tab" */
  }
}

function readEndNote() {
  try {
    const note = JSON.parse(window.localStorage.getItem(END_KEY) || "null");
    return note && Date.now() - note.at < END_NOTE_FRESH_MS ? note.reason : null;
  } catch {
    return null;
  }
}

/** Why the last session ended, if that was moments ago (a key of END_SENTENCES), else null. */
export function recentSessionEnd() {
  return readEndNote();
}

/** The reason behind a refused refresh, from the server's error code. */
function refreshFailureReason(code, tokenRejectedAt) {
  if (code === "refresh_token_reused") return "reused";
  if (code === "session_ended") return "ended";
  if (tokenRejectedAt && Date.now() - tokenRejectedAt < REJECTED_FRESH_MS) return "server_restarted";
  return "expired";
}

function userId(session) {
  return (session && session.user && session.user.id) || null;
}

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

function signedOutError() {
  return new ApiError(401, "unauthorized", "Signed out. Please sign in again.");
}

function sameTokens(a, b) {
  return Boolean(a && b && a.accessToken === b.accessToken && a.refreshToken === b.refreshToken);
}

export class Api {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.schema = new Schema(baseUrl);
    this.session = null;
    this.tokenRejectedAt = 0;
    this.refreshing = null;
    this.refreshTimer = null;
    this.listeners = new Set();
    this.restore();
    window.addEventListener("storage", (event) => this.onStorage(event));
  }

  /**
   * fn(session|null, {change, remote, reason}) is called when the session starts, refreshes or
   * ends. change: "signin" | "refresh" | "switch" (another user) | "signout"; remote: the
   * change came from another tab; reason (sign-outs): a key of END_SENTENCES.
   */
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
    const stored = readStored();
    if (stored) this.setSession(stored, { silent: true, persist: false });
  }

  /** Another tab wrote the session: adopt it (refresh, sign-in, sign-out). */
  onStorage(event) {
    if (event.key !== STORE_KEY && event.key !== null) return; // null: storage was cleared
    const next = readStored();
    if (next === undefined || (!next && !this.session)) return;
    if (next && sameTokens(next, this.session)) return;
    const reason = next ? undefined : readEndNote() || "other_tab";
    this.setSession(next, {
      persist: false,
      remote: true,
      reason: reason === "signed_out" ? "other_tab" : reason,
    });
  }

  setSession(session, { silent = false, persist = true, remote = false, reason } = {}) {
    const before = this.session;
    this.session = session;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (persist && !session && before) writeEndNote(reason || "signed_out");
    if (persist) writeStored(session);
    if (session) {
      const wait = Math.max(5_000, session.expiresAt - Date.now() - REFRESH_MARGIN_MS);
      this.refreshTimer = setTimeout(() => this.refresh().catch(() => {}), wait);
    }
    if (silent) return;
    let change = "refresh";
    if (!session) change = "signout";
    else if (!before) change = "signin";
    else if (userId(before) !== userId(session)) change = "switch";
    const why = session ? undefined : reason || (remote ? "other_tab" : "signed_out");
    for (const fn of this.listeners) fn(session, { change, remote, reason: why });
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

  /** Single-flight in this tab (one promise) and across tabs (the "aion-refresh" lock). */
  refresh() {
    if (!this.session || !this.session.refreshToken) return Promise.reject(signedOutError());
    if (!this.refreshing) {
      const held = this.session.refreshToken;
      const locked = withRefreshLock((waited) => this.refreshLocked(held, waited));
      this.refreshing = locked.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Runs with the lock held: no other tab rotates the refresh token meanwhile. */
  async refreshLocked(held, waited) {
    // undefined: storage unreadable, rely on this tab's copy
    const stored = waited ? await settledStored(held) : readStored();
    if (stored === null) {
      // Another tab signed out (its storage event may not have reached this tab yet).
      if (this.session) {
        const reason = readEndNote() || "other_tab";
        this.setSession(null, {
          persist: false,
          remote: true,
          reason: reason === "signed_out" ? "other_tab" : reason,
        });
      }
      throw signedOutError();
    }
    if (
      stored &&
      stored.refreshToken !== held &&
      stored.expiresAt - Date.now() > ADOPT_MIN_LIFE_MS
    ) {
      // Another tab already rotated: adopt its session instead of presenting a used token.
      if (!sameTokens(stored, this.session)) {
        this.setSession(stored, { persist: false, remote: true });
      }
      return this.session;
    }
    const current = stored || this.session;
    if (!current) throw signedOutError();
    let body;
    try {
      body = await this.request("POST", "/auth/refresh", {
        body: { refreshToken: current.refreshToken },
        auth: false,
      });
    } catch (err) {
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        // Refresh token revoked or expired: sign out, unless someone signed in anew meanwhile.
        const now = readStored();
        if (!now || now.refreshToken === current.refreshToken) {
          this.setSession(null, { reason: refreshFailureReason(err.code, this.tokenRejectedAt) });
        } else {
          this.setSession(now, { persist: false, remote: true });
        }
      }
      throw err;
    }
    const stored2 = readStored();
    const now = stored2 === undefined ? this.session : stored2;
    if (!now || now.refreshToken !== current.refreshToken) {
      // Signed out (or in anew) here or in another tab while the refresh was in flight: end
      // the new token too, instead of bringing the old session back to life in every tab.
      this.revoke(body.refreshToken);
      if (now ? !sameTokens(now, this.session) : this.session) {
        this.setSession(now, { persist: false, remote: true });
      }
      if (!now) throw signedOutError();
      return this.session;
    }
    this.absorbTokens(body, current.user);
    return this.session;
  }

  /** Ends a login session on the server; failures are ignored (best effort). */
  revoke(refreshToken) {
    if (!refreshToken) return Promise.resolve();
    return this.request("POST", "/auth/logout", {
      body: { refreshToken },
      auth: false,
    }).catch(() => {});
  }

  /** Signs out every tab at once, then ends the session on the server. */
  async logout() {
    const stored = readStored();
    const session = stored || this.session;
    const refreshToken = session && session.refreshToken;
    this.setSession(null);
    await this.revoke(refreshToken);
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
      // Refused although it was not due to expire: the server no longer knows its key.
      if (this.session.expiresAt - Date.now() > 5_000) this.tokenRejectedAt = Date.now();
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
      const fromDetails =
        err.details && !Array.isArray(err.details) && Number(err.details.retryAfter ?? err.details.retry_after);
      const retryAfter = header || fromDetails || null;
      let message = err.message || res.statusText;
      if (err.code === "validation_error") {
        // The server's field limits as sentences ("Files up to 50 MB"), from its own schema.
        message = (await this.schema.explain(method, path, err.details)) || message;
      }
      throw new ApiError(res.status, err.code, message, err.details, retryAfter);
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
