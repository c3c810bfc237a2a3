// /jobs/<id>: one job, live. A JobWatcher (api.js) reads the job's counts and follows its
// events over a WebSocket that starts from a snapshot, reconnecting as needed; JobState
// (job-state.js) folds them in. Tasks are loaded a page at a time (filtered and searched by
// the api), so a job of 10,000 images costs the rows on screen, not 10,000; each loaded row
// is redrawn only when its own events change it. Task logs (task-log.js) open from a row.

import { t } from "./i18n.js";
import { api, JobWatcher } from "./api.js";
import { canSubmit } from "./session.js";
import { JobState, TASK_STATUSES } from "./job-state.js";
import { $, h, fmtDateTime, errorText, navigate } from "./ui.js";
import { buildRow, updateRow, retryText } from "./task-row.js";
import { triggerText } from "./trigger.js";
import { destinationText, bundlePath } from "./destination.js";
import { fmtDuration, statusLabel, setBadge } from "./format.js";

/** Jobs just created, handed from the form to the view so it need not GET them again. */
const handoff = new Map();
/** Filtered lines from POST answers, by job id; the api has no other way to get them. */
const filteredByJob = new Map();

/** The sync form's answer to POST /api/jobs, for the view of that job that opens next. */
export function handOffJob(created) {
  handoff.set(created.id, created);
}

let job = null; // JobState
let jobId = null;
let watcher = null;
let conn = { state: "connecting" };
let rows = new Map(); // task id -> row elements
let filter = "all";
let search = "";
let ticker = 0;
/** The task list: where the next page starts, and whether one is loading. */
let tasksNext = null;
let tasksLoading = false;
let tasksSeq = 0;
let searchTimer = 0;
let resyncTimer = 0;
let moreObserver = null;

/** Tasks per page; the page loads the next one as its end scrolls into view. */
const TASK_PAGE = 100;
/** How often a running job's counts are read again (what events cannot tell exactly). */
const RESYNC_MS = 5000;

// Rendering is batched: events can arrive by the hundred (a replay on every connect).
let dirty = new Set();
let fullDirty = false;
let countsDirty = false;
let frame = 0;
let settleTimer = 0;
let settleDeadline = 0;
let replaying = false;

let announcedDone = 0;
let announcedFinished = false;
let announceTimer = 0;

/** From the router: the page title names the job, so it changes once the job has loaded. */
let onTitleChange = () => {};

export function enterJob(id, titleChanged = () => {}) {
  leaveJob();
  onTitleChange = titleChanged;
  jobId = id;
  job = null;
  filter = "all";
  search = "";
  $("tasks-search").value = "";
  tasksNext = null;
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
      if (first) {
        // The POST answer lists every task; the page loads its own, a page at a time.
        job = new JobState({ ...snap, tasks: undefined }, filteredByJob.get(id) ?? []);
        announcedDone = job.done;
        announcedFinished = job.isFinished;
        loadTasks(true);
      } else {
        job.resync(snap);
      }
      fullDirty = true;
      scheduleRender();
      onTitleChange();
    },
    onResync: (snap) => {
      if (!job) return;
      job.resync(snap);
      fullDirty = true;
      scheduleRender();
    },
    onEvent: (ev) => {
      if (!job) return;
      const changed = job.apply(ev);
      if (changed === "job") countsDirty = true;
      else if (changed) dirty.add(changed);
      else return;
      if (ev.kind === "job_finished") fullDirty = true;
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
  watcher.start(snapshot ? { ...snapshot } : undefined);
  ticker = setInterval(tick, 1000);
  resyncTimer = setInterval(resync, RESYNC_MS);
}

/** A running job's counts, read again: they stand at an event, and later ones add on top. */
async function resync() {
  if (!job || job.isFinished || document.hidden) return;
  const mine = jobId;
  try {
    const summary = await api.jobSummary(mine);
    if (!job || jobId !== mine) return;
    job.resync(summary);
    countsDirty = true;
    scheduleRender();
  } catch {
    // The socket's state line says what is wrong; the next tick tries again.
  }
}

