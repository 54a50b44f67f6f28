// signin.html: sign in, sign up, confirm the account (Cognito), sign out; back to ?next= after sign-in.
import { startPage, setTitle } from "../layout.js";
import { t } from "../i18n.js";
import { h, clear, fill, param } from "../dom.js";
import { signIn, signUp, confirmSignUp, signOut, session, AuthError, e164 } from "../auth.js";
import { notice } from "../ui.js";
import { getConfig } from "../api.js";

const app = document.getElementById("app");
const title = document.getElementById("page-title");
title.removeAttribute("data-i18n");

// Only a page of this site: the URL parser (not a prefix check) decides where "next" leads, since
// it drops tabs and newlines ("/\t/evil.example" is "//evil.example") and reads "\\" as "/".
function safeNext(raw) {
  const fallback = "/dossiers.html";
  if (!raw || !raw.startsWith("/")) return fallback;
  let target;
  try {
    target = new URL(raw, location.origin);
  } catch {
    return fallback;
  }
  if (target.origin !== location.origin || target.pathname.startsWith("/signin.html")) return fallback;
  return target.pathname + target.search + target.hash;
}

const state = {
  mode: ["signup", "confirm"].includes(param("mode")) ? param("mode") : "signin",
  email: "",
  message: null,
  error: null,
  busy: false,
  next: safeNext(param("next")),
};
if (param("signedout")) state.message = { kind: "ok", key: "auth.signedOut" };
else if (param("reason") === "expired") state.message = { kind: "warn", key: "err.sessionExpired" };
else if (param("next")) state.message = { kind: "", key: "auth.mustSignIn" };

const TITLES = { signin: "auth.title", signup: "auth.signupTitle", confirm: "auth.confirmTitle" };
// The pool's rules come with /config (read from Cognito); these are infra/template.json's, for
// the moment before it answers. Cognito judges the password in any case.
let policy = { min_length: 10, require_lowercase: true, require_uppercase: true, require_numbers: true, require_symbols: false };
const SYMBOL = /[\^$*.[\]{}()?"!@#%&/\\,><':;|_~`=+\- ]/;
const POLICY = (p) => p.length >= policy.min_length && (!policy.require_lowercase || /[a-z]/.test(p))
  && (!policy.require_uppercase || /[A-Z]/.test(p)) && (!policy.require_numbers || /[0-9]/.test(p))
  && (!policy.require_symbols || SYMBOL.test(p));

function policyText() {
  const parts = [["require_uppercase", "upper"], ["require_lowercase", "lower"], ["require_numbers", "number"], ["require_symbols", "symbol"]]
    .filter(([rule]) => policy[rule]).map(([, key]) => t(`auth.policy.${key}`));
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(", ")}${t("auth.policyAnd")}${parts[parts.length - 1]}` : parts.join("");
  return t("auth.policy", { n: policy.min_length, parts: parts.length ? t("auth.policyParts", { list }) : "" });
}

getConfig().then((config) => {
  const rules = config && config.cognito && config.cognito.password_policy;
  if (!rules) return;
  policy = rules;
  const hint = document.getElementById("password-hint");
  if (hint && state.mode === "signup") hint.textContent = policyText();
}).catch(() => { /* keep the defaults */ });
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function authMessage(err) {
  if (err instanceof AuthError) {
    if (err.type === "network") return t("err.network");
    if (err.type === "config") return t("auth.err.config");
    const key = `auth.err.${err.type}`;
    const text = t(key);
    return text === key ? t("auth.err.generic", { message: err.message }) : text;
  }
  return err && err.message ? err.message : String(err);
}

function field({ id, label, type = "text", autocomplete, hint, value, inputmode, required = true }) {
  const describedBy = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    h("input", { id, name: id, type, autocomplete, inputmode, value: value || null, required: required ? true : null, "aria-describedby": describedBy }),
    h("p", { class: "field-error", id: `${id}-error` }));
}

function setError(form, id, message) {
  const input = form.querySelector(`#${id}`);
  const slot = form.querySelector(`#${id}-error`);
  if (slot) slot.textContent = message;
  if (input) input.setAttribute("aria-invalid", "true");
  return input;
}

function clearFieldErrors(form) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
}

function switchMode(mode) {
  const form = app.querySelector("form");
  const email = form && form.querySelector("#email");
  if (email) state.email = email.value.trim();
  state.mode = mode;
  state.error = null;
  state.message = null;
  const qs = new URLSearchParams(window.location.search);
  qs.set("mode", mode);
  qs.delete("signedout");
  qs.delete("reason");
  history.replaceState(null, "", `?${qs}`);
  render();
  title.focus();
}

