// Numbers, sizes and durations for people: one place, so every screen rounds the same way.

const UNITS = ["KB", "MB", "GB", "TB"];

/** 1536 -> "1.5 KB", 25270000 -> "24.1 MB", 52428800 -> "50 MB" (binary multiples, as the
 * limits are defined). */
export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return "—";
  if (Math.abs(n) < 1024) return `${n} byte${n === 1 ? "" : "s"}`;
  let value = n;
  let unit = -1;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = Math.abs(value) >= 100 ? 0 : 1;
  return `${trimZeros(value.toFixed(digits))} ${UNITS[unit]}`;
}

/** 18 -> "18 ms", 1234 -> "1.2 s", 75000 -> "1 min 15 s", 3_900_000 -> "1 h 5 min". */
export function formatDuration(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0) return "—";
  if (n < 1000) return `${Math.round(n)} ms`;
  const s = n / 1000;
  if (s < 10) return `${trimZeros(s.toFixed(1))} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const totalS = Math.round(s);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const rest = totalS % 60;
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}

/** How long a task ran (or has been running): ms, or null when it never started. */
export function taskDurationMs(task, now = Date.now()) {
  if (!task || !task.startedAt) return null;
  const start = Date.parse(task.startedAt);
  const end = task.finishedAt ? Date.parse(task.finishedAt) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) return null;
  return Math.max(0, end - start);
}

/** Grouped integers ("545,923"); fractions rounded to what a person can read. */
export function formatNumber(value) {
  const n = Number(value);
  if (typeof value === "boolean" || value === null || value === "" || !Number.isFinite(n)) {
    return value === null || value === undefined ? "—" : String(value);
  }
  const abs = Math.abs(n);
  let digits = 0;
  if (!Number.isInteger(n)) digits = abs >= 1000 ? 1 : abs >= 1 ? 2 : 4;
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(n);
}

/** "readingTimeSeconds" -> "Reading time seconds"; "hexdigest" stays one word. */
export function humanLabel(key) {
  const words = String(key)
    .replace(/[_-]+/g, " ")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .trim()
    .toLowerCase();
  return words ? words[0].toUpperCase() + words.slice(1) : "";
}

function trimZeros(text) {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
