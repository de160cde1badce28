// Light/dark toggle. No stored choice = follow the system; theme-init.js applies a stored
// choice before first paint.

const KEY = "aion-theme";
const media = window.matchMedia("(prefers-color-scheme: dark)");

export function currentTheme() {
  const explicit = document.documentElement.getAttribute("data-theme");
  if (explicit === "light" || explicit === "dark") return explicit;
  return media.matches ? "dark" : "light";
}

// A toggle button keeps one name; its pressed state says whether dark is on.
function label(button) {
  button.textContent = "Dark theme";
  button.setAttribute("aria-pressed", currentTheme() === "dark" ? "true" : "false");
}

export function setupThemeToggle(button) {
  label(button);
  button.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try {
      window.localStorage.setItem(KEY, next);
    } catch {
      /* not persisted, still applied */
    }
    label(button);
  });
  media.addEventListener("change", () => label(button));
}
