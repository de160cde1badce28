// What a person does about a task waiting for review (POST /tasks/{id}/review): answer it
// (text or JSON), run it with a module (a params form built from the module's JSON Schema in
// GET /router/catalog), give it input (pasted, or a file through the usual upload), or reject
// it. One panel, used by the Reviews inbox and by the task page. Plain form controls only, so
// it works from the keyboard and reads well to screen readers; errors name the field.
// Its forms have no accessible name, so they are no landmarks: the inbox shows many panels,
// and tasks may share a title (axe's landmark-unique).
import { loadCatalog } from "./catalog.js";
import { field, h, replace, uid } from "./dom.js";
import { attachFile } from "./upload.js";

const ACTIONS = [
  ["answer", "Answer it"],
  ["run", "Run with a module"],
  ["input", "Give it input"],
  ["reject", "Reject it"],
];

/** The action a person most likely wants, from why the task waits. */
function suggested(task) {
  const code = task.route && task.route.reasonCode;
  if (code === "input_missing" || code === "input_mismatch") return "input";
  if (code === "low_confidence") return "run";
  return "answer";
}

/**
 * The panel for `task` (in needs_review). onDone(task): the action was taken (the task as the
 * server returned it). onStale(): someone else acted first (the caller reloads).
 */
export function reviewPanel(ctx, task, { onDone, onStale } = {}) {
  const key = uid("review");
  const errors = h("div", { class: "review-errors" });
  const choice = h(
    "fieldset",
    { class: "review-choice" },
    h("legend", {}, "What do you do?"),
    ACTIONS.map(([value, label]) => {
      const id = `${key}-${value}`;
      return h(
        "span",
        { class: "choice" },
        h("input", { type: "radio", name: `${key}-action`, id, value }),
        h("label", { for: id }, label),
      );
    }),
  );
  const forms = {
    answer: answerForm(),
    run: runForm(),
    input: inputForm(),
    reject: rejectForm(),
  };
  const panel = h("div", { class: "review-panel" }, choice, errors, Object.values(forms).map((f) => f.form));

  function show(which) {
    for (const [name, f] of Object.entries(forms)) f.form.hidden = name !== which;
    for (const radio of choice.querySelectorAll("input")) radio.checked = radio.value === which;
    replace(errors);
    if (which === "run") forms.run.prepare();
  }
  choice.addEventListener("change", (event) => show(event.target.value));
  show(suggested(task));

  function fail(message, control) {
    replace(errors, h("div", { class: "form-error", role: "alert" }, message));
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.focus();
    }
  }

  function clearInvalid(form) {
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    replace(errors);
  }

  async function send(body, button, controlFor) {
    button.disabled = true;
    try {
      const done = await ctx.api.post(`/tasks/${encodeURIComponent(task.id)}/review`, body);
      if (onDone) onDone(done);
      return done;
    } catch (err) {
      if (err.status === 409 && err.code === "invalid_state") {
        fail(`Someone else acted on this task first. ${err.message}`);
        if (onStale) onStale();
      } else if (err.status === 404) {
        fail("This task is gone, or no longer in one of your projects.");
        if (onStale) onStale();
      } else {
        const problem = Array.isArray(err.details) && err.details[0] ? err.details[0].field : null;
        fail(err.message, controlFor(problem, err.code));
      }
      return null;
    } finally {
      button.disabled = false;
    }
  }

  // -- answer -------------------------------------------------------------------------------
  function answerForm() {
    const asText = h("input", { type: "radio", name: `${key}-kind`, id: `${key}-text`, value: "text", checked: true });
    const asJson = h("input", { type: "radio", name: `${key}-kind`, id: `${key}-json`, value: "json" });
    const text = h("textarea", { name: "result", rows: "4", required: true });
    const submit = h("button", { type: "submit", class: "btn" }, "Complete with this answer");
    const form = h(
      "form",
      { novalidate: true },
      h(
        "fieldset",
        { class: "row" },
        h("legend", {}, "The answer is"),
        h("span", { class: "choice" }, asText, h("label", { for: asText.id }, "Text")),
        h("span", { class: "choice" }, asJson, h("label", { for: asJson.id }, "JSON")),
      ),
      field("Your answer", text, "The task completes with it as its result.").wrap,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearInvalid(form);
      const raw = text.value;
      if (!raw.trim()) return fail("Write the answer first.", text);
      let result = raw;
      if (asJson.checked) {
        try {
          result = JSON.parse(raw);
        } catch (err) {
          return fail(`This is not valid JSON: ${err.message}`, text);
        }
        if (result === null) return fail("The answer cannot be null.", text);
      }
      const done = await send({ action: "answer", result }, submit, () => text);
      if (done) ctx.announce(`Answered “${task.title}”: completed`);
    });
    return { form };
  }

  // -- run ----------------------------------------------------------------------------------
  function runForm() {
    const module = h("select", { name: "module", required: true }, h("option", { value: "" }, "Loading modules…"));
    const moduleHint = h("span", { class: "hint", id: `${key}-module-hint` });
    module.setAttribute("aria-describedby", moduleHint.id);
    const paramsBox = h("div", { class: "params" });
    const input = h("textarea", { name: "input", rows: "4" });
    const submit = h("button", { type: "submit", class: "btn" }, "Run it");
    const moduleField = field("Module", module);
    moduleField.wrap.append(moduleHint);
    const form = h(
      "form",
      { novalidate: true },
      moduleField.wrap,
      paramsBox,
      field("Replace the input (optional)", input, "Left empty, the task keeps its input.").wrap,
      submit,
    );
    let catalog = null;
    let params = null; // the form of the chosen module's params

    async function prepare() {
      if (catalog) return;
      catalog = await loadCatalog(ctx);
      const decided = task.route && task.route.module;
      const alternatives = ((task.route && task.route.alternatives) || []).map((a) => a.module);
      const preferred = [decided, ...alternatives].find((name) => catalog.some((m) => m.name === name));
      replace(
        module,
        catalog.map((m) =>
          h(
            "option",
            { value: m.name, selected: m.name === preferred },
            `${m.name}${m.available === false ? " (unavailable now)" : ""}`,
          ),
        ),
      );
      paint();
    }

    function paint() {
      const chosen = catalog.find((m) => m.name === module.value);
      moduleHint.textContent = chosen ? chosen.description || "" : "";
      // What the router read for its own pick is the best start (an expression, an algorithm).
      const initial = chosen && task.route && chosen.name === task.route.module ? task.route.params || {} : {};
      params = paramsForm(key, chosen ? chosen.paramsSchema : null, initial);
      replace(paramsBox, params.element);
    }
    module.addEventListener("change", paint);

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearInvalid(form);
      if (!catalog) await prepare();
      if (!module.value) return fail("Choose a module.", module);
      const read = params.read();
      if (read.error) return fail(read.error, read.control);
      const body = { action: "run", module: module.value, params: read.value };
      if (input.value.trim()) body.input = input.value;
      const done = await send(body, submit, (problem, code) => {
        if (problem && problem.startsWith("params")) return params.control(problem.split(".")[1]) || module;
        if (code === "input_missing" || code === "input_mismatch") return input;
        return module;
      });
      if (done) ctx.announce(`Queued “${task.title}” to run ${module.value}`);
    });
    return { form, prepare };
  }

  // -- input --------------------------------------------------------------------------------
  function inputForm() {
    const text = h("textarea", { name: "input", rows: "4" });
    const file = h("input", { type: "file", name: "file" });
    const progress = h("progress", { max: "100", value: "0", id: `${key}-upload` });
    const progressWrap = h("div", { class: "field", hidden: true }, h("label", { for: progress.id }, "Upload progress"), progress);
    const submit = h("button", { type: "submit", class: "btn" }, "Give the input and route again");
    const form = h(
      "form",
      { novalidate: true },
      field("Paste the input", text, "Text or JSON. The router decides the route again with it.").wrap,
      field("Or upload a file", file).wrap,
      progressWrap,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearInvalid(form);
      const chosen = file.files && file.files[0];
      if (!chosen && !text.value.trim()) return fail("Paste the input or choose a file.", text);
      if (chosen && text.value.trim()) return fail("Give the input one way: paste it or upload a file.", text);
      let value = text.value;
      if (chosen) {
        submit.disabled = true;
        progressWrap.hidden = false;
        try {
          const uploaded = await attachFile(ctx.api, task.id, chosen, (f) => {
            progress.value = Math.round(f * 100);
            progress.textContent = `${Math.round(f * 100)}%`;
          });
          value = uploaded.id;
        } catch (err) {
          submit.disabled = false;
          return fail(err.message, file);
        }
      }
      const done = await send({ action: "input", input: value }, submit, () => (chosen ? file : text));
      if (done) ctx.announce(`Gave “${task.title}” its input: routing it again`);
    });
    return { form };
  }

  // -- reject -------------------------------------------------------------------------------
  function rejectForm() {
    const reason = h("textarea", { name: "reason", rows: "3", maxlength: "2000", required: true });
    const submit = h("button", { type: "submit", class: "btn danger" }, "Reject the task");
    const form = h(
      "form",
      { novalidate: true },
      field("Why", reason, "The task fails with this reason (error code “rejected”).").wrap,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearInvalid(form);
      if (!reason.value.trim()) return fail("Say why the task is rejected.", reason);
      const done = await send({ action: "reject", reason: reason.value.trim() }, submit, () => reason);
      if (done) ctx.announce(`Rejected “${task.title}”`);
    });
    return { form };
  }

  return panel;
}