/** The task list's first page under the current filter (`reset`), or its next page. */
async function loadTasks(reset) {
  if (!job) return;
  if (tasksLoading && !reset) return;
  const mine = ++tasksSeq;
  if (reset) {
    tasksNext = null;
    job.clearTasks();
    rows = new Map();
    $("task-list").replaceChildren();
  } else if (tasksNext === null) {
    return;
  }
  tasksLoading = true;
  renderMore();
  const status = filter === "all" ? "" : filter === "running" ? "running" : filter;
  try {
    const page = await api.jobTasks(jobId, { status, q: search, cursor: reset ? "" : tasksNext, limit: TASK_PAGE });
    if (mine !== tasksSeq || !job) return;
    job.addTasks(page.items);
    tasksNext = page.next;
    $("tasks-error").hidden = true;
  } catch (err) {
    if (mine !== tasksSeq || err.handled) return;
    $("tasks-error").textContent = t("loadFailed", { error: errorText(err) });
    $("tasks-error").hidden = false;
  } finally {
    if (mine === tasksSeq) tasksLoading = false;
  }
  fullDirty = true;
  scheduleRender();
}

function renderMore() {
  $("tasks-more-row").hidden = tasksNext === null;
  $("tasks-more").disabled = tasksLoading;
  const shown = job ? job.order.length : 0;
  $("tasks-shown").textContent = job ? t("tasksShown", { shown, total: job.total }) : "";
}

$("tasks-more").addEventListener("click", () => loadTasks(false));
$("tasks-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    search = $("tasks-search").value.trim();
    loadTasks(true);
  }, 300);
});
// The next page loads as the list's end comes into view.
moreObserver = new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && !tasksLoading && tasksNext !== null) loadTasks(false);
});
moreObserver.observe($("tasks-more-row"));

export function leaveJob() {
  watcher?.stop();
  watcher = null;
  clearInterval(ticker);
  clearInterval(resyncTimer);
  clearTimeout(searchTimer);
  tasksSeq += 1;
  tasksLoading = false;
  clearTimeout(settleTimer);
  clearTimeout(announceTimer);
  cancelAnimationFrame(frame);
  settleTimer = settleDeadline = announceTimer = frame = 0;
  dirty.clear();
  fullDirty = false;
  countsDirty = false;
  job = null;
}

/** The page title while a job is shown, or null before it has loaded. */
export function jobTitle() {
  return job ? `${t("jobTitle")} ${job.id.slice(0, 8)}` : null;
}

/** Redraw after a language switch. */
export function refreshJob() {
  if (job) renderJob(true);
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
  renderJob(fullDirty);
}

