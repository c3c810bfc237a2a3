// The persistent navigation: a rail beside the page on wide screens, a menu opened from the
// top bar's toggle on phones. Which of the two shows is decided by css/nav.css alone, so
// the code never has to know the width.
// An entry is shown only when its page would open for the user: app.js passes the router's
// own check, so a role never sees a link that ends on "Not allowed".

import { t } from "./i18n.js";
import { $, h } from "./ui.js";
import { session } from "./session.js";

/** In menu order; `group: "admin"` entries follow a separator. */
const ENTRIES = [
  { path: "/", key: "navSync" },
  { path: "/jobs", key: "navJobs" },
  { path: "/downloads", key: "navDownloads" },
  { path: "/rules", key: "navRules" },
  { path: "/registries", key: "navRegistries" },
  { path: "/stats", key: "navStats" },
  { path: "/users", key: "navUsers", group: "admin" },
  { path: "/audit", key: "navAudit", group: "admin" },
  { path: "/webhooks", key: "navWebhooks", group: "admin" },
];

const nav = $("site-nav");
const toggle = $("nav-toggle");
let canOpen = () => true;

const links = ENTRIES.map((e) => {
  const a = h("a", { class: "nav-link", href: e.path, "data-nav": e.path });
  const li = h("li", { class: e.group ? `nav-item nav-item-${e.group}` : "nav-item" }, a);
  return { ...e, a, li };
});
$("site-nav-list").replaceChildren(...links.map((l) => l.li));

/** `check(path)`: whether the router would show that page to the current user. */
export function initNav(check) {
  canOpen = check;
}

/** Whether a path is this entry's page ("page") or a page inside it, such as one job ("true"). */
function current(path, entry) {
  if (path === entry.path || path === `${entry.path}/`) return "page";
  if (entry.path !== "/" && path.startsWith(`${entry.path}/`)) return "true";
  return null;
}

export function renderNav() {
  const user = session.user;
  // Nothing to navigate to before signing in, or until a generated password is replaced.
  const shown = session.state === "ready" && (!session.enabled || (!!user && !user.must_change_password));
  nav.hidden = !shown;
  toggle.hidden = !shown;
  $("shell").classList.toggle("with-nav", shown);
  if (!shown) closeNavMenu();

  const label = t("navMain");
  nav.setAttribute("aria-label", label);
  toggle.setAttribute("aria-label", t("navMenu"));
  toggle.title = t("navMenu");
  let firstAdmin = true;
  for (const l of links) {
    l.a.textContent = t(l.key);
    l.li.hidden = !canOpen(l.path);
    const here = current(location.pathname, l);
    if (here) l.a.setAttribute("aria-current", here);
    else l.a.removeAttribute("aria-current");
    // The separator belongs to the first admin entry that is actually shown.
    const lead = !!l.group && !l.li.hidden && firstAdmin;
    if (lead) firstAdmin = false;
    l.li.classList.toggle("nav-group-start", lead);
  }
}

function openNavMenu() {
  nav.classList.add("is-open");
  toggle.setAttribute("aria-expanded", "true");
}

/** Closes the phone menu (a no-op for the rail, which CSS always shows). */
export function closeNavMenu({ focusToggle = false } = {}) {
  if (!nav.classList.contains("is-open")) return;
  nav.classList.remove("is-open");
  toggle.setAttribute("aria-expanded", "false");
  if (focusToggle) toggle.focus();
}

toggle.addEventListener("click", () => {
  if (nav.classList.contains("is-open")) {
    closeNavMenu();
    return;
  }
  openNavMenu();
  (nav.querySelector("[aria-current]") ?? nav.querySelector("li:not([hidden]) a"))?.focus();
});

for (const el of [nav, toggle]) {
  el.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && nav.classList.contains("is-open")) {
      e.preventDefault();
      closeNavMenu({ focusToggle: true });
    }
  });
}

// A click or focus outside the open menu closes it, as the account menu does.
document.addEventListener("click", (e) => {
  if (!nav.contains(e.target) && !toggle.contains(e.target)) closeNavMenu();
});
nav.addEventListener("focusout", (e) => {
  if (e.relatedTarget && !nav.contains(e.relatedTarget) && e.relatedTarget !== toggle) closeNavMenu();
});
