// Forms from JSON Schema (the dialect procedures use): render, collect, validate, show errors.
import { t, fmtNumber } from "./i18n.js";
import { h, clear } from "./dom.js";

const FORMATS = {
  "vn-phone": /^(0|\+84)[35789][0-9]{8}$/,
  "vn-id-number": /^[0-9]{12}$/,
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^\d{2}:\d{2}(:\d{2})?$/,
};

export function pathId(path) {
  return "f-" + path.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/-+$/, "");
}

function typeOf(s) {
  if (!s) return "string";
  if (Array.isArray(s.type)) return s.type.find((x) => x !== "null") || "string";
  return s.type || (s.properties ? "object" : "string");
}

function labelText(s, path) {
  return (s && s.title) || path.split(".").pop();
}

function requiredMark(required) {
  return required
    ? h("span", { class: "req", "aria-hidden": "true" }, " *")
    : h("span", { class: "opt" }, " " + t("submit.optional"));
}

function hintFor(s) {
  const bits = [];
  if (s.description) bits.push(s.description);
  const type = typeOf(s);
  if (type === "string" && !s.format && s.maxLength && s.maxLength > 200) bits.push(t("v.maxLength", { n: s.maxLength }));
  if ((type === "integer" || type === "number") && (s.minimum !== undefined || s.maximum !== undefined)) {
    if (s.minimum !== undefined && s.maximum !== undefined) bits.push(`${fmtNumber(s.minimum)} – ${fmtNumber(s.maximum)}`);
    else if (s.minimum !== undefined) bits.push(t("v.minimum", { n: fmtNumber(s.minimum) }));
    else bits.push(t("v.maximum", { n: fmtNumber(s.maximum) }));
  }
  if (s.format === "vn-phone") bits.push(t("submit.phoneHint"));
  if (s.format === "vn-id-number") bits.push(t("submit.idHint"));
  return bits.join(" ");
}

/** A labelled control with its hint and error slot. */
export function fieldRow({ path, label, required, hint, control, extraClass }) {
  const id = pathId(path);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  control.id = id;
  control.name = path;
  control.dataset.path = path;
  if (required) control.required = true;
  control.setAttribute("aria-describedby", [hint ? hintId : null, errorId].filter(Boolean).join(" "));
  return h("div", { class: `field ${extraClass || ""}`.trim() },
    h("label", { for: id }, label, requiredMark(required)),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    control,
    h("p", { class: "field-error", id: errorId }));
}

function choiceGroup({ path, label, required, hint, options, value, type = "radio" }) {
  const id = pathId(path);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  return h("fieldset", { class: "field", id, "data-path": path, "data-group": "radio", "aria-describedby": [hint ? hintId : null, errorId].filter(Boolean).join(" ") },
    h("legend", {}, label, requiredMark(required)),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    options.map((opt, i) => {
      const optId = `${id}-${i}`;
      return h("div", { class: "choice" },
        h("input", { type, id: optId, name: path, value: String(i), checked: value !== undefined && opt.value === value ? true : null, required: required ? true : null }),
        h("label", { for: optId }, opt.label));
    }),
    h("p", { class: "field-error", id: errorId }));
}

function controlFor(s, path, required, value) {
  const type = typeOf(s);
  const label = labelText(s, path);
  const hint = hintFor(s);
  if (Array.isArray(s.enum)) {
    const options = s.enum.map((v) => ({ value: v, label: String(v) }));
    if (options.length <= 4) return choiceGroup({ path, label, required, hint, options, value });
    const select = h("select", {},
      h("option", { value: "" }, t("submit.choose")),
      options.map((o, i) => h("option", { value: String(i), selected: o.value === value ? true : null }, o.label)));
    select.dataset.enum = "1";
    return fieldRow({ path, label, required, hint, control: select });
  }
  if (type === "boolean") {
    const id = pathId(path);
    const input = h("input", { type: "checkbox", id, name: path, "data-path": path, checked: value === true ? true : null, "aria-describedby": `${id}-error` });
    return h("div", { class: "field" },
      h("div", { class: "choice" }, input, h("label", { for: id }, label)),
      h("p", { class: "field-error", id: `${id}-error` }));
  }
  if (type === "integer" || type === "number") {
    const input = h("input", {
      type: "number", inputmode: type === "integer" ? "numeric" : "decimal",
      step: type === "integer" ? "1" : "any",
      min: s.minimum ?? null, max: s.maximum ?? null,
      value: value ?? null,
    });
    return fieldRow({ path, label, required, hint, control: input });
  }
  // strings
  let control;
  const common = { value: value ?? null, maxlength: s.maxLength ?? null };
  if (s.format === "date") control = h("input", { type: "date", value: value ?? null });
  else if (s.format === "time") control = h("input", { type: "time", step: "60", value: value ? String(value).slice(0, 5) : null });
  else if (s.format === "email") control = h("input", { type: "email", autocomplete: "email", ...common });
  else if (s.format === "vn-phone") control = h("input", { type: "tel", autocomplete: "tel", inputmode: "tel", ...common });
  else if (s.format === "vn-id-number") control = h("input", { type: "text", inputmode: "numeric", autocomplete: "off", maxlength: 12, value: value ?? null });
  else if (s.maxLength && s.maxLength > 200) control = h("textarea", { rows: 3, ...common });
  else control = h("input", { type: "text", ...common });
  if (s.autocomplete) control.setAttribute("autocomplete", s.autocomplete);
  if (s.maxLength && control.tagName === "TEXTAREA") control.value = value ?? "";
  return fieldRow({ path, label, required, hint, control });
}