function renderJob(full) {
  if (!job) return;
  const status = job.status();
  setBadge($("job-status"), status);
  renderCancel();
  $("job-target").textContent = destinationText(job) || "—";
  $("job-level").textContent = job.replaceLevel ? t(`level_${job.replaceLevel}`) : "—";
  $("job-namespace").textContent = job.namespace || "—";
  $("job-platform").textContent = job.platform || t("platformAll");
  $("job-created").textContent = fmtDateTime(job.createdAt);
  $("job-trigger").textContent = triggerText(job.trigger);
  renderLinks();
  renderDestination();

  const c = job.counts();
  setBar(job.total, c.succeeded + c.skipped, c.failed);
  renderCounts(c);
  renderFiltered();
  renderPace();

  const list = $("task-list");
  if (full) {
    // Rows in the loaded order: a new page appends, a new filter starts over.
    for (const id of job.order) {
      let row = rows.get(id);
      if (!row) {
        row = buildRow(id, () => jobId);
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
  countsDirty = false;
  applyFilter();
  renderMore();
  renderConn();
  maybeAnnounce();
}

/** Started, finished, elapsed, pace and time left. */
function renderPace() {
  const p = job.pace();
  $("job-started").textContent = p.startedAt ? fmtDateTime(p.startedAt) : "—";
  $("job-finished").textContent = p.finishedAt ? fmtDateTime(p.finishedAt) : "—";
  $("job-elapsed").textContent = p.elapsed != null ? fmtDuration(p.elapsed) : "—";
  $("job-rate").textContent = p.perMinute != null ? fmtRate(p.perMinute) : "—";
  $("job-eta").textContent = p.eta != null ? fmtDuration(p.eta) : job.isFinished ? t("paceDone") : "—";
}

function fmtRate(perMinute) {
  return perMinute >= 10 ? String(Math.round(perMinute)) : perMinute.toFixed(1);
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
        loadTasks(true);
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

/** Loaded rows whose task no longer matches the filter (it moved on) are hidden. */
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
  empty.hidden = shown > 0 || tasksLoading || tasksNext !== null;
  empty.textContent = job.total === 0 ? t("noTasks") : t("noTasksMatch");
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

/** Links to the job this one retries and to the jobs that retried it. */
/** An export's bundle (on the Downloads page) and whether signatures are copied too. */
function renderDestination() {
  const bundle = job.bundle;
  $("job-bundle-row").hidden = !bundle;
  if (bundle) {
    $("job-bundle").replaceChildren(h("a", { href: bundlePath(bundle), id: "job-bundle-link", text: bundle }));
  }
  $("job-signatures-row").hidden = !job.withSignatures;
  $("job-signatures").textContent = job.withSignatures ? t("metaSignaturesOn") : "";
}

function renderLinks() {
  const ids = [...(job.retryOf ? [["retryOf", job.retryOf]] : []), ...job.retries.map((r) => ["retriedAs", r])];
  $("job-links-row").hidden = ids.length === 0;
  const box = $("job-links");
  box.replaceChildren(
    ...ids.map(([kind, id]) =>
      h("div", {}, t(kind === "retryOf" ? "linkRetryOf" : "linkRetriedAs"), " ", h("a", { href: `/jobs/${id}`, text: id.slice(0, 8) })),
    ),
  );
}

async function rerun(call) {
  try {
    const created = await call(job.id);
    if (created?.id) navigate(`/jobs/${created.id}`);
  } catch (err) {
    if (!err.handled) {
      $("job-error").textContent = errorText(err);
      $("job-error").hidden = false;
    }
  }
}

$("job-retry").addEventListener("click", () => rerun(api.retryJob));
$("job-again").addEventListener("click", () => rerun(api.syncAgain));

/** The cancel button while the job may still be stopped, for roles that may stop it. */
function renderCancel() {
  const stopping = job.cancelledBy !== null && !job.isFinished;
  const note = $("job-cancelling");
  note.hidden = !stopping;
  note.textContent = stopping ? t("jobCancelling", { by: job.cancelledBy }) : "";
  $("job-cancel").hidden = job.isFinished || stopping || !canSubmit();
  const c = job.counts();
  $("job-actions").hidden = !job.isFinished || !canSubmit();
  $("job-retry").hidden = c.failed + c.cancelled === 0;
}

$("job-cancel").addEventListener("click", async () => {
  if (!job || !confirm(t("jobCancelConfirm", { n: job.total - job.done }))) return;
  const btn = $("job-cancel");
  btn.disabled = true;
  try {
    const answer = await api.cancelJob(job.id);
    job.cancelledBy = answer?.cancelled_by ?? job.cancelledBy ?? "";
    if (typeof answer?.status === "string") job.serverStatus = answer.status;
    fullDirty = true;
    scheduleRender();
  } catch (err) {
    if (!err.handled) {
      $("job-error").textContent = errorText(err);
      $("job-error").hidden = false;
    }
  } finally {
    btn.disabled = false;
  }
});

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

