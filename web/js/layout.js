// Header, navigation, language switch, footer: the frame every page shares.
import { t, lang, setLang, onLangChange, applyStatic } from "./i18n.js";
import { getConfig } from "./api.js";
import { session, signOut } from "./auth.js";
import { h, clear, fill } from "./dom.js";

const NAV = [
  { href: "/index.html", key: "nav.procedures", match: ["/", "/index.html", "/procedure.html", "/submit.html"] },
  { href: "/track.html", key: "nav.track", match: ["/track.html"] },
  { href: "/dossiers.html", key: "nav.mine", match: ["/dossiers.html", "/dossier.html"] },
  { href: "/stats.html", key: "nav.stats", match: ["/stats.html"] },
];

let province = null;
let titleSpec = null;
const renderers = [];

function currentPage() {
  const path = window.location.pathname;
  return path.endsWith("/") ? "/" : path;
}

function renderHeader() {
  const header = document.getElementById("site-header");
  if (!header) return;
  header.className = "site-header";
  const s = session();
  const page = currentPage();
  const links = NAV.map((item) => h("li", {},
    h("a", { href: item.href, "aria-current": item.match.includes(page) ? "page" : null }, t(item.key))));
  let account;
  if (s) {
    account = h("li", { class: "nav-account" },
      h("span", { class: "user-email", "aria-label": t("nav.signedInAs", { email: s.email }) }, s.email),
      h("button", { type: "button", id: "signout-button", on: { click: () => { signOut(); window.location.assign("/signin.html?signedout=1"); } } }, t("nav.signout")));
  } else {
    const next = page === "/signin.html" ? "" : `?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
    account = h("li", { class: "nav-account" },
      h("a", { href: `/signin.html${next}`, "aria-current": page === "/signin.html" ? "page" : null }, t("nav.signin")));
  }
  const other = lang() === "vi" ? "en" : "vi";
  fill(header, 
    h("div", { class: "header-inner" },
      h("div", { class: "header-top" },
        h("a", { class: "brand", href: "/index.html" },
          h("span", { class: "brand-title" }, t("site.title")),
          h("span", { class: "brand-sub", lang: "vi" }, province ? province.name : "\u00a0")),
        h("button", {
          type: "button", class: "lang-switch", id: "lang-switch", lang: other,
          on: { click: () => setLang(other) },
        }, t("lang.switch"))),
      h("nav", { class: "site-nav", "aria-label": t("nav.label") }, h("ul", {}, links, account))));
}

function renderFooter() {
  const footer = document.getElementById("site-footer");
  if (!footer) return;
  footer.className = "site-footer";
  fill(footer, h("div", { class: "footer-inner" },
    h("p", {}, t("footer.text", { province: province ? province.name : "" })),
    h("p", {}, t("footer.privacy")),
    h("p", {}, h("a", { href: "/track.html" }, t("footer.track")))));
}

function renderTitle() {
  if (!titleSpec) return;
  const text = typeof titleSpec === "function" ? titleSpec() : t(titleSpec);
  document.title = `${text} · ${t("site.title")}${province ? " " + province.name : ""}`;
}

export function setTitle(spec) {
  titleSpec = spec;
  renderTitle();
}

function renderFrame() {
  document.documentElement.lang = lang();
  const skip = document.querySelector(".skip-link");
  if (skip) skip.textContent = t("skip");
  renderHeader();
  renderFooter();
  applyStatic();
  renderTitle();
}

/** Announces a message to screen readers (polite). */
export function announce(message) {
  let region = document.getElementById("announcer");
  if (!region) {
    region = h("div", { id: "announcer", class: "visually-hidden", "aria-live": "polite", role: "status" });
    document.body.append(region);
  }
  region.textContent = "";
  setTimeout(() => { region.textContent = message; }, 50);
}

/** Call on every page: draws the frame, then the page's render(), again on each language switch. */
export function startPage({ title, render } = {}) {
  titleSpec = title || null;
  if (render) renderers.push(render);
  renderFrame();
  onLangChange(() => {
    renderFrame();
    for (const fn of renderers) fn();
    announce(lang() === "en" ? "Language: English" : "Ngôn ngữ: Tiếng Việt");
  });
  getConfig().then((config) => {
    province = (config && config.province) || null;
    renderHeader();
    renderFooter();
    renderTitle();
  }).catch(() => { /* pages report API errors themselves */ });
  if (render) render();
}

export function getProvince() { return province; }