function arrayWidget(s, path, required, value) {
  const id = pathId(path);
  const errorId = `${id}-error`;
  const itemSchema = s.items || { type: "string" };
  const label = labelText(s, path);
  const itemLabel = itemSchema.title || label;
  const list = h("div", { class: "array-items" });
  const fieldset = h("fieldset", { class: "field", id, "data-path": path, "data-array": path, "aria-describedby": errorId },
    h("legend", {}, label, requiredMark(required || (s.minItems || 0) > 0)));
  const hint = [];
  if (s.minItems) hint.push(t("v.minItems", { n: s.minItems }));
  if (s.maxItems) hint.push(t("v.maxItems", { n: s.maxItems }));
  if (hint.length) fieldset.append(h("p", { class: "hint" }, hint.join(" ")));
  fieldset.append(list);
  const addButton = h("button", { type: "button", class: "btn secondary small" }, t("submit.add", { label: itemLabel.toLowerCase() }));
  fieldset.append(h("div", { class: "form-actions" }, addButton), h("p", { class: "field-error", id: errorId }));

  let items = Array.isArray(value) ? value.slice() : [];
  const initial = Math.max(s.minItems || 0, required ? 1 : 0);
  while (items.length < initial) items.push(undefined);

  function draw(focusIndex) {
    clear(list);
    fieldset.dataset.count = String(items.length);
    items.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      const removable = items.length > (s.minItems || 0);
      const remove = removable
        ? h("button", { type: "button", class: "btn link small", on: { click: () => { items = collectArray(); items.splice(i, 1); draw(Math.max(0, i - 1)); } } },
          t("submit.remove", { n: i + 1 }))
        : null;
      if (typeOf(itemSchema) === "object") {
        list.append(h("div", { class: "array-item", role: "group", "aria-labelledby": `${pathId(itemPath)}-title` },
          h("div", { class: "array-item-head" }, h("p", { class: "array-item-title", id: `${pathId(itemPath)}-title` }, `${itemLabel} – ${t("submit.item", { n: i + 1 })}`), remove),
          renderProperties(itemSchema, itemPath, item || {})));
      } else {
        const row = controlFor({ ...itemSchema, title: `${itemLabel} ${i + 1}` }, itemPath, false, item);
        list.append(h("div", { class: "array-item" }, row, remove ? h("div", {}, remove) : null));
      }
    });
    addButton.hidden = Boolean(s.maxItems && items.length >= s.maxItems);
    if (focusIndex !== undefined) {
      const target = list.querySelectorAll(".array-item")[focusIndex];
      const first = target && target.querySelector("input, select, textarea");
      if (first) first.focus();
    }
  }
  function collectArray() {
    return items.map((_, i) => collectValue(itemSchema, `${path}[${i}]`, fieldset, false, true));
  }
  addButton.addEventListener("click", () => {
    items = collectArray();
    items.push(undefined);
    draw(items.length - 1);
  });
  draw();
  return fieldset;
}

function renderProperty(s, path, required, value) {
  const type = typeOf(s);
  if (type === "array") return arrayWidget(s, path, required, value);
  if (type === "object") {
    return h("fieldset", { class: "field", id: pathId(path), "data-path": path },
      h("legend", {}, labelText(s, path), requiredMark(required)),
      renderProperties(s, path, value || {}));
  }
  return controlFor(s, path, required, value);
}

/** The fields of an object schema, under `prefix` ("form", "applicant", "form.x[0]"). */
export function renderProperties(schema, prefix, values = {}) {
  const required = new Set(schema.required || []);
  const frag = h("div", { class: "schema-fields" });
  for (const [name, s] of Object.entries(schema.properties || {})) {
    frag.append(renderProperty(s, prefix ? `${prefix}.${name}` : name, required.has(name), values ? values[name] : undefined));
  }
  return frag;
}

function find(root, path) {
  return root.querySelector(`[data-path="${CSS.escape(path)}"]`);
}

