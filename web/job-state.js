// The client's model of one job: the job's counts as the api last took them, the events
// since, and the tasks the page has loaded (a job of 10,000 images is never loaded whole).
// Kept free of DOM code so the event rules can be read (and tried in node) on their own.

export const TASK_STATUSES = ["queued", "running", "succeeded", "skipped", "failed", "cancelled"];
const TERMINAL_TASK = new Set(["succeeded", "skipped", "failed", "cancelled"]);
const FINAL_JOB = ["succeeded", "failed", "partial", "cancelled"];

function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * A running task's figures as its row shows them: the bar's fill and its text both come
 * from this, so they cannot tell different stories (a count past its total, as a re-sent
 * progress line can give, is shown as the total). `total` is null while unknown.
 */
export function taskProgress(task) {
  const total = task.imagesTotal != null && task.imagesTotal > 0 ? task.imagesTotal : null;
  const done = total === null ? task.imagesDone : Math.min(task.imagesDone, total);
  return { blobs: task.blobsDone, done, total, ratio: total === null ? null : done / total };
}

function taskFromSnapshot(t) {
  return {
    id: t.id,
    index: num(t.index) ?? 0,
    source: t.source ?? "",
    target: t.target ?? "",
    // The api has no "retrying" status; it is ours, for the wait between attempts.
    status: TASK_STATUSES.includes(t.status) ? t.status : "queued",
    attempts: num(t.attempts) ?? 0,
    error: t.error ?? null,
    // The failure's kind (`manifest_unknown`), which the page says in the user's language.
    errorCode: typeof t.error_code === "string" && t.error_code ? t.error_code : null,
    digest: t.digest ?? null,
    // An export task's archive once written: its name in the bundle, size and SHA-256.
    file: typeof t.file === "string" && t.file ? t.file : null,
    size: num(t.size),
    sha256: typeof t.sha256 === "string" && t.sha256 ? t.sha256 : null,
    // With signatures: the signatures, attestations and referrers copied and found in place.
    relatedCopied: num(t.related_copied),
    relatedSkipped: num(t.related_skipped),
    // Why the target was not compared before the copy (the digest check could not run).
    unchecked: typeof t.unchecked === "string" && t.unchecked ? t.unchecked : null,
    startedAt: num(t.started_at_ms),
    finishedAt: num(t.finished_at_ms),
    durationMs: null,
    blobsDone: num(t.blobs_done) ?? 0,
    imagesDone: num(t.images_done) ?? 0,
    imagesTotal: num(t.images_total),
    step: null,
    retryAt: null,
    // A running task a worker holds (the source's pull limit): shown as running, with why.
    note:
      t.status === "running" && typeof t.waiting === "string" && t.waiting
        ? { kind: "waiting", reason: t.waiting, until: num(t.waiting_until_ms) }
        : null,
  };
}

/** Stream ids (`<ms>-<seq>`) in the order Redis gives them. */
export function cmpEventId(a, b) {
  const [am, as] = String(a).split("-").map(Number);
  const [bm, bs] = String(b).split("-").map(Number);
  return am - bm || as - bs;
}

function countsOf(c) {
  const out = { queued: 0, running: 0, succeeded: 0, skipped: 0, failed: 0, cancelled: 0 };
  for (const k of Object.keys(out)) out[k] = num(c?.[k]) ?? 0;
  return out;
}

export class JobState {
  /**
   * Build from a job as returned by POST /api/jobs or GET /api/jobs/{id} (with or without
   * its tasks; tasks given are taken as loaded).
   */
  constructor(job, filtered = []) {
    this.id = job.id;
    this.filtered = filtered;
    this.tasks = new Map(); // the loaded ones
    this.order = [];
    this.applied = new Set();
    this.resync(job);
    if (Array.isArray(job.tasks)) {
      this.addTasks(job.tasks);
      // A job given whole is counted from its tasks: the POST answer has no `at_event`.
      this.base = countsOf(null);
      for (const t of this.tasks.values()) this.base[t.status] += 1;
    }
  }

