// Console bootstrap: settings, session, the one WebSocket, hash routing and the shell.
import { Announcer } from "./announce.js";
import { Api, END_SENTENCES, recentSessionEnd } from "./api.js";
import { h, replace } from "./dom.js";
import { Live } from "./live.js";
import { QueryCache } from "./query.js";
import { ReviewQueue } from "./reviewqueue.js";
import { loadSettings } from "./settings.js";
import { setupShortcuts } from "./shortcuts.js";
import { setupThemeSwitch } from "./theme.js";
import { TaskTitles } from "./titles.js";
import * as adminView from "./views/admin.js";
import * as apiKeysView from "./views/apikeys.js";
import * as boardView from "./views/board.js";
import * as dashboardView from "./views/dashboard.js";
import * as projectView from "./views/project.js";
import * as projectsView from "./views/projects.js";
import * as reviewsView from "./views/reviews.js";
import * as signinView from "./views/signin.js";
import * as taskView from "./views/task.js";

// Hash routes work from S3 without rewrite rules. [pattern, view, nav key]
// A new screen is one line here; its "go to" shortcut (shortcuts.js) then works by itself.
const ROUTES = [
  [/^\/signin$/, signinView, null],
  [/^\/dashboard$/, dashboardView, "dashboard"],
  [/^\/projects$/, projectsView, "projects"],
  [/^\/projects\/([^/]+)$/, boardView, "projects"],
  [/^\/projects\/([^/]+)\/settings$/, projectView, "projects"],
  [/^\/tasks\/([^/]+)$/, taskView, "projects"],
  [/^\/reviews$/, reviewsView, "reviews"],
  [/^\/admin\/users$/, adminView, "admin"],
  [/^\/account\/api-keys$/, apiKeysView, "account"],
];

const CONN_TEXT = {
  idle: "Offline",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
};

