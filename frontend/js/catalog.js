// The module catalogue from GET /router/catalog, normalised to
// [{name, description, route, available, paramsSchema}].
const FALLBACK = [
  "text.stats",
  "text.summarize",
  "text.extract",
  "text.sentiment",
  "data.csv_profile",
  "data.json_query",
  "crypto.hash",
  "math.evaluate",
  "llm.generate",
];

function availability(m) {
  for (const key of ["available", "healthy", "ok"]) if (typeof m[key] === "boolean") return m[key];
  if (typeof m.health === "string") return m.health === "ok";
  if (typeof m.status === "string") return ["ok", "up", "available"].includes(m.status);
  return null;
}

export function normaliseCatalog(body) {
  let modules = body && body.modules;
  if (modules && !Array.isArray(modules)) {
    modules = Object.entries(modules).map(([name, m]) => ({ name, ...(m || {}) }));
  }
  if (!Array.isArray(modules) || !modules.length) {
    return FALLBACK.map((name) => ({ name, description: "", available: null }));
  }
  return modules
    .map((m) => (typeof m === "string" ? { name: m } : m))
    .filter((m) => m && m.name)
    .map((m) => ({
      name: String(m.name),
      description: String(m.description || ""),
      route: m.route || m.target || "",
      available: availability(m),
      paramsSchema: m.paramsSchema || null,
    }));
}

/** Routes that cannot take work now, as sentences ("llm: no LLM provider is configured"). */
export function unavailableRoutes(body) {
  const routes = (body && Array.isArray(body.routes) && body.routes) || [];
  return routes
    .filter((r) => r && r.name && r.available === false)
    .map((r) => `${r.name} route unavailable${r.detail ? `: ${r.detail}` : ""}`);
}

export async function loadCatalog(ctx) {
  try {
    const body = await ctx.query.fetch("catalog", () => ctx.api.get("/router/catalog"), {
      staleTime: 60_000,
    });
    const modules = normaliseCatalog(body);
    modules.notes = unavailableRoutes(body);
    return modules;
  } catch {
    const modules = normaliseCatalog(null);
    modules.notes = ["The router catalogue could not be loaded; the list may be out of date."];
    return modules;
  }
}
