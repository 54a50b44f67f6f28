// dossier.html?code=: one dossier — status, progress log, fee and payment, supplement,
// withdrawal, result download, rating.
import { startPage, setTitle } from "../layout.js";
import { api, getConfig, goSignIn, openDocumentLink } from "../api.js";
import { t, lang, fmtDateTime, fmtMoney, isoAttr, statusLabel, procName } from "../i18n.js";
import { h, clear, fill, param } from "../dom.js";
import { session } from "../auth.js";
import { renderProperties, collectObject, validate, clearErrors, showErrors, apiFieldErrors, localMessage } from "../forms.js";
import { uploadField } from "../upload.js";
import { errorNotice, errorText, facts, loading, notice, statusBadge } from "../ui.js";

const app = document.getElementById("app");
const title = document.getElementById("page-title");
title.removeAttribute("data-i18n");
const code = param("code");

const ACTIONS = {
  vi: {
    submit: "Nộp hồ sơ trực tuyến", withdraw: "Rút hồ sơ", receive: "Tiếp nhận hồ sơ", refuse: "Từ chối tiếp nhận",
    request_supplement: "Yêu cầu bổ sung hồ sơ", supplement_reception: "Bổ sung hồ sơ", supplement_processing: "Bổ sung hồ sơ",
    request_fee: "Yêu cầu nộp phí, lệ phí", record_payment: "Đã nộp phí, lệ phí", fee_exempted: "Miễn phí, lệ phí",
    payment_failed: "Thanh toán không thành công", start_processing: "Chuyển xử lý", approve: "Phê duyệt", reject: "Từ chối giải quyết",
    return_result: "Nhận kết quả", apologise: "Xin lỗi và hẹn lại ngày trả kết quả", escalate: "Chuyển cấp trên",
  },
  en: {
    submit: "Submitted online", withdraw: "Withdrawn", receive: "Received", refuse: "Refused at reception",
    request_supplement: "Supplement requested", supplement_reception: "Supplemented", supplement_processing: "Supplemented",
    request_fee: "Fee requested", record_payment: "Fee paid", fee_exempted: "Fee exempted",
    payment_failed: "Payment failed", start_processing: "Sent for processing", approve: "Approved", reject: "Rejected",
    return_result: "Result collected", apologise: "Apology and new date", escalate: "Escalated",
  },
};
const WITHDRAWABLE = [1, 2, 4, 5, 6];
const RATEABLE = [3, 8, 9, 10];

const state = {
  dossier: null,
  proc: null,
  loadError: null,
  flash: null, // {kind, text}
  pay: { phase: "idle", message: "", intent: null },
  supplement: { uploads: {}, busy: false, form: null, note: "" },
  rating: { busy: false, error: null, score: null, comment: "" },
  docStatus: "",
};
const pay = { stripe: null, card: null, host: null };

function agencyName(agencyCode) {
  const route = (state.proc && state.proc.route) || [];
  for (const step of route) {
    if (step.agency_code === agencyCode) return step.name;
    for (const b of step.parallel || []) if (b.agency_code === agencyCode) return b.name;
  }
  return agencyCode;
}

function actorLabel(actor) {
  if (!actor) return "";
  if (actor.startsWith("agency:")) return h("span", { lang: "vi" }, agencyName(actor.slice(7)));
  const key = `actor.${actor}`;
  const text = t(key);
  return text === key ? actor : text;
}

/** A message above the dossier: a translation key (re-rendered on language switch) or raw text. */
function setFlash(kind, keyOrText, raw = false) {
  state.flash = raw ? { kind, text: keyOrText } : { kind, key: keyOrText };
}

// ---- sections ----

