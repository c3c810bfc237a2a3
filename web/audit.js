// /audit (admin): the audit log, newest first, filtered by actor and action prefix, paged
// with the server's `next` cursor. The filters live in the address (?actor=&action=) so a
// filtered view can be bookmarked or shared.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, errorText, fmtDateTime } from "./ui.js";

const PAGE = 50;

const actorEl = $("audit-actor");
const actionEl = $("audit-action");

let filters = { actor: "", action: "" };
/** Cursors of the pages seen: [null (newest), next of page 1, ...]; the last one is shown. */
let cursors = [null];
let entries = null;
let next = null;
let loadError = null;
let loading = false;
let seq = 0;

export function enterAudit() {
  const q = new URLSearchParams(location.search);
  filters = { actor: q.get("actor") ?? "", action: q.get("action") ?? "" };
  actorEl.value = filters.actor;
  actionEl.value = filters.action;
  cursors = [null];
  entries = null;
  next = null;
  load();
}

export function leaveAudit() {
  seq += 1; // drop any answer still on its way
}

async function load() {
  const mine = ++seq;
  loading = true;
  loadError = null;
  renderAudit();
  try {
    const page = await api.audit({
      limit: PAGE,
      before: cursors[cursors.length - 1],
      actor: filters.actor,
      action: filters.action,
    });
    if (mine !== seq) return;
    if (!page || !Array.isArray(page.entries)) throw new ApiError(200, t("errBadResponse"));
    entries = page.entries.filter((e) => e && typeof e === "object");
    next = page.next ?? null;
  } catch (err) {
    if (mine !== seq || err.handled) return;
    loadError = err;
  } finally {
    if (mine === seq) loading = false;
  }
  if (mine === seq) renderAudit();
}

export function renderAudit() {
  const status = $("audit-status");
  const filtered = !!(filters.actor || filters.action);
  status.classList.toggle("hint-error", !!loadError);
  if (loadError) status.textContent = t("loadFailed", { error: errorText(loadError) });
  else if (loading && !entries) status.textContent = t("loading");
  else if (entries && entries.length === 0) status.textContent = filtered ? t("auditNoMatch") : t("auditEmpty");
  else status.textContent = "";

  const table = $("audit-table");
  table.hidden = !entries?.length;
  table.setAttribute("aria-busy", loading ? "true" : "false");
  const body = $("audit-body");
  body.replaceChildren();
  for (const e of entries ?? []) {
    const action = String(e.action ?? "");
    const outcome = /\.failure$|\.denied$/.test(action) ? "status-failed" : /^login\.success$/.test(action) ? "status-succeeded" : "";
    body.append(h("tr", { role: "row" },
      cell("colTime", h("time", {
        class: "nowrap",
        datetime: e.at_ms ? new Date(e.at_ms).toISOString() : null,
        text: fmtDateTime(e.at_ms),
      })),
      cell("colActor", e.actor ? actorLink(String(e.actor)) : h("span", { class: "muted", text: "—" })),
      cell("colAction", h("code", { class: `action ${outcome}`, text: action })),
      cell("colTarget", text(e.target, "span")),
      cell("colClient", text(e.client, "code")),
      cell("colDetail", detail(e.detail)),
    ));
  }

  const pager = $("audit-newer").parentElement;
  pager.hidden = !entries?.length && cursors.length === 1;
  // Not disabled while loading: a focused button that gets disabled drops the focus.
  $("audit-newer").disabled = cursors.length <= 1;
  $("audit-older").disabled = !next && !loading;
  $("audit-page").textContent = entries ? t("auditPage", { n: cursors.length }) : "";
}

function cell(labelKey, content) {
  return h("td", { role: "cell", "data-label": t(labelKey) }, content);
}

function text(value, tag) {
  if (value == null || value === "") return h("span", { class: "muted", text: "—" });
  return h(tag, { class: "break", text: String(value) });
}

/** The actor, as a link that filters the log by them. */
function actorLink(actor) {
  const q = new URLSearchParams({ actor });
  if (filters.action) q.set("action", filters.action);
  const a = h("a", { href: `/audit?${q}`, class: "break", text: actor, title: t("auditFilterActor", { actor }) });
  return a;
}

/** An entry's detail as readable fields (`role: operator`), not JSON to decipher. */
function detail(d) {
  const empty = d == null || d === "" || (typeof d === "object" && Object.keys(d).length === 0);
  if (empty) return h("span", { class: "muted", text: "—" });
  if (typeof d !== "object") return h("span", { class: "detail", text: String(d) });
  return h("dl", { class: "detail detail-list" },
    ...flatten(d).map(([key, value]) => h("div", {}, h("dt", { text: key }), h("dd", { text: value }))));
}

/**
 * [key, text] pairs, nested objects flattened to `a.b` so every field gets its own line.
 * A list of plain values reads best on one line; a list of objects gets `a.0.b` keys.
 */
function flatten(value, prefix = "", out = []) {
  const plainList = Array.isArray(value) && value.every((v) => v === null || typeof v !== "object");
  if (value !== null && typeof value === "object" && !plainList && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push([prefix, plainText(value)]);
  }
  return out;
}

function plainText(v) {
  if (v == null || v === "" || (typeof v === "object" && Object.keys(v).length === 0)) return "—";
  return Array.isArray(v) ? v.map((x) => String(x ?? "—")).join(", ") : String(v);
}

function setFilters(actor, action) {
  filters = { actor: actor.trim(), action: action.trim() };
  const q = new URLSearchParams();
  if (filters.actor) q.set("actor", filters.actor);
  if (filters.action) q.set("action", filters.action);
  const path = `/audit${q.size ? `?${q}` : ""}`;
  if (path !== location.pathname + location.search) history.pushState(null, "", path);
  cursors = [null];
  entries = null;
  next = null;
  load();
}

$("audit-filters").addEventListener("submit", (e) => {
  e.preventDefault();
  setFilters(actorEl.value, actionEl.value);
});

$("audit-clear").addEventListener("click", () => {
  actorEl.value = "";
  actionEl.value = "";
  setFilters("", "");
  actorEl.focus();
});

function afterPage() {
  $("audit-title").scrollIntoView({ block: "start" });
  // The button pressed may now be disabled (first or last page): keep the focus nearby.
  const a = document.activeElement;
  if (!a || a === document.body || a.disabled) $("audit-title").focus({ preventScroll: true });
}

$("audit-older").addEventListener("click", () => {
  if (loading || !next) return;
  cursors.push(next);
  load().then(afterPage);
});

$("audit-newer").addEventListener("click", () => {
  if (loading || cursors.length <= 1) return;
  cursors.pop();
  load().then(afterPage);
});
