// dossiers.html: the citizen's own dossiers, newest first, paginated.
import { startPage } from "../layout.js";
import { api, goSignIn } from "../api.js";
import { t, fmtDateTime, isoAttr } from "../i18n.js";
import { h, clear, fill } from "../dom.js";
import { session } from "../auth.js";
import { errorNotice, statusBadge } from "../ui.js";

const app = document.getElementById("app");
const state = { items: [], cursor: null, loading: false, loaded: false, error: null };
let els = {};

function card(d) {
  const href = `/dossier.html?code=${encodeURIComponent(d.code)}`;
  return h("li", {},
    h("article", { class: "card result-card" },
      h("h2", {}, h("a", { href, class: "code-text" }, d.code)),
      h("p", { lang: "vi" }, d.procedure_name || d.procedure_code),
      h("ul", { class: "meta" },
        h("li", {}, statusBadge(d)),
        d.overdue ? h("li", {}, h("span", { class: "badge danger" }, t("overdue"))) : null,
        h("li", {}, `${t("dos.submitted")}: `, h("time", { datetime: isoAttr(d.submitted_at) }, fmtDateTime(d.submitted_at))),
        d.due_at ? h("li", {}, `${t("dos.due")}: `, h("time", { datetime: isoAttr(d.due_at) }, fmtDateTime(d.due_at))) : null)));
}

function renderList(focusFrom) {
  clear(els.list);
  state.items.forEach((d) => els.list.append(card(d)));
  els.status.textContent = state.loading ? t("loading") : state.loaded ? (state.items.length ? t("mine.count", { n: state.items.length }) : t("mine.empty")) : "";
  clear(els.errors);
  if (state.error) els.errors.append(errorNotice(state.error, () => load(state.items.length > 0)));
  els.more.hidden = !state.cursor || state.loading;
  els.empty.hidden = !(state.loaded && !state.items.length && !state.error);
  if (focusFrom !== undefined) {
    const link = els.list.querySelectorAll("h2 a")[focusFrom];
    if (link) link.focus();
  }
}

function render() {
  els.status = h("p", { class: "status-line", role: "status", id: "dossiers-status" });
  els.errors = h("div", {});
  els.list = h("ul", { class: "result-list", id: "dossier-list" });
  els.more = h("button", { type: "button", class: "btn secondary", hidden: true, on: { click: () => load(true) } }, t("mine.more"));
  els.empty = h("p", { hidden: true }, h("a", { class: "btn", href: "/index.html" }, t("mine.find")));
  fill(app, h("p", { class: "lead" }, t("mine.lead")), els.status, els.errors, els.list, els.empty, h("div", { class: "pager" }, els.more));
  renderList();
}

async function load(more) {
  if (state.loading) return;
  state.loading = true;
  state.error = null;
  renderList();
  const before = state.items.length;
  try {
    const page = await api("/dossiers", { auth: true, query: { cursor: more ? state.cursor : null, limit: 20 } });
    state.items = more ? state.items.concat(page.items || []) : page.items || [];
    state.cursor = page.next_cursor || null;
    state.loaded = true;
  } catch (e) {
    state.error = e;
  }
  state.loading = false;
  renderList(more ? before : undefined);
}

startPage({ title: "mine.title", render });
if (!session()) goSignIn();
else load(false);
