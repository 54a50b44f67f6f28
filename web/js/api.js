// The API client: one place for the base URL, the Bearer token and the error shape.
import { t } from "./i18n.js";
import { idToken, clearSession } from "./auth-session.js";

export const API_URL = ((window.MOTCUA && window.MOTCUA.apiUrl) || "").replace(/\/$/, "");

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
  }
}

/** Where to come back after signing in: this page, as a same-origin path. */
export function currentPath() {
  return window.location.pathname + window.location.search;
}

export function signInUrl(next = currentPath()) {
  return `/signin.html?next=${encodeURIComponent(next)}`;
}

export function goSignIn(reason) {
  const url = signInUrl() + (reason ? `&reason=${encodeURIComponent(reason)}` : "");
  window.location.assign(url);
}

/**
 * Calls the API. `auth: true` sends the citizen's ID token (and goes to the sign-in page
 * when there is none, or when the API answers 401).
 */
export async function api(path, { method = "GET", body, auth = false, query } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    const token = idToken();
    if (!token) {
      goSignIn("signin");
      throw new ApiError(401, "unauthenticated", t("auth.mustSignIn"));
    }
    headers.Authorization = `Bearer ${token}`;
  }
  let url = API_URL + path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") qs.set(k, v);
    const s = qs.toString();
    if (s) url += (url.includes("?") ? "&" : "?") + s;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", t("err.network"));
  }
  let data = null;
  const text = await response.text().catch(() => "");
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (response.ok) return data;
  if (response.status === 401 && auth) {
    clearSession();
    goSignIn("expired");
    throw new ApiError(401, "unauthenticated", t("err.sessionExpired"));
  }
  const error = data && data.error;
  if (error && typeof error === "object") {
    throw new ApiError(response.status, error.code || "error", error.message || t("err.generic", { status: response.status }),
      error.details);
  }
  // No contract-shaped body: a route that does not exist (yet) or a proxy's answer.
  if (response.status === 403 || response.status === 404) {
    throw new ApiError(response.status, "not_available", t("err.unavailable"));
  }
  throw new ApiError(response.status, "http_error", t("err.generic", { status: response.status }));
}

let configPromise = null;

/** GET /config, once per page (and cached for the browser session). */
export function getConfig() {
  if (!configPromise) {
    configPromise = (async () => {
      try {
        const cached = sessionStorage.getItem("motcua.config");
        if (cached) {
          const parsed = JSON.parse(cached);
          if (parsed && parsed.apiUrl === API_URL) return parsed.config;
        }
      } catch { /* ignore */ }
      const config = await api("/config");
      try { sessionStorage.setItem("motcua.config", JSON.stringify({ apiUrl: API_URL, config })); } catch { /* ignore */ }
      return config;
    })();
    configPromise.catch(() => { configPromise = null; });
  }
  return configPromise;
}

/** Opens a short-lived document link ({url}) the API hands out: download as a file when possible. */
export async function openDocumentLink(path, filename) {
  const link = await api(path, { auth: true });
  if (!link || !link.url) throw new ApiError(404, "not_found", t("err.notFound"));
  try {
    const response = await fetch(link.url);
    if (!response.ok) throw new Error(String(response.status));
    const blob = await response.blob();
    const objectUrl = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = objectUrl;
    a.download = filename || "";
    a.rel = "noopener";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
  } catch {
    // Cross-origin storage without CORS: let the browser follow the presigned link itself.
    window.location.assign(link.url);
  }
  return link;
}
