// /jobs: every job, newest first, filtered (jobs-filters.js keeps the filters in the
// address) and paged with the server's cursors, so 10,000 jobs cost one page at a time.
// The first page refreshes itself; a later one stays still while it is read.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, errorText } from "./ui.js";
import { row } from "./jobs-rows.js";
import {
  fromUrl, toUrl, apiParams, showFilters, readFilters, fillOptions, isFiltered, emptyFilters, showMoreCount,
} from "./jobs-filters.js";

const PAGE = 50;
const REFRESH_MS = 10000;
const TYPING_MS = 350;

let filters = emptyFilters();
/** Cursors of the pages seen: [null (newest), next of page 1, ...]; the last one is shown. */
let cursors = [null];
let jobs = null;
let next = null;
let loadError = null;
let loading = false;
let seq = 0;
let active = false;
let refreshTimer = 0;
let typingTimer = 0;

const limit = () => filters.limit ?? PAGE;

export function enterJobs() {
  active = true;
  filters = fromUrl(location.search);
  showFilters(filters);
  cursors = savedCursors();
  jobs = null;
  next = null;
  loadChoices();
  load();
}

export function leaveJobs() {
  active = false;
  seq += 1; // drop any answer still on its way
  clearTimeout(refreshTimer);
  clearTimeout(typingTimer);
}

// The pages seen are kept in the history entry, so Back from a job opened on page 3
// returns to page 3 (a reload too); a new entry (another filter) starts at the newest.
function savedCursors() {
  const saved = history.state?.jobsCursors;
  const ok = Array.isArray(saved) && saved[0] === null && saved.slice(1).every((c) => typeof c === "string");
  return ok ? saved : [null];
}

function saveCursors() {
  history.replaceState({ ...history.state, jobsCursors: cursors }, "", location.pathname + location.search);
}

/** The registries and rules to pick from; without them the selects offer "any" alone. */
async function loadChoices() {
  const [regs, rules] = await Promise.allSettled([api.registries(), api.listRules()]);
  const names = (r) => (r.status === "fulfilled" && Array.isArray(r.value) ? r.value.map((x) => x?.name).filter((n) => typeof n === "string") : []);
  fillOptions($("jobs-registry"), names(regs));
  fillOptions($("jobs-rule"), names(rules));
}

/** `quiet`: a refresh of the page shown, which must not blank it or announce loading. */
async function load({ quiet = false } = {}) {
  const mine = ++seq;
  clearTimeout(refreshTimer);
  loading = !quiet;
  if (!quiet) {
    loadError = null;
    renderJobs();
  }
  try {
    const page = await api.jobsPage({ ...apiParams(filters), limit: limit(), cursor: cursors[cursors.length - 1] });
    if (mine !== seq) return;
    if (!Array.isArray(page.jobs)) throw new ApiError(200, t("errBadResponse"));
    jobs = page.jobs.filter((j) => j && typeof j.id === "string");
    next = page.next;
    loadError = null;
  } catch (err) {
    if (mine !== seq || err.handled) return;
    loadError = err;
    if (!quiet) jobs = null;
  } finally {
    if (mine === seq) loading = false;
  }
  if (mine !== seq) return;
  keepFocus(renderJobs);
  if (active && cursors.length === 1) refreshTimer = setTimeout(refresh, REFRESH_MS);
}

function refresh() {
  if (!active || cursors.length !== 1) return;
  // Nobody is looking: try again later rather than poll a hidden tab.
  if (document.hidden || loading) refreshTimer = setTimeout(refresh, REFRESH_MS);
  else load({ quiet: true });
}

/** Redraw without losing a focused row link: the rows are rebuilt on every refresh. */
function keepFocus(draw) {
  const focused = document.activeElement;
  const href = $("jobs-body").contains(focused) ? focused.getAttribute("href") : null;
  draw();
  if (href) $("jobs-body").querySelector(`a[href="${CSS.escape(href)}"]`)?.focus({ preventScroll: true });
}

