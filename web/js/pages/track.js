// track.html?code=: the public tracker (no personal data).
import { startPage } from "../layout.js";
import { api } from "../api.js";
import { t, fmtDateTime, isoAttr, statusLabel } from "../i18n.js";
import { h, clear, fill, param } from "../dom.js";
import { errorNotice, facts, statusBadge } from "../ui.js";
import { session } from "../auth.js";

const app = document.getElementById("app");
const state = { code: param("code") || "", result: null, error: null, loading: false, notFound: false };
let els = {};

function stepLabel(kind) {
  const key = `proc.step.${kind}`;
  return t(key) === key ? kind : t(key);
}

function renderResult() {
  clear(els.out);
  els.status.textContent = state.loading ? t("track.searching") : "";
  if (state.notFound) {
    els.out.append(h("div", { class: "notice error", role: "alert" }, h("p", {}, t("track.notFound", { code: state.code }))));
    return;
  }
  if (state.error) { els.out.append(errorNotice(state.error, lookup)); return; }
  const r = state.result;
  if (!r) return;
  const step = r.current_step;
  els.out.append(h("section", { class: "card", "aria-labelledby": "track-result-title", id: "track-result" },
    h("h2", { id: "track-result-title" }, t("track.result")),
    facts([
      [t("track.code"), h("span", { class: "code-text" }, r.code)],
      [t("dos.procedure"), h("span", { lang: "vi" }, r.procedure_name || r.procedure_code)],
      [t("dos.status"), statusBadge(r)],
      r.submitted_at ? [t("dos.submitted"), h("time", { datetime: isoAttr(r.submitted_at) }, fmtDateTime(r.submitted_at))] : null,
      [t("dos.due"), r.due_at ? h("time", { datetime: isoAttr(r.due_at) }, fmtDateTime(r.due_at)) : t("receipt.dueLater")],
      r.updated_at ? [t("dos.updated"), h("time", { datetime: isoAttr(r.updated_at) }, fmtDateTime(r.updated_at))] : null,
      step ? [t("track.now"), `${stepLabel(step.kind)} — ${(step.agency_codes || []).join(", ")}`] : null,
      step && step.due_at ? [t("track.stepDue"), fmtDateTime(step.due_at)] : null,
    ]),
    r.overdue ? h("div", { class: "notice error" }, h("p", {}, h("strong", {}, t("dos.overdueYes")))) : null,
    session()
      ? h("p", {}, h("a", { href: `/dossier.html?code=${encodeURIComponent(r.code)}` }, t("receipt.view")))
      : h("p", { class: "muted" }, t("track.owner"))));
  void statusLabel;
}

function render() {
  const current = els.input ? els.input.value : state.code;
  els.input = h("input", { type: "text", id: "code", name: "code", value: current, autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: true, "aria-describedby": "code-hint code-error" });
  els.status = h("p", { class: "status-line", role: "status" });
  els.out = h("div", { "aria-live": "polite" });
  fill(app, 
    h("p", { class: "lead" }, t("track.lead")),
    h("form", { id: "lookup", class: "card", role: "search", "aria-label": t("track.title"), novalidate: true, on: { submit: (e) => { e.preventDefault(); lookup(); } } },
      h("div", { class: "field" },
        h("label", { for: "code" }, t("track.code")),
        h("p", { class: "hint", id: "code-hint" }, t("track.codeHint")),
        els.input,
        h("p", { class: "field-error", id: "code-error" })),
      h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn" }, t("track.submit")))),
    els.status, els.out);
  renderResult();
}

async function lookup() {
  // Codes are upper case (…H38-…); one typed in lower case is the same code.
  const value = els.input.value.trim().toUpperCase();
  const errorSlot = document.getElementById("code-error");
  errorSlot.textContent = "";
  els.input.removeAttribute("aria-invalid");
  if (!value) {
    errorSlot.textContent = t("v.required", { label: t("track.code").toLowerCase() });
    els.input.setAttribute("aria-invalid", "true");
    els.input.focus();
    return;
  }
  state.code = value;
  history.replaceState(null, "", `?code=${encodeURIComponent(value)}`);
  state.loading = true;
  state.error = null;
  state.notFound = false;
  state.result = null;
  renderResult();
  try {
    state.result = await api(`/track/${encodeURIComponent(value)}`);
  } catch (e) {
    if (e.status === 404) state.notFound = true;
    else state.error = e;
  }
  state.loading = false;
  renderResult();
}

startPage({ title: "track.title", render });
if (state.code) lookup();