// -- a params form from a JSON Schema ---------------------------------------------------------

function concrete(schema) {
  if (schema && Array.isArray(schema.anyOf)) {
    const branch = schema.anyOf.find((b) => b && b.type !== "null");
    if (branch) return { ...branch, title: schema.title, description: schema.description, default: schema.default };
  }
  return schema || {};
}

/**
 * Controls for an object schema's properties (enum: a select, integer/number: a number field,
 * string: a text field, boolean: a checkbox, array of enum: checkboxes; anything else: JSON).
 * No schema known: one JSON field for the whole object. read() -> {value} or {error, control}.
 */
export function paramsForm(key, schema, initial = {}) {
  if (!schema || schema.type !== "object" || typeof schema.properties !== "object") {
    const raw = h("textarea", { name: "params", rows: "3" });
    raw.value = Object.keys(initial).length ? JSON.stringify(initial, null, 2) : "";
    const wrap = field("Parameters (a JSON object, optional)", raw, "This module does not describe its parameters.").wrap;
    return {
      element: wrap,
      control: () => raw,
      read() {
        if (!raw.value.trim()) return { value: {} };
        try {
          const value = JSON.parse(raw.value);
          if (value && typeof value === "object" && !Array.isArray(value)) return { value };
        } catch {
          /* said below */
        }
        return { error: "The parameters must be a JSON object, like {\"sentences\": 2}.", control: raw };
      },
    };
  }
  const names = Object.keys(schema.properties);
  if (!names.length) {
    return { element: h("p", { class: "hint" }, "This module takes no parameters."), control: () => null, read: () => ({ value: {} }) };
  }
  const required = new Set(schema.required || []);
  const controls = {};
  const readers = [];
  const rows = names.map((name) => {
    const prop = concrete(schema.properties[name]);
    const label = `${prop.title || name}${required.has(name) ? " (required)" : ""}`;
    const hintParts = [prop.description, prop.default !== undefined && prop.default !== null ? `default ${JSON.stringify(prop.default)}` : null];
    const hint = hintParts.filter(Boolean).join("; ") || undefined;
    const start = initial[name];
    if (Array.isArray(prop.enum)) {
      const select = h(
        "select",
        { name, required: required.has(name) },
        required.has(name) ? null : h("option", { value: "" }, "Default"),
        prop.enum.map((v) => h("option", { value: String(v), selected: start === v }, String(v))),
      );
      controls[name] = select;
      readers.push(() => (select.value === "" ? undefined : prop.enum.find((v) => String(v) === select.value)));
      return field(label, select, hint).wrap;
    }
    if (prop.type === "integer" || prop.type === "number") {
      const input = h("input", {
        type: "number",
        name,
        inputmode: prop.type === "integer" ? "numeric" : "decimal",
        step: prop.type === "integer" ? "1" : "any",
        min: prop.minimum,
        max: prop.maximum,
        value: typeof start === "number" ? String(start) : "",
      });
      controls[name] = input;
      readers.push(() => {
        if (input.value.trim() === "") return undefined;
        const n = Number(input.value);
        if (!Number.isFinite(n) || (prop.type === "integer" && !Number.isInteger(n))) {
          throw problem(`${prop.title || name} must be ${prop.type === "integer" ? "a whole number" : "a number"}.`, input);
        }
        if (prop.minimum !== undefined && n < prop.minimum) throw problem(`${prop.title || name} must be at least ${prop.minimum}.`, input);
        if (prop.maximum !== undefined && n > prop.maximum) throw problem(`${prop.title || name} can be at most ${prop.maximum}.`, input);
        return n;
      });
      return field(label, input, hint).wrap;
    }
    if (prop.type === "boolean") {
      const box = h("input", { type: "checkbox", name, id: uid(`${key}-p`), checked: start === true });
      controls[name] = box;
      readers.push(() => box.checked);
      return h("p", { class: "row" }, box, h("label", { for: box.id }, label));
    }
    if (prop.type === "array" && prop.items && Array.isArray(prop.items.enum)) {
      const boxes = prop.items.enum.map((v) => {
        const box = h("input", { type: "checkbox", id: uid(`${key}-p`), value: String(v), checked: Array.isArray(start) && start.includes(v) });
        return [box, h("span", { class: "choice" }, box, h("label", { for: box.id }, String(v)))];
      });
      controls[name] = boxes[0] ? boxes[0][0] : null;
      readers.push(() => {
        const picked = boxes.filter(([box]) => box.checked).map(([box]) => prop.items.enum.find((v) => String(v) === box.value));
        return picked.length ? picked : undefined;
      });
      return h("fieldset", { class: "row" }, h("legend", {}, label), boxes.map(([, wrap]) => wrap), hint ? h("span", { class: "hint" }, hint) : null);
    }
    if (prop.type === "string") {
      const input = h("input", { type: "text", name, maxlength: prop.maxLength, value: typeof start === "string" ? start : "" });
      controls[name] = input;
      readers.push(() => {
        if (input.value === "") return undefined;
        if (prop.minLength && input.value.length < prop.minLength) throw problem(`${prop.title || name} needs at least ${prop.minLength} characters.`, input);
        return input.value;
      });
      return field(label, input, hint).wrap;
    }
    const raw = h("textarea", { name, rows: "2" });
    raw.value = start === undefined ? "" : JSON.stringify(start);
    controls[name] = raw;
    readers.push(() => {
      if (!raw.value.trim()) return undefined;
      try {
        return JSON.parse(raw.value);
      } catch {
        throw problem(`${prop.title || name} must be JSON.`, raw);
      }
    });
    return field(`${label} (JSON)`, raw, hint).wrap;
  });
  return {
    element: h("fieldset", { class: "params" }, h("legend", {}, "Parameters"), rows),
    control: (name) => controls[name] || null,
    read() {
      const value = {};
      try {
        names.forEach((name, i) => {
          const v = readers[i]();
          if (v === undefined) {
            if (required.has(name)) throw problem(`${schema.properties[name].title || name} is required.`, controls[name]);
            return;
          }
          value[name] = v;
        });
      } catch (err) {
        if (err && err.control !== undefined) return { error: err.message, control: err.control };
        throw err;
      }
      return { value };
    },
  };
}

function problem(message, control) {
  const err = new Error(message);
  err.control = control;
  return err;
}
