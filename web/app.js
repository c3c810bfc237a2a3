// docker-image-sync web UI: the router, the top bar (theme, language, account menu), the
// sync form, the recent jobs and the live job view. The account and admin pages live in
// their own modules (auth-pages.js, tokens.js, users.js, registries.js, audit.js). No
// framework: views are static markup in index.html that the code fills in. All dynamic
// text goes through textContent (never innerHTML), so nothing the server or the user sends
// can become markup; the CSP would block inline code anyway.

import { t, applyStatic, getLang, setLang, onLangChange } from "./i18n.js";
import { api, ApiError, JobWatcher, onAuthProblem } from "./api.js";
import { JobState, TASK_STATUSES } from "./job-state.js";
import {
  $, h, store, fmtDateTime, fmtAgo, errorText, roleLabel, setNavigate, safeNext, toast,
} from "./ui.js";
import { session, loadMe, setUser, onUserChange, displayName, isAdmin, canSubmit } from "./session.js";
import {
  enterLogin, leaveLogin, renderLogin, setLoginNotice, enterPassword, leavePassword, renderPassword,
} from "./auth-pages.js";
import { enterTokens, leaveTokens, renderTokens } from "./tokens.js";
import { enterUsers, leaveUsers, renderUsers } from "./users.js";
import { enterRegistries, leaveRegistries, renderRegistries } from "./registries.js";
import { enterAudit, leaveAudit, renderAudit } from "./audit.js";

// ---------------------------------------------------------------------------------------
// Formatting

function fmtDuration(ms) {
  if (ms == null) return "";
  if (ms < 1000) return t("dur_ms", { n: Math.round(ms) });
  const s = ms / 1000;
  if (s < 60) return t("dur_s", { n: s < 10 ? s.toFixed(1) : Math.round(s) });
  const total = Math.round(s);
  if (total < 3600) return t("dur_m", { m: Math.floor(total / 60), s: total % 60 });
  return t("dur_h", { h: Math.floor(total / 3600), m: Math.floor((total % 3600) / 60) });
}

function shortDigest(d) {
  return d && d.length > 19 ? `${d.slice(0, 19)}…` : d || "";
}

function statusLabel(status) {
  return t(`status_${status}`);
}

function setBadge(el, status) {
  el.className = `badge status-${status}`;
  el.textContent = status ? statusLabel(status) : "";
}

// ---------------------------------------------------------------------------------------
// Theme: "auto" follows prefers-color-scheme through CSS alone; an explicit choice sets
// data-theme on <html>, which the stylesheet lets win over the media query.

const THEMES = ["auto", "light", "dark"];
let theme = THEMES.includes(store("local", "dis.theme")) ? store("local", "dis.theme") : "auto";

function applyTheme() {
  const root = document.documentElement;
  if (theme === "auto") delete root.dataset.theme;
  else root.dataset.theme = theme;
  root.dataset.themePref = theme;
  const next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  const label = t("themeToggle", { mode: t(`themeMode_${theme}`), next: t(`themeMode_${next}`) });
  const btn = $("theme-toggle");
  btn.setAttribute("aria-label", label);
  btn.title = label;
}

$("theme-toggle").addEventListener("click", () => {
  theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  store("local", "dis.theme", theme === "auto" ? null : theme);
  applyTheme();
});

$("lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));

function applyLangToggle() {
  // The button's text is in the other language; say so for screen readers.
  $("lang-toggle").lang = getLang() === "zh" ? "en" : "zh-CN";
}

onLangChange(() => {
  applyStatic();
  applyLangToggle();
  applyTheme();
  renderUserMenu();
  renderFormDynamic();
  renderSyntaxHint();
  renderPreview();
  renderRecent();
  if (job) renderJob(true);
  currentRoute?.refresh?.();
  updateTitle();
});

// ---------------------------------------------------------------------------------------
// Router. Routes are data: one entry per page. The server answers every unknown path
// without a dot in its last part with index.html, so deep links work.
//
// Access: `public` pages need no login (and a logged-in user is sent on from /login);
// `open` pages are shown to anyone; every other page needs a login, and `admin` pages
// the admin role. A user who must replace a generated password sees only /password.
// The server enforces all of it; this only avoids showing pages that would fail.
// `refresh` redraws the page's dynamic text after a language switch.

const routes = [
  { re: /^\/(?:index\.html)?$/, view: "view-home", enter: enterHome, leave: leaveHome },
  { re: /^\/jobs\/([^/]+)\/?$/, view: "view-job", enter: (m) => enterJob(decodeURIComponent(m[1])), leave: leaveJob },
  { re: /^\/login\/?$/, view: "view-login", public: true, title: "loginTitle", enter: enterLogin, leave: leaveLogin, refresh: renderLogin },
  { re: /^\/password\/?$/, view: "view-password", title: "passwordTitle", enter: enterPassword, leave: leavePassword, refresh: renderPassword },
  { re: /^\/tokens\/?$/, view: "view-tokens", title: "tokensTitle", enter: enterTokens, leave: leaveTokens, refresh: renderTokens },
  { re: /^\/registries\/?$/, view: "view-registries", admin: true, title: "registriesTitle", enter: enterRegistries, leave: leaveRegistries, refresh: renderRegistries },
  { re: /^\/users\/?$/, view: "view-users", admin: true, title: "usersTitle", enter: enterUsers, leave: leaveUsers, refresh: renderUsers },
  { re: /^\/audit\/?$/, view: "view-audit", admin: true, title: "auditTitle", enter: enterAudit, leave: leaveAudit, refresh: renderAudit },
];
const notFound = { view: "view-notfound", open: true, title: "notFoundTitle", enter: () => {} };
const forbidden = { view: "view-forbidden", title: "forbiddenTitle", enter: renderForbidden, refresh: renderForbidden };
const unavailable = { view: "view-unavailable", open: true, title: "unavailableTitle", enter: renderUnavailable, refresh: renderUnavailable };
let currentRoute = null;

function resolve(path) {
  for (const r of routes) {
    const m = path.match(r.re);
    if (m) return { route: r, match: m };
  }
  return { route: notFound, match: null };
}

const here = () => location.pathname + location.search + location.hash;

function loginPath(next) {
  return next && next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login";
}

/** Where a route must send the user instead, or null to show it. */
function redirectFor(route) {
  if (!session.enabled || route.open) return null;
  const user = session.user;
  if (route.public) {
    if (!user) return null;
    if (user.must_change_password) return "/password";
    return safeNext(new URLSearchParams(location.search).get("next")) ?? "/";
  }
  if (!user) return loginPath(here());
  if (user.must_change_password && route.view !== "view-password") return "/password";
  return null;
}

function render({ focus = false } = {}, depth = 0) {
  if (currentRoute?.leave) currentRoute.leave();
  currentRoute = null;
  closeUserMenu();

  let route;
  let match = null;
  if (session.state === "unknown") {
    // Still asking who is logged in: show nothing rather than a page that may not apply.
    for (const v of document.querySelectorAll(".view")) v.hidden = true;
    return;
  }
  if (session.state === "error") {
    route = unavailable;
  } else {
    ({ route, match } = resolve(location.pathname));
    const to = redirectFor(route);
    if (to && to !== here() && depth < 3) {
      history.replaceState(null, "", to);
      render({ focus }, depth + 1);
      return;
    }
    if (route.admin && !isAdmin()) route = forbidden;
  }

  currentRoute = route;
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== route.view;
  route.enter(match);
  updateTitle();
  renderUserMenu();
  // Move focus to the new view's heading so keyboard and screen-reader users land there
  // (unless the page put it in a field itself), but not on first load, where the
  // browser's own focus handling is what people expect.
  const view = $(route.view);
  if (focus && !view.contains(document.activeElement)) view.querySelector("h1")?.focus({ preventScroll: true });
  if (focus) window.scrollTo(0, 0);
}

/** Go to a same-origin path; `replace` for redirects, so Back does not return to them. */
function navigate(path, { replace = false } = {}) {
  if (path === here() && currentRoute) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render({ focus: true });
}
setNavigate(navigate);

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0) return;
  if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener("popstate", () => render({ focus: true }));

