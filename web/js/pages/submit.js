// submit.html?code=: the procedure's online form, the applicant, the documents; then the receipt.
import { startPage, setTitle } from "../layout.js";
import { API_URL, api, goSignIn, openDocumentLink } from "../api.js";
import { t, fmtMoney, fmtDateTime, procName, statusLabel } from "../i18n.js";
import { h, clear, fill, param } from "../dom.js";
import { session, DRAFT_PREFIX } from "../auth.js";
import { renderProperties, collectObject, validate, clearErrors, showErrors, apiFieldErrors } from "../forms.js";
import { uploadField } from "../upload.js";
import { errorNotice, errorText, facts, loading, notice } from "../ui.js";

const app = document.getElementById("app");
const title = document.getElementById("page-title");
title.setAttribute("tabindex", "-1");
const code = param("code");

const state = {
  proc: null,
  loadError: null,
  submitError: null,
  applicant: null,
  form: null,
  feeExemption: "",
  commitment: false,
  uploads: {},
  busy: false,
  receipt: null,
};

// What the citizen typed survives a sign-in that expires meanwhile (the page then sends them to
// sign in again, and back here): kept in this tab's sessionStorage, as the session itself is,
// and dropped once the dossier is submitted or on signing out (auth.js).
const DRAFT_KEY = `${DRAFT_PREFIX}${code}`;
let restoredDraft = false;

function saveDraft() {
  const uploads = {};
  for (const [id, up] of Object.entries(state.uploads)) if (up.uploadId) uploads[id] = { uploadId: up.uploadId, filename: up.filename };
  try {
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ applicant: state.applicant, form: state.form,
      feeExemption: state.feeExemption, commitment: state.commitment, uploads }));
  } catch { /* storage off or full: nothing kept */ }
}

function restoreDraft() {
  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null"); } catch { draft = null; }
  if (!draft || typeof draft !== "object") return false;
  state.applicant = draft.applicant || null;
  state.form = draft.form || null;
  state.feeExemption = draft.feeExemption || "";
  state.commitment = Boolean(draft.commitment);
  for (const [id, up] of Object.entries(draft.uploads || {})) {
    if (up && up.uploadId) state.uploads[id] = { uploadId: up.uploadId, filename: up.filename || "", busy: false };
  }
  return true;
}

function dropDraft() {
  try { sessionStorage.removeItem(DRAFT_KEY); } catch { /* ignore */ }
}

function onFormChange() {
  snapshot();
  saveDraft();
}

function applicantSchema() {
  return {
    type: "object",
    required: ["full_name", "id_number", "phone", "address"],
    properties: {
      full_name: { type: "string", title: t("submit.fullName"), minLength: 2, maxLength: 100, autocomplete: "name",
        pattern: "^[^\\d<>{}\\[\\]\\\\/@#$%^&*=+|~`]+$", patternMessage: t("v.fullName") },
      id_number: { type: "string", title: t("submit.idNumber"), format: "vn-id-number" },
      phone: { type: "string", title: t("submit.phone"), format: "vn-phone" },
      email: { type: "string", title: t("submit.email"), format: "email", maxLength: 254 },
      address: { type: "string", title: t("submit.address"), minLength: 5, maxLength: 300, autocomplete: "street-address" },
    },
  };
}

function snapshot() {
  const form = app.querySelector("#dossier-form");
  if (!form || !state.proc) return;
  state.applicant = collectObject(applicantSchema(), "applicant", form);
  state.form = collectObject(state.proc.form_schema || {}, "form", form);
  const ex = form.querySelector("#fee_exemption");
  state.feeExemption = ex ? ex.value : "";
  const c = form.querySelector("#commitment");
  state.commitment = c ? c.checked : false;
}

function documentsSection(p) {
  const docs = p.required_documents || [];
  if (!docs.length) return null;
  return h("fieldset", { id: "documents", "data-path": "documents" },
    h("legend", {}, t("submit.docs")),
    docs.map((doc) => {
      state.uploads[doc.id] = state.uploads[doc.id] || { uploadId: null, filename: null, busy: false };
      return uploadField({ doc, state: state.uploads[doc.id], required: doc.required, onChange: saveDraft });
    }));
}

