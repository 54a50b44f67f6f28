// Small shared pieces: notices, badges, facts lists.
import { t, levelKind, statusLabel } from "./i18n.js";
import { h } from "./dom.js";
import { localMessage } from "./forms.js";

export function errorText(err) {
  if (!err) return t("err.network");
  if (err.code === "network" || err.code === "not_available") return err.message;
  return localMessage(err.message) || t("err.generic", { status: err.status || "?" });
}

/** An error notice with role="alert"; optional retry. */
export function errorNotice(err, retry) {
  return h("div", { class: "notice error", role: "alert" },
    h("p", {}, errorText(err)),
    retry && (!err || !err.status || err.status >= 500) ? h("p", {}, h("button", { type: "button", class: "btn secondary small", on: { click: retry } }, t("retry"))) : null);
}

export function notice(kind, ...content) {
  return h("div", { class: `notice ${kind}` }, ...content);
}

export function levelBadge(level) {
  return h("span", { class: `badge level-${level}` }, `${t("level.n", { n: level })} · ${levelKind(level)}`);
}

export function statusBadge(d) {
  const code = d.status_code;
  const kind = [9, 10].includes(code) ? "ok" : [3, 7, 8].includes(code) ? "danger" : [5, 6].includes(code) ? "warn" : "";
  return h("span", { class: `badge ${kind}`.trim(), "data-status": String(code) }, statusLabel(code, d.status_label));
}

export function facts(rows) {
  return h("dl", { class: "facts" }, rows.filter(Boolean).map(([term, value, attrs]) => [
    h("dt", {}, term), h("dd", attrs || {}, value),
  ]));
}

export function loading() {
  return h("p", { class: "status-line", role: "status" }, t("loading"));
}