function updateTitle() {
  const app = t("appName");
  if (currentRoute?.view === "view-job" && job) {
    document.title = `${t("jobTitle")} ${job.id.slice(0, 8)} · ${app}`;
  } else if (currentRoute?.title) {
    document.title = `${t(currentRoute.title)} · ${app}`;
  } else {
    document.title = app;
  }
}

function renderForbidden() {
  $("forbidden-body").textContent = t("forbiddenBody", { role: roleLabel(session.user?.role) });
}

function renderUnavailable() {
  $("unavailable-body").textContent = t("unavailableBody", { error: errorText(session.error) });
}

$("unavailable-retry").addEventListener("click", async () => {
  const btn = $("unavailable-retry");
  btn.disabled = true;
  await loadMe();
  btn.disabled = false;
  render({ focus: true });
});

// Any api call that finds the session gone, or a password that must be replaced first.
onAuthProblem((err) => {
  if (err.loginRequired) {
    if (currentRoute?.public) return;
    const wasLoggedIn = !!session.user;
    setUser(null);
    if (session.state !== "ready") return;
    if (wasLoggedIn) setLoginNotice("sessionEnded");
    navigate(loginPath(here()), { replace: true });
  } else if (err.passwordChangeRequired) {
    if (session.user) setUser({ ...session.user, must_change_password: true });
    if (currentRoute?.view !== "view-password") navigate("/password", { replace: true });
  }
});

// ---------------------------------------------------------------------------------------
// Account menu in the top bar: a disclosure button and a list of links.

const userButton = $("user-button");
const userPanel = $("user-panel");

function renderUserMenu() {
  const user = session.user;
  $("user-menu").hidden = !user;
  if (!user) {
    closeUserMenu();
    return;
  }
  const name = displayName(user);
  const role = roleLabel(user.role);
  $("user-avatar").textContent = (name.trim()[0] ?? "?").toUpperCase();
  $("user-name").textContent = name;
  $("user-role").textContent = role;
  userButton.setAttribute("aria-label", t("accountButton", { name, role }));
  userButton.title = t("accountButton", { name, role });
  $("menu-display").textContent = name;
  $("menu-username").textContent = user.username !== name ? user.username : "";
  $("menu-role").replaceChildren(h("span", { class: `badge role-badge role-${user.role}`, text: role }));
  const admin = isAdmin();
  const locked = !!user.must_change_password;
  for (const li of userPanel.querySelectorAll(".admin-only")) li.hidden = !admin || locked;
  // Until a generated password is replaced, nothing but that and logging out works.
  for (const a of userPanel.querySelectorAll("a.menu-item")) {
    if (a.dataset.nav !== "password") a.parentElement.hidden = locked || (a.parentElement.classList.contains("admin-only") && !admin);
    const path = new URL(a.href).pathname;
    if (path === location.pathname) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function openUserMenu() {
  userPanel.hidden = false;
  userButton.setAttribute("aria-expanded", "true");
}

function closeUserMenu({ focusButton = false } = {}) {
  if (userPanel.hidden) return;
  userPanel.hidden = true;
  userButton.setAttribute("aria-expanded", "false");
  if (focusButton) userButton.focus();
}

/** The menu's items that are shown (some are hidden by role or a pending password change). */
function menuItems() {
  return [...userPanel.querySelectorAll(".menu-item")].filter((el) => !el.closest("[hidden]"));
}

userButton.addEventListener("click", () => {
  if (userPanel.hidden) {
    openUserMenu();
    menuItems()[0]?.focus();
  } else {
    closeUserMenu();
  }
});

// Escape closes it; so does a click or focus anywhere else.
$("user-menu").addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !userPanel.hidden) {
    e.preventDefault();
    closeUserMenu({ focusButton: true });
  }
  // Up/Down move between the items, as people expect of a menu-like list.
  if ((e.key === "ArrowDown" || e.key === "ArrowUp") && !userPanel.hidden) {
    const items = menuItems();
    const i = items.indexOf(document.activeElement);
    if (i === -1 && e.target !== userButton) return;
    e.preventDefault();
    const nextIdx = e.key === "ArrowDown" ? (i + 1) % items.length : (i - 1 + items.length) % items.length;
    items[i === -1 ? 0 : nextIdx].focus();
  }
});
document.addEventListener("click", (e) => {
  if (!userPanel.hidden && !$("user-menu").contains(e.target)) closeUserMenu();
});
$("user-menu").addEventListener("focusout", (e) => {
  if (!userPanel.hidden && e.relatedTarget && !$("user-menu").contains(e.relatedTarget)) closeUserMenu();
});

async function logout() {
  closeUserMenu();
  try {
    await api.logout();
  } catch (err) {
    // Already logged out is fine; anything else means the session may still be alive.
    if (!(err instanceof ApiError && err.status === 401)) {
      toast(t("logoutFailed", { error: errorText(err) }));
      return;
    }
  }
  setUser(null);
  setLoginNotice("loggedOut");
  navigate("/login");
}

$("logout").addEventListener("click", logout);
$("password-logout").addEventListener("click", logout);

onUserChange(() => {
  // A preview belongs to whoever asked for it.
  if (!session.user && session.enabled) clearPreview();
  renderUserMenu();
  renderFormDynamic();
});

// ---------------------------------------------------------------------------------------
// Sync form

const form = $("sync-form");
const imagesEl = $("images");
const targetEl = $("target");
const levelEl = $("level");
const nsEl = $("namespace");
const gutter = $("gutter");

// Platforms: the whole multi-arch index (the default), or one platform's image out of it. The
// field is built here, after the namespace (index.html holds the others).
const PLATFORM_OTHER = "other";
const PLATFORM_CHOICES = ["", "linux/amd64", "linux/arm64", PLATFORM_OTHER];
const platformEl = h("select", { id: "platform", name: "platform", "aria-describedby": "platform-hint" },
  ...PLATFORM_CHOICES.map((value) => h("option", { value })));
