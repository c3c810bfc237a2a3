// Small DOM and formatting helpers shared by every page, plus modal dialogs and the toast.
// Everything dynamic goes through textContent or attributes, never innerHTML.

import { t, locale, coded } from "./i18n.js";
import { ApiError } from "./api.js";

export const $ = (id) => document.getElementById(id);

/** Create an element. `attrs.text` sets textContent; other keys become attributes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c != null && c !== false) el.append(c);
  return el;
}

export function store(kind, key, value) {
  // Storage may be unavailable (private modes, disabled cookies); remembering is a nicety.
  try {
    const s = kind === "session" ? sessionStorage : localStorage;
    if (value === undefined) return s.getItem(key);
    if (value === null) s.removeItem(key);
    else s.setItem(key, value);
  } catch {
    /* ignore */
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Navigation: app.js owns the router and registers its navigate function here, so pages
// can move on without importing app.js.

let navigateImpl = (path) => location.assign(path);

export function setNavigate(fn) {
  navigateImpl = fn;
}

/** Go to a same-origin path. `replace` swaps the history entry (redirects, after a form). */
export function navigate(path, opts = {}) {
  navigateImpl(path, opts);
}

/**
 * A `next` target that is safe to follow after logging in: a same-origin path that starts
 * with a single "/", never "//" or "/\" (both mean another host to a browser), no control
 * characters, not the api and not the login page itself. Anything else gives null.
 */
export function safeNext(raw) {
  if (typeof raw !== "string" || raw.length > 2000) return null;
  if (!raw.startsWith("/") || raw.startsWith("//")) return null;
  if (/[\\\u0000-\u001f\u007f]/.test(raw)) return null;
  let url;
  try {
    url = new URL(raw, location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  // Normalising can leave a path like "//evil.example" (from "/.//evil.example"), which
  // history.replaceState reads as another host and refuses with an exception.
  if (/^\/[\/\\]/.test(url.pathname)) return null;
  if (url.pathname.startsWith("/api/") || /^\/login\/?$/.test(url.pathname)) return null;
  return url.pathname + url.search + url.hash;
}

// ---------------------------------------------------------------------------------------
// Formatting

export function fmtDateTime(ms) {
  if (ms == null) return "—";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "medium" }).format(ms);
}

export function fmtDate(ms) {
  if (ms == null) return "—";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium" }).format(ms);
}

export function fmtAgo(ms) {
  if (ms == null) return "";
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const sec = Math.round((ms - Date.now()) / 1000);
  const abs = Math.abs(sec);
  if (abs < 60) return rtf.format(sec, "second");
  if (abs < 3600) return rtf.format(Math.round(sec / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(sec / 3600), "hour");
  return rtf.format(Math.round(sec / 86400), "day");
}

/** A <time> showing "3 hours ago" with the full date as its tooltip; "—" for null. */
export function timeAgo(ms, emptyText = "—") {
  if (ms == null) return h("span", { class: "muted", text: emptyText });
  return h("time", { datetime: new Date(ms).toISOString(), title: fmtDateTime(ms), text: fmtAgo(ms) });
}

/** A message for an error that is worth showing to a person. */
export function errorText(err) {
  if (!(err instanceof ApiError)) return err?.message || String(err);
  if (err.status === 0) return t("errNetwork");
  if (err.status === 401) return t("errUnauthorized");
  if (err.body && typeof err.body.error === "string") return coded(err.body.code, err.body.params, err.body.error);
  return t("errServer", { status: err.status });
}

// ---------------------------------------------------------------------------------------
// Roles: ordered, a higher one can do everything a lower one can.

export const ROLES = ["viewer", "operator", "admin"];

export function roleRank(role) {
  return ROLES.indexOf(role);
}

export function roleBadge(role) {
  return h("span", { class: `badge role-badge role-${ROLES.includes(role) ? role : "unknown"}`, text: roleLabel(role) });
}

export function roleLabel(role) {
  return ROLES.includes(role) ? t(`role_${role}`) : String(role ?? "");
}

// ---------------------------------------------------------------------------------------
// Passwords

/** A random password a person can type: letters and digits without look-alikes. */
export function generatePassword(length = 16) {
  const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const out = [];
  const buf = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      // Rejection sampling keeps every character equally likely.
      if (b < 224 && out.length < length) out.push(alphabet[b % alphabet.length]);
    }
  }
  return out.join("");
}