  /**
   * Take the api's word on the job as of event `job.at_event` (a snapshot message or GET
   * ?tasks=false): its counts become the base, and only the events after it count on top.
   */
  resync(job) {
    this.target = job.target ?? "";
    this.replaceLevel = job.replace_level ?? "";
    this.namespace = job.namespace ?? "";
    // One platform copied out of multi-arch images; empty: every platform.
    this.platform = job.platform ?? "";
    // An export: its archive format and the bundle (folder) its files are written to.
    this.export = typeof job.export === "string" || (job.export && typeof job.export === "object") ? job.export : null;
    this.bundle = typeof job.bundle === "string" && job.bundle ? job.bundle : null;
    this.withSignatures = job.with_signatures === true;
    this.createdAt = num(job.created_at_ms);
    this.startedAt = num(job.started_at_ms);
    this.finishedAt = num(job.finished_at_ms);
    this.serverStatus = job.status ?? "queued";
    this.finishedStatus = FINAL_JOB.includes(job.status) ? job.status : null;
    // Who cancelled the job and when, once an operator has: running copies are being stopped.
    this.cancelledBy = typeof job.cancelled_by === "string" ? job.cancelled_by : null;
    this.cancelRequestedAt = num(job.cancel_requested_at_ms);
    this.trigger = job.trigger && typeof job.trigger === "object" ? job.trigger : null;
    this.retryOf = typeof job.retry_of === "string" ? job.retry_of : null;
    this.retries = Array.isArray(job.retries) ? job.retries.filter((r) => typeof r === "string") : [];
    this.total = num(job.total) ?? 0;
    this.base = countsOf(job.counts);
    this.baseEvent = typeof job.at_event === "string" ? job.at_event : null;
    // Events since the base that move counts: each task's first start, and its end.
    this.since = (this.since ?? []).filter((e) => this.baseEvent === null || cmpEventId(e.id, this.baseEvent) > 0);
  }

  /** Loaded task rows (a page from GET /api/jobs/{id}/tasks), kept in submission order. */
  addTasks(list) {
    for (const t of list) {
      if (!t || !t.id) continue;
      const known = this.tasks.get(t.id);
      // A page can be older than the events already applied to a row: keep the row then.
      if (known && TERMINAL_TASK.has(known.status)) continue;
      if (!known) this.order.push(t.id);
      this.tasks.set(t.id, taskFromSnapshot(t));
    }
    this.order.sort((a, b) => this.tasks.get(a).index - this.tasks.get(b).index);
  }

  /** Forget the loaded rows (a new filter), keeping the counts. */
  clearTasks() {
    this.tasks.clear();
    this.order = [];
  }

  /**
   * Apply one event. Returns the id of the changed task, "job" for job events and for
   * events of tasks not loaded (the counts change), or null when it was a duplicate or not
   * for us.
   */
  apply(ev) {
    if (ev.job && ev.job !== this.id) return null;
    if (ev.id != null) {
      if (this.applied.has(ev.id)) return null;
      this.applied.add(ev.id);
      if (this.baseEvent !== null && cmpEventId(ev.id, this.baseEvent) <= 0) return null;
    }
    if (!ev.task) {
      if (ev.kind === "job_finished" && typeof ev.status === "string") {
        this.finishedStatus = ev.status;
        this.finishedAt = num(ev.at_ms) ?? this.finishedAt;
        return "job";
      }
      if (ev.kind === "cancel_requested") {
        this.cancelledBy = String(ev.by ?? "");
        this.cancelRequestedAt = num(ev.at_ms);
        return "job";
      }
      return null;
    }
    if (ev.kind === "started" || TERMINAL_TASK.has(ev.kind)) {
      this.since.push({ id: ev.id ?? "", kind: ev.kind, task: ev.task, attempt: num(ev.attempt) });
      if (ev.kind === "started" && this.startedAt === null) this.startedAt = num(ev.at_ms);
    }
    const task = this.tasks.get(ev.task);
    if (!task) return "job";
    applyToTask(task, ev);
    return task.id;
  }

  /**
   * Counts: the base plus each task's end since, exact; queued less the tasks started for
   * the first time since (a retry's start is no new start), running the rest. The page
   * resyncs every few seconds, which corrects what events cannot tell (a cancelled task
   * that was running).
   */
  counts() {
    const c = { ...this.base };
    const ended = new Set();
    const started = new Set();
    for (const e of this.since) {
      if (TERMINAL_TASK.has(e.kind)) {
        if (ended.has(e.task)) continue;
        ended.add(e.task);
        c[e.kind] += 1;
        // Cancelled before it started: it left the queue, not the running.
        if (e.kind === "cancelled" && !started.has(e.task)) c.queued -= 1;
      } else if (e.kind === "started" && e.attempt === 1 && !started.has(e.task) && !ended.has(e.task)) {
        started.add(e.task);
        c.queued -= 1;
      }
    }
    // Whatever has neither ended nor is queued runs: the counts always add up to the total.
    const done = c.succeeded + c.skipped + c.failed + c.cancelled;
    c.queued = Math.max(0, Math.min(c.queued, this.total - done));
    c.running = Math.max(0, this.total - done - c.queued);
    return c;
  }

  get done() {
    const c = this.counts();
    return c.succeeded + c.skipped + c.failed + c.cancelled;
  }