const platformOtherEl = h("input", {
  id: "platform-other", class: "platform-other", type: "text", spellcheck: "false",
  autocapitalize: "off", autocomplete: "off", placeholder: "linux/arm64/v8",
  "aria-describedby": "platform-hint", hidden: true,
});
nsEl.closest(".field").after(h("div", { class: "field" },
  h("label", { for: "platform", id: "platform-label" }),
  platformEl,
  platformOtherEl,
  h("p", { id: "platform-hint", class: "hint" })));
{
  const saved = store("local", "dis.platform") ?? "";
  if (PLATFORM_CHOICES.includes(saved) && saved !== PLATFORM_OTHER) platformEl.value = saved;
  else {
    platformEl.value = PLATFORM_OTHER;
    platformOtherEl.value = saved;
  }
}

/** The platform the form asks for ("" = all platforms). */
function selectedPlatform() {
  return platformEl.value === PLATFORM_OTHER ? platformOtherEl.value.trim() : platformEl.value;
}

let registries = null; // null while loading
let registriesError = null;
let submitting = false;
let previewing = false;
let downloading = false;
/** Per-line errors from the last rejected submit (or script), for the gutter marks. */
let lineErrors = [];
/** Lines the shown preview found bad ({line, input}), marked in the gutter too. */
let previewLineErrors = [];

const LEVEL_EXAMPLES = {
  skip: "a/b/c/img",
  all: "img",
  1: "b/c/img",
  2: "c/img",
  3: "img",
};

// Keep what the user typed across reloads and navigation within the tab.
imagesEl.value = store("session", "dis.draft") ?? "";
{
  const level = store("local", "dis.level");
  if (level && level in LEVEL_EXAMPLES) levelEl.value = level;
}

function imageLines(text) {
  return text.split(/\r?\n/).filter((l) => {
    const s = l.trim();
    return s !== "" && !s.startsWith("#");
  });
}

function selectedRegistry() {
  return registries?.find((r) => r.name === targetEl.value) ?? null;
}

async function loadRegistries() {
  registries = null;
  registriesError = null;
  renderTargetOptions();
  try {
    const list = await api.registries();
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    registries = list.filter((r) => r && typeof r.name === "string");
  } catch (err) {
    registries = [];
    registriesError = err;
  }
  renderTargetOptions();
}

function renderTargetOptions() {
  const previous = targetEl.value || store("local", "dis.target");
  targetEl.replaceChildren();
  const retry = $("target-retry");
  retry.hidden = !registriesError;
  if (registries === null || registries.length === 0) {
    const text = registries === null ? t("targetLoading") : registriesError ? "—" : t("targetEmpty");
    targetEl.append(h("option", { value: "", text }));
    targetEl.disabled = true;
  } else {
    for (const r of registries) {
      const label = r.description && r.description !== r.name ? `${r.name} — ${r.description}` : r.name;
      targetEl.append(h("option", { value: r.name, text: label }));
    }
    targetEl.disabled = false;
    if (registries.some((r) => r.name === previous)) targetEl.value = previous;
  }
  renderFormDynamic();
}

/** Everything in the form whose text depends on the language or on other fields. */
function renderFormDynamic() {
  const reg = selectedRegistry();
  const hint = $("target-hint");
  if (registriesError) hint.textContent = t("targetLoadFailed", { error: errorText(registriesError) });
  else hint.textContent = reg ? reg.url || "" : "";
  hint.classList.toggle("hint-error", !!registriesError);

  nsEl.placeholder = reg?.namespace || "";
  $("namespace-hint").textContent = reg?.namespace
    ? t("namespaceHintDefault", { ns: reg.namespace })
    : t("namespaceHint");

  // Each option carries its own short example, so the choice makes sense in the open list.
  for (const opt of levelEl.options) {
    opt.textContent = t("levelOption", { name: t(`level_${opt.value}`), example: `ns/${LEVEL_EXAMPLES[opt.value]}` });
  }
  const level = levelEl.value;
  const ns = nsEl.value.trim() || reg?.namespace || "ns";
  $("level-text").textContent = t(`levelHelp_${level}`);
  $("level-example").textContent = `a/b/c/img → ${ns}/${LEVEL_EXAMPLES[level]}`;

  $("platform-label").textContent = t("platformLabel");
  for (const opt of platformEl.options) {
    if (opt.value === "") opt.textContent = t("platformAll");
    else if (opt.value === PLATFORM_OTHER) opt.textContent = t("platformOther");
    else opt.textContent = opt.value;
  }
  platformOtherEl.hidden = platformEl.value !== PLATFORM_OTHER;
  platformOtherEl.setAttribute("aria-label", t("platformOtherLabel"));
  $("platform-hint").textContent = t(platformEl.value ? "platformHintOne" : "platformHintAll");

  const n = imageLines(imagesEl.value).length;
  $("images-count").textContent = n ? t("imagesCount", { n }) : "";

  $("submit-text").textContent = t(submitting ? "submitting" : "submit");
  $("preview-text").textContent = t(previewing ? "previewing" : "preview");
  $("script-text").textContent = t(downloading ? "scriptDownloading" : "scriptDownload");
  // A viewer may watch jobs but not start them: say so instead of letting the submit fail.
  // Preview and scripts need the same role as a submit.
  const allowed = canSubmit();
  $("submit").disabled = submitting || !allowed;
  $("preview-btn").disabled = previewing || !allowed;
  $("script-btn").disabled = downloading || !allowed;
  const note = $("submit-note");
  note.hidden = allowed || !session.user;
  note.textContent = note.hidden ? "" : t("viewerNoSubmit", { role: roleLabel(session.user.role) });
  if (!$("form-errors").hidden && lastFormError) showFormError(lastFormError);
  updatePreviewStale();
}

/** The list syntax under the image list, with its examples as code. */
function renderSyntaxHint() {
  const examples = { pattern: "nginx:1.25*", latest: "nginx:@latest=3" };
  $("images-syntax").replaceChildren(
    ...t("imagesSyntax").split(/\{(\w+)\}/).map((part, i) =>
      i % 2 ? h("code", { class: "hint-code", text: examples[part] ?? part }) : part),
  );
}

function renderGutter() {
  const lines = imagesEl.value.split("\n");
  const marked = markedLines(lines);
  const frag = document.createDocumentFragment();
  for (let i = 1; i <= lines.length; i++) {
    frag.append(h("div", { class: marked.has(i) ? "ln ln-error" : "ln", text: String(i) }));
  }
  gutter.replaceChildren(frag);
  gutter.scrollTop = imagesEl.scrollTop;
  imagesEl.setAttribute("aria-invalid", marked.size ? "true" : "false");
}

/**
 * Line numbers to mark. An error points at a line number, but the user may have edited
 * since; mark the line only while it still holds the rejected text (or wherever that
 * text moved to), so the marks go away as the lines get fixed.
 */