function feeSection(p) {
  if (!p.fee_vnd) return null;
  const exemptions = p.fee_exemptions || [];
  return h("fieldset", {},
    h("legend", {}, t("proc.fee")),
    h("p", {}, t("submit.fee", { fee: fmtMoney(p.fee_vnd) })),
    exemptions.length ? h("div", { class: "field" },
      h("label", { for: "fee_exemption" }, t("submit.exemption"), h("span", { class: "opt" }, " " + t("submit.optional"))),
      h("p", { class: "hint", id: "fee_exemption-hint" }, t("submit.exemptionHint")),
      h("select", { id: "fee_exemption", name: "fee_exemption", "data-path": "fee_exemption", "aria-describedby": "fee_exemption-hint fee_exemption-error" },
        h("option", { value: "" }, t("submit.exemptionNone")),
        exemptions.map((e) => h("option", { value: e.category, lang: "vi", selected: e.category === state.feeExemption ? true : null }, e.name))),
      h("p", { class: "field-error", id: "fee_exemption-error" })) : null);
}

function renderForm() {
  const p = state.proc;
  const name = procName(p);
  if (!(p.online_submission ?? p.level >= 3)) {
    fill(app, notice("warn", h("p", {}, t("proc.inPerson", { n: p.level }))),
      h("p", {}, h("a", { href: `/procedure.html?code=${encodeURIComponent(p.code)}` }, name.text)));
    return;
  }
  const s = session();
  const applicantValues = state.applicant || { email: s ? s.email : undefined };
  const formEl = h("form", { id: "dossier-form", novalidate: true, "aria-labelledby": "page-title", on: { submit: onSubmit, change: onFormChange } },
    restoredDraft ? notice("ok", h("p", { id: "draft-restored" }, t("submit.draftRestored"))) : null,
    h("p", { class: "muted" }, t("submit.required")),
    h("fieldset", { id: "applicant" },
      h("legend", {}, t("submit.applicant")),
      renderProperties(applicantSchema(), "applicant", applicantValues)),
    Object.keys((p.form_schema && p.form_schema.properties) || {}).length
      ? h("fieldset", { id: "form-fields" }, h("legend", {}, t("submit.form")), renderProperties(p.form_schema, "form", state.form || {}))
      : null,
    documentsSection(p),
    feeSection(p),
    h("div", { class: "field" },
      h("div", { class: "choice" },
        h("input", { type: "checkbox", id: "commitment", name: "commitment", "data-path": "commitment", required: true, checked: state.commitment ? true : null, "aria-describedby": "commitment-error" }),
        h("label", { for: "commitment" }, t("submit.commit"))),
      h("p", { class: "field-error", id: "commitment-error" })),
    h("div", { id: "submit-error" }, state.submitError ? errorNotice(state.submitError) : null),
    h("div", { class: "form-actions" },
      h("button", { type: "submit", class: "btn big", id: "submit-button", disabled: state.busy ? true : null }, t("submit.send"))),
    h("p", { class: "status-line", role: "status", id: "submit-status" }, state.busy ? t("submit.sending") : ""));
  fill(app, 
    h("p", { class: "lead" }, t("submit.for", { name: "" }), h("a", { href: `/procedure.html?code=${encodeURIComponent(p.code)}`, lang: name.lang }, name.text)),
    formEl);
}