/** Reads one value back out of the DOM; undefined when empty. */
function collectValue(s, path, root, required, skipEmptyObject) {
  const type = typeOf(s);
  if (type === "object") {
    const out = {};
    for (const [name, sub] of Object.entries(s.properties || {})) {
      const v = collectValue(sub, `${path}.${name}`, root, false);
      if (v !== undefined) out[name] = v;
    }
    if (skipEmptyObject && Object.values(out).every((v) => v === false)) return undefined;
    return Object.keys(out).length || required ? out : undefined;
  }
  if (type === "array") {
    const container = root.querySelector(`[data-array="${CSS.escape(path)}"]`);
    if (!container) return undefined;
    const n = Number(container.dataset.count || 0);
    const items = [];
    for (let i = 0; i < n; i += 1) {
      const v = collectValue(s.items || { type: "string" }, `${path}[${i}]`, container, false, true);
      if (v !== undefined) items.push(v);
    }
    return items.length || required || s.minItems ? items : undefined;
  }
  if (Array.isArray(s.enum)) {
    const group = find(root, path);
    if (!group) return undefined;
    let index = "";
    if (group.dataset.group === "radio") {
      const checked = group.querySelector("input:checked");
      index = checked ? checked.value : "";
    } else {
      index = group.value;
    }
    return index === "" ? undefined : s.enum[Number(index)];
  }
  const el = find(root, path);
  if (!el) return undefined;
  if (type === "boolean") return el.checked;
  const raw = (el.value || "").trim();
  if (raw === "") return undefined;
  if (type === "integer" || type === "number") {
    const n = Number(raw.replace(",", "."));
    return Number.isFinite(n) ? n : raw;
  }
  if (s.format === "time" && /^\d{2}:\d{2}$/.test(raw)) return `${raw}:00`;
  return raw;
}

export function collectObject(schema, prefix, root) {
  const out = {};
  for (const [name, s] of Object.entries(schema.properties || {})) {
    const v = collectValue(s, prefix ? `${prefix}.${name}` : name, root, false);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Client-side checks with citizen-friendly messages: [{path, message}]. */
export function validate(schema, value, prefix) {
  const errors = [];
  const check = (s, v, path, required) => {
    const type = typeOf(s);
    const full = labelText(s, path);
    const label = full.charAt(0).toLowerCase() + full.slice(1);
    if (v === undefined || v === null || (type === "string" && v === "")) {
      if (required) {
        const choice = Array.isArray(s.enum) || type === "boolean";
        errors.push({ path, message: t(choice ? "v.requiredChoice" : "v.required", { label }) });
      }
      return;
    }
    if (type === "object") {
      const req = new Set(s.required || []);
      for (const [name, sub] of Object.entries(s.properties || {})) check(sub, v[name], `${path}.${name}`, req.has(name));
      return;
    }
    if (type === "array") {
      if (s.minItems && v.length < s.minItems) errors.push({ path, message: t("v.minItems", { n: s.minItems }) });
      else if (s.maxItems && v.length > s.maxItems) errors.push({ path, message: t("v.maxItems", { n: s.maxItems }) });
      v.forEach((item, i) => check(s.items || {}, item, `${path}[${i}]`, true));
      return;
    }
    if (Array.isArray(s.enum)) {
      if (!s.enum.includes(v)) errors.push({ path, message: t("v.enum") });
      return;
    }
    if (type === "integer" || type === "number") {
      if (typeof v !== "number" || (type === "integer" && !Number.isInteger(v))) {
        errors.push({ path, message: t(type === "integer" ? "v.integer" : "v.number") });
        return;
      }
      if (s.minimum !== undefined && v < s.minimum) errors.push({ path, message: t("v.minimum", { n: fmtNumber(s.minimum) }) });
      else if (s.maximum !== undefined && v > s.maximum) errors.push({ path, message: t("v.maximum", { n: fmtNumber(s.maximum) }) });
      else if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) errors.push({ path, message: t("v.exclusiveMinimum", { n: fmtNumber(s.exclusiveMinimum) }) });
      else if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) errors.push({ path, message: t("v.exclusiveMaximum", { n: fmtNumber(s.exclusiveMaximum) }) });
      return;
    }
    if (type === "boolean") return;
    const str = String(v);
    const length = [...str].length;
    if (s.minLength && length < s.minLength) { errors.push({ path, message: t("v.minLength", { n: s.minLength }) }); return; }
    if (s.maxLength && length > s.maxLength) { errors.push({ path, message: t("v.maxLength", { n: s.maxLength }) }); return; }
    if (s.format && FORMATS[s.format]) {
      if (!FORMATS[s.format].test(str) || (s.format === "date" && Number.isNaN(Date.parse(str)))) {
        errors.push({ path, message: t(`v.${s.format}`) });
        return;
      }
    }
    if (s.pattern) {
      let ok = true;
      try { ok = new RegExp(s.pattern, "u").test(str); } catch { ok = true; }
      if (!ok) errors.push({ path, message: s.patternMessage || t("v.pattern") });
    }
  };
  const req = new Set(schema.required || []);
  for (const [name, s] of Object.entries(schema.properties || {})) {
    check(s, value[name], prefix ? `${prefix}.${name}` : name, req.has(name));
  }
  return errors;
}