function markedLines(lines) {
  const marked = new Set();
  for (const e of [...lineErrors, ...previewLineErrors]) {
    const input = String(e.input ?? "").trim();
    const at = Number(e.line);
    if (lines[at - 1] !== undefined && (input === "" || lines[at - 1].trim() === input)) {
      marked.add(at);
      continue;
    }
    if (input === "") continue;
    const moved = lines.findIndex((l) => l.trim() === input);
    if (moved >= 0) marked.add(moved + 1);
  }
  return marked;
}

let gutterFrame = 0;
imagesEl.addEventListener("input", () => {
  store("session", "dis.draft", imagesEl.value || null);
  cancelAnimationFrame(gutterFrame);
  gutterFrame = requestAnimationFrame(() => {
    renderGutter();
    renderFormDynamic();
  });
});
// Ctrl/Cmd+Enter submits from the textarea, where plain Enter must stay a newline.
imagesEl.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    form.requestSubmit();
  }
});
imagesEl.addEventListener("scroll", () => {
  gutter.scrollTop = imagesEl.scrollTop;
});
targetEl.addEventListener("change", () => {
  store("local", "dis.target", targetEl.value);
  renderFormDynamic();
});
levelEl.addEventListener("change", () => {
  store("local", "dis.level", levelEl.value);
  renderFormDynamic();
});
nsEl.addEventListener("input", renderFormDynamic);
platformEl.addEventListener("change", () => {
  const other = platformEl.value === PLATFORM_OTHER;
  store("local", "dis.platform", other ? platformOtherEl.value.trim() || null : platformEl.value || null);
  renderFormDynamic();
  if (other) platformOtherEl.focus();
});
platformOtherEl.addEventListener("input", () => {
  store("local", "dis.platform", platformOtherEl.value.trim() || null);
  renderFormDynamic();
});
$("target-retry").addEventListener("click", loadRegistries);

/** Put the caret on a line of the textarea and scroll it into view. */
function focusLine(line) {
  const lines = imagesEl.value.split("\n");
  const idx = Math.min(Math.max(line, 1), lines.length) - 1;
  let start = 0;
  for (let i = 0; i < idx; i++) start += lines[i].length + 1;
  imagesEl.focus();
  imagesEl.setSelectionRange(start, start + lines[idx].length);
  const lineHeight = parseFloat(getComputedStyle(imagesEl).lineHeight) || 20;
  imagesEl.scrollTop = Math.max(0, (idx - 2) * lineHeight);
}

let lastFormError = null;

/**
 * Kept as data, not text, so a language switch can redraw it.
 * @param {{key?: string, err?: Error, lines?: Array<{line:number,input:string,message:string}>,
 *          titleKey?: string}} e  titleKey: the heading over `lines` (default errLines).
 */
function showFormError(e) {
  lastFormError = e;
  const box = $("form-errors");
  box.replaceChildren();
  if (e.lines?.length) {
    box.append(h("p", { class: "alert-title", text: t(e.titleKey ?? "errLines", { n: e.lines.length }) }));
    const list = h("ul", { class: "line-errors" });
    for (const le of e.lines) {
      const jump = h("button", {
        type: "button",
        class: "line-link",
        text: t("errLineRef", { line: le.line }),
        "aria-label": t("errLineJump", { line: le.line }),
      });
      jump.addEventListener("click", () => focusLine(Number(le.line)));
      list.append(
        h("li", {},
          jump, ": ",
          h("code", { class: "line-input", text: le.input ?? "" }),
          " — ",
          h("span", { text: le.message ?? "" })),
      );
    }
    box.append(list);
  } else {
    box.append(h("p", { text: e.key ? t(e.key) : errorText(e.err) }));
  }
  box.hidden = false;
}

function clearFormError() {
  lastFormError = null;
  lineErrors = [];
  $("form-errors").hidden = true;
  $("form-errors").replaceChildren();
  renderGutter();
}

function setSubmitting(on) {
  submitting = on;
  const btn = $("submit");
  btn.disabled = on || !canSubmit();
  btn.classList.toggle("is-busy", on);
  btn.setAttribute("aria-busy", on ? "true" : "false");
  $("submit-text").textContent = t(on ? "submitting" : "submit");
}

/** The body of POST /api/jobs as the form stands (also sent to the preview and the script). */
function currentPayload() {
  const payload = { images: imagesEl.value, target: targetEl.value, replace_level: levelEl.value };
  const ns = nsEl.value.trim();
  if (ns) payload.namespace = ns;
  const platform = selectedPlatform();
  if (platform) payload.platform = platform;
  return payload;
}

/** The payload, or null after showing what is missing (and focusing that field). */
function validPayload() {
  if (imageLines(imagesEl.value).length === 0) {
    showFormError({ key: "errNoImages" });
    imagesEl.focus();
    return null;
  }
  if (!targetEl.value) {
    showFormError(registriesError ? { err: registriesError } : { key: "errNoTarget" });
    targetEl.focus();
    return null;
  }
  if (platformEl.value === PLATFORM_OTHER && !selectedPlatform()) {
    showFormError({ key: "errNoPlatform" });
    platformOtherEl.focus();
    return null;
  }
  return currentPayload();
}

/** The answer to a rejected submit or script: per-line errors in the list, else the message. */
function showRequestError(err, titleKey) {
  if (err instanceof ApiError && err.lineErrors.length) {
    lineErrors = err.lineErrors;
    showFormError({ lines: err.lineErrors, titleKey });
    renderGutter();
  } else {
    showFormError({ err });
  }
  $("form-errors").focus();
}

function setBusy(btnId, textId, on, key, busyKey) {
  const btn = $(btnId);
  btn.disabled = on || !canSubmit();
  btn.classList.toggle("is-busy", on);
  btn.setAttribute("aria-busy", on ? "true" : "false");
  $(textId).textContent = t(on ? busyKey : key);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (submitting || !canSubmit()) return;
  clearFormError();

  const payload = validPayload();
  if (!payload) return;

  setSubmitting(true);
  try {
    const created = await api.createJob(payload);
    if (!created || typeof created.id !== "string") throw new ApiError(202, t("errBadResponse"));
    // The textarea is left as it is: the user may want to adjust and send again.
    handoff.set(created.id, created);
    navigate(`/jobs/${encodeURIComponent(created.id)}`);
  } catch (err) {
    if (err.handled) return; // on the way to /login or /password
    showRequestError(err);
  } finally {
    setSubmitting(false);
  }
});

// ---------------------------------------------------------------------------------------
// Preview: what the form would copy, line by line. Kept as data so a language switch can
// redraw it; `key` is the body it answered, so any later change of the form marks it stale.

/** {key, data} or {key, error}, or null when no preview is shown. */
let previewState = null;
/** Images beyond this many per line (copies or drops) fold into "Show n more". */
const PREVIEW_FOLD = 8;

