// stats.html: public statistics (GET /stats) as tiles, inline SVG charts and tables.
import { startPage } from "../layout.js";
import { api } from "../api.js";
import { t, fmtNumber, fmtRate, fmtMonth, fmtDateTime, tierLabel } from "../i18n.js";
import { h, svg, clear, fill, param } from "../dom.js";
import { errorNotice, loading } from "../ui.js";

const app = document.getElementById("app");
const state = { month: param("month") || "", data: null, error: null, loading: false };

const LEVEL_COLORS = ["#6b7280", "#0b4f9c", "#1e6b34", "#a4161a"];
const MONTH_SERIES = [
  { key: "received", label: "stats.received", color: "#0b4f9c" },
  { key: "done", label: "stats.done", color: "#1e6b34" },
  { key: "on_time", label: "stats.onTime", color: "#7a5c00" },
  { key: "overdue", label: "stats.overdue", color: "#a4161a" },
];

function niceMax(value) {
  if (value <= 5) return 5;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= value) return m * exp;
  return 10 * exp;
}

/** Grouped bars; groups: [{label, values: [n…]}], series: [{label, color}]. */
function barChart({ id, title, groups, series, table: withTable = true }) {
  const barW = 14;
  const gap = 4;
  const groupGap = 22;
  const groupW = series.length * (barW + gap) - gap;
  const left = 40;
  const top = 12;
  const plotH = 180;
  const bottom = 42;
  const width = Math.max(320, left + groups.length * (groupW + groupGap) + 10);
  const height = top + plotH + bottom;
  const max = niceMax(Math.max(1, ...groups.flatMap((g) => g.values)));
  const divisions = 5;
  const y = (v) => top + plotH - (v / max) * plotH;
  const titleId = `${id}-title`;
  const nodes = [svg("title", { id: titleId }, title)];
  for (let i = 0; i <= divisions; i += 1) {
    const v = (max / divisions) * i;
    nodes.push(svg("line", { x1: left, x2: width - 4, y1: y(v), y2: y(v), stroke: "#d5d9e0", "stroke-width": 1 }));
    nodes.push(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#4a4f57" }, fmtNumber(v, 1)));
  }
  const used = groups.length * (groupW + groupGap);
  const offset = Math.max(10, (width - left - used) / 2);
  groups.forEach((g, gi) => {
    const x0 = left + offset + gi * (groupW + groupGap);
    g.values.forEach((v, si) => {
      const x = x0 + si * (barW + gap);
      const hgt = Math.max(0, top + plotH - y(v));
      nodes.push(svg("rect", { x, y: y(v), width: barW, height: hgt, fill: series[si].color, rx: 2 },
        svg("title", {}, `${g.label} – ${series[si].label}: ${fmtNumber(v)}`)));
      if (v > 0) nodes.push(svg("text", { x: x + barW / 2, y: y(v) - 3, "text-anchor": "middle", "font-size": 10, fill: "#1b1b1b" }, fmtNumber(v)));
    });
    nodes.push(svg("text", { x: x0 + groupW / 2, y: top + plotH + 16, "text-anchor": "middle", "font-size": 11, fill: "#1b1b1b" }, g.label));
  });
  nodes.push(svg("line", { x1: left, x2: width - 4, y1: top + plotH, y2: top + plotH, stroke: "#1b1b1b", "stroke-width": 1 }));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": titleId, id, preserveAspectRatio: "xMinYMin meet",
    style: `max-width:${Math.max(width, 480)}px` }, nodes);
  const legend = h("ul", { class: "legend", "aria-hidden": "true" }, series.map((s) => h("li", {}, h("span", { class: "swatch", style: `background:${s.color}` }), s.label)));
  const table = scrollWrap(title, h("table", {},
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), series.map((s) => h("th", { scope: "col", class: "num" }, s.label)))),
    h("tbody", {}, groups.map((g) => h("tr", {}, h("th", { scope: "row" }, g.label), g.values.map((v) => h("td", { class: "num" }, fmtNumber(v))))))));
  return h("figure", { class: "chart" }, chart, legend,
    withTable ? h("details", {}, h("summary", {}, t("stats.showTable")), table) : null);
}