  /** The job's status as best known: the server's final word, else derived from counts. */
  status() {
    if (this.finishedStatus) return this.finishedStatus;
    if (FINAL_JOB.includes(this.serverStatus)) return this.serverStatus;
    const c = this.counts();
    if (c.running > 0 || this.done > 0 || this.startedAt !== null) return "running";
    return this.serverStatus === "running" ? "running" : "queued";
  }

  get isFinished() {
    return FINAL_JOB.includes(this.status());
  }

  /** Started, finished, elapsed, images per minute and time left (null when unknown). */
  pace(now = Date.now()) {
    const done = this.done;
    const end = this.isFinished ? this.finishedAt ?? now : now;
    const elapsed = this.startedAt !== null ? Math.max(0, end - this.startedAt) : null;
    const perMinute = elapsed && done > 0 ? (done / elapsed) * 60000 : null;
    const left = this.total - done;
    const eta = !this.isFinished && perMinute && left > 0 ? (left / perMinute) * 60000 : null;
    return { startedAt: this.startedAt, finishedAt: this.isFinished ? this.finishedAt : null, elapsed, perMinute, eta };
  }
}

/** The rules of the events, for one loaded task. */
function applyToTask(task, ev) {
  const at = num(ev.at_ms);
  switch (ev.kind) {
    case "queued":
      task.status = "queued";
      break;
    case "requeued":
      task.status = "queued";
      task.step = null;
      task.retryAt = null;
      task.note = ev.reason ? { kind: "requeued", reason: String(ev.reason) } : null;
      break;
    case "started":
      task.status = "running";
      task.attempts = num(ev.attempt) ?? task.attempts + 1;
      task.startedAt = at ?? task.startedAt;
      task.finishedAt = null;
      task.step = null;
      task.retryAt = null;
      // A new attempt copies from scratch as far as the counters go.
      task.blobsDone = 0;
      task.imagesDone = 0;
      task.imagesTotal = null;
      // A retry's error stays visible (as a note) while the next attempt runs.
      if (task.note?.kind !== "retry") task.note = null;
      break;
    case "waiting":
      // Held by its worker (e.g. Docker Hub's pull limit): still in flight, with the reason.
      if (TERMINAL_TASK.has(task.status)) break;
      task.status = "running";
      task.step = null;
      task.retryAt = null;
      task.note = { kind: "waiting", reason: String(ev.reason ?? ""), until: num(ev.until_ms) };
      break;
    case "progress":
      if (!TERMINAL_TASK.has(task.status)) task.status = "running";
      if (task.note?.kind === "waiting") task.note = null;
      task.blobsDone = num(ev.blobs_done) ?? task.blobsDone;
      task.imagesDone = num(ev.images_done) ?? task.imagesDone;
      task.imagesTotal = num(ev.images_total) ?? task.imagesTotal;
      if (typeof ev.step === "string") task.step = ev.step;
      break;
    case "retrying": {
      task.status = "retrying";
      const attempt = num(ev.attempt);
      if (attempt !== null) task.attempts = Math.max(task.attempts, attempt);
      const delay = num(ev.delay_ms);
      task.retryAt = at !== null && delay !== null ? at + delay : null;
      task.note = { kind: "retry", attempt: attempt ?? task.attempts, error: String(ev.error ?? "") };
      task.step = null;
      break;
    }
    case "skipped":
    case "succeeded":
      task.status = ev.kind;
      task.digest = ev.digest ?? task.digest;
      // The same fields the task record gains, when the event carries them too.
      if (typeof ev.file === "string" && ev.file) task.file = ev.file;
      task.size = num(ev.size) ?? task.size;
      if (typeof ev.sha256 === "string" && ev.sha256) task.sha256 = ev.sha256;
      task.relatedCopied = num(ev.related_copied) ?? task.relatedCopied;
      task.relatedSkipped = num(ev.related_skipped) ?? task.relatedSkipped;
      task.unchecked = typeof ev.unchecked === "string" && ev.unchecked ? ev.unchecked : null;
      task.durationMs = num(ev.duration_ms);
      task.finishedAt = at ?? task.finishedAt;
      task.error = null;
      task.note = null;
      task.step = null;
      task.retryAt = null;
      break;
    case "cancelled":
      task.status = "cancelled";
      task.error = ev.by ? `cancelled by ${ev.by}` : task.error;
      task.finishedAt = at ?? task.finishedAt;
      task.note = null;
      task.step = null;
      task.retryAt = null;
      break;
    case "failed":
      task.status = "failed";
      task.error = ev.error != null ? String(ev.error) : task.error;
      task.finishedAt = at ?? task.finishedAt;
      task.note = null;
      task.step = null;
      task.retryAt = null;
      break;
    default:
      break; // a kind from a newer server: ignore rather than guess
  }
}