$("preview-btn").addEventListener("click", runPreview);
$("preview-again").addEventListener("click", runPreview);
$("preview-close").addEventListener("click", () => {
  clearPreview();
  $("preview-btn").focus();
});

async function runPreview() {
  if (previewing || !canSubmit()) return;
  clearFormError();
  const payload = validPayload();
  if (!payload) return;
  const key = JSON.stringify(payload);
  previewing = true;
  setBusy("preview-btn", "preview-text", true, "preview", "previewing");
  try {
    const data = await api.previewJob(payload);
    if (!data || !Array.isArray(data.lines)) throw new ApiError(200, t("errBadResponse"), { error: t("errBadResponse") });
    previewState = { key, data };
  } catch (err) {
    if (err.handled) return; // on the way to /login or /password
    previewState = { key, error: err };
  } finally {
    previewing = false;
    setBusy("preview-btn", "preview-text", false, "preview", "previewing");
  }
  previewLineErrors = (previewState.data?.lines ?? [])
    .filter((l) => l && l.error)
    .map((l) => ({ line: l.line, input: l.input }));
  renderGutter();
  renderPreview();
  revealPreview();
}

function clearPreview() {
  previewState = null;
  previewLineErrors = [];
  renderGutter();
  renderPreview();
}

/** Bring a fresh preview into view and put focus on its heading, so it is read next. */
function revealPreview() {
  const card = $("preview-card");
  if (card.hidden) return;
  $("preview-title").focus({ preventScroll: true });
  const top = card.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight - 120) {
    const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
    card.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
  }
}

function updatePreviewStale() {
  const card = $("preview-card");
  const stale = !!previewState && previewState.key !== JSON.stringify(currentPayload());
  card.classList.toggle("is-stale", stale);
  $("preview-stale").hidden = !stale;
}

function renderPreview() {
  const card = $("preview-card");
  card.hidden = !previewState;
  if (!previewState) {
    $("preview-rows").replaceChildren();
    return;
  }
  const { data, error } = previewState;
  const errBox = $("preview-error");
  errBox.hidden = !error;
  errBox.textContent = error ? t("previewFailed", { error: errorText(error) }) : "";
  $("preview-body").hidden = !data;
  if (data) renderPreviewData(data);
  updatePreviewStale();
}

function renderPreviewData(data) {
  const lines = data.lines.filter((l) => l && typeof l === "object");
  const count = (list) => (Array.isArray(list) ? list.length : 0);
  const total = typeof data.total === "number" ? data.total : lines.reduce((n, l) => n + count(l.images), 0);
  const errors = typeof data.errors === "number" ? data.errors : lines.filter((l) => l.error).length;
  const dropped = lines.reduce((n, l) => n + count(l.dropped), 0);

  const level = data.replace_level;
  $("preview-meta").textContent = t("previewMeta", {
    target: data.target ?? "—",
    namespace: data.namespace || "—",
    level: ["skip", "all", "1", "2", "3"].includes(level) ? t(`level_${level}`) : String(level ?? "—"),
  });
  // One platform: the target digests of multi-arch images will not be the source's.
  let platformNote = $("preview-platform-note");
  if (!platformNote) {
    platformNote = h("p", { id: "preview-platform-note", class: "alert alert-info preview-platform-note" });
    $("preview-meta").after(platformNote);
  }
  const platform = data.platform_note && typeof data.platform === "string" ? data.platform : "";
  platformNote.hidden = !platform;
  platformNote.textContent = platform ? t("previewPlatformNote", { platform }) : "";
  const summary = $("preview-summary");
  summary.textContent = t("previewSummary", {
    images: t("previewSumImages", { n: total }),
    dropped: t("previewSumDropped", { n: dropped }),
    errors: t("previewSumErrors", { n: errors }),
  });
  const next = $("preview-next");
  const state = errors > 0 ? "errors" : total > 0 ? "ready" : "empty";
  next.dataset.state = state;
  next.textContent = t(state === "errors" ? "previewHasErrors" : state === "ready" ? "previewReady" : "previewNothing");

  const rows = document.createDocumentFragment();
  for (const l of lines) rows.append(previewRow(l));
  $("preview-rows").replaceChildren(rows);
}

function previewRow(l) {
  const lineNo = Number(l.line);
  const jump = h("button", {
    type: "button",
    class: "line-link",
    text: String(l.line ?? "?"),
    "aria-label": t("errLineJump", { line: l.line }),
    title: t("errLineJump", { line: l.line }),
  });
  jump.addEventListener("click", () => focusLine(lineNo));

  const result = h("td", { class: "preview-result", role: "cell" });
  if (l.error) {
    result.append(h("p", { class: "preview-line-error" },
      h("span", { class: "preview-error-label", text: t("previewErrorPrefix") }), String(l.error)));
  }
  const images = Array.isArray(l.images) ? l.images : [];
  const drops = Array.isArray(l.dropped) ? l.dropped : [];
  if (images.length) {
    result.append(foldedList("preview-copies", images.map((img) =>
      h("li", { class: "preview-copy" },
        refEl(String(img?.source ?? "")),
        h("span", { class: "ref-to" },
          h("span", { class: "arrow", "aria-hidden": "true", text: "→ " }),
          h("span", { class: "sr-only", text: `${t("previewTo")} ` }),
          refEl(String(img?.target ?? "")))))));
  }
  if (drops.length) {
    result.append(foldedList("preview-drops", drops.map((d) =>
      h("li", { class: "preview-drop" },
        h("span", { class: "tag preview-drop-tag", text: t("previewDropped") }), " ",
        refEl(String(d?.image ?? "")),
        h("span", { class: "preview-drop-reason", text: ` — ${dropReason(d)}` })))));
  }
  if (!l.error && !images.length && !drops.length) {
    result.append(h("p", { class: "muted preview-nothing", text: t("previewLineNothing") }));
  }

  return h("tr", { class: l.error ? "preview-row has-error" : "preview-row", role: "row" },
    h("td", { class: "col-line", role: "cell" }, jump),
    h("td", { class: "col-input", role: "cell" }, h("code", { class: "line-input", text: String(l.input ?? "") })),
    result);
}

/** A monospace image reference that may break after each "/" (see setRef). */
function refEl(text) {
  const el = h("code", { class: "ref" });
  setRef(el, text);
  return el;
}

/** A list whose items past PREVIEW_FOLD hide behind a "Show n more" disclosure. */
function foldedList(cls, items) {
  const head = h("ul", { class: `preview-list ${cls}` }, ...items.slice(0, PREVIEW_FOLD));
  // Folding one item would save nothing.
  if (items.length <= PREVIEW_FOLD + 1) {
    head.append(...items.slice(PREVIEW_FOLD));
    return head;
  }
  const rest = items.slice(PREVIEW_FOLD);
  return h("div", {},
    head,
    h("details", { class: "preview-more" },
      h("summary", { text: t("previewMore", { n: rest.length }) }),
      h("ul", { class: `preview-list ${cls}` }, ...rest)));
}

