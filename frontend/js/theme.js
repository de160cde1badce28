// The theme: follow the system (nothing stored), or light, or dark. A three-way radio group, so
// it always shows what is on and there is a way back to the system's choice; theme-init.js
// applies a stored choice before first paint.

const KEY = "aion-theme";
const CHOICES = ["system", "light", "dark"];
const media = window.matchMedia("(prefers-color-scheme: dark)");

export function currentTheme() {
  const explicit = document.documentElement.getAttribute("data-theme");
  if (explicit === "light" || explicit === "dark") return explicit;
  return media.matches ? "dark" : "light";
}

export function themeChoice() {
  const explicit = document.documentElement.getAttribute("data-theme");
  return explicit === "light" || explicit === "dark" ? explicit : "system";
}

function apply(choice) {
  const root = document.documentElement;
  if (choice === "light" || choice === "dark") root.setAttribute("data-theme", choice);
  else root.removeAttribute("data-theme");
  try {
    if (choice === "system") window.localStorage.removeItem(KEY);
    else window.localStorage.setItem(KEY, choice);
  } catch {
    /* not persisted, still applied */
  }
}

/** A sentence for the live region: what is on now. */
export function themeSentence(choice = themeChoice()) {
  if (choice === "system") return `Theme follows the system (${currentTheme()} now)`;
  return `Theme: ${choice}`;
}

/**
 * Wires the radio group (inputs named "theme", values system/light/dark). announce(text) tells
 * screen readers the state after a change; the system option's description names what the
 * system gives now.
 */
export function setupThemeSwitch(group, announce) {
  const inputs = [...group.querySelectorAll('input[name="theme"]')];
  const systemNow = group.querySelector("[data-theme-now]");
  function paint() {
    const choice = themeChoice();
    for (const input of inputs) input.checked = input.value === choice;
    if (systemNow) systemNow.textContent = `(${media.matches ? "dark" : "light"} now)`;
  }
  for (const input of inputs) {
    input.addEventListener("change", () => {
      if (!input.checked || !CHOICES.includes(input.value)) return;
      apply(input.value);
      paint();
      if (announce) announce(themeSentence(input.value));
    });
  }
  media.addEventListener("change", paint);
  // Another tab changed the theme: follow it.
  window.addEventListener("storage", (event) => {
    if (event.key !== KEY && event.key !== null) return;
    let stored = null;
    try {
      stored = window.localStorage.getItem(KEY);
    } catch {
      return;
    }
    const root = document.documentElement;
    if (stored === "light" || stored === "dark") root.setAttribute("data-theme", stored);
    else root.removeAttribute("data-theme");
    paint();
  });
  paint();
}