function summary(d) {
  const name = procName({ name: d.procedure_name, name_en: state.proc && state.proc.name_en });
  return h("section", { class: "card", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title", class: "visually-hidden" }, t("dos.titleGeneric")),
    facts([
      [t("dos.procedure"), h("a", { href: `/procedure.html?code=${encodeURIComponent(d.procedure_code)}`, lang: name.lang }, name.text)],
      [t("dos.status"), statusBadge(d), { id: "dossier-status" }],
      [t("dos.submitted"), h("time", { datetime: isoAttr(d.submitted_at) }, fmtDateTime(d.submitted_at))],
      d.received_at ? [t("dos.received"), h("time", { datetime: isoAttr(d.received_at) }, fmtDateTime(d.received_at))] : null,
      [t("dos.due"), d.due_at ? h("time", { datetime: isoAttr(d.due_at) }, fmtDateTime(d.due_at)) : t("receipt.dueLater")],
      d.updated_at ? [t("dos.updated"), h("time", { datetime: isoAttr(d.updated_at) }, fmtDateTime(d.updated_at))] : null,
    ]),
    d.overdue ? notice("error", h("p", {}, h("strong", {}, t("dos.overdueYes")))) : null);
}

function feeSection(d) {
  const fee = d.fee || {};
  if (!fee.amount_vnd && !fee.exemption) return null;
  const statusKey = `dos.fee.${fee.status}`;
  const statusText = t(statusKey) === statusKey ? String(fee.status || "") : t(statusKey);
  return h("section", { "aria-labelledby": "fee-title" },
    h("h2", { id: "fee-title" }, t("dos.fee")),
    h("div", { class: "card" }, facts([
      [t("dos.feeAmount"), fmtMoney(fee.amount_vnd)],
      [t("dos.feeStatus"), statusText, { id: "fee-status" }],
      fee.exemption ? [t("dos.exemption"), h("span", { lang: "vi" }, fee.exemption.name)] : null,
    ])),
    d.status_code === 6 ? paySection(d) : null);
}

// Payment: POST /payment → Stripe.js → confirmCardPayment → poll until the webhook moved the dossier.
function loadStripeJs(url) {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe")));
    script.onerror = () => reject(new Error("Stripe"));
    document.head.append(script);
  });
}

function labelCardInputs(host) {
  // Stripe's real element labels itself inside its iframe; a local fake may render bare inputs.
  const names = {
    number: lang() === "en" ? "Card number" : "Số thẻ", exp_month: lang() === "en" ? "Expiry month" : "Tháng hết hạn",
    exp_year: lang() === "en" ? "Expiry year" : "Năm hết hạn", cvc: "CVC", postal_code: lang() === "en" ? "Postal code" : "Mã bưu chính",
  };
  for (const input of host.querySelectorAll("input")) {
    if (!input.labels?.length && !input.getAttribute("aria-label")) {
      const key = input.getAttribute("placeholder") || input.name || "";
      input.setAttribute("aria-label", names[key] || key);
    }
  }
}

async function startPayment() {
  const d = state.dossier;
  state.pay = { phase: "loading", message: "", intent: null };
  renderPay();
  try {
    const [intent, config] = await Promise.all([
      api(`/dossiers/${encodeURIComponent(d.code)}/payment`, { method: "POST", auth: true, body: { provider: "stripe" } }),
      getConfig(),
    ]);
    const stripeConfig = config.stripe || {};
    const StripeCtor = await loadStripeJs(stripeConfig.js_url || "https://js.stripe.com/v3/").catch(() => { throw new Error(t("dos.stripeFailed")); });
    pay.stripe = StripeCtor(stripeConfig.publishable_key);
    const elements = pay.stripe.elements();
    pay.card = elements.create("card");
    pay.host = h("div", { id: "card-element", class: "card-element", role: "group", "aria-labelledby": "card-label" });
    state.pay = { phase: "card", message: "", intent };
    renderPay();
    pay.card.mount(pay.host);
    setTimeout(() => labelCardInputs(pay.host), 300);
    const first = pay.host.querySelector("input");
    if (first) first.focus();
  } catch (e) {
    state.pay = { phase: "error", message: e instanceof Error && !("status" in e) ? e.message : errorText(e), intent: null };
    renderPay();
  }
}

async function confirmPayment() {
  state.pay.phase = "processing";
  renderPay();
  let result;
  try {
    result = await pay.stripe.confirmCardPayment(state.pay.intent.client_secret, { payment_method: { card: pay.card } });
  } catch (e) {
    result = { error: { message: e && e.message ? e.message : String(e) } };
  }
  if (result && result.error) {
    state.pay.phase = "card";
    state.pay.message = t("dos.payFailed", { message: result.error.message || "" });
    renderPay();
    return;
  }
  state.pay.phase = "confirming";
  state.pay.message = "";
  renderPay();
  pollAfterPayment();
}

async function pollAfterPayment() {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    try {
      const d = await api(`/dossiers/${encodeURIComponent(code)}`, { auth: true });
      if (d.status_code !== 6) {
        state.dossier = d;
        state.pay = { phase: "idle", message: "", intent: null };
        setFlash("ok", "dos.payDone");
        render();
        focusFlash();
        return;
      }
    } catch { /* keep polling */ }
  }
  state.pay.phase = "slow";
  renderPay();
}

