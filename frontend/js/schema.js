// The API's own rules, read from its OpenAPI document (GET /openapi.json): field limits for
// forms ("at least 8 characters") and human sentences for the server's validation errors
// ("Files up to 50 MB" instead of "Input should be less than or equal to 52428800"). The
// numbers always come from the server's schema, so the console never keeps a second copy.
import { formatBytes, humanLabel } from "./format.js";

const METHODS = ["get", "put", "post", "patch", "delete"];
// Fields that hold a number of bytes; their limits read as sizes.
const BYTE_FIELDS = /(^|\.)(size|bytes|\w+Bytes)$/;

function templateRegex(template) {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${pattern}$`);
}

/** The non-null branch of an optional field (`anyOf: [{...}, {type: "null"}]`). */
function concrete(schema, doc) {
  let s = resolve(schema, doc);
  if (s && Array.isArray(s.anyOf)) {
    const branch = s.anyOf.map((b) => resolve(b, doc)).find((b) => b && b.type !== "null");
    if (branch) s = { ...branch, title: s.title || branch.title };
  }
  return s || {};
}

function resolve(schema, doc) {
  let s = schema;
  for (let i = 0; s && s.$ref && i < 10; i += 1) {
    const path = s.$ref.replace(/^#\//, "").split("/");
    s = path.reduce((node, key) => (node ? node[key] : undefined), doc);
  }
  return s;
}

export class Schema {
  constructor(apiUrl) {
    this.apiUrl = apiUrl;
    this.doc = null;
    this.loading = null;
    this.routes = null;
  }

  /** The OpenAPI document, fetched once (public, no token needed). */
  load() {
    if (this.doc) return Promise.resolve(this.doc);
    if (!this.loading) {
      this.loading = fetch(`${this.apiUrl}/openapi.json`, { headers: { Accept: "application/json" } })
        .then((res) => {
          if (!res.ok) throw new Error(`The API description could not be loaded (${res.status}).`);
          return res.json();
        })
        .then((doc) => {
          this.doc = doc;
          this.routes = Object.keys(doc.paths || {}).map((t) => [templateRegex(t), t]);
          return doc;
        })
        .finally(() => {
          this.loading = null;
        });
    }
    return this.loading;
  }

  operation(method, path) {
    const bare = String(path).split("?")[0];
    const match = (this.routes || []).find(([re]) => re.test(bare));
    if (!match) return null;
    const m = String(method).toLowerCase();
    return METHODS.includes(m) ? (this.doc.paths[match[1]] || {})[m] || null : null;
  }

  /** The schema of one field of a request: location "body" (JSON body) or "query". */
  fieldSchema(method, path, field, location = "body") {
    const op = this.operation(method, path);
    if (!op) return null;
    if (location === "query" || location === "path") {
      const param = (op.parameters || []).find((p) => p.name === field && p.in === location);
      return param ? concrete(param.schema, this.doc) : null;
    }
    const content = op.requestBody && op.requestBody.content;
    const body = content && content["application/json"] && content["application/json"].schema;
    let node = concrete(body, this.doc);
    for (const key of String(field).split(".")) {
      const props = node && node.properties;
      if (!props || !props[key]) return null;
      node = concrete(props[key], this.doc);
    }
    return node;
  }

  /** Like fieldSchema, after loading the document; null when it cannot be had. */
  async field(method, path, field, location = "body") {
    try {
      await this.load();
    } catch {
      return null;
    }
    return this.fieldSchema(method, path, field, location);
  }

  /**
   * A sentence for one validation problem ({field, location, message} from the error
   * envelope), built from the field's schema; null when the schema does not explain it.
   */
  explainProblem(method, path, problem) {
    const field = String(problem.field || "");
    const location = problem.location || "body";
    const s = this.fieldSchema(method, path, field, location);
    if (!s) return null;
    const label = humanLabel(field.split(".").at(-1));
    const bytes = BYTE_FIELDS.test(field);
    const msg = String(problem.message || "");
    if (/less than/.test(msg) && s.maximum !== undefined) {
      return bytes ? `Files up to ${formatBytes(s.maximum)}.` : `${label} can be at most ${s.maximum}.`;
    }
    if (/greater than/.test(msg) && s.minimum !== undefined) {
      if (bytes && s.minimum <= 1) return "The file is empty.";
      return `${label} must be at least ${bytes ? formatBytes(s.minimum) : s.minimum}.`;
    }
    if (/at most/.test(msg) && s.maxLength !== undefined) {
      return `${label} can be at most ${s.maxLength} characters.`;
    }
    if (/at least/.test(msg) && s.minLength !== undefined) {
      return s.minLength <= 1 ? `${label} cannot be empty.` : `${label} needs at least ${s.minLength} characters.`;
    }
    if (/pattern/.test(msg)) return `${label} is not in the expected form.`;
    if (/required|missing/i.test(msg)) return `${label} is required.`;
    if (/Input should be/.test(msg) && Array.isArray(s.enum)) {
      return `${label} must be one of: ${s.enum.join(", ")}.`;
    }
    return null;
  }

  /** One message for a validation error, or null to keep the server's. */
  async explain(method, path, details) {
    if (!Array.isArray(details) || !details.length) return null;
    try {
      await this.load();
    } catch {
      return null;
    }
    const sentences = details.map((p) => this.explainProblem(method, path, p)).filter(Boolean);
    return sentences.length ? [...new Set(sentences)].join(" ") : null;
  }
}