export function renderJobs() {
  showMoreCount(filters);
  const status = $("jobs-status");
  const list = jobs ?? [];
  // A short page with a cursor: the text search looked through its share of jobs and
  // stopped; more matches may lie further back, so never say "that's all".
  const partial = jobs != null && next != null && list.length < limit();
  status.classList.toggle("hint-error", !!loadError);
  if (loadError) status.textContent = t("jobsLoadFailed", { error: errorText(loadError) });
  // Rows being replaced stay (dimmed) while the next ones come; an empty list says so.
  else if (loading && list.length === 0) status.textContent = t("loading");
  else status.textContent = "";

  const empty = jobs != null && list.length === 0 && !loading;
  $("jobs-empty").hidden = !empty;
  if (empty) {
    $("jobs-empty-text").textContent = next ? t("jobsNoneYet") : isFiltered(filters) ? t("jobsNoMatch") : t("jobsEmpty");
    $("jobs-empty-clear").hidden = !isFiltered(filters);
    $("jobs-empty-further").hidden = !next;
  }
  $("jobs-more").hidden = !partial || list.length === 0;
  $("jobs-more").textContent = t("jobsPartial");

  const table = $("jobs-table");
  table.hidden = list.length === 0;
  table.setAttribute("aria-busy", loading ? "true" : "false");
  $("jobs-body").replaceChildren(...list.map(row));

  $("jobs-newer").parentElement.hidden = cursors.length === 1 && !next;
  // Not disabled while loading: a focused button that gets disabled drops the focus.
  $("jobs-newer").disabled = cursors.length <= 1;
  $("jobs-older").disabled = !next;
  $("jobs-older").textContent = partial ? t("jobsSearchFurther") : t("jobsOlder");
  $("jobs-page").textContent = jobs ? t("jobsPage", { n: cursors.length }) : "";
}

// ---------------------------------------------------------------------------------------
// Filter changes. A click or choice is a step Back can undo (pushState); typing only keeps
// the address in step (replaceState) and asks the server once the typing pauses.

function applyFilters({ push }) {
  clearTimeout(typingTimer);
  const f = readFilters(filters.limit);
  const path = toUrl(f);
  const changed = path !== toUrl(filters);
  filters = f;
  if (path !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", path);
  if (!changed) return;
  cursors = [null];
  next = null;
  load();
}

const form = $("jobs-filters");
form.addEventListener("change", (e) => {
  if (e.target.matches("input[type=text], input[type=search]")) return;
  // A date and time is typed part by part, each a change: one history entry for them all.
  applyFilters({ push: !e.target.matches("input[type=datetime-local]") });
});
form.addEventListener("input", (e) => {
  if (!e.target.matches("input[type=text], input[type=search]")) return;
  history.replaceState(null, "", toUrl(readFilters(filters.limit)));
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => applyFilters({ push: false }), TYPING_MS);
});
form.addEventListener("submit", (e) => {
  e.preventDefault();
  applyFilters({ push: true });
});

function clearFilters() {
  showFilters(emptyFilters());
  applyFilters({ push: true });
  $("jobs-q").focus();
}
$("jobs-clear").addEventListener("click", clearFilters);
$("jobs-empty-clear").addEventListener("click", clearFilters);

function afterPage() {
  $("jobs-title").scrollIntoView({ block: "start" });
  // The button pressed may now be disabled (first or last page): keep the focus nearby.
  const a = document.activeElement;
  if (!a || a === document.body || a.disabled) $("jobs-title").focus({ preventScroll: true });
}

function older() {
  if (loading || !next) return;
  cursors.push(next);
  saveCursors();
  load().then(afterPage);
}
$("jobs-older").addEventListener("click", older);
$("jobs-empty-further").addEventListener("click", older);

$("jobs-newer").addEventListener("click", () => {
  if (loading || cursors.length <= 1) return;
  cursors.pop();
  saveCursors();
  load().then(afterPage);
});
