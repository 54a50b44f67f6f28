// A tiny DOM builder: h("p", {class: "x"}, "text", child).
export function h(tag, attrs = {}, ...children) {
  const el = tag.includes(":") ? document.createElementNS("http://www.w3.org/2000/svg", tag.split(":")[1]) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "text") {
      el.textContent = value;
    } else if (key === "value" && "value" in el && !(el instanceof SVGElement)) {
      el.value = value;
    } else {
      el.setAttribute(key === "className" ? "class" : key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function svg(tag, attrs = {}, ...children) {
  return h(`svg:${tag}`, attrs, ...children);
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(sel, root = document) { return root.querySelector(sel); }

/** Text in a language other than the page's. */
export function inLang(text, language) {
  return document.documentElement.lang === language ? text : h("span", { lang: language }, text);
}

let idCounter = 0;
export function uid(prefix = "id") { idCounter += 1; return `${prefix}-${idCounter}`; }

export function param(name) {
  return new URLSearchParams(window.location.search).get(name);
}

/** Replaces the element's children (skipping null/false children). */
export function fill(el, ...children) {
  clear(el);
  return append(el, children);
}
