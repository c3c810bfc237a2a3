// The Jobs page's filters: the address (?status=failed,partial&q=nginx&range=24h …) is
// where they live, so a filtered list can be shared and Back undoes a change. This module
// reads and writes that address, the form's fields and GET /api/jobs' query; jobs.js
// decides when.

import { t } from "./i18n.js";
import { $ } from "./ui.js";

export const STATUSES = ["queued", "running", "succeeded", "partial", "failed", "cancelled"];
const TRIGGERS = ["session", "token", "schedule", "run_now"];
const HOUR = 3600 * 1000;
// Quick picks are relative: a shared "last 24 hours" means the 24 hours before it is opened.
const RANGES = { "1h": HOUR, "24h": 24 * HOUR, "7d": 7 * 24 * HOUR, "30d": 30 * 24 * HOUR };
const TEXTS = ["user", "token", "q"];
const SELECTS = ["registry", "trigger", "rule"];

export function emptyFilters(limit = null) {
  return { status: [], registry: "", trigger: "", user: "", token: "", rule: "", q: "", range: "", from: null, to: null, limit };
}

export function isFiltered(f) {
  return f.status.length > 0 || f.range !== "" || [...TEXTS, ...SELECTS].some((k) => f[k] !== "");
}

function ms(raw) {
  if (raw == null || !/^\d{1,16}$/.test(raw)) return null;
  return Number(raw);
}

export function fromUrl(search) {
  const p = new URLSearchParams(search);
  const f = emptyFilters();
  f.status = (p.get("status") ?? "").split(",").filter((s) => STATUSES.includes(s));
  for (const k of [...TEXTS, "registry", "rule"]) f[k] = (p.get(k) ?? "").trim();
  f.trigger = TRIGGERS.includes(p.get("trigger")) ? p.get("trigger") : "";
  f.from = ms(p.get("from"));
  f.to = ms(p.get("to"));
  const range = p.get("range") ?? "";
  if (f.from != null || f.to != null || range === "custom") f.range = "custom";
  else if (range in RANGES) f.range = range;
  // The page size is normally fixed; a `limit` in the address overrides it (tests, links).
  const limit = ms(p.get("limit"));
  f.limit = limit >= 1 && limit <= 200 ? limit : null;
  return f;
}

export function toUrl(f) {
  const p = new URLSearchParams();
  if (f.status.length) p.set("status", f.status.join(","));
  for (const k of ["registry", "trigger", "user", "token", "rule", "q"]) if (f[k]) p.set(k, f[k]);
  if (f.range === "custom" && (f.from != null || f.to != null)) {
    if (f.from != null) p.set("from", String(f.from));
    if (f.to != null) p.set("to", String(f.to));
  } else if (f.range) {
    p.set("range", f.range);
  }
  if (f.limit != null) p.set("limit", String(f.limit));
  // Commas stay readable: URLSearchParams would write them as %2C.
  const s = p.toString().replace(/%2C/g, ",");
  return s ? `/jobs?${s}` : "/jobs";
}

/** GET /api/jobs' query for these filters, the quick-pick range counted from `now`. */
export function apiParams(f, now = Date.now()) {
  const out = {};
  if (f.status.length) out.status = f.status.join(",");
  for (const k of [...TEXTS, ...SELECTS]) if (f[k]) out[k] = f[k];
  if (f.range in RANGES) out.from = now - RANGES[f.range];
  if (f.range === "custom") {
    out.from = f.from;
    out.to = f.to;
  }
  return out;
}

/** A time as a datetime-local field's value, in the browser's time zone. */
function localInput(t) {
  if (t == null) return "";
  const d = new Date(t);
  return new Date(t - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function fromLocalInput(v) {
  const t = v ? new Date(v).getTime() : NaN;
  return Number.isFinite(t) ? t : null;
}

const form = () => $("jobs-filters");

/** Put the filters into the form. */
export function showFilters(f) {
  for (const box of form().querySelectorAll("input[name=status]")) box.checked = f.status.includes(box.value);
  for (const radio of form().querySelectorAll("input[name=range]")) radio.checked = radio.value === f.range;
  for (const k of TEXTS) $(`jobs-${k}`).value = f[k];
  for (const k of SELECTS) {
    ensureOption($(`jobs-${k}`), f[k]);
    $(`jobs-${k}`).value = f[k];
  }
  $("jobs-from").value = localInput(f.from);
  $("jobs-to").value = localInput(f.to);
  $("jobs-custom").hidden = f.range !== "custom";
  // Folded away on phones, where the form would otherwise fill the screen; never while it
  // holds a filter, or a shared link's filter could not be seen.
  if (moreSet(f) > 0 || matchMedia("(min-width: 721px)").matches) $("jobs-more-filters").open = true;
  showMoreCount(f);
}

const MORE = ["registry", "trigger", "user", "token", "rule"];
const moreSet = (f) => MORE.filter((k) => f[k] !== "").length;

export function showMoreCount(f) {
  const n = moreSet(f);
  $("jobs-more-count").textContent = n ? t("jobsMoreCount", { n }) : "";
}

/** The filters the form shows now; the page size is not in the form and carries over. */
export function readFilters(limit) {
  const f = emptyFilters(limit);
  f.status = [...form().querySelectorAll("input[name=status]:checked")].map((b) => b.value);
  f.range = form().querySelector("input[name=range]:checked")?.value ?? "";
  for (const k of TEXTS) f[k] = $(`jobs-${k}`).value.trim();
  for (const k of SELECTS) f[k] = $(`jobs-${k}`).value;
  if (f.range === "custom") {
    f.from = fromLocalInput($("jobs-from").value);
    f.to = fromLocalInput($("jobs-to").value);
  }
  $("jobs-custom").hidden = f.range !== "custom";
  showMoreCount(f);
  return f;
}

/** A shared link may name a registry or rule this list does not have (yet, or any more). */
function ensureOption(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(new Option(value, value));
}

/** Replace a select's choices (after its "any" option) with `names`, keeping its value. */
export function fillOptions(select, names) {
  const value = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const name of [...new Set(names)].sort()) select.append(new Option(name, name));
  ensureOption(select, value);
  select.value = value;
}
