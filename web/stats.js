// /stats (everyone signed in): what the workers copied, skipped and failed over a range, from
// one GET /api/stats answer: charts (stats-charts.js), the totals, a table per registry, the
// top failures and the pull limits left. The range and registry live in the address
// (?range=7d&registry=x) so a view can be bookmarked or shared.

import { t, locale } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, errorText, fmtDateTime, timeAgo } from "./ui.js";
import { fmtDuration } from "./format.js";
import { drawCharts, stopCharts } from "./stats-charts.js";

const HOUR_MS = 3600e3;
const DAY_MS = 86400e3;
// Hours while there are few enough to read (a week is 168 bars), days beyond.
const RANGES = {
  "24h": { bucket: "hour", count: 24 },
  "7d": { bucket: "hour", count: 7 * 24 },
  "30d": { bucket: "day", count: 30 },
  "90d": { bucket: "day", count: 90 },
};

const rangeEl = $("stats-range");
const registryEl = $("stats-registry");

let range = "24h";
let registry = "";
let registries = null; // names for the filter; null until loaded
let stats = null;
let loadError = null;
let loading = false;
let seq = 0;

export function enterStats() {
  const q = new URLSearchParams(location.search);
  range = q.get("range") in RANGES ? q.get("range") : "24h";
  registry = q.get("registry") ?? "";
  stats = null;
  loadError = null;
  load();
  loadRegistries();
}

export function leaveStats() {
  seq += 1; // drop any answer still on its way
  loading = false;
  stopCharts();
}

/** The whole buckets that end with the current one, as the server's defaults are cut. */
function span() {
  const { bucket, count } = RANGES[range];
  const size = bucket === "day" ? DAY_MS : HOUR_MS;
  const to = Date.now();
  return { bucket, from: (Math.floor(to / size) + 1 - count) * size, to };
}

async function load() {
  const mine = ++seq;
  loading = true;
  loadError = null;
  renderStats();
  try {
    const answer = await api.stats({ ...span(), registry });
    if (mine !== seq) return;
    if (!answer || !Array.isArray(answer.series) || !answer.totals) throw new ApiError(200, t("errBadResponse"));
    stats = answer;
  } catch (err) {
    if (mine !== seq || err.handled) return;
    loadError = err;
  } finally {
    if (mine === seq) loading = false;
  }
  if (mine === seq) renderStats();
}

async function loadRegistries() {
  // The filter is a convenience: without the list, only "all" (or the address's) is offered.
  try {
    const list = await api.registries();
    registries = Array.isArray(list) ? list.filter((r) => r && typeof r.name === "string").map((r) => r.name) : [];
  } catch {
    registries = [];
  }
  renderFilters();
}

function renderFilters() {
  rangeEl.value = range;
  const names = [...(registries ?? [])];
  if (registry && !names.includes(registry)) names.push(registry);
  registryEl.replaceChildren(
    h("option", { value: "", text: t("statsAllRegistries") }),
    ...names.map((name) => h("option", { value: name, text: name })),
  );
  registryEl.value = registry;
}

const isEmpty = (f) => f.copied + f.skipped + f.failed + Object.values(f.jobs ?? {}).reduce((a, b) => a + b, 0) === 0;

export function renderStats() {
  renderFilters();
  $("stats-refresh").disabled = loading;
  const status = $("stats-status");
  const empty = stats && isEmpty(stats.totals);
  status.classList.toggle("hint-error", !!loadError);
  if (loadError) status.textContent = t("loadFailed", { error: errorText(loadError) });
  else if (!stats) status.textContent = t("loading");
  else if (empty) status.textContent = t(registry ? "statsEmptyRegistry" : "statsEmpty");
  else status.textContent = spanText(stats);

  // A failed reload keeps nothing stale on screen: the error line is the answer.
  const show = !!stats && !loadError && !empty;
  $("stats-totals").hidden = !show;
  $("stats-body").hidden = !show;
  renderLimits(stats && !loadError ? stats.pull_limits : []);
  if (!show) {
    stopCharts();
    return;
  }
  renderTotals(stats.totals);
  renderRegistries(stats.registries ?? []);
  renderCounts("reasons", stats.top_reasons ?? [], (name) => h("span", { class: "break", text: name }));
  renderCounts("failing", stats.top_failing ?? [], (name) =>
    h("a", { href: `/jobs?q=${encodeURIComponent(name)}`, class: "break", title: t("statsFindJobs", { image: name }), text: name }),
  );
  drawCharts(stats);
}