/** UTF-8 length; bcrypt looks at 72 bytes at most, so the server refuses longer ones. */
export function byteLength(s) {
  return new TextEncoder().encode(s).length;
}

// ---------------------------------------------------------------------------------------
// Clipboard

/**
 * Copy `text`; on success the button says "Copied" for a moment. Without the clipboard api
 * (plain http on another host), select `fallback` so a copy shortcut works.
 */
export async function copyText(text, button, fallback) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    if (fallback instanceof HTMLInputElement || fallback instanceof HTMLTextAreaElement) {
      fallback.focus();
      fallback.select();
    } else if (fallback) {
      const range = document.createRange();
      range.selectNodeContents(fallback);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    }
    if (button) flashButton(button, t("copySelect"));
    return false;
  }
  if (button) flashButton(button, t("copied"));
  return true;
}

function flashButton(button, text) {
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = text;
  clearTimeout(button._flash);
  button._flash = setTimeout(() => {
    button.textContent = button.dataset.label;
    delete button.dataset.label;
  }, 1500);
}

/** A read-only, monospace value with a Copy button next to it. */
export function copyBox(value, label) {
  const input = h("input", {
    type: "text",
    class: "copy-input",
    readonly: true,
    value,
    spellcheck: "false",
    autocomplete: "off",
    "aria-label": label,
  });
  input.addEventListener("focus", () => input.select());
  const btn = h("button", { type: "button", class: "btn btn-secondary", text: t("copy") });
  btn.addEventListener("click", () => copyText(input.value, btn, input));
  return h("div", { class: "copy-box" }, input, btn);
}

// ---------------------------------------------------------------------------------------
// Toast: one short confirmation at a time, read out politely.

let toastTimer = 0;
export function toast(text) {
  // The region stays in the page (empty, so invisible) and is only filled: a live region
  // that appears together with its text is often not read.
  const el = $("toast");
  el.textContent = "";
  clearTimeout(toastTimer);
  setTimeout(() => {
    el.textContent = text;
    toastTimer = setTimeout(() => (el.textContent = ""), 6000);
  }, 50);
}

// ---------------------------------------------------------------------------------------
// Form fields

let fieldSeq = 0;

/**
 * A labelled field. `control` is an input/select element (an id is given when missing);
 * `hint` a string or node shown under it and tied by aria-describedby.
 */
export function field(labelText, control, { hint, optional = false, error = true } = {}) {
  if (!control.id) control.id = `f${++fieldSeq}`;
  const label = h("label", { for: control.id }, labelText);
  if (optional) label.append(" ", h("span", { class: "optional", text: `(${t("optional")})` }));
  const described = [];
  let hintEl = null;
  if (hint) {
    hintEl = h("p", { class: "hint", id: `${control.id}-hint` }, hint);
    described.push(hintEl.id);
  }
  let errEl = null;
  if (error) {
    errEl = h("p", { class: "field-error", id: `${control.id}-err`, hidden: true });
    described.push(errEl.id);
  }
  if (described.length) control.setAttribute("aria-describedby", described.join(" "));
  const wrap = h("div", { class: "field" }, label, control, hintEl, errEl);
  return wrap;
}

/** Show (or with null, clear) a field's own error line and mark the control invalid. */
export function setFieldError(control, message) {
  const errEl = document.getElementById(`${control.id}-err`);
  if (message) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
  if (errEl) {
    errEl.textContent = message || "";
    errEl.hidden = !message;
  }
}

export function checkbox(labelText, { checked = false, disabled = false, name } = {}) {
  const input = h("input", { type: "checkbox", name, checked, disabled, id: `f${++fieldSeq}` });
  const label = h("label", { class: "check", for: input.id }, input, h("span", { text: labelText }));
  return { input, label };
}

export function select(options, value) {
  const el = h("select");
  for (const [v, text] of options) el.append(h("option", { value: v, text }));
  if (value != null) el.value = value;
  return el;
}

