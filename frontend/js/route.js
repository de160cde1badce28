// Rendering of a route decision (POST /router/explain, task.route) and module results.
import { h } from "./dom.js";
import { formatBytes, formatDuration, formatNumber, humanLabel } from "./format.js";

const TARGET_TEXT = {
  executor: "Executor (deterministic module)",
  llm: "Language model",
  review: "A person (needs review)",
};

export function decisionView(decision) {
  if (!decision) return h("p", {}, "Not routed yet.");
  const pct = Math.round(Number(decision.confidence || 0) * 100);
  const alternatives = decision.alternatives || [];
  return h(
    "div",
    { class: "decision" },
    h(
      "dl",
      { class: "kv" },
      h("dt", {}, "Target"),
      h("dd", {}, TARGET_TEXT[decision.target] || String(decision.target)),
      h("dt", {}, "Module"),
      h("dd", {}, h("code", {}, String(decision.module || "—"))),
      h("dt", {}, "Confidence"),
      h("dd", { class: "confidence" }, `${pct}%`),
      h("dt", {}, "Decided by"),
      h("dd", {}, String(decision.decidedBy || "—")),
      h("dt", {}, "Reason"),
      h("dd", {}, String(decision.reason || "—")),
      decision.params && Object.keys(decision.params).length
        ? [h("dt", {}, "Parameters"), h("dd", {}, h("code", {}, JSON.stringify(decision.params)))]
        : null,
    ),
    evidenceWords(decision).length
      ? h(
          "p",
          {},
          "Words that weighed most: ",
          evidenceWords(decision)
            .map((w) => `${w.word} (${Number(w.weight).toFixed(1)})`)
            .join(", "),
        )
      : null,
    alternatives.length
      ? h(
          "div",
          {},
          h("h3", {}, "Alternatives"),
          h(
            "ul",
            {},
            alternatives.map((a) =>
              h("li", {}, h("code", {}, String(a.module)), ` score ${Number(a.score).toFixed(2)}`),
            ),
          ),
        )
      : null,
  );
}

function evidenceWords(decision) {
  const words = decision && decision.evidence && decision.evidence.words;
  return Array.isArray(words) ? words.filter((w) => w && w.word).slice(0, 5) : [];
}

function list(items, render = (x) => (typeof x === "string" ? x : JSON.stringify(x))) {
  if (!items || !items.length) return h("span", { class: "hint" }, "none");
  return h(
    "ul",
    { class: "tight-list" },
    items.map((x) => h("li", {}, render(x))),
  );
}

/** Labelled fields: [[label, value-node-or-text], ...]. */
function fields(rows) {
  return h(
    "dl",
    { class: "kv" },
    rows.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
  );
}

const STATS_FIELDS = [
  ["words", "Words"],
  ["characters", "Characters"],
  ["sentences", "Sentences"],
  ["lines", "Lines"],
];
const EXTRACT_LABELS = {
  emails: "Email addresses",
  urls: "Links",
  phones: "Phone numbers",
  dates: "Dates",
  money: "Amounts of money",
  hashtags: "Hashtags",
  mentions: "Mentions",
};
const HASH_NAMES = { sha256: "SHA-256", sha1: "SHA-1", sha512: "SHA-512", md5: "MD5", blake2b: "BLAKE2b" };
const NUMERIC_TYPES = new Set(["integer", "float", "number", "int", "double"]);