let payContainer = null;
function paySection() {
  payContainer = h("div", { class: "card", id: "payment" });
  renderPay();
  return h("section", { "aria-labelledby": "pay-title" }, h("h3", { id: "pay-title" }, t("dos.pay")), payContainer);
}

function renderPay() {
  if (!payContainer || !state.dossier) return;
  const amount = fmtMoney(state.dossier.fee && state.dossier.fee.amount_vnd);
  const p = state.pay;
  const status = h("p", { class: "status-line", role: "status", id: "pay-status" },
    p.phase === "loading" ? t("dos.payLoading") : p.phase === "processing" ? t("dos.payProcessing")
      : p.phase === "confirming" ? t("dos.payConfirming") : p.phase === "slow" ? t("dos.paySlow") : "");
  const error = p.message ? h("div", { class: "notice error", role: "alert" }, h("p", {}, p.message)) : null;
  const parts = [h("p", {}, t("dos.payLead", { amount }))];
  if (p.phase === "idle" || p.phase === "error") {
    parts.push(h("button", { type: "button", class: "btn big", id: "pay-button", on: { click: startPayment } }, t("dos.payStart", { amount })));
  }
  if ((p.phase === "card" || p.phase === "processing") && pay.host) {
    parts.push(h("p", { id: "card-label", class: "label-like" }, h("strong", {}, t("dos.payCard"))), pay.host,
      h("div", { class: "form-actions" },
        h("button", { type: "button", class: "btn big", id: "pay-confirm", disabled: p.phase === "processing" ? true : null, on: { click: confirmPayment } },
          t("dos.payConfirm"))));
  }
  fill(payContainer, parts, error || "", status);
}