/** A horizontally scrollable box that keyboard users can scroll too. */
function scrollWrap(label, child) {
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": label }, child);
}

function tile(label, value, id) {
  return h("li", { class: "tile", id }, h("span", { class: "tile-value" }, value), h("span", { class: "tile-label" }, label));
}

function indicators(d) {
  const s = d.satisfaction || {};
  return h("section", { "aria-labelledby": "ind-title" },
    h("h2", { id: "ind-title" }, t("stats.indicators")),
    h("ul", { class: "tiles" },
      tile(t("stats.onTimeRate"), fmtRate(d.on_time_rate), "tile-on-time"),
      tile(t("stats.onlineRate"), fmtRate(d.online_rate), "tile-online"),
      tile(t("stats.onlinePaymentRate"), fmtRate(d.online_payment_rate), "tile-payment"),
      tile(t("stats.electronicResultRate"), fmtRate(d.electronic_result_rate), "tile-result"),
      tile(t("stats.satisfactionLabel", { n: fmtNumber(s.ratings || 0) }), s.average === null || s.average === undefined ? t("stats.na") : `${fmtNumber(s.average, 2)}/5`, "tile-satisfaction"),
      tile(t("stats.satisfiedRate"), fmtRate(s.satisfied_rate), "tile-satisfied")),
    h("h2", { id: "dossiers-title" }, t("stats.dossiers")),
    h("ul", { class: "tiles", "aria-labelledby": "dossiers-title" },
      tile(t("stats.received"), fmtNumber(d.received)),
      tile(t("stats.done"), fmtNumber(d.done)),
      tile(t("stats.onTime"), fmtNumber(d.on_time)),
      tile(t("stats.late"), fmtNumber(d.late)),
      tile(t("stats.overdue"), fmtNumber(d.overdue)),
      tile(t("stats.inProgress"), fmtNumber(d.in_progress))));
}

function procedures(p) {
  const tiers = Object.entries(p.by_tier || {}).sort(([a], [b]) => (a === "province" ? -1 : b === "province" ? 1 : a.localeCompare(b)));
  const groups = tiers.map(([tier, v]) => ({ label: tierLabel(tier), values: [1, 2, 3, 4].map((n) => Number((v.by_level || {})[n] || 0)) }));
  const series = [1, 2, 3, 4].map((n, i) => ({ label: t("level.n", { n }), color: LEVEL_COLORS[i] }));
  return h("section", { "aria-labelledby": "proc-title" },
    h("h2", { id: "proc-title" }, t("stats.procedures")),
    h("p", {}, t("stats.proceduresLead", { total: fmtNumber(p.total), online: fmtNumber(p.online), inter: fmtNumber(p.interagency) })),
    h("h3", {}, t("stats.byTier")),
    groups.length ? barChart({ id: "chart-tiers", title: t("stats.chartTier"), groups, series, table: false }) : h("p", {}, t("stats.noData")),
    tiers.length ? scrollWrap(t("stats.byTier"), h("table", { id: "table-tiers" },
      h("caption", {}, t("stats.byTier")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("stats.tier")), h("th", { scope: "col", class: "num" }, t("stats.total")),
        [1, 2, 3, 4].map((n) => h("th", { scope: "col", class: "num" }, t("level.n", { n }))),
        h("th", { scope: "col", class: "num" }, t("stats.online")), h("th", { scope: "col", class: "num" }, t("interagency")))),
      h("tbody", {}, tiers.map(([tier, v]) => h("tr", {},
        h("th", { scope: "row" }, tierLabel(tier)), h("td", { class: "num" }, fmtNumber(v.total)),
        [1, 2, 3, 4].map((n) => h("td", { class: "num" }, fmtNumber((v.by_level || {})[n] || 0))),
        h("td", { class: "num" }, fmtNumber(v.online)), h("td", { class: "num" }, fmtNumber(v.interagency))))))) : null);
}