/** The server's reasons are English sentences; the known ones are said in the page's language. */
function dropReason(d) {
  const reason = String(d?.reason ?? "");
  if (d?.pattern) return t("dropExcluded", { pattern: d.pattern });
  if (reason === "matches no include pattern") return t("dropNotIncluded");
  const dup = /^duplicate of line (\d+)$/.exec(reason);
  if (dup) return t("dropDuplicate", { line: dup[1] });
  return reason;
}

// ---------------------------------------------------------------------------------------
// Script: the same copies as a shell script, saved as a file.

$("script-btn").addEventListener("click", async () => {
  if (downloading || !canSubmit()) return;
  clearFormError();
  const payload = validPayload();
  if (!payload) return;
  downloading = true;
  setBusy("script-btn", "script-text", true, "scriptDownload", "scriptDownloading");
  try {
    const { blob, fileName } = await api.script(payload);
    const name = fileName ?? `docker-sync-${payload.target.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "")}.sh`;
    saveFile(blob, name);
    toast(t("scriptDownloaded", { name }));
  } catch (err) {
    if (err.handled) return; // on the way to /login or /password
    showRequestError(err, "errLinesScript");
  } finally {
    downloading = false;
    setBusy("script-btn", "script-text", false, "scriptDownload", "scriptDownloading");
  }
});

/** Save a blob through a temporary <a download>; the click handler above leaves those alone. */
function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // Not at once: some browsers read the URL only after click() has returned.
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// ---------------------------------------------------------------------------------------
// Recent jobs

let recent = null;
let recentError = null;
let recentLoading = false;
let recentTimer = 0;
// While any listed job is still going, its badge would go stale; poll gently until none is.
const RECENT_POLL_MS = 10000;

async function loadRecent() {
  if (recentLoading) return;
  recentLoading = true;
  recentError = null;
  renderRecent();
  try {
    const list = await api.listJobs(20);
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    recent = list;
  } catch (err) {
    recentError = err;
  } finally {
    recentLoading = false;
  }
  renderRecent();
  clearTimeout(recentTimer);
  const active = recent?.some((j) => !["succeeded", "failed", "partial"].includes(j?.status));
  if (active && currentRoute?.view === "view-home") recentTimer = setTimeout(loadRecent, RECENT_POLL_MS);
}

function renderRecent() {
  const status = $("recent-status");
  const list = $("recent-list");
  $("recent-refresh").disabled = recentLoading;
  if (recentError) status.textContent = t("recentLoadFailed", { error: errorText(recentError) });
  else if (recentLoading && !recent) status.textContent = t("recentLoading");
  else if (recent && recent.length === 0) status.textContent = t("recentEmpty");
  else status.textContent = "";
  status.classList.toggle("hint-error", !!recentError);

  list.replaceChildren();
  for (const j of recent ?? []) {
    if (!j || typeof j.id !== "string") continue;
    const c = j.counts ?? {};
    const done = (c.succeeded ?? 0) + (c.skipped ?? 0) + (c.failed ?? 0);
    const total = typeof j.total === "number" ? j.total : null;
    const chips = h("span", { class: "recent-counts" });
    for (const s of ["succeeded", "skipped", "failed", "running", "queued"]) {
      if (c[s] > 0) {
        chips.append(h("span", { class: `mini status-${s}`, title: statusLabel(s), text: `${statusLabel(s)} ${c[s]}` }));
      }
    }
    const created = h("time", { class: "muted", text: fmtAgo(j.created_at_ms) });
    if (j.created_at_ms) {
      created.setAttribute("datetime", new Date(j.created_at_ms).toISOString());
      created.title = fmtDateTime(j.created_at_ms);
    }
    const link = h(
      "a",
      { class: "recent-item", href: `/jobs/${encodeURIComponent(j.id)}` },
      h("span", { class: `badge status-${j.status}`, text: statusLabel(j.status) }),
      h(
        "span",
        { class: "recent-main" },
        h("span", { class: "recent-line" },
          h("strong", { text: j.target ?? "" }),
          h("code", { class: "recent-id", text: j.id.slice(0, 8) }),
        ),
        h("span", { class: "recent-line muted" },
          total != null ? h("span", { text: `${done}/${t("recentImages", { n: total })}` }) : null,
          created,
        ),
      ),
      chips,
    );
    list.append(h("li", {}, link));
  }
}

$("recent-refresh").addEventListener("click", loadRecent);

function enterHome() {
  // Again after an error: it may have been a session that has since been renewed.
  if ((registries === null && !registriesError) || registriesError) loadRegistries();
  renderFormDynamic();
  loadRecent();
}

function leaveHome() {
  clearTimeout(recentTimer);
  recentTimer = 0;
}

// ---------------------------------------------------------------------------------------
// Job view

/** Jobs just created, handed from the form to the view so it need not GET them again. */
const handoff = new Map();
/** Filtered lines from POST answers, by job id; the api has no other way to get them. */
const filteredByJob = new Map();

let job = null; // JobState
let jobId = null;
let watcher = null;
let conn = { state: "connecting" };
let rows = new Map(); // task id -> row elements
let filter = "all";
let ticker = 0;

// Rendering is batched: events can arrive by the hundred (a replay on every connect).
let dirty = new Set();
let fullDirty = false;
let frame = 0;
let settleTimer = 0;
let settleDeadline = 0;
let replaying = false;

let announcedDone = 0;
let announcedFinished = false;
let announceTimer = 0;

function enterJob(id) {
  leaveJob();
  jobId = id;
  job = null;
  filter = "all";
  rows = new Map();
  $("task-list").replaceChildren();
  $("job-id").textContent = id;
  $("job-error").hidden = true;
  $("job-status").className = "badge";
  $("job-status").textContent = "";
  for (const elId of ["job-target", "job-level", "job-namespace", "job-platform", "job-created"]) $(elId).textContent = "—";
  $("job-counts").replaceChildren();
  $("job-filtered").hidden = true;
  $("tasks-empty").hidden = true;
  setBar(0, 0, 0);
  setJobCardsVisible(true);

  const snapshot = handoff.get(id);
  handoff.delete(id);
  if (snapshot && Array.isArray(snapshot.filtered)) filteredByJob.set(id, snapshot.filtered);

  watcher = new JobWatcher(id, {
    onSnapshot: (snap) => {
      const first = job === null;
      // Each cycle starts from fresh server state; the replayed events land on top of it.
      job = new JobState(snap, filteredByJob.get(id) ?? []);
      if (first) {
        announcedDone = job.done;
        announcedFinished = job.isFinished;
      }
      renderJob(true);
      updateTitle();
    },
    onEvent: (ev) => {
      if (!job) return;
      const changed = job.apply(ev);
      if (changed === "job") fullDirty = true;
      else if (changed) dirty.add(changed);
      else return;
      scheduleRender();
    },
    onState: (s) => {
      conn = { ...s, retryAt: s.retryInMs ? Date.now() + s.retryInMs : null };
      if (s.state === "live") {
        // The server now replays the job's history; hold rendering until it settles.
        replaying = true;
        scheduleRender();
      }
      if (s.state === "stopped" && s.error && !s.error.handled) {
        if (!job) {
          $("job-error").textContent =
            s.error.status === 404 ? t("jobNotFound") : t("jobLoadFailed", { error: errorText(s.error) });
          $("job-error").hidden = false;
          setJobCardsVisible(false);
        }
      }
      renderConn();
    },
  });
  watcher.start(snapshot);
  ticker = setInterval(tick, 1000);
}

