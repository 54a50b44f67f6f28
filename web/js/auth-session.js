// The signed-in citizen: the Cognito ID token (the API's Bearer token) in sessionStorage.
const KEY = "motcua.session";

function b64urlDecode(part) {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const binary = atob(b64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function decodeJwt(token) {
  try {
    return JSON.parse(b64urlDecode(token.split(".")[1]));
  } catch {
    return {};
  }
}

export function saveSession(result, fallbackEmail) {
  const claims = decodeJwt(result.IdToken);
  const expiresAt = claims.exp ? claims.exp * 1000 : Date.now() + (result.ExpiresIn || 3600) * 1000;
  const session = { idToken: result.IdToken, email: claims.email || fallbackEmail || "", expiresAt };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function session() {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const value = JSON.parse(raw);
    // A minute's margin: a token about to expire would fail on the way.
    if (!value.idToken || !value.expiresAt || value.expiresAt - 60_000 < Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return value;
  } catch {
    return null;
  }
}

export function idToken() {
  const s = session();
  return s ? s.idToken : null;
}

export function clearSession() {
  try { sessionStorage.removeItem(KEY); } catch { /* ignore */ }
}