function currentPath() {
  const raw = window.location.hash.replace(/^#/, "");
  return raw || "/dashboard";
}

function hasRoute(path) {
  return ROUTES.some(([re]) => re.test(path));
}

async function main() {
  const settings = await loadSettings();
  const api = new Api(settings.apiUrl);
  const live = new Live(api, settings.wsUrl);
  const query = new QueryCache();
  const titles = new TaskTitles(api);
  const reviews = new ReviewQueue(api, live);
  const announcer = new Announcer(document.getElementById("announcer"));
  const mainEl = document.getElementById("main");
  const nav = document.getElementById("mainnav");
  const navAdmin = document.getElementById("nav-admin");
  const navKeys = document.getElementById("nav-keys");
  const whoami = document.getElementById("whoami");
  const signout = document.getElementById("signout");
  const conn = document.getElementById("conn-state");
  const menuToggle = document.getElementById("menu-toggle");
  const tools = document.getElementById("topbar-tools");
  const shortcutsOpen = document.getElementById("shortcuts-open");

  setupThemeSwitch(document.getElementById("theme-switch"), (msg) => announcer.say(msg));

  // Small screens: the tools (theme, shortcuts, who, sign out) fold behind one button, so the
  // header stays one row.
  function setMenu(open) {
    menuToggle.setAttribute("aria-expanded", String(open));
    tools.dataset.open = String(open);
  }
  menuToggle.addEventListener("click", () => setMenu(menuToggle.getAttribute("aria-expanded") !== "true"));
  tools.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && tools.dataset.open === "true") {
      setMenu(false);
      menuToggle.focus();
    }
  });

  // The skip link must not change the hash: that is the router's.
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    const heading = mainEl.querySelector("h1");
    (heading || mainEl).focus();
  });

  live.onState((state) => {
    conn.dataset.state = state;
    conn.querySelector(".conn-text").textContent = CONN_TEXT[state] || state;
  });

  // The Reviews nav item carries how many tasks wait for a person, kept live by the queue.
  const reviewCount = document.getElementById("review-count");
  reviews.onChange(({ count, truncated }) => {
    reviewCount.hidden = count === 0;
    const shown = count > 99 ? "99+" : `${count}${truncated ? "+" : ""}`;
    // Read as "Reviews, 3 waiting"; seen as "Reviews (3)".
    replace(reviewCount, h("span", { class: "visually-hidden" }, ", "), shown, h("span", { class: "visually-hidden" }, " waiting"));
  });

  let dispose = null;
  let renderToken = 0;
  let firstScreen = true; // on page load focus stays at the top (skip link first)
  let providers = {}; // what the current screen offers to shortcuts: {newTask, search}
  let intent = null; // a shortcut's wish carried to the next screen ("newTask", "search")
  let lastProjectId = null; // the board "g b" and "n" go to from elsewhere
  // Why the session ended, for the sign-in screen. A tab opened or reloaded just after the
  // session ended (here or in another tab, which may have lost the refresh race) says why too.
  let signinNotice = api.signedIn ? null : END_SENTENCES[recentSessionEnd()] || null;

  const ctx = {
    api,
    live,
    query,
    titles,
    reviews,
    settings,
    announce: (msg) => announcer.say(msg),
    navigate: (path) => {
      if (currentPath() === path) render();
      else window.location.hash = `#${path}`;
    },
    /** The screen offers shortcut targets; returns a function that withdraws them. */
    provide: (offer) => {
      providers = { ...providers, ...offer };
      return () => {
        for (const key of Object.keys(offer)) if (providers[key] === offer[key]) delete providers[key];
      };
    },
    /** A shortcut's wish for this screen (once). */
    takeIntent: (name) => {
      if (intent !== name) return false;
      intent = null;
      return true;
    },
    rememberProject: (id) => {
      lastProjectId = id;
    },
    /** Why the last session ended; kept (across re-renders) until someone signs in again. */
    signinNotice: () => signinNotice,
  };

  const shortcuts = setupShortcuts({
    hasRoute,
    signedIn: () => api.signedIn,
    navigate: (path) => ctx.navigate(path),
    run(action) {
      if (action === "newTask" || action === "search") {
        if (providers[action]) {
          providers[action]();
          return;
        }
        intent = action;
        if (action === "newTask" && lastProjectId) ctx.navigate(`/projects/${encodeURIComponent(lastProjectId)}`);
        else ctx.navigate("/projects");
        return;
      }
      if (action === "board") {
        ctx.navigate(lastProjectId ? `/projects/${encodeURIComponent(lastProjectId)}` : "/projects");
      }
    },
  });
  shortcutsOpen.addEventListener("click", () => {
    setMenu(false);
    shortcuts.openOverlay();
  });

  function paintShell() {
    const user = api.user;
    const on = api.signedIn;
    nav.hidden = !on;
    whoami.hidden = !on;
    signout.hidden = !on;
    conn.hidden = !on;
    shortcutsOpen.hidden = !on;
    navAdmin.hidden = !(user && user.role === "admin");
    navKeys.hidden = !on;
    whoami.textContent = user ? `${user.name || user.email} (${user.role})` : "";
  }

  async function render() {
    const path = currentPath();
    if (!api.signedIn && path !== "/signin") {
      window.location.hash = "#/signin";
      return;
    }
    if (api.signedIn && path === "/signin") {
      window.location.hash = "#/dashboard";
      return;
    }
    setMenu(false);
    const match = ROUTES.map(([re, view, key]) => [re.exec(path), view, key]).find(([m]) => m);
    if (dispose) {
      try {
        dispose();
      } catch {
        /* a view failing to clean up must not block navigation */
      }
      dispose = null;
    }
    providers = {};
    for (const link of document.querySelectorAll("#topbar a[data-nav]")) {
      if (match && link.dataset.nav === match[2]) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    const token = ++renderToken;
    const focusedBefore = document.activeElement;
    if (!match) {
      replace(
        mainEl,
        h(
          "section",
          { class: "panel glass" },
          h("h1", { tabindex: "-1" }, "Not found"),
          h("p", {}, "There is nothing at this address. "),
          h("a", { href: "#/dashboard" }, "Go to the dashboard"),
        ),
      );
      focusHeading(focusedBefore);
      return;
    }
    const [m, view] = match;
    replace(mainEl);
    const cleanup = await view.render({ ...ctx, main: mainEl, params: m.slice(1) });
    if (token !== renderToken) {
      if (typeof cleanup === "function") cleanup();
      return;
    }
    dispose = typeof cleanup === "function" ? cleanup : null;
    focusHeading(focusedBefore);
    // A shortcut pressed elsewhere ("n" on the dashboard) lands here.
    for (const name of ["newTask", "search"]) {
      if (intent === name && providers[name]) {
        intent = null;
        providers[name]();
      }
    }
    intent = null;
  }

  // Moves focus to the new screen's heading so keyboard and screen-reader users land there,
  // unless they already moved focus themselves while the screen was loading.
  function focusHeading(focusedBefore) {
    const heading = mainEl.querySelector("h1");
    if (!heading) return;
    heading.setAttribute("tabindex", "-1");
    document.title = `${heading.textContent} · AION`;
    if (firstScreen) {
      firstScreen = false;
      return;
    }
    const now = document.activeElement;
    const untouched = !now || now === document.body || now === focusedBefore || now === mainEl;
    if (untouched) heading.focus({ preventScroll: false });
  }

  // Session changes, also those made in another tab (the session is shared through storage).
  api.onSession((session, { change, remote, reason }) => {
    paintShell();
    if (!session) {
      live.stop(); // closes this tab's WebSocket
      reviews.stop();
      query.clear();
      lastProjectId = null;
      // Say why on the sign-in screen (and to screen readers), never drop there silently.
      signinNotice = END_SENTENCES[reason] || END_SENTENCES.signed_out;
      if (currentPath() !== "/signin") window.location.hash = "#/signin";
      else render();
      announcer.say(signinNotice);
      return;
    }
    signinNotice = null;
    if (change === "switch") {
      // Someone else signed in in another tab: nothing cached or subscribed carries over.
      live.stop();
      reviews.stop();
      query.clear();
    }
    live.start();
    reviews.start();
    if (remote && change !== "refresh") {
      if (currentPath() === "/signin") window.location.hash = "#/dashboard";
      else render();
      announcer.say("Signed in in another tab");
    }
  });

  signout.addEventListener("click", async () => {
    signout.disabled = true;
    try {
      await api.logout();
    } catch {
      /* signed out locally either way */
    } finally {
      signout.disabled = false;
    }
  });

  window.addEventListener("hashchange", () => {
    render();
  });
  paintShell();
  if (api.signedIn) {
    live.start();
    reviews.start();
    // Refresh the profile in the background so role changes show up.
    api
      .get("/me")
      .then((me) => {
        if (me && api.session) {
          api.session.user = me.user || me;
          paintShell();
        }
      })
      .catch(() => {});
  }
  document.documentElement.dataset.ready = "true";
  await render();
}

main().catch((err) => {
  const mainEl = document.getElementById("main");
  replace(
    mainEl,
    h(
      "section",
      { class: "panel glass" },
      h("h1", {}, "The console could not start"),
      h("p", {}, String((err && err.message) || err)),
    ),
  );
});
