// Where the API and WebSocket live. The server (dev stack, or the deploy step for S3)
// provides /config.js; this repo ships none so nothing can shadow the generated one.
// Accepted shapes: `window.AION_CONFIG = {apiUrl, wsUrl}` (classic script) or
// `export default {apiUrl, wsUrl}` (module). Without it the console assumes the dev stack's
// same-origin layout: REST at /api, WebSocket at /ws.

function pick(obj, ...names) {
  if (!obj) return undefined;
  for (const name of names) if (obj[name]) return obj[name];
  return undefined;
}

function trimSlash(url) {
  return String(url).replace(/\/+$/, "");
}

export async function loadSettings() {
  let mod = null;
  try {
    mod = await import(new URL("config.js", document.baseURI).href);
  } catch {
    mod = null; // no config.js: same-origin defaults below
  }
  const raw = (mod && (mod.default || mod.config)) || window.AION_CONFIG || {};
  const loc = window.location;
  const api = pick(raw, "apiUrl", "apiBase", "api_url", "API_URL") || `${loc.origin}/api`;
  const wsDefault = `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
  const ws = pick(raw, "wsUrl", "websocketUrl", "ws_url", "WS_URL") || wsDefault;
  return Object.freeze({
    apiUrl: trimSlash(new URL(api, loc.href).href),
    wsUrl: String(ws),
    version: pick(raw, "version") || "",
  });
}
