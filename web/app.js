// docker-image-sync web UI: the wiring. The router, the top bar (theme, language, account
// menu) and the start-up live here; the navigation rail in nav.js; each page lives in its
// own module: sync-form.js (its preview in sync-preview.js) and recent-jobs.js (home),
// jobs.js, job-view.js, stats.js (its charts in stats-charts.js), auth-pages.js, tokens.js,
// users.js, registries.js, audit.js, rules.js and rule-view.js, webhooks.js and
// webhook-view.js, downloads.js (its dialogs in bundle-dialogs.js). No framework: views are
// static markup in index.html that the code fills in.
// All dynamic text goes through textContent (never innerHTML), so nothing the server or
// the user sends can become markup; the CSP would block inline code anyway.

import { t, applyStatic, getLang, setLang, onLangChange } from "./i18n.js";
import { api, ApiError, onAuthProblem } from "./api.js";
import { $, h, store, errorText, roleLabel, setNavigate, safeNext, toast } from "./ui.js";
import { session, loadMe, setUser, onUserChange, displayName, isAdmin } from "./session.js";
import {
  enterLogin, leaveLogin, renderLogin, setLoginNotice, enterPassword, leavePassword, renderPassword,
} from "./auth-pages.js";
import { enterSyncForm, renderSyncForm, forgetDraft } from "./sync-form.js";
import { enterRecent, leaveRecent, renderRecent } from "./recent-jobs.js";
import { enterJob, leaveJob, refreshJob, jobTitle } from "./job-view.js";
import { enterJobs, leaveJobs, renderJobs } from "./jobs.js";
import { enterStats, leaveStats, renderStats } from "./stats.js";
import { initNav, renderNav, closeNavMenu } from "./nav.js";
import { enterTokens, leaveTokens, renderTokens } from "./tokens.js";
import { enterUsers, leaveUsers, renderUsers } from "./users.js";
import { enterRegistries, leaveRegistries, renderRegistries } from "./registries.js";
import { enterAudit, leaveAudit, renderAudit } from "./audit.js";
import { enterRules, leaveRules, renderRules } from "./rules.js";
import { enterRule, leaveRule, renderRule, ruleTitle } from "./rule-view.js";
import { enterWebhooks, leaveWebhooks, renderWebhooks } from "./webhooks.js";
import { enterWebhook, leaveWebhook, renderWebhook, webhookTitle } from "./webhook-view.js";
import { enterDownloads, leaveDownloads, renderDownloads } from "./downloads.js";

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
  renderNav();
  // Even while hidden: the home page's parts stay in the document, and entering it
  // does not redraw them all.
  renderSyncForm();
  renderRecent();
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
// `title` is an i18n key, or a function giving the text (null: the app's name alone).
// `refresh` redraws the page's dynamic text after a language switch.

const routes = [
  { re: /^\/(?:index\.html)?$/, view: "view-home", enter: enterHome, leave: leaveRecent },
  { re: /^\/jobs\/?$/, view: "view-jobs", title: "jobsTitle", enter: enterJobs, leave: leaveJobs, refresh: renderJobs },
  { re: /^\/jobs\/([^/]+)\/?$/, view: "view-job", title: jobTitle, enter: (m) => enterJob(decodeURIComponent(m[1]), updateTitle), leave: leaveJob, refresh: refreshJob },
  { re: /^\/login\/?$/, view: "view-login", public: true, title: "loginTitle", enter: enterLogin, leave: leaveLogin, refresh: renderLogin },
  { re: /^\/password\/?$/, view: "view-password", title: "passwordTitle", enter: enterPassword, leave: leavePassword, refresh: renderPassword },
  { re: /^\/tokens\/?$/, view: "view-tokens", title: "tokensTitle", enter: enterTokens, leave: leaveTokens, refresh: renderTokens },
  // Everyone lists the bundles; downloads.js offers downloading and pushing to operators, deleting to admins.
  { re: /^\/downloads\/?$/, view: "view-downloads", title: "downloadsTitle", enter: enterDownloads, leave: leaveDownloads, refresh: renderDownloads },
  { re: /^\/stats\/?$/, view: "view-stats", title: "statsTitle", enter: enterStats, leave: leaveStats, refresh: renderStats },
  // Everyone reads the registries; registries.js shows the controls that change them to admins.
  { re: /^\/registries\/?$/, view: "view-registries", title: "registriesTitle", enter: enterRegistries, leave: leaveRegistries, refresh: renderRegistries },
  { re: /^\/users\/?$/, view: "view-users", admin: true, title: "usersTitle", enter: enterUsers, leave: leaveUsers, refresh: renderUsers },
  { re: /^\/audit\/?$/, view: "view-audit", admin: true, title: "auditTitle", enter: enterAudit, leave: leaveAudit, refresh: renderAudit },
  { re: /^\/rules\/?$/, view: "view-rules", title: "rulesTitle", enter: enterRules, leave: leaveRules, refresh: renderRules },
  { re: /^\/rules\/([^/]+)\/?$/, view: "view-rule", title: ruleTitle, enter: (m) => enterRule(decodeURIComponent(m[1])), leave: leaveRule, refresh: renderRule },
  { re: /^\/webhooks\/?$/, view: "view-webhooks", admin: true, title: "webhooksTitle", enter: enterWebhooks, leave: leaveWebhooks, refresh: renderWebhooks },
  { re: /^\/webhooks\/([^/]+)\/?$/, view: "view-webhook", admin: true, title: webhookTitle, enter: (m) => enterWebhook(decodeURIComponent(m[1])), leave: leaveWebhook, refresh: renderWebhook },
];
const notFound = { view: "view-notfound", open: true, title: "notFoundTitle", enter: () => {} };
const forbidden = { view: "view-forbidden", title: "forbiddenTitle", enter: renderForbidden, refresh: renderForbidden };
const unavailable = { view: "view-unavailable", open: true, title: "unavailableTitle", enter: renderUnavailable, refresh: renderUnavailable };
let currentRoute = null;

function enterHome() {
  enterSyncForm();
  enterRecent();
}

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
  closeNavMenu();

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
  renderNav();
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
  const title = currentRoute?.title;
  const text = typeof title === "function" ? title() : title ? t(title) : null;
  document.title = text ? `${text} · ${app}` : app;
}

// The rail offers a page only when this router would show it, so the two cannot disagree.
initNav((path) => {
  const { route } = resolve(path);
  return !route.admin || isAdmin();
});

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
// Account menu in the top bar: a disclosure button and a list of links (the account's own
// pages; every other page is in the navigation rail, nav.js).

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
  const locked = !!user.must_change_password;
  // Until a generated password is replaced, nothing but that and logging out works.
  for (const a of userPanel.querySelectorAll("a.menu-item")) {
    if (a.dataset.nav !== "password") a.parentElement.hidden = locked;
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

/** The menu's items that are shown (some are hidden by a pending password change). */
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
  // A shared machine: the next person to sign in must not find this one's image list.
  forgetDraft();
  setUser(null);
  setLoginNotice("loggedOut");
  navigate("/login");
}

$("logout").addEventListener("click", logout);
$("password-logout").addEventListener("click", logout);

onUserChange(() => {
  renderUserMenu();
  renderNav();
});

// ---------------------------------------------------------------------------------------
// Start

applyStatic();
applyLangToggle();
applyTheme();
// Ask who is logged in before showing any page: the answer decides which one.
loadMe().then(() => render());