function renderReceipt() {
  const r = state.receipt;
  const trackUrl = `${window.location.origin}/track.html?code=${encodeURIComponent(r.code)}`;
  const dossierUrl = `/dossier.html?code=${encodeURIComponent(r.code)}`;
  const pdfStatus = h("div", { role: "status" });
  fill(app, 
    h("section", { "aria-labelledby": "receipt-title", class: "card", id: "receipt" },
      h("h2", { id: "receipt-title", tabindex: "-1" }, t("receipt.title")),
      notice("ok", h("p", {}, t("receipt.lead"))),
      facts([
        [t("receipt.code"), h("span", { class: "code-text big-code", id: "dossier-code" }, r.code)],
        [t("receipt.status"), statusLabel(r.status_code, r.status_label)],
        [t("receipt.submitted"), fmtDateTime(r.submitted_at)],
        [t("receipt.due"), r.due_at ? fmtDateTime(r.due_at) : t("receipt.dueLater")],
        [t("receipt.track"), h("a", { href: trackUrl, class: "code-text" }, trackUrl)],
      ]),
      h("figure", { class: "qr" },
        h("img", { src: `${API_URL}/track/${encodeURIComponent(r.code)}/qr`, alt: t("receipt.qrAlt", { code: r.code }), width: "164", height: "164", id: "receipt-qr" }),
        h("figcaption", {}, t("receipt.qrCaption"))),
      r.status_code === 1 ? h("p", { class: "muted" }, t("receipt.pdfPending")) : null,
      h("div", { class: "form-actions" },
        h("a", { class: "btn", href: dossierUrl }, t("receipt.view")),
        r.status_code !== 1 ? h("button", { type: "button", class: "btn secondary", on: { click: async () => {
          pdfStatus.textContent = "";
          try { await openDocumentLink(`/dossiers/${encodeURIComponent(r.code)}/receipt`, `giay-tiep-nhan-${r.code}.pdf`); }
          catch (e) { pdfStatus.textContent = e.status === 404 ? t("receipt.pdfPending") : errorText(e); }
        } } }, t("receipt.pdf")) : null,
        h("a", { class: "btn secondary", href: "/dossiers.html" }, t("receipt.mine"))),
      pdfStatus));
}

function render() {
  if (!code) { fill(app, errorNotice({ message: t("err.missingCode"), code: "network" })); return; }
  if (state.loadError) { fill(app, errorNotice(state.loadError, load)); return; }
  if (!state.proc) { fill(app, loading()); return; }
  if (state.receipt) { renderReceipt(); return; }
  snapshot();
  renderForm();
}

async function onSubmit(event) {
  event.preventDefault();
  if (state.busy) return;
  const form = event.currentTarget;
  snapshot();
  saveDraft();
  clearErrors(form);
  state.submitError = null;
  clear(form.querySelector("#submit-error"));
  const p = state.proc;
  const errors = [
    ...validate(applicantSchema(), state.applicant, "applicant"),
    ...validate(p.form_schema || {}, state.form, "form"),
  ];
  for (const doc of p.required_documents || []) {
    const up = state.uploads[doc.id] || {};
    if (up.busy) errors.push({ path: `documents.${doc.id}`, message: t("v.uploading") });
    else if (doc.required && !up.uploadId) errors.push({ path: `documents.${doc.id}`, message: t("v.requiredFile", { label: doc.name }) });
  }
  if (!state.commitment) errors.push({ path: "commitment", message: t("submit.commitError") });
  if (errors.length) {
    showErrors(form, errors);
    return;
  }
  const documents = [];
  for (const doc of p.required_documents || []) {
    const up = state.uploads[doc.id];
    if (up && up.uploadId) documents.push({ document_id: doc.id, upload_id: up.uploadId });
  }
  const body = { procedure_code: p.code, applicant: state.applicant, form: state.form, documents };
  if (state.feeExemption) body.fee_exemption = state.feeExemption;
  state.busy = true;
  form.querySelector("#submit-button").disabled = true;
  form.querySelector("#submit-status").textContent = t("submit.sending");
  try {
    state.receipt = await api("/dossiers", { method: "POST", auth: true, body });
    dropDraft();
    state.busy = false;
    renderReceipt();
    document.getElementById("receipt-title").focus();
    window.scrollTo(0, 0);
    return;
  } catch (e) {
    state.busy = false;
    form.querySelector("#submit-button").disabled = false;
    form.querySelector("#submit-status").textContent = "";
    if (e.status === 422 && e.details && e.details.length) {
      showErrors(form, apiFieldErrors(e, { documentIndex: documents.map((d) => d.document_id) }));
      return;
    }
    state.submitError = e;
    const slot = form.querySelector("#submit-error");
    fill(slot, errorNotice(e));
    slot.querySelector(".notice").setAttribute("tabindex", "-1");
    slot.querySelector(".notice").focus();
  }
}

async function load() {
  state.loadError = null;
  render();
  try {
    state.proc = await api(`/procedures/${encodeURIComponent(code)}`);
  } catch (e) {
    state.loadError = e;
  }
  if (state.proc && !state.applicant) restoredDraft = restoreDraft();
  render();
}

startPage({ title: "submit.title", render });
if (!session()) goSignIn();
else if (code) load();