function supplementSection(d) {
  const slip = [...(d.slips || [])].reverse().find((s) => s.number === "02");
  const missing = slip && slip.details && slip.details.missing;
  const lastNote = [...(d.history || [])].reverse().find((e) => e.status_code === 5 && e.note);
  const request = missing || (lastNote && lastNote.note) || "";
  const p = state.proc;
  const s = state.supplement;
  const schema = (p && p.form_schema) || { properties: {} };
  const hasForm = Object.keys(schema.properties || {}).length > 0;
  const form = h("form", { id: "supplement-form", novalidate: true, "aria-labelledby": "supplement-title", on: { submit: onSupplement } },
    hasForm ? h("fieldset", {}, h("legend", {}, t("dos.supplementForm")), renderProperties(schema, "form", s.form || d.form || {})) : null,
    p && (p.required_documents || []).length ? h("fieldset", { id: "documents", "data-path": "documents" },
      h("legend", {}, t("dos.supplementDocs")),
      h("p", { class: "hint" }, t("dos.supplementDocsHint")),
      p.required_documents.map((doc) => {
        s.uploads[doc.id] = s.uploads[doc.id] || { uploadId: null, filename: null, busy: false };
        return uploadField({ doc, state: s.uploads[doc.id], required: false });
      })) : null,
    h("div", { class: "field" },
      h("label", { for: "supplement-note" }, t("dos.supplementNote"), h("span", { class: "opt" }, " " + t("submit.optional"))),
      h("textarea", { id: "supplement-note", name: "note", "data-path": "note", maxlength: 1000, rows: 3, "aria-describedby": "supplement-note-error" }, s.note || ""),
      h("p", { class: "field-error", id: "supplement-note-error" })),
    h("div", { id: "supplement-error" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn", id: "supplement-send", disabled: s.busy ? true : null }, t("dos.supplementSend"))),
    h("p", { class: "status-line", role: "status" }, s.busy ? t("auth.working") : ""));
  return h("section", { "aria-labelledby": "supplement-title", class: "card" },
    h("h2", { id: "supplement-title" }, t("dos.supplement")),
    notice("warn", h("p", {}, t("dos.supplementLead")), request ? h("p", { lang: "vi" }, h("strong", {}, request)) : null),
    p ? form : state.procError ? errorNotice(state.procError, load) : loading());
}

function snapshotSupplement() {
  const form = app.querySelector("#supplement-form");
  if (!form || !state.proc) return;
  state.supplement.form = collectObject(state.proc.form_schema || {}, "form", form);
  state.supplement.note = form.querySelector("#supplement-note").value;
}

async function onSupplement(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const d = state.dossier;
  const s = state.supplement;
  if (s.busy) return;
  snapshotSupplement();
  clearErrors(form);
  const schema = state.proc.form_schema || {};
  const errors = validate(schema, s.form, "form");
  const documents = [];
  for (const doc of state.proc.required_documents || []) {
    const up = s.uploads[doc.id];
    if (up && up.busy) errors.push({ path: `documents.${doc.id}`, message: t("v.uploading") });
    else if (up && up.uploadId) documents.push({ document_id: doc.id, upload_id: up.uploadId });
  }
  if (errors.length) { showErrors(form, errors); return; }
  const changed = {};
  for (const [k, v] of Object.entries(s.form)) {
    if (JSON.stringify(v) !== JSON.stringify((d.form || {})[k])) changed[k] = v;
  }
  const body = {};
  if (Object.keys(changed).length) body.form = changed;
  if (documents.length) body.documents = documents;
  if (s.note.trim()) body.note = s.note.trim();
  if (!Object.keys(body).length) {
    showErrors(form, [{ path: "note", message: t("dos.supplementEmpty") }]);
    return;
  }
  s.busy = true;
  form.querySelector("#supplement-send").disabled = true;
  try {
    state.dossier = await api(`/dossiers/${encodeURIComponent(d.code)}/supplement`, { method: "POST", auth: true, body });
    state.supplement = { uploads: {}, busy: false, form: null, note: "" };
    setFlash("ok", "dos.supplementDone");
    render();
    focusFlash();
  } catch (e) {
    s.busy = false;
    form.querySelector("#supplement-send").disabled = false;
    if (e.status === 422 && e.details && e.details.length) {
      showErrors(form, apiFieldErrors(e, { documentIndex: documents.map((x) => x.document_id) }));
    } else {
      fill(form.querySelector("#supplement-error"), errorNotice(e));
    }
  }
}

function resultSection(d) {
  if (![9, 10].includes(d.status_code)) return null;
  const status = h("p", { class: "status-line", role: "status", id: "result-status" }, state.docStatus);
  const available = d.result && d.result.available !== false;
  return h("section", { "aria-labelledby": "result-title", class: "card" },
    h("h2", { id: "result-title" }, t("dos.result")),
    d.result && d.result.filename ? h("p", {}, h("span", { class: "code-text" }, d.result.filename)) : null,
    !d.result ? h("p", {}, t("dos.resultNone")) : null,
    h("div", { class: "form-actions" },
      d.result && available ? h("button", { type: "button", class: "btn", id: "result-download", on: { click: () => download("result", d.result.filename) } }, t("dos.resultDownload")) : null,
      h("button", { type: "button", class: "btn secondary", id: "result-notice", on: { click: () => download("result-notice", `thong-bao-ket-qua-${d.code}.pdf`) } }, t("dos.resultNotice"))),
    status);
}

async function download(kind, filename) {
  const d = state.dossier;
  state.docStatus = t("dos.resultOpening");
  const status = document.getElementById(kind === "receipt" ? "receipt-status" : "result-status");
  if (status) status.textContent = state.docStatus;
  try {
    await openDocumentLink(`/dossiers/${encodeURIComponent(d.code)}/${kind}`, filename || "");
    state.docStatus = "";
    if (kind === "result") {
      // The first download returns the result (status 9 → 10).
      setTimeout(async () => {
        try { state.dossier = await api(`/dossiers/${encodeURIComponent(code)}`, { auth: true }); render(); } catch { /* keep */ }
      }, 800);
    }
  } catch (e) {
    state.docStatus = e.status === 404 && kind === "receipt" ? t("receipt.pdfPending") : errorText(e);
  }
  const again = document.getElementById(kind === "receipt" ? "receipt-status" : "result-status");
  if (again) again.textContent = state.docStatus;
}

function ratingSection(d) {
  if (d.rating) {
    const r = d.rating;
    return h("section", { "aria-labelledby": "rate-title", class: "card", id: "rating" },
      h("h2", { id: "rate-title" }, t("dos.rate")),
      h("p", {}, t("dos.rated", { label: t(`dos.rate.${r.score}`), score: r.score, at: fmtDateTime(r.rated_at) })),
      r.comment ? h("p", {}, t("dos.rateComment2", { comment: r.comment })) : null);
  }
  if (!RATEABLE.includes(d.status_code)) return null;
  const s = state.rating;
  const form = h("form", { id: "rating-form", novalidate: true, on: { submit: onRate } },
    h("fieldset", { class: "rating-group", id: "score-group", "data-path": "score", "data-group": "radio", "aria-describedby": "score-group-error" },
      h("legend", {}, t("dos.rateScore")),
      [1, 2, 3, 4, 5].map((n) => h("div", { class: "choice" },
        h("input", { type: "radio", name: "score", id: `score-${n}`, value: String(n), checked: s.score === n ? true : null, required: true }),
        h("label", { for: `score-${n}` }, `${t(`dos.rate.${n}`)} (${n}/5)`))),
      h("p", { class: "field-error", id: "score-group-error" })),
    h("div", { class: "field" },
      h("label", { for: "rating-comment" }, t("dos.rateComment"), h("span", { class: "opt" }, " " + t("submit.optional"))),
      h("textarea", { id: "rating-comment", name: "comment", "data-path": "comment", maxlength: 1000, rows: 3, "aria-describedby": "rating-comment-error" }, s.comment || ""),
      h("p", { class: "field-error", id: "rating-comment-error" })),
    h("div", { id: "rating-error" }, s.error ? errorNotice(s.error) : null),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn", disabled: s.busy ? true : null }, t("dos.rateSend"))));
  return h("section", { "aria-labelledby": "rate-title", class: "card", id: "rating" },
    h("h2", { id: "rate-title" }, t("dos.rate")),
    h("p", { class: "muted" }, t("dos.rateLead")),
    form);
}

async function onRate(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const s = state.rating;
  if (s.busy) return;
  clearErrors(form);
  const checked = form.querySelector("input[name=score]:checked");
  s.score = checked ? Number(checked.value) : null;
  s.comment = form.querySelector("#rating-comment").value;
  if (!s.score) { showErrors(form, [{ path: "score", message: t("dos.rateRequired") }]); return; }
  s.busy = true;
  s.error = null;
  const body = { score: s.score };
  if (s.comment.trim()) body.comment = s.comment.trim();
  try {
    const rating = await api(`/dossiers/${encodeURIComponent(code)}/rating`, { method: "POST", auth: true, body });
    state.dossier = { ...state.dossier, rating: rating && rating.score ? rating : { score: s.score, comment: body.comment || "", rated_at: new Date().toISOString() } };
    s.busy = false;
    setFlash("ok", "dos.rateDone");
    render();
    focusFlash();
  } catch (e) {
    s.busy = false;
    if (e.status === 409 && e.code === "already_rated") {
      try { state.dossier = await api(`/dossiers/${encodeURIComponent(code)}`, { auth: true }); } catch { /* keep */ }
      setFlash("warn", localMessage(e.message), true);
      render();
      focusFlash();
      return;
    }
    if (e.status === 422 && e.details && e.details.length) { showErrors(form, apiFieldErrors(e)); return; }
    s.error = e;
    fill(form.querySelector("#rating-error"), errorNotice(e));
  }
}

let dialog = null;
function withdrawSection(d) {
  if (!WITHDRAWABLE.includes(d.status_code)) return null;
  dialog = h("dialog", { id: "withdraw-dialog", "aria-labelledby": "withdraw-dialog-title" },
    h("form", { method: "dialog", on: { submit: onWithdraw } },
      h("h2", { id: "withdraw-dialog-title" }, t("dos.withdrawTitle")),
      h("p", {}, t("dos.withdrawText", { code: d.code })),
      h("div", { class: "field" },
        h("label", { for: "withdraw-reason" }, t("dos.withdrawReason"), h("span", { class: "opt" }, " " + t("submit.optional"))),
        h("textarea", { id: "withdraw-reason", name: "reason", maxlength: 500, rows: 3 })),
      h("div", { id: "withdraw-error" }),
      h("div", { class: "form-actions" },
        h("button", { type: "submit", class: "btn danger", id: "withdraw-confirm", value: "confirm" }, t("dos.withdrawConfirm")),
        h("button", { type: "button", class: "btn secondary", on: { click: () => dialog.close() } }, t("dos.cancel")))));
  return h("section", { "aria-labelledby": "withdraw-title" },
    h("h2", { id: "withdraw-title" }, t("dos.withdraw")),
    h("p", { class: "muted" }, t("dos.withdrawLead")),
    h("button", { type: "button", class: "btn secondary", id: "withdraw-open", on: { click: () => { dialog.showModal(); } } }, t("dos.withdraw")),
    dialog);
}

async function onWithdraw(event) {
  event.preventDefault();
  const reason = dialog.querySelector("#withdraw-reason").value.trim();
  const button = dialog.querySelector("#withdraw-confirm");
  button.disabled = true;
  try {
    state.dossier = await api(`/dossiers/${encodeURIComponent(code)}/withdraw`, { method: "POST", auth: true, body: reason ? { reason } : {} });
    dialog.close();
    setFlash("ok", "dos.withdrawDone");
    render();
    focusFlash();
  } catch (e) {
    button.disabled = false;
    fill(dialog.querySelector("#withdraw-error"), errorNotice(e));
  }
}

function historySection(d) {
  // Newest first. The API lists the log in the order it was written; times are shown to the
  // second, so two lines of the same second would not sort by time.
  const history = [...(d.history || [])].reverse();
  return h("section", { "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, t("dos.history")),
    history.length ? h("div", { class: "card" }, h("ol", { class: "timeline", id: "history" }, history.map((e) => {
      const action = (ACTIONS[lang()] || ACTIONS.vi)[e.action];
      return h("li", {},
        h("time", { datetime: isoAttr(e.at) }, fmtDateTime(e.at)),
        h("strong", {}, action || statusLabel(e.status_code)),
        action ? ` — ${statusLabel(e.status_code)}` : "",
        e.actor ? h("div", { class: "small muted" }, actorLabel(e.actor)) : null,
        e.note ? h("div", {}, localMessage(e.note)) : null);
    }))) : h("p", {}, t("dos.noHistory")));
}

function slipsSection(d) {
  const slips = d.slips || [];
  const hasReceipt = slips.some((s) => s.number === "01");
  return h("section", { "aria-labelledby": "slips-title" },
    h("h2", { id: "slips-title" }, t("dos.slips")),
    slips.length ? h("ul", {}, slips.map((s) => h("li", {},
      `${s.number}. `, (s.title && (s.title[lang()] || s.title.vi)) || "", " — ", fmtDateTime(s.issued_at)))) : h("p", {}, t("none")),
    hasReceipt ? h("div", { class: "form-actions" },
      h("button", { type: "button", class: "btn secondary", id: "receipt-download", on: { click: () => download("receipt", `giay-tiep-nhan-${d.code}.pdf`) } }, t("dos.receipt"))) : null,
    h("p", { class: "status-line", role: "status", id: "receipt-status" }));
}

function focusFlash() {
  const el = document.getElementById("flash");
  if (el) el.focus();
}

function render() {
  if (!code) { fill(app, errorNotice({ message: t("err.missingCode"), code: "network" })); return; }
  if (state.loadError) { fill(app, errorNotice(state.loadError, load)); return; }
  const d = state.dossier;
  if (!d) { fill(app, loading()); return; }
  snapshotSupplement();
  title.textContent = t("dos.title", { code: d.code });
  setTitle(() => t("dos.title", { code: d.code }));
  payContainer = null;
  fill(app, 
    state.flash ? h("div", { class: `notice ${state.flash.kind}`, role: "status", id: "flash", tabindex: "-1" }, h("p", {}, state.flash.key ? t(state.flash.key) : state.flash.text)) : "",
    summary(d),
    d.status_code === 5 ? supplementSection(d) : null,
    feeSection(d),
    resultSection(d),
    ratingSection(d),
    historySection(d),
    slipsSection(d),
    withdrawSection(d),
    h("p", {}, h("a", { href: `/track.html?code=${encodeURIComponent(d.code)}` }, t("dos.track"))));
}

async function load() {
  state.loadError = null;
  render();
  try {
    state.dossier = await api(`/dossiers/${encodeURIComponent(code)}`, { auth: true });
  } catch (e) {
    state.loadError = e;
    render();
    return;
  }
  // One render with both: a second one would rebuild the page under a citizen already using
  // it (an open withdrawal dialog, a half-typed supplement).
  state.procError = null;
  try {
    state.proc = await api(`/procedures/${encodeURIComponent(state.dossier.procedure_code)}`);
  } catch (e) {
    // Names fall back to codes; the supplement form needs the procedure: it shows the error
    // with a retry instead of loading for ever.
    state.procError = e;
  }
  render();
  if (state.dossier.status_code === 6 && state.dossier.fee && state.dossier.fee.status === "paid") {
    state.pay.phase = "confirming";
    renderPay();
    pollAfterPayment();
  }
}

startPage({ title: "dos.titleGeneric", render });
if (!session()) goSignIn();
else load();