function leaveJob() {
  watcher?.stop();
  watcher = null;
  clearInterval(ticker);
  clearTimeout(settleTimer);
  clearTimeout(announceTimer);
  cancelAnimationFrame(frame);
  settleTimer = settleDeadline = announceTimer = frame = 0;
  dirty.clear();
  fullDirty = false;
  job = null;
}

function setJobCardsVisible(on) {
  for (const card of $("view-job").querySelectorAll(".card")) card.hidden = !on;
}

function scheduleRender() {
  if (replaying) {
    // During a replay, wait for the burst to settle (or at most 400 ms) so a reconnect
    // does not visibly rewind tasks while their history streams back in.
    clearTimeout(settleTimer);
    settleTimer = setTimeout(flush, 60);
    if (!settleDeadline) settleDeadline = setTimeout(flush, 400);
    return;
  }
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  clearTimeout(settleTimer);
  clearTimeout(settleDeadline);
  settleTimer = settleDeadline = 0;
  frame = 0;
  replaying = false;
  if (!job) return;
  if (fullDirty) renderJob(true);
  else renderJob(false);
}

function renderJob(full) {
  if (!job) return;
  const status = job.status();
  setBadge($("job-status"), status);
  $("job-target").textContent = job.target || "—";
  $("job-level").textContent = job.replaceLevel ? t(`level_${job.replaceLevel}`) : "—";
  $("job-namespace").textContent = job.namespace || "—";
  $("job-platform").textContent = job.platform || t("platformAll");
  $("job-created").textContent = fmtDateTime(job.createdAt);

  const c = job.counts();
  setBar(job.total, c.succeeded + c.skipped, c.failed);
  renderCounts(c);
  renderFiltered();

  const list = $("task-list");
  if (full || rows.size !== job.order.length) {
    for (const id of job.order) {
      let row = rows.get(id);
      if (!row) {
        row = buildRow();
        rows.set(id, row);
        list.append(row.li);
      }
      updateRow(row, job.tasks.get(id));
    }
  } else {
    for (const id of dirty) {
      const row = rows.get(id);
      if (row) updateRow(row, job.tasks.get(id));
    }
  }
  dirty.clear();
  fullDirty = false;
  applyFilter();
  renderConn();
  maybeAnnounce();
}

function setBar(total, ok, bad) {
  const bar = $("job-bar");
  const pct = (n) => (total ? (n / total) * 100 : 0);
  $("job-bar-ok").style.width = `${pct(ok)}%`;
  $("job-bar-bad").style.width = `${pct(bad)}%`;
  bar.setAttribute("aria-valuemax", String(total || 0));
  bar.setAttribute("aria-valuenow", String(ok + bad));
  bar.setAttribute("aria-valuetext", total ? t("announceProgress", { done: ok + bad, total, failed: bad }) : "");
}

function renderCounts(c) {
  const box = $("job-counts");
  const items = [["all", job.total], ...TASK_STATUSES.map((s) => [s, c[s]])];
  if (box.children.length !== items.length) {
    box.replaceChildren();
    for (const [key] of items) {
      const btn = h("button", { type: "button", class: `count count-${key}`, "data-filter": key },
        h("span", { class: "count-label" }),
        h("span", { class: "count-num" }));
      btn.addEventListener("click", () => {
        filter = filter === key ? "all" : key;
        renderCounts(job.counts());
        applyFilter();
      });
      box.append(btn);
    }
  }
  items.forEach(([key, n], i) => {
    const btn = box.children[i];
    btn.querySelector(".count-label").textContent = key === "all" ? t("count_all") : statusLabel(key);
    btn.querySelector(".count-num").textContent = String(n);
    btn.setAttribute("aria-pressed", filter === key ? "true" : "false");
  });
}

function renderFiltered() {
  const box = $("job-filtered");
  const items = job.filtered;
  if (!items?.length) {
    box.hidden = true;
    return;
  }
  box.replaceChildren(
    h("p", { class: "alert-title", text: t("filtered", { n: items.length }) }),
    h("ul", { class: "line-errors" }, ...items.map((f) =>
      h("li", {},
        t("errLineRef", { line: f.line }), ": ",
        h("code", { class: "line-input", text: f.image ?? "" }),
        " — ", f.reason ?? ""),
    )),
  );
  box.hidden = false;
}

function applyFilter() {
  let shown = 0;
  for (const id of job.order) {
    const row = rows.get(id);
    const s = job.tasks.get(id).status;
    const bucket = s === "retrying" ? "running" : s;
    row.li.hidden = !(filter === "all" || filter === bucket);
    if (!row.li.hidden) shown += 1;
  }
  const empty = $("tasks-empty");
  empty.hidden = shown > 0;
  empty.textContent = job.total === 0 ? t("noTasks") : t("noTasksMatch");
}

function buildRow() {
  const r = {};
  r.index = h("span", { class: "task-index" });
  r.src = h("code", { class: "ref ref-src" });
  r.dst = h("code", { class: "ref ref-dst" });
  r.badge = h("span", { class: "badge" });
  r.attempt = h("span", { class: "task-attempt muted" });
  r.barFill = h("div", { class: "bar-fill" });
  r.bar = h("div", { class: "bar bar-small", role: "progressbar", "aria-valuemin": "0" }, r.barFill);
  r.progressText = h("span", { class: "task-progress-text" });
  r.progress = h("div", { class: "task-progress" }, r.bar, r.progressText);
  r.step = h("div", { class: "task-step muted" });
  r.info = h("div", { class: "task-info muted" });
  r.note = h("div", { class: "task-note" });
  r.errSummaryText = h("span", { class: "error-summary-text" });
  r.errPre = h("pre", { class: "error-text" });
  r.errDetails = h("details", { class: "task-error" },
    h("summary", {}, h("span", { class: "error-label" }), r.errSummaryText),
    r.errPre);
  r.li = h("li", { class: "task" },
    h("div", { class: "task-head" },
      r.index,
      h("div", { class: "task-refs" },
        r.src,
        h("span", { class: "ref-to" }, h("span", { class: "arrow", "aria-hidden": "true", text: "→ " }), r.dst)),
      h("div", { class: "task-side" }, r.badge, r.attempt)),
    r.progress, r.step, r.note, r.info, r.errDetails);
  return r;
}

