// Cognito user pool calls, straight from the browser (no SDK): SignUp, ConfirmSignUp, InitiateAuth.
import { getConfig } from "./api.js";
import { saveSession, clearSession, session } from "./auth-session.js";

export { session, clearSession };

export class AuthError extends Error {
  constructor(type, message) {
    super(message || type);
    this.type = type;
  }
}

async function cognito(target, payload) {
  const config = await getConfig();
  const c = (config && config.cognito) || {};
  if (!c.client_id) throw new AuthError("config");
  const endpoint = c.endpoint || `https://cognito-idp.${c.region}.amazonaws.com/`;
  let response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
      },
      body: JSON.stringify({ ClientId: c.client_id, ...payload }),
    });
  } catch {
    throw new AuthError("network");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const raw = String(data.__type || data.code || "UnknownError");
    const type = raw.includes("#") ? raw.split("#").pop() : raw;
    throw new AuthError(type, data.message || data.Message || type);
  }
  return data;
}

export async function signUp(email, password, phone) {
  const attributes = [{ Name: "email", Value: email }];
  if (phone) attributes.push({ Name: "phone_number", Value: phone });
  return cognito("SignUp", { Username: email, Password: password, UserAttributes: attributes });
}

export async function confirmSignUp(email, code) {
  return cognito("ConfirmSignUp", { Username: email, ConfirmationCode: code });
}

export async function signIn(email, password) {
  const data = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  const result = data.AuthenticationResult;
  if (!result || !result.IdToken) throw new AuthError(data.ChallengeName || "NoToken", data.ChallengeName);
  return saveSession(result, email);
}

// A dossier form's draft in this tab (pages/submit.js): personal data, gone with the sign-out.
export const DRAFT_PREFIX = "motcua.draft.";

export function signOut() {
  clearSession();
  try {
    for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFT_PREFIX)) sessionStorage.removeItem(key);
  } catch { /* ignore */ }
}

/** Phone as Cognito wants it (E.164): 0912345678 → +84912345678. */
export function e164(phone) {
  const p = (phone || "").replace(/[\s.-]/g, "");
  if (!p) return "";
  if (p.startsWith("+")) return p;
  if (p.startsWith("0")) return "+84" + p.slice(1);
  return p;
}
