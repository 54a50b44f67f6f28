// procedure.html?code=: what to prepare, fee, time, route, legal basis, forms, how to submit.
import { startPage, setTitle } from "../layout.js";
import { api } from "../api.js";
import { t, tierLabel, fmtMoney, fmtDays, fmtNumber, procName } from "../i18n.js";
import { h, clear, fill, param } from "../dom.js";
import { errorNotice, levelBadge, facts, loading, notice } from "../ui.js";

const app = document.getElementById("app");
const title = document.getElementById("page-title");
title.removeAttribute("data-i18n");
const code = param("code");
let proc = null;
let error = null;

/** A cited legal text by its title (source_titles, in Vietnamese: the texts have no official English title). */
function legalItem(p, key) {
  const title = (p.source_titles || {})[key];
  return title ? h("li", { lang: "vi" }, title) : h("li", {}, key);
}

function stepLabel(kind) {
  const key = `proc.step.${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}

function route(p) {
  if (!p.route || !p.route.length) return null;
  return h("section", { "aria-labelledby": "route-title" },
    h("h2", { id: "route-title" }, t("proc.route")),
    h("ol", { class: "timeline" }, p.route.map((step) => h("li", {},
      h("strong", {}, stepLabel(step.kind)),
      " — ", h("span", { lang: "vi" }, step.name || step.agency_code),
      step.days ? ` (${t("proc.stepDays", { n: fmtNumber(step.days, 1) })})` : "",
      step.parallel && step.parallel.length
        ? h("ul", {}, h("li", {}, t("proc.parallel") + ":"), step.parallel.map((b) => h("li", {}, h("span", { lang: "vi" }, b.name || b.agency_code), ` (${t("proc.stepDays", { n: fmtNumber(b.days, 1) })})`)))
        : null))));
}

function render() {
  if (!code) { fill(app, errorNotice({ message: t("err.missingCode"), code: "network" })); return; }
  if (error) { fill(app, errorNotice(error, load)); return; }
  if (!proc) { fill(app, loading()); return; }
  const p = proc;
  const name = procName(p);
  title.textContent = name.text;
  title.lang = name.lang;
  setTitle(() => name.text);
  const online = p.online_submission ?? p.level >= 3;
  const howTo = online
    ? notice(p.level >= 4 ? "ok" : "", h("p", {}, t(p.level >= 4 ? "proc.full" : "proc.partial")),
      h("p", {}, h("a", { class: "btn big", href: `/submit.html?code=${encodeURIComponent(p.code)}`, id: "submit-online" }, t("proc.submit"))))
    : notice("warn", h("p", {}, t("proc.inPerson", { n: p.level })), p.level >= 2 && (p.templates || []).length ? h("p", {}, t("proc.inPersonForms")) : null);

  fill(app, 
    h("p", {}, levelBadge(p.level), " ", p.interagency ? h("span", { class: "badge" }, t("interagency")) : null),
    h("p", { class: "muted" }, t(`level.desc.${p.level}`)),
    h("div", { class: "layout-aside" },
      h("aside", { "aria-labelledby": "howto-title" },
        h("h2", { id: "howto-title" }, t("proc.howTo")),
        howTo,
        p.level >= 2 ? h("section", { "aria-labelledby": "tpl-title", class: "card" },
          h("h3", { id: "tpl-title" }, t("proc.templates")),
          (p.templates || []).length
            ? h("ul", {}, p.templates.map((tp, i) => h("li", {}, h("a", { href: tp.url, download: "", on: { click: (event) => openTemplate(event, i) } },
              `${t("proc.download")}: `, h("span", { lang: "vi" }, tp.name)))))
            : h("p", {}, t("proc.noTemplates"))) : null),
      h("div", {},
        h("section", { class: "card", "aria-labelledby": "facts-title" },
          h("h2", { id: "facts-title", class: "visually-hidden" }, t("proc.title")),
          facts([
            [t("proc.code"), h("span", { class: "code-text" }, p.code)],
            p.field ? [t("proc.field"), h("span", { lang: "vi" }, p.field)] : null,
            [t("proc.agency"), h("span", { lang: "vi" }, p.agency_name || p.agency_code)],
            [t("proc.tier"), tierLabel(p.tier)],
            [t("proc.level"), `${t("level.n", { n: p.level })} (${(p.level >= 4 ? t("level.kind.full") : t("level.kind.partial"))})`],
            [t("proc.fee"), fmtMoney(p.fee_vnd)],
            [t("proc.time"), fmtDays(p.processing_days)],
          ])),
        h("section", { "aria-labelledby": "docs-title" },
          h("h2", { id: "docs-title" }, t("proc.docs")),
          (p.required_documents || []).length
            ? h("ul", { class: "card" }, p.required_documents.map((d) => h("li", {}, h("span", { lang: "vi" }, d.name), " ",
              h("span", { class: `badge ${d.required ? "warn" : ""}`.trim() }, d.required ? t("proc.docRequired") : t("proc.docOptional")))))
            : h("p", {}, t("proc.noDocs"))),
        route(p),
        (p.fee_exemptions || []).length ? h("section", { "aria-labelledby": "ex-title" },
          h("h2", { id: "ex-title" }, t("proc.exemptions")),
          h("ul", {}, p.fee_exemptions.map((e) => h("li", { lang: "vi" }, e.name,
            (p.source_titles || {})[e.legal_basis] ? h("small", { class: "muted" }, ` (${p.source_titles[e.legal_basis]})`) : null)))) : null,
        (p.legal_basis || []).length ? h("section", { "aria-labelledby": "legal-title" },
          h("h2", { id: "legal-title" }, t("proc.legal")),
          h("ul", {}, p.legal_basis.map((k) => legalItem(p, k)))) : null)),
    h("p", {}, h("a", { href: "/index.html" }, t("proc.back"))));
}

// A template link is signed for a while only (its expires_at): on a page left open longer, the
// click asks for fresh links first, then follows the new one, instead of landing on S3's error.
const LINK_MARGIN_MS = 30_000;

async function openTemplate(event, index) {
  const template = (proc && proc.templates || [])[index];
  const expires = template && Date.parse(template.expires_at || "");
  if (!template || !(expires - LINK_MARGIN_MS <= Date.now())) return;
  event.preventDefault();
  try {
    proc = await api(`/procedures/${encodeURIComponent(code)}`);
  } catch (e) {
    error = e;
    render();
    return;
  }
  render();
  const fresh = (proc.templates || [])[index];
  if (fresh) window.location.assign(fresh.url);
}

async function load() {
  error = null;
  proc = null;
  render();
  try {
    proc = await api(`/procedures/${encodeURIComponent(code)}`);
  } catch (e) {
    error = e;
  }
  render();
}

startPage({ title: "proc.title", render });
if (code) load();