function updateRow(r, task) {
  const s = task.status;
  r.li.dataset.status = s;
  r.index.textContent = `#${task.index + 1}`;
  setRef(r.src, task.source);
  setRef(r.dst, task.target);
  setBadge(r.badge, s);
  r.attempt.textContent = task.attempts > 0 ? t("taskAttempt", { n: task.attempts }) : "";

  // Progress: a real fraction when the manifest list size is known, else an activity bar.
  const inFlight = s === "running";
  r.progress.hidden = !inFlight;
  if (inFlight) {
    const known = task.imagesTotal != null && task.imagesTotal > 0;
    r.bar.classList.toggle("bar-indeterminate", !known);
    r.bar.setAttribute("aria-label", t("taskProgressLabel", { index: task.index + 1 }));
    if (known) {
      r.barFill.style.width = `${Math.min(100, (task.imagesDone / task.imagesTotal) * 100)}%`;
      r.bar.setAttribute("aria-valuemax", String(task.imagesTotal));
      r.bar.setAttribute("aria-valuenow", String(task.imagesDone));
    } else {
      r.barFill.style.width = "";
      r.bar.removeAttribute("aria-valuemax");
      r.bar.removeAttribute("aria-valuenow");
    }
    const parts = [t("taskBlobs", { n: task.blobsDone })];
    if (known) parts.push(t("taskImagesOf", { done: task.imagesDone, total: task.imagesTotal }));
    else if (task.imagesDone > 0) parts.push(t("taskImages", { n: task.imagesDone }));
    r.progressText.textContent = parts.join(" · ");
  }
  r.step.hidden = !(inFlight && task.step);
  r.step.textContent = inFlight ? task.step ?? "" : "";

  r.note.hidden = true;
  if (task.note?.kind === "requeued") {
    r.note.textContent = t("taskRequeued", { reason: task.note.reason });
    r.note.hidden = false;
  } else if (s === "retrying" && task.note?.kind === "retry") {
    r.note.textContent = retryText(task);
    r.note.hidden = !r.note.textContent;
  } else if (s === "running" && task.note?.kind === "waiting") {
    r.note.textContent = task.note.until
      ? t("taskWaitingUntil", { reason: task.note.reason, time: new Date(task.note.until).toLocaleTimeString() })
      : t("taskWaiting", { reason: task.note.reason });
    r.note.hidden = false;
  }

  const infoParts = [];
  if (s === "skipped") infoParts.push(t("taskSkippedNote"));
  if ((s === "succeeded" || s === "skipped") && task.digest) infoParts.push(shortDigest(task.digest));
  const took = task.durationMs ?? (task.finishedAt && task.startedAt ? task.finishedAt - task.startedAt : null);
  if ((s === "succeeded" || s === "failed") && took != null && took >= 0) infoParts.push(t("taskTook", { d: fmtDuration(took) }));
  r.info.textContent = infoParts.join(" · ");
  r.info.title = task.digest ?? "";
  r.info.hidden = infoParts.length === 0;

  // The failure (or, between attempts, the last attempt's failure) is collapsed to one
  // line; skopeo errors are long and the list must stay scannable.
  const errText = s === "failed" ? task.error : s === "retrying" || s === "running" ? task.note?.error : null;
  r.errDetails.hidden = !errText;
  if (errText) {
    r.errDetails.classList.toggle("is-warning", s !== "failed");
    r.errDetails.querySelector(".error-label").textContent =
      s === "failed" ? t("taskShowError") : t("taskRetryFailed", { n: task.note?.attempt ?? task.attempts });
    r.errSummaryText.textContent = errText.split("\n")[0];
    r.errPre.textContent = errText;
  }
}

/** The countdown to the next attempt, or "" once it is due (or unknown). */
/**
 * Image references are long and have no spaces; offer line breaks after each "/" (with
 * <wbr>, which copies as nothing) so narrow screens break them at path boundaries.
 */
function setRef(el, text) {
  if (el.title === text) return;
  el.title = text;
  const parts = text.split("/");
  el.replaceChildren();
  parts.forEach((p, i) => {
    el.append(i < parts.length - 1 ? `${p}/` : p);
    if (i < parts.length - 1) el.append(document.createElement("wbr"));
  });
}

function retryText(task) {
  if (task.retryAt == null) return "";
  const s = Math.ceil((task.retryAt - Date.now()) / 1000);
  return s > 0 ? t("taskRetryIn", { s }) : "";
}

function renderConn() {
  const el = $("job-conn");
  const btn = $("job-reconnect");
  const state = conn.state;
  el.dataset.state = state;
  btn.hidden = state !== "waiting";
  const quiet = state === "finished" || (job && job.isFinished);
  el.parentElement.hidden = quiet;
  if (quiet) return;
  if (state === "waiting") {
    const s = Math.max(1, Math.ceil(((conn.retryAt ?? Date.now()) - Date.now()) / 1000));
    el.textContent = t("conn_reconnecting", { s });
  } else {
    el.textContent = t(`conn_${state}`);
  }
}

function tick() {
  if (conn.state === "waiting") renderConn();
  if (!job) return;
  for (const id of job.order) {
    const task = job.tasks.get(id);
    if (task.status === "retrying" && task.note?.kind === "retry") {
      const note = rows.get(id).note;
      note.textContent = retryText(task);
      note.hidden = !note.textContent;
    }
  }
}

$("job-reconnect").addEventListener("click", () => watcher?.retryNow());

$("job-copy").addEventListener("click", async () => {
  const btn = $("job-copy");
  try {
    await navigator.clipboard.writeText(jobId);
  } catch {
    // No clipboard api (plain http): select the id so a copy shortcut works.
    const range = document.createRange();
    range.selectNodeContents($("job-id"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    return;
  }
  btn.textContent = t("copied");
  setTimeout(() => (btn.textContent = t("copy")), 1500);
});

function announce(text) {
  const el = $("announcer");
  // Clearing first makes a repeat of the same sentence be read again.
  el.textContent = "";
  setTimeout(() => (el.textContent = text), 50);
}

function maybeAnnounce() {
  if (!job || replaying) return;
  if (job.isFinished) {
    if (!announcedFinished) {
      announcedFinished = true;
      clearTimeout(announceTimer);
      announceTimer = 0;
      announce(t("announceFinished", { status: statusLabel(job.status()) }));
    }
    return;
  }
  if (job.done === announcedDone || announceTimer) return;
  // At most one progress sentence every few seconds; a busy job would otherwise talk
  // over everything else.
  announceTimer = setTimeout(() => {
    announceTimer = 0;
    if (!job || job.isFinished) return;
    announcedDone = job.done;
    announce(t("announceProgress", { done: job.done, total: job.total, failed: job.counts().failed }));
  }, 4000);
}

// /registries added, changed or deleted one: the sync form's target list follows.
document.addEventListener("registries-changed", () => loadRegistries());

// ---------------------------------------------------------------------------------------
// Start

applyStatic();
applyLangToggle();
applyTheme();
renderGutter();
renderFormDynamic();
renderSyntaxHint();
// Ask who is logged in before showing any page: the answer decides which one.
loadMe().then(() => render());