function csvProfile(r) {
  const columns = r.columns || [];
  const numeric = (c) => NUMERIC_TYPES.has(String(c.type));
  const cell = (c, v) =>
    h(
      "td",
      { class: numeric(c) && typeof v === "number" ? "num" : null },
      v === null || v === undefined ? "—" : typeof v === "number" ? formatNumber(v) : String(v),
    );
  return h(
    "div",
    {},
    h("p", {}, `${formatNumber(r.rows)} rows, ${columns.length} columns`),
    h(
      "div",
      { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Column profile" },
      h(
        "table",
        { class: "profile" },
        h("caption", { class: "visually-hidden" }, "Column profile"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Column", "Type", "Empty", "Distinct", "Min", "Max", "Mean"].map((c, i) =>
              h("th", { scope: "col", class: i >= 2 ? "num" : null }, c),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          columns.map((c) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, String(c.name)),
              h("td", {}, String(c.type ?? "—")),
              h("td", { class: "num" }, formatNumber(c.nulls)),
              h("td", { class: "num" }, formatNumber(c.distinct)),
              cell(c, c.min),
              cell(c, c.max),
              cell(c, c.mean),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A flat object of plain values as labelled fields; anything deeper as formatted JSON. */
function generic(r) {
  if (typeof r === "string") return h("p", { class: "result-text" }, r);
  if (typeof r === "number") return h("p", { class: "result-value" }, formatNumber(r));
  if (r && typeof r === "object" && !Array.isArray(r)) {
    const entries = Object.entries(r);
    const flat = entries.every(([, v]) => v === null || ["string", "number", "boolean"].includes(typeof v));
    if (flat && entries.length) {
      return fields(entries.map(([k, v]) => [humanLabel(k), typeof v === "number" ? formatNumber(v) : String(v ?? "—")]));
    }
  }
  return h("pre", { class: "raw" }, JSON.stringify(r, null, 2));
}

/** The result in the form that suits its module: labelled, rounded, sizes in units. */
export function resultView(module, result) {
  if (result === null || result === undefined) return h("p", {}, "No result yet.");
  const r = result;
  if (typeof r !== "object") return generic(r);
  switch (module) {
    case "data.csv_profile":
      return csvProfile(r);
    case "crypto.hash":
      return fields([
        ["Algorithm", HASH_NAMES[String(r.algorithm).toLowerCase()] || String(r.algorithm)],
        ["Digest", h("code", { class: "hash" }, String(r.hexdigest))],
        ["Input size", formatBytes(r.bytes)],
      ]);
    case "text.summarize":
      return h(
        "div",
        {},
        h("p", { class: "result-text" }, String(r.summary ?? "")),
        Array.isArray(r.sentences)
          ? h("p", { class: "hint" }, `${r.sentences.length} sentence${r.sentences.length === 1 ? "" : "s"} kept`)
          : null,
      );
    case "llm.generate":
      return h("p", { class: "result-text" }, String(r.text ?? ""));
    case "text.extract":
      return fields(
        Object.entries(r).map(([k, v]) => [EXTRACT_LABELS[k] || humanLabel(k), Array.isArray(v) ? list(v) : String(v)]),
      );
    case "text.sentiment": {
      const label = String(r.label || "");
      return fields([
        ["Sentiment", label ? label[0].toUpperCase() + label.slice(1) : "—"],
        ["Score", `${formatNumber(Number(r.score))} (−1 negative … +1 positive)`],
      ]);
    }
    case "math.evaluate":
      return fields([["Value", h("span", { class: "result-value mono" }, formatNumber(r.value))]]);
    case "text.stats":
      return fields([
        ...STATS_FIELDS.map(([k, label]) => [label, formatNumber(r[k])]),
        ["Reading time", r.readingTimeSeconds === undefined ? "—" : formatDuration(Number(r.readingTimeSeconds) * 1000)],
        [
          "Top words",
          list(r.topWords || [], (w) =>
            Array.isArray(w) ? `${w[0]} × ${w[1]}` : w && w.word ? `${w.word} × ${w.count}` : String(w),
          ),
        ],
      ]);
    case "data.json_query":
      return h("pre", { class: "raw" }, JSON.stringify(r.result, null, 2));
    default:
      return generic(r);
  }
}

const FILE_ID = /^fil_[0-9a-f]{20}$/;

/** Whether a task's input names an uploaded file (its id) rather than being the text itself. */
export function isFileId(input) {
  return typeof input === "string" && FILE_ID.test(input);
}

const PREVIEW_CHARS = 600;

/**
 * A task's input for people: text (a preview, the rest on demand), JSON pretty-printed.
 * Files are shown by the task screen, which fetches their details.
 */
export function inputView(input) {
  if (input === null || input === undefined || input === "") return h("p", { class: "hint" }, "No input.");
  if (typeof input === "string") {
    let parsed;
    const trimmed = input.trim();
    if ((trimmed.startsWith("{") || trimmed.startsWith("[")) && trimmed.length < 200_000) {
      try {
        parsed = JSON.parse(trimmed);
      } catch {
        parsed = undefined;
      }
    }
    if (parsed !== undefined) return jsonBlock(parsed, "JSON input");
    const lines = input.split("\n").length;
    const meta = h(
      "p",
      { class: "hint" },
      `Text, ${formatNumber(input.length)} characters${lines > 1 ? `, ${formatNumber(lines)} lines` : ""}`,
    );
    if (input.length <= PREVIEW_CHARS) return h("div", {}, meta, h("pre", { class: "input-text" }, input));
    const more = h("details", {}, h("summary", {}, "Show all of it"), h("pre", { class: "input-text" }, input));
    return h(
      "div",
      {},
      meta,
      h("pre", { class: "input-text" }, `${input.slice(0, PREVIEW_CHARS)}…`),
      more,
    );
  }
  return jsonBlock(input, "JSON input");
}

function jsonBlock(value, label) {
  return h(
    "div",
    {},
    h("p", { class: "hint" }, label),
    h("pre", { class: "raw", tabindex: "0", "aria-label": label }, JSON.stringify(value, null, 2)),
  );
}