function months(list) {
  const groups = (list || []).map((m) => ({ label: fmtMonth(m.month), values: MONTH_SERIES.map((s) => Number(m[s.key] || 0)) }));
  const series = MONTH_SERIES.map((s) => ({ label: t(s.label), color: s.color }));
  return h("section", { "aria-labelledby": "months-title" },
    h("h2", { id: "months-title" }, t("stats.months")),
    groups.length ? h("div", { class: "chart-scroll" }, barChart({ id: "chart-months", title: t("stats.chartMonths"), groups, series })) : h("p", {}, t("stats.noData")));
}

// Levels 3 and 4: submitted and processed online (as the procedures section counts them).
function onlineProcedures(procedures) {
  const levels = (procedures && procedures.by_level) || {};
  return (levels["3"] || 0) + (levels["4"] || 0);
}

function agencies(list) {
  return h("section", { "aria-labelledby": "agencies-title" },
    h("h2", { id: "agencies-title" }, t("stats.agencies")),
    (list || []).length ? scrollWrap(`${t("stats.agencies")} – ${t("stats.dossiers").toLowerCase()}`, h("table", { id: "table-agencies" },
      h("caption", { class: "visually-hidden" }, t("stats.agencies")),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("stats.agency")), h("th", { scope: "col" }, t("stats.tier")),
        ["stats.agencyProcedures", "stats.online", "stats.received", "stats.done", "stats.onTime", "stats.late", "stats.overdue", "stats.onTimeRate"].map((k) => h("th", { scope: "col", class: "num" }, t(k))))),
      h("tbody", {}, list.map((a) => h("tr", {},
        h("th", { scope: "row", lang: "vi" }, a.name || a.agency_code),
        h("td", {}, tierLabel(a.tier)),
        h("td", { class: "num" }, fmtNumber((a.procedures && a.procedures.total) || 0)),
        h("td", { class: "num" }, fmtNumber(onlineProcedures(a.procedures))),
        ["received", "done", "on_time", "late", "overdue"].map((k) => h("td", { class: "num" }, fmtNumber(a[k] || 0))),
        h("td", { class: "num" }, fmtRate(a.on_time_rate))))))) : h("p", {}, t("stats.noData")));
}

function render() {
  const monthInput = h("input", { type: "month", id: "month", name: "month", value: state.month || null, "aria-describedby": "month-hint" });
  const form = h("form", { class: "card", id: "stats-form", on: { submit: (e) => { e.preventDefault(); state.month = monthInput.value; load(); } } },
    h("div", { class: "field" },
      h("label", { for: "month" }, t("stats.month")),
      h("p", { class: "hint", id: "month-hint" }, t("stats.monthHint")),
      monthInput),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn" }, t("stats.apply"))));
  const body = [];
  if (state.loading) body.push(loading());
  else if (state.error) body.push(errorNotice(state.error, load));
  else if (state.data) {
    const d = state.data;
    if (d.generated_at) body.push(h("p", { class: "muted" }, t("stats.generated", { at: fmtDateTime(d.generated_at) })));
    body.push(indicators(d.dossiers || {}), procedures(d.procedures || {}), months(d.months), agencies(d.agencies));
  }
  fill(app, form, h("div", { id: "stats-body", "aria-busy": state.loading ? "true" : "false" }, body));
}

async function load() {
  state.loading = true;
  state.error = null;
  history.replaceState(null, "", state.month ? `?month=${encodeURIComponent(state.month)}` : window.location.pathname);
  render();
  try {
    state.data = await api("/stats", { query: { month: state.month } });
  } catch (e) {
    state.error = e;
    state.data = null;
  }
  state.loading = false;
  render();
}

startPage({ title: "stats.title", render });
load();
