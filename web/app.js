// index.html: find a procedure (search text, level, tier, agency), paginated by next_cursor.
import { startPage } from "./js/layout.js";
import { api } from "./js/api.js";
import { t, tierLabel, fmtMoney, fmtDays, procName } from "./js/i18n.js";
import { h, clear, fill } from "./js/dom.js";
import { errorNotice, levelBadge } from "./js/ui.js";
import { agencies as loadAgencies } from "./js/catalogue.js";

const app = document.getElementById("app");
const params = new URLSearchParams(window.location.search);
const state = {
  filters: { q: params.get("q") || "", level: params.get("level") || "", tier: params.get("tier") || "", agency: params.get("agency") || "" },
  items: [],
  cursor: null,
  loading: false,
  error: null,
  catalogue: null,
  searched: false,
};
let els = {};

function option(value, label, selected) {
  return h("option", { value, selected: selected ? true : null }, label);
}

function readForm() {
  if (!els.form) return;
  const data = new FormData(els.form);
  state.filters = { q: String(data.get("q") || "").trim(), level: data.get("level") || "", tier: data.get("tier") || "", agency: data.get("agency") || "" };
}

function agencyOptions() {
  const list = (state.catalogue && state.catalogue.agencies) || [];
  const f = state.filters;
  const shown = list.filter((a) => !f.tier || a.tier === f.tier);
  const english = document.documentElement.lang === "en";
  return [option("", t("all"), !f.agency), ...shown.map((a) => {
    const name = english && a.name_en ? a.name_en : a.name;
    return h("option", { value: a.code, lang: english && a.name_en ? "en" : "vi", selected: a.code === f.agency ? true : null }, name);
  })];
}

function tierOptions() {
  const tiers = (state.catalogue && state.catalogue.tiers) || ["province", "commune"];
  return [option("", t("all"), !state.filters.tier), ...tiers.map((x) => option(x, tierLabel(x), x === state.filters.tier))];
}

function card(p) {
  const name = procName(p);
  const href = `/procedure.html?code=${encodeURIComponent(p.code)}`;
  return h("li", {},
    h("article", { class: "card result-card" },
      h("h3", {}, h("a", { href, lang: name.lang }, name.text)),
      h("ul", { class: "meta", "aria-label": t("proc.title") },
        h("li", {}, h("span", { class: "code-text" }, p.code)),
        h("li", {}, levelBadge(p.level)),
        p.interagency ? h("li", {}, h("span", { class: "badge" }, t("interagency"))) : null,
        h("li", {}, tierLabel(p.tier)),
        h("li", {}, `${t("index.fee")}: ${fmtMoney(p.fee_vnd)}`),
        h("li", {}, `${t("index.time")}: ${fmtDays(p.processing_days)}`),
        h("li", {}, p.online_submission ?? p.level >= 3 ? t("index.onlineYes") : t("index.onlineNo")))));
}

function renderStatus() {
  els.status.textContent = state.loading ? t("index.searching") : state.searched ? (state.items.length ? t("index.count", { n: state.items.length }) : t("index.empty")) : "";
  els.more.hidden = !state.cursor || state.loading;
}

function renderResults(focusFrom) {
  clear(els.list);
  state.items.forEach((p) => els.list.append(card(p)));
  renderStatus();
  clear(els.errors);
  if (state.error) els.errors.append(errorNotice(state.error, () => search(false)));
  if (focusFrom !== undefined) {
    const link = els.list.querySelectorAll("h3 a")[focusFrom];
    if (link) link.focus();
  }
}

function render() {
  readForm();
  const f = state.filters;
  els.form = h("form", { id: "search-form", role: "search", class: "card", "aria-label": t("index.searchForm"), on: { submit: (e) => { e.preventDefault(); readForm(); search(false); } } },
    h("div", { class: "filters" },
      h("div", { class: "field field-wide" },
        h("label", { for: "q" }, t("index.q")),
        h("input", { type: "search", id: "q", name: "q", value: f.q, maxlength: 100, "aria-describedby": "q-hint", autocomplete: "off" }),
        h("p", { class: "hint hint-after", id: "q-hint" }, t("index.qHint"))),
      h("div", { class: "field" },
        h("label", { for: "level" }, t("index.level")),
        h("select", { id: "level", name: "level" }, option("", t("all"), !f.level),
          [1, 2, 3, 4].map((n) => option(String(n), `${t("level.n", { n })}`, String(n) === f.level)))),
      h("div", { class: "field" },
        h("label", { for: "tier" }, t("index.tier")),
        els.tier = h("select", { id: "tier", name: "tier", on: { change: () => { readForm(); state.filters.agency = ""; refreshAgencies(); } } }, tierOptions())),
      h("div", { class: "field" },
        h("label", { for: "agency" }, t("index.agency")),
        els.agency = h("select", { id: "agency", name: "agency" }, agencyOptions())),
      h("div", { class: "field" },
        h("button", { type: "submit", class: "btn big" }, t("index.search")))));
  els.status = h("p", { class: "status-line", role: "status", id: "results-status" });
  els.errors = h("div", {});
  els.list = h("ul", { class: "result-list grid", id: "results" });
  els.more = h("button", { type: "button", class: "btn secondary", id: "more", hidden: true, on: { click: () => search(true) } }, t("index.more"));
  fill(app, 
    h("p", { class: "lead" }, t("index.lead")),
    els.form,
    h("section", { "aria-labelledby": "results-title" },
      h("h2", { id: "results-title" }, t("index.results")),
      els.status, els.errors, els.list, h("div", { class: "pager" }, els.more)));
  renderResults();
}

function refreshAgencies() {
  if (!els.agency) return;
  fill(els.agency, agencyOptions());
  fill(els.tier, tierOptions());
}

// A new search supersedes one still on its way (the page's first listing, say): only the
// latest answer is shown. "More" waits for the current one.
let latestSearch = 0;

async function search(more) {
  if (more && state.loading) return;
  const mine = ++latestSearch;
  const f = state.filters;
  if (!more) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) qs.set(k, v);
    const s = qs.toString();
    history.replaceState(null, "", s ? `?${s}` : window.location.pathname);
  }
  state.loading = true;
  state.error = null;
  // Only the status line changes while searching: the result links stay where the keyboard left them.
  renderStatus();
  const before = more ? state.items.length : 0;
  try {
    const page = await api("/procedures", { query: { q: f.q, level: f.level, tier: f.tier, agency: f.agency, cursor: more ? state.cursor : null, limit: 20 } });
    if (mine !== latestSearch) return;
    state.items = more ? state.items.concat(page.items || []) : page.items || [];
    state.cursor = page.next_cursor || null;
  } catch (e) {
    if (mine !== latestSearch) return;
    state.error = e;
    if (!more) { state.items = []; state.cursor = null; }
  }
  state.loading = false;
  state.searched = true;
  renderResults(more ? before : undefined);

}

startPage({ title: "index.title", render });
search(false);
loadAgencies().then((c) => { state.catalogue = c; readForm(); refreshAgencies(); }).catch(() => {});