async function onSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFieldErrors(form);
  state.error = null;
  const email = form.querySelector("#email").value.trim();
  state.email = email;
  const problems = [];
  if (!EMAIL.test(email)) problems.push(setError(form, "email", t("v.email")));
  let password = "";
  if (state.mode !== "confirm") {
    password = form.querySelector("#password").value;
    if (!password) problems.push(setError(form, "password", t("v.required", { label: t("auth.password").toLowerCase() })));
    else if (state.mode === "signup" && !POLICY(password)) problems.push(setError(form, "password", t("auth.err.InvalidPasswordException")));
  }
  if (state.mode === "signup") {
    if (form.querySelector("#password2").value !== password) problems.push(setError(form, "password2", t("auth.err.passwordMismatch")));
    const phone = form.querySelector("#phone").value.trim();
    if (phone && !/^(0|\+84)[35789][0-9]{8}$/.test(phone)) problems.push(setError(form, "phone", t("v.vn-phone")));
  }
  if (state.mode === "confirm" && !form.querySelector("#code").value.trim()) {
    problems.push(setError(form, "code", t("v.required", { label: t("auth.code").toLowerCase() })));
  }
  if (problems.length) { problems[0].focus(); return; }

  state.busy = true;
  renderStatus();
  try {
    if (state.mode === "signin") {
      await signIn(email, password);
      window.location.assign(state.next);
      return;
    }
    if (state.mode === "signup") {
      await signUp(email, password, e164(form.querySelector("#phone").value.trim()));
      state.busy = false;
      switchMode("confirm");
      state.message = { kind: "ok", key: "auth.signupDone", params: { email } };
      render();
      return;
    }
    await confirmSignUp(email, form.querySelector("#code").value.trim());
    state.busy = false;
    switchMode("signin");
    state.message = { kind: "ok", key: "auth.confirmDone" };
    render();
    app.querySelector("#password").focus();
    return;
  } catch (err) {
    state.busy = false;
    if (err instanceof AuthError && err.type === "UserNotConfirmedException") {
      switchMode("confirm");
      state.message = { kind: "warn", key: "auth.err.UserNotConfirmedException" };
      render();
      return;
    }
    state.error = authMessage(err);
  }
  state.busy = false;
  renderStatus();
  const box = app.querySelector("#auth-error");
  if (box) box.focus();
}

let statusEl;
let errorEl;
let submitBtn;
function renderStatus() {
  if (statusEl) statusEl.textContent = state.busy ? t("auth.working") : "";
  if (submitBtn) submitBtn.disabled = state.busy;
  if (errorEl) {
    clear(errorEl);
    if (state.error) errorEl.append(h("div", { class: "notice error", role: "alert", id: "auth-error", tabindex: "-1" }, h("p", {}, state.error)));
  }
}

function render() {
  title.textContent = t(TITLES[state.mode]);
  setTitle(TITLES[state.mode]);
  const s = session();
  const msg = state.message
    ? h("div", { class: `notice ${state.message.kind}`.trim(), role: "status" }, h("p", {}, t(state.message.key, state.message.params || {})))
    : null;
  if (s && state.mode === "signin") {
    fill(app, msg || "", h("div", { class: "card" },
      h("p", {}, t("auth.signedIn", { email: s.email })),
      h("div", { class: "form-actions" },
        h("a", { class: "btn", href: state.next }, t("auth.continue")),
        h("button", { type: "button", class: "btn secondary", on: { click: () => { signOut(); state.message = { kind: "ok", key: "auth.signedOut" }; window.location.assign("/signin.html?signedout=1"); } } }, t("auth.signout")))));
    return;
  }
  const fields = [field({ id: "email", label: t("auth.email"), type: "email", autocomplete: "username", value: state.email })];
  if (state.mode === "signin") {
    fields.push(field({ id: "password", label: t("auth.password"), type: "password", autocomplete: "current-password" }));
  } else if (state.mode === "signup") {
    fields.push(
      field({ id: "phone", label: t("auth.phone"), type: "tel", autocomplete: "tel", hint: `${t("submit.phoneHint")} ${t("submit.optional")}`, required: false }),
      field({ id: "password", label: t("auth.password"), type: "password", autocomplete: "new-password", hint: policyText() }),
      field({ id: "password2", label: t("auth.password2"), type: "password", autocomplete: "new-password" }));
  } else {
    fields.push(field({ id: "code", label: t("auth.code"), inputmode: "numeric", autocomplete: "one-time-code", hint: t("auth.codeHint") }));
  }
  const buttonText = { signin: t("auth.signin"), signup: t("auth.signup"), confirm: t("auth.confirm") }[state.mode];
  statusEl = h("p", { class: "status-line", role: "status" });
  errorEl = h("div", {});
  submitBtn = h("button", { type: "submit", class: "btn big" }, buttonText);
  const links = {
    signin: [[t("auth.noAccount"), t("auth.toSignup"), "signup"], [t("auth.haveCode"), t("auth.toConfirm"), "confirm"]],
    signup: [[t("auth.hasAccount"), t("auth.toSignin"), "signin"], [t("auth.haveCode"), t("auth.toConfirm"), "confirm"]],
    confirm: [[t("auth.hasAccount"), t("auth.toSignin"), "signin"], [t("auth.noAccount"), t("auth.toSignup"), "signup"]],
  }[state.mode];
  fill(app, 
    msg || "",
    errorEl,
    h("form", { class: "card", id: `${state.mode}-form`, novalidate: true, "aria-labelledby": "page-title", on: { submit: onSubmit } },
      fields,
      state.mode === "signup" ? null : null,
      h("div", { class: "form-actions" }, submitBtn),
      statusEl),
    h("ul", { class: "stack", style: "list-style:none;padding:0" }, links.map(([lead, text, mode]) =>
      h("li", {}, lead, " ", h("button", { type: "button", class: "btn link", on: { click: () => switchMode(mode) } }, text)))));
  renderStatus();
}

title.setAttribute("tabindex", "-1");
startPage({ title: TITLES[state.mode], render });