// ---- error display ----

export function clearErrors(root) {
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of root.querySelectorAll(".field-error")) el.textContent = "";
  const summary = root.querySelector(".error-summary");
  if (summary) summary.remove();
}

/** The element an error path points at (exact, then its closest ancestor path). */
export function targetFor(root, path) {
  let p = path;
  while (p) {
    const el = root.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) break;
    p = p.slice(0, cut);
  }
  return null;
}

function focusable(el) {
  if (!el) return null;
  if (el.matches("input, select, textarea, button")) return el;
  return el.querySelector("input, select, textarea, button");
}

/**
 * Marks fields invalid and puts a summary with links at the top of `root`.
 * errors: [{path, message}]; returns the summary.
 */
export function showErrors(root, errors, { summaryParent } = {}) {
  if (!root.dataset.liveErrors) {
    // Once the citizen edits a field, its old message goes.
    root.dataset.liveErrors = "1";
    const onEdit = (event) => {
      const el = event.target;
      if (!el || !el.dataset) return;
      const group = el.closest("[data-group=radio]");
      const target = group || el;
      const slot = target.id ? document.getElementById(`${target.id}-error`) : null;
      if (slot && !el.matches("input[type=file]")) slot.textContent = "";
      if (group) for (const input of group.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
      else if (!el.matches("input[type=file]")) el.removeAttribute("aria-invalid");
    };
    root.addEventListener("input", onEdit);
    root.addEventListener("change", onEdit);
  }
  const items = [];
  const seen = new Set();
  for (const error of errors) {
    const target = targetFor(root, error.path);
    if (target) {
      const errorId = target.id ? `${target.id}-error` : null;
      const slot = errorId ? document.getElementById(errorId) : null;
      if (slot && !seen.has(errorId)) {
        slot.textContent = error.message;
        seen.add(errorId);
      }
      if (target.dataset.group === "radio" || target.tagName === "FIELDSET") {
        for (const input of target.querySelectorAll(":scope > .choice input")) input.setAttribute("aria-invalid", "true");
        target.setAttribute("data-invalid", "true");
      } else {
        target.setAttribute("aria-invalid", "true");
      }
    }
    items.push({ error, target });
  }
  const parent = summaryParent || root;
  const summary = h("div", { class: "error-summary", role: "alert", tabindex: "-1", "aria-labelledby": "error-summary-title" },
    h("h2", { id: "error-summary-title" }, t("v.summaryTitle")),
    h("p", {}, t("v.summary", { n: items.length })),
    h("ul", {}, items.map(({ error, target }) => {
      const label = target ? labelOf(target) : "";
      const text = label ? `${label}: ${error.message}` : error.message;
      const control = focusable(target);
      return h("li", {}, control
        ? h("a", { href: `#${control.id}`, on: { click: (e) => { e.preventDefault(); control.focus(); control.scrollIntoView({ block: "center" }); } } }, text)
        : text);
    })));
  parent.prepend(summary);
  summary.focus();
  return summary;
}

function labelOf(target) {
  if (target.tagName === "FIELDSET") {
    const legend = target.querySelector("legend");
    return legend ? legend.firstChild.textContent.trim() : "";
  }
  const label = target.id ? document.querySelector(`label[for="${CSS.escape(target.id)}"]`) : null;
  return label ? label.firstChild.textContent.trim().replace(/[.:]$/, "") : "";
}

/** The API's 422 details → [{path, message}], Vietnamese part of "vi / en" messages when in Vietnamese. */
export function apiFieldErrors(error, { documentIndex = [] } = {}) {
  const out = [];
  for (const d of error.details || []) {
    let path = String(d.field || "");
    const m = /^documents\[(\d+)\]/.exec(path);
    if (m && documentIndex[Number(m[1])]) path = `documents.${documentIndex[Number(m[1])]}`;
    out.push({ path, message: localMessage(d.message) });
  }
  return out;
}

/** The API speaks "tiếng Việt / English": keep the half for the current language. */
export function localMessage(message) {
  const text = String(message || "");
  const i = text.indexOf(" / ");
  if (i < 0) return text;
  return document.documentElement.lang === "en" ? text.slice(i + 3) : text.slice(0, i);
}