// ---------------------------------------------------------------------------------------
// Modal dialogs (native <dialog>: focus is kept inside, Escape closes, the page is inert).

let dialogSeq = 0;

/**
 * Open a modal holding a form.
 * - `content`: nodes placed above the error box.
 * - `onSubmit()`: async; throw to show the error inside and stay open; return
 *   `{ done: [nodes] }` to swap the body for a final message with a single Close button;
 *   return anything else to close.
 * - `cancelable` false: a dialog that only shows something, with its one button (and ×).
 * Resolves with true when the submit succeeded, false when cancelled.
 */
export function formDialog({ title, content = [], submitText, danger = false, onSubmit, wide = false, cancelable = true }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = `dlg-title-${++dialogSeq}`;
    const errorBox = h("div", { class: "alert alert-error", role: "alert", tabindex: "-1", hidden: true });
    const body = h("div", { class: "dialog-body" }, ...content, errorBox);
    const closeX = h("button", {
      type: "button",
      class: "btn btn-ghost btn-icon dialog-x",
      "aria-label": t("close"),
      title: t("close"),
    }, h("span", { "aria-hidden": "true", text: "×" }));
    const cancel = h("button", { type: "button", class: "btn btn-secondary", text: t("cancel") });
    const submit = h("button", { type: "submit", class: `btn ${danger ? "btn-danger" : "btn-primary"}` },
      h("span", { class: "spinner", "aria-hidden": "true" }),
      h("span", { text: submitText }));
    const actions = h("div", { class: "dialog-actions" }, cancelable ? cancel : null, submit);
    const form = h("form", { class: "dialog-form", novalidate: true },
      h("div", { class: "dialog-head" }, h("h2", { id: titleId, class: "dialog-title", text: title }), closeX),
      body, actions);
    const dlg = h("dialog", { class: wide ? "dialog dialog-wide" : "dialog", "aria-labelledby": titleId }, form);

    let busy = false;
    let succeeded = false;
    const close = () => {
      if (busy) return;
      dlg.close();
    };
    cancel.addEventListener("click", close);
    closeX.addEventListener("click", close);
    dlg.addEventListener("cancel", (e) => {
      if (busy) e.preventDefault();
    });
    dlg.addEventListener("close", () => {
      dlg.remove();
      if (opener && document.contains(opener)) opener.focus();
      resolve(succeeded);
    });

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (busy) return;
      errorBox.hidden = true;
      busy = true;
      submit.disabled = true;
      cancel.disabled = true;
      submit.classList.add("is-busy");
      let result;
      try {
        result = await onSubmit();
      } catch (err) {
        busy = false;
        submit.disabled = false;
        cancel.disabled = false;
        submit.classList.remove("is-busy");
        if (err?.handled) {
          // The session ended or needs a new password: the page is moving on.
          dlg.close();
          return;
        }
        if (err?.fieldError) return; // the field shows it
        errorBox.textContent = errorText(err);
        errorBox.hidden = false;
        errorBox.focus();
        return;
      }
      busy = false;
      succeeded = true;
      if (result && Array.isArray(result.done)) {
        body.replaceChildren(...result.done);
        const ok = h("button", { type: "button", class: "btn btn-primary", text: t("done") });
        ok.addEventListener("click", close);
        actions.replaceChildren(ok);
        ok.focus();
        return;
      }
      dlg.close();
    });

    document.body.append(dlg);
    dlg.showModal();
    // Focus the first field rather than the close button.
    const first = body.querySelector("input:not([type=hidden]):not([disabled]):not([readonly]), select:not([disabled]), textarea");
    (first ?? submit).focus();
  });
}

/** A yes/no question; `action` runs on yes, and its error keeps the dialog open. */
export function confirmDialog({ title, message, confirmText, danger = true, action }) {
  const content = (Array.isArray(message) ? message : [message]).map((m) =>
    typeof m === "string" ? h("p", { text: m }) : m);
  return formDialog({ title, content, submitText: confirmText, danger, onSubmit: action });
}

/** Thrown from a dialog's onSubmit after a field got its own error message. */
export function fieldError() {
  const e = new Error("field error");
  e.fieldError = true;
  return e;
}
