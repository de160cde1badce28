// Small SVG charts. Each has a title and a text description (the numbers), labels drawn as
// text, and colours from tokens.css so both themes and forced-colors stay legible.
import { STATUSES, statusLabel, svg, uid } from "./dom.js";

const W = 400; // viewBox width; charts render at about this size, so 13px text stays 13px

function frame(title, desc, height) {
  const tId = uid("chart-title");
  const dId = uid("chart-desc");
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${W} ${height}`,
    role: "img",
    "aria-labelledby": `${tId} ${dId}`,
  });
  root.append(svg("title", { id: tId }, title), svg("desc", { id: dId }, desc));
  return root;
}

/** Horizontal bars, one per status, with the count written next to each bar. */
export function statusBars(counts) {
  const rows = STATUSES.map((s) => [s, Number(counts[s] || 0)]);
  const max = Math.max(1, ...rows.map(([, n]) => n));
  const rowH = 30;
  const height = rows.length * rowH + 10;
  const desc = rows.map(([s, n]) => `${statusLabel(s)}: ${n}`).join(", ");
  const root = frame("Tasks by status", desc, height);
  const labelW = 100;
  const barMax = W - labelW - 40;
  rows.forEach(([status, n], i) => {
    const y = 5 + i * rowH;
    root.append(
      svg("text", { x: 0, y: y + 19 }, statusLabel(status)),
      svg("rect", {
        class: "bar",
        "data-status": status,
        x: labelW,
        y: y + 4,
        width: Math.max(2, (n / max) * barMax),
        height: rowH - 10,
        rx: 4,
      }),
      svg("text", { x: labelW + Math.max(2, (n / max) * barMax) + 8, y: y + 19 }, String(n)),
    );
  });
  return root;
}

/**
 * A line chart of points [{label, value}] with a y axis in `unit`.
 * Values are also listed in the description for screen readers.
 */
export function lineChart(title, points, unit) {
  const height = 220;
  const pad = { l: 48, r: 12, t: 12, b: 36 };
  const desc = points.length
    ? points.map((p) => `${p.label}: ${formatNum(p.value)} ${unit}`).join("; ")
    : "No data yet";
  const root = frame(title, desc, height);
  const plotW = W - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const max = Math.max(1, ...points.map((p) => p.value));
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.t + plotH - (plotH * i) / 4;
    root.append(
      svg("line", { class: "grid", x1: pad.l, x2: W - pad.r, y1: y, y2: y }),
      svg("text", { x: pad.l - 6, y: y + 4, "text-anchor": "end" }, formatNum((max * i) / 4)),
    );
  }
  root.append(
    svg("line", { class: "axis", x1: pad.l, x2: pad.l, y1: pad.t, y2: pad.t + plotH }),
    svg("text", { x: pad.l, y: height - 4 }, unit),
  );
  if (!points.length) {
    root.append(svg("text", { x: W / 2, y: height / 2, "text-anchor": "middle" }, "No data yet"));
    return root;
  }
  const step = points.length > 1 ? plotW / (points.length - 1) : 0;
  const xy = points.map((p, i) => [
    pad.l + (points.length > 1 ? i * step : plotW / 2),
    pad.t + plotH - (p.value / max) * plotH,
  ]);
  root.append(
    svg("polyline", { class: "series", points: xy.map(([x, y]) => `${x},${y}`).join(" ") }),
  );
  xy.forEach(([x, y]) => root.append(svg("circle", { class: "dot", cx: x, cy: y, r: 3.5 })));
  const first = points[0].label;
  const last = points.at(-1).label;
  root.append(svg("text", { x: pad.l, y: pad.t + plotH + 16 }, first));
  if (points.length > 1) {
    root.append(svg("text", { x: W - pad.r, y: pad.t + plotH + 16, "text-anchor": "end" }, last));
  }
  return root;
}

function formatNum(n) {
  if (n >= 100) return String(Math.round(n));
  if (n >= 10) return n.toFixed(1).replace(/\.0$/, "");
  return n.toFixed(2).replace(/\.?0+$/, "") || "0";
}
