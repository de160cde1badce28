// Polite announcements for status changes, throttled so a burst of telemetry does not flood
// screen readers: at most one update every THROTTLE_MS, bursts coalesced into one sentence.

const THROTTLE_MS = 2500;

export class Announcer {
  constructor(region) {
    this.region = region;
    this.pending = [];
    this.timer = null;
    this.lastAt = 0;
  }

  say(message) {
    if (!message) return;
    this.pending.push(String(message));
    if (this.timer) return;
    const wait = Math.max(0, this.lastAt + THROTTLE_MS - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = null;
    if (!this.pending.length) return;
    const items = this.pending.splice(0);
    const text =
      items.length <= 2 ? items.join(". ") : `${items.length} updates. Latest: ${items.at(-1)}`;
    // Clearing first makes repeated identical messages announce again.
    this.region.textContent = "";
    window.setTimeout(() => {
      this.region.textContent = text;
    }, 50);
    this.lastAt = Date.now();
  }
}
