// Rendering of a route decision (POST /router/explain, task.route) and module results.
import { h } from "./dom.js";

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

function list(items) {
  if (!items || !items.length) return h("span", { class: "hint" }, "none");
  return h(
    "ul",
    {},
    items.map((x) => h("li", {}, typeof x === "string" ? x : JSON.stringify(x))),
  );
}

/** The result in the form that suits its module; anything unknown as formatted JSON. */
export function resultView(module, result) {
  if (result === null || result === undefined) return h("p", {}, "No result yet.");
  const r = result;
  switch (module) {
    case "data.csv_profile":
      return h(
        "div",
        {},
        h("p", {}, `${r.rows} rows, ${(r.columns || []).length} columns`),
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "visually-hidden" }, "Column profile"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Column", "Type", "Nulls", "Distinct", "Min", "Max", "Mean"].map((c) =>
                  h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              (r.columns || []).map((c) =>
                h(
                  "tr",
                  {},
                  [c.name, c.type, c.nulls, c.distinct, c.min, c.max, c.mean].map((v) =>
                    h("td", {}, v === null || v === undefined ? "—" : String(v)),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    case "crypto.hash":
      return h(
        "dl",
        { class: "kv" },
        h("dt", {}, "Algorithm"),
        h("dd", {}, String(r.algorithm)),
        h("dt", {}, "Digest"),
        h("dd", {}, h("code", { class: "hash" }, String(r.hexdigest))),
        h("dt", {}, "Bytes"),
        h("dd", {}, String(r.bytes)),
      );
    case "text.summarize":
      return h("p", { class: "result-text" }, String(r.summary ?? ""));
    case "llm.generate":
      return h("p", { class: "result-text" }, String(r.text ?? ""));
    case "text.extract":
      return h(
        "dl",
        { class: "kv" },
        Object.entries(r).map(([k, v]) => [h("dt", {}, k), h("dd", {}, list(v))]),
      );
    case "text.sentiment":
      return h("p", {}, `${r.label} (score ${Number(r.score).toFixed(3)})`);
    case "math.evaluate":
      return h("p", {}, "Value: ", h("code", { class: "mono" }, String(r.value)));
    case "text.stats":
      return h(
        "dl",
        { class: "kv" },
        ["characters", "words", "lines", "sentences", "readingTimeSeconds"].map((k) => [
          h("dt", {}, k),
          h("dd", {}, String(r[k] ?? "—")),
        ]),
        h("dt", {}, "topWords"),
        h(
          "dd",
          {},
          list(
            (r.topWords || []).map((w) =>
              Array.isArray(w) ? `${w[0]} (${w[1]})` : w.word ? `${w.word} (${w.count})` : w,
            ),
          ),
        ),
      );
    case "data.json_query":
      return h("pre", { class: "raw" }, JSON.stringify(r.result, null, 2));
    default:
      if (typeof r === "string") return h("p", { class: "result-text" }, r);
      return h("pre", { class: "raw" }, JSON.stringify(r, null, 2));
  }
}
