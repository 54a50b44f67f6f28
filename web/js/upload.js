// File inputs that upload straight to storage: POST /uploads, then a presigned multipart POST.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h } from "./dom.js";
import { pathId } from "./forms.js";
import { localMessage } from "./forms.js";

export const MAX_BYTES = 10 * 1024 * 1024;
const TYPES = {
  pdf: "application/pdf",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};
export const ACCEPT = Object.keys(TYPES).map((e) => "." + e).join(",") + "," + [...new Set(Object.values(TYPES))].join(",");

function contentType(file) {
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  if (Object.values(TYPES).includes(file.type)) return file.type;
  return TYPES[ext] || null;
}

function postToStorage(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(ticket.fields || {})) form.append(k, v);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", ticket.url);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error(t("err.network")));
    xhr.send(form);
  });
}

/**
 * One document's upload field. `state` is {uploadId, filename, busy}; it survives re-renders.
 * Returns the element; the file input has data-path `documents.<id>`.
 */
export function uploadField({ doc, state, required, onChange }) {
  const path = `documents.${doc.id}`;
  const id = pathId(path);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const statusId = `${id}-status`;
  const input = h("input", {
    type: "file", id, name: path, accept: ACCEPT, "data-path": path,
    required: required ? true : null,
    "aria-describedby": `${hintId} ${statusId} ${errorId}`,
  });
  const progress = h("progress", { max: "100", value: "0", hidden: true, "aria-label": t("up.progress", { name: doc.name }), id: `${id}-progress` });
  const status = h("p", { class: "upload-status", id: statusId, "aria-live": "polite" });
  const error = h("p", { class: "field-error", id: errorId });

  function show() {
    if (state.busy) {
      progress.hidden = false;
      status.className = "upload-status";
    } else if (state.uploadId) {
      progress.hidden = false;
      progress.value = 100;
      status.className = "upload-status ok";
      status.textContent = t("up.done", { name: state.filename });
    } else {
      progress.hidden = true;
      status.className = "upload-status";
    }
  }

  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    if (!file) return;
    const type = contentType(file);
    let problem = null;
    if (!type) problem = t("up.badType");
    else if (file.size > MAX_BYTES) problem = t("up.tooBig");
    else if (file.size === 0) problem = t("up.empty");
    if (problem) {
      error.textContent = problem;
      input.setAttribute("aria-invalid", "true");
      input.value = "";
      return;
    }
    state.busy = true;
    state.uploadId = null;
    state.filename = file.name;
    progress.value = 0;
    status.textContent = t("up.uploading", { name: file.name, pct: 0 });
    show();
    onChange && onChange();
    try {
      const ticket = await api("/uploads", { method: "POST", auth: true, body: { filename: file.name, content_type: type, size: file.size } });
      let lastPct = -1;
      await postToStorage(ticket, file, (ratio) => {
        const pct = Math.round(ratio * 100);
        progress.value = pct;
        // Announce every quarter, not every tick.
        if (pct === 100 || pct - lastPct >= 25) {
          lastPct = pct;
          status.textContent = t("up.uploading", { name: file.name, pct });
        }
      });
      state.uploadId = ticket.upload_id;
      state.busy = false;
      show();
    } catch (e) {
      state.busy = false;
      state.uploadId = null;
      progress.hidden = true;
      status.textContent = "";
      // A refused ticket says which field and why in its details ("vi / en" each): the message
      // alone ("Dữ liệu không hợp lệ / Invalid data: …") would lose that half-way.
      const reasons = (e.details || []).map((d) => localMessage(d.message)).filter(Boolean);
      error.textContent = t("up.failed", { message: reasons.length ? reasons.join("; ") : localMessage(e.message) });
      input.setAttribute("aria-invalid", "true");
    }
    onChange && onChange();
  });

  show();
  return h("div", { class: "upload", "data-document": doc.id },
    h("label", { for: id }, doc.name, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : h("span", { class: "opt" }, " " + t("submit.optional"))),
    h("p", { class: "hint", id: hintId }, t("submit.docsHint")),
    input, progress, status, error);
}
