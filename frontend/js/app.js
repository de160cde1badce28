// Console bootstrap: settings, session, the one WebSocket, hash routing and the shell.
import { Announcer } from "./announce.js";
import { Api } from "./api.js";
import { h, replace } from "./dom.js";
import { Live } from "./live.js";
import { QueryCache } from "./query.js";
import { loadSettings } from "./settings.js";
import { setupThemeToggle } from "./theme.js";
import * as adminView from "./views/admin.js";
import * as boardView from "./views/board.js";
import * as dashboardView from "./views/dashboard.js";
import * as projectView from "./views/project.js";
import * as projectsView from "./views/projects.js";
import * as signinView from "./views/signin.js";
import * as taskView from "./views/task.js";

// Hash routes work from S3 without rewrite rules. [pattern, view, nav key]
const ROUTES = [
  [/^\/signin$/, signinView, null],
  [/^\/dashboard$/, dashboardView, "dashboard"],
  [/^\/projects$/, projectsView, "projects"],
  [/^\/projects\/([^/]+)$/, boardView, "projects"],
  [/^\/projects\/([^/]+)\/settings$/, projectView, "projects"],
  [/^\/tasks\/([^/]+)$/, taskView, "projects"],
  [/^\/admin\/users$/, adminView, "admin"],
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

async function main() {
  const settings = await loadSettings();
  const api = new Api(settings.apiUrl);
  const live = new Live(api, settings.wsUrl);
  const query = new QueryCache();
  const announcer = new Announcer(document.getElementById("announcer"));
  const mainEl = document.getElementById("main");
  const nav = document.getElementById("mainnav");
  const navAdmin = document.getElementById("nav-admin");
  const whoami = document.getElementById("whoami");
  const signout = document.getElementById("signout");
  const conn = document.getElementById("conn-state");

  setupThemeToggle(document.getElementById("theme-toggle"));

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

  let dispose = null;
  let renderToken = 0;
  let firstScreen = true; // on page load focus stays at the top (skip link first)
  const ctx = {
    api,
    live,
    query,
    settings,
    announce: (msg) => announcer.say(msg),
    navigate: (path) => {
      if (currentPath() === path) render();
      else window.location.hash = `#${path}`;
    },
  };

  function paintShell() {
    const user = api.user;
    const on = api.signedIn;
    nav.hidden = !on;
    whoami.hidden = !on;
    signout.hidden = !on;
    conn.hidden = !on;
    navAdmin.hidden = !(user && user.role === "admin");
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
    const match = ROUTES.map(([re, view, key]) => [re.exec(path), view, key]).find(([m]) => m);
    if (dispose) {
      try {
        dispose();
      } catch {
        /* a view failing to clean up must not block navigation */
      }
      dispose = null;
    }
    for (const link of nav.querySelectorAll("a[data-nav]")) {
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
  api.onSession((session, { change, remote }) => {
    paintShell();
    if (!session) {
      live.stop(); // closes this tab's WebSocket
      query.clear();
      if (currentPath() !== "/signin") window.location.hash = "#/signin";
      else render();
      if (remote) announcer.say("Signed out in another tab");
      return;
    }
    if (change === "switch") {
      // Someone else signed in in another tab: nothing cached or subscribed carries over.
      live.stop();
      query.clear();
    }
    live.start();
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
    announcer.say("Signed out");
  });

  window.addEventListener("hashchange", () => {
    render();
  });
  paintShell();
  if (api.signedIn) {
    live.start();
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