/** Day buckets are UTC days, so their range is given as UTC dates (the last one is today's). */
function spanText({ bucket, from_ms: from, to_ms: to }) {
  if (bucket !== "day") return t("statsSpanHours", { from: fmtDateTime(from), to: fmtDateTime(to) });
  const day = new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" });
  return t("statsSpanDays", { from: day.format(from), to: day.format(Math.max(from, to - 1)) });
}

const num = (n) => new Intl.NumberFormat(locale()).format(n ?? 0);
const pct = (r) => (r == null ? "—" : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(r));
const dur = (ms) => (ms == null ? "—" : fmtDuration(ms));

function renderTotals(f) {
  const tiles = [
    ["copied", "statsCopied", num(f.copied)],
    ["skipped", "statsSkipped", num(f.skipped)],
    ["failed", "statsFailed", num(f.failed)],
    ["success-rate", "statsSuccessRate", pct(f.success_rate)],
    ["p50", "statsP50", dur(f.duration_p50_ms)],
    ["p95", "statsP95", dur(f.duration_p95_ms)],
    ["jobs-succeeded", "statsJobsSucceeded", num(f.jobs?.succeeded)],
    ["jobs-partial", "statsJobsPartial", num(f.jobs?.partial)],
    ["jobs-failed", "statsJobsFailed", num(f.jobs?.failed)],
    ["jobs-cancelled", "statsJobsCancelled", num(f.jobs?.cancelled)],
  ];
  $("stats-totals").replaceChildren(
    ...tiles.map(([key, label, value]) =>
      h("div", { class: `stats-tile stats-tile-${key}`, "data-key": key }, h("dt", { text: t(label) }), h("dd", { text: value })),
    ),
  );
}

function cell(labelKey, content, cls) {
  return h("td", { role: "cell", "data-label": t(labelKey), class: cls }, content);
}

function renderRegistries(list) {
  $("stats-registries-empty").hidden = list.length > 0;
  $("stats-registries-table").hidden = list.length === 0;
  $("stats-registries-body").replaceChildren(
    ...list.map((r) =>
      h("tr", { role: "row" },
        cell("colRegistry", h("span", { class: "break", text: r.name })),
        cell("statsCopied", num(r.copied), "num"),
        cell("statsSkipped", num(r.skipped), "num"),
        cell("statsFailed", num(r.failed), "num"),
        cell("statsSuccessRate", pct(r.success_rate), "num"),
        cell("statsColP50", dur(r.duration_p50_ms), "num"),
        cell("statsColP95", dur(r.duration_p95_ms), "num"),
      ),
    ),
  );
}

/** The top reasons or failing images: `<which>-empty`, `-table` and `-body` in the markup. */
function renderCounts(which, list, label) {
  $(`stats-${which}-empty`).hidden = list.length > 0;
  $(`stats-${which}-table`).hidden = list.length === 0;
  const first = which === "reasons" ? "statsColReason" : "statsColImage";
  $(`stats-${which}-body`).replaceChildren(
    ...list.map((c) => h("tr", { role: "row" }, cell(first, label(String(c.name))), cell("statsColCount", num(c.count), "num"))),
  );
}

function renderLimits(list) {
  const limits = Array.isArray(list) ? list : [];
  $("stats-limits-card").hidden = limits.length === 0;
  $("stats-limits-body").replaceChildren(
    ...limits.map((l) => {
      const left = l.limit == null ? num(l.remaining) : t("statsLeftOf", { remaining: num(l.remaining), limit: num(l.limit) });
      // Low is worth a glance: under a tenth of the budget left.
      const low = l.limit != null && l.remaining < l.limit / 10;
      return h("tr", { role: "row" },
        cell("statsColHost", h("code", { class: "break", text: String(l.host) })),
        cell("statsColRemaining", h("span", { class: low ? "stats-low" : null, text: left }), "num"),
        cell("statsColWindow", l.window_s == null ? "—" : fmtDuration(l.window_s * 1000), "num"),
        cell("statsColSeen", timeAgo(l.seen_at_ms)),
      );
    }),
  );
}

function setFilters() {
  range = rangeEl.value in RANGES ? rangeEl.value : "24h";
  registry = registryEl.value;
  const q = new URLSearchParams();
  if (range !== "24h") q.set("range", range);
  if (registry) q.set("registry", registry);
  const qs = q.toString();
  history.replaceState(null, "", qs ? `/stats?${qs}` : "/stats");
  // Another range or registry: the figures on screen no longer answer the question.
  stats = null;
  load();
}

rangeEl.addEventListener("change", setFilters);
registryEl.addEventListener("change", setFilters);
$("stats-filters").addEventListener("submit", (e) => e.preventDefault());
$("stats-refresh").addEventListener("click", () => load());
