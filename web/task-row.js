// One task's row on the job page: its references, status, progress, notes, error and log.
// Built once per loaded task and redrawn only when that task's events change it.

import { t, coded } from "./i18n.js";
import { taskProgress } from "./job-state.js";
import { h } from "./ui.js";
import { fmtDuration, fmtBytes, shortDigest, setBadge, setRef } from "./format.js";
import { logToggle } from "./task-log.js";

/** A task row's elements; its log opens for `jobId()`'s task `taskId`. */
export function buildRow(taskId, jobId) {
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
  r.file = h("div", { class: "task-file muted" });
  r.related = h("div", { class: "task-related muted" });
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
    r.progress, r.step, r.note, r.info, r.file, r.related, r.errDetails, logToggle(jobId, taskId));
  return r;
}

/** Redraws a row from its task. */
export function updateRow(r, task) {
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
    const p = taskProgress(task);
    const known = p.total !== null;
    r.bar.classList.toggle("bar-indeterminate", !known);
    r.bar.setAttribute("aria-label", t("taskProgressLabel", { index: task.index + 1 }));
    if (known) {
      r.barFill.style.width = `${p.ratio * 100}%`;
      r.bar.setAttribute("aria-valuemax", String(p.total));
      r.bar.setAttribute("aria-valuenow", String(p.done));
    } else {
      r.barFill.style.width = "";
      r.bar.removeAttribute("aria-valuemax");
      r.bar.removeAttribute("aria-valuenow");
    }
    const parts = [t("taskBlobs", { n: p.blobs })];
    if (known) parts.push(t("taskImagesOf", { done: p.done, total: p.total }));
    else if (p.done > 0) parts.push(t("taskImages", { n: p.done }));
    r.progressText.textContent = parts.join(" · ");
    // A screen reader hears the same figures the text shows, not a bare percentage.
    r.bar.setAttribute("aria-valuetext", r.progressText.textContent);
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
  } else if (s === "succeeded" && task.unchecked) {
    // The fast path was lost: say so, and why, so the setting can be fixed.
    r.note.textContent = t("taskUnchecked", { reason: task.unchecked });
    r.note.hidden = false;
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

  // An export task's archive, once written: the file in the bundle and its size.
  r.file.hidden = !task.file;
  r.file.textContent = task.file
    ? t("taskFile", { file: task.file, size: fmtBytes(task.size) })
    : "";
  r.file.title = task.sha256 ? `sha256:${task.sha256}` : "";
  const hasRelated = task.relatedCopied != null || task.relatedSkipped != null;
  r.related.hidden = !hasRelated;
  r.related.textContent = hasRelated
    ? t("taskRelated", { copied: task.relatedCopied ?? 0, skipped: task.relatedSkipped ?? 0 })
    : "";

  // The failure (or, between attempts, the last attempt's failure) is collapsed to one
  // line; skopeo errors are long and the list must stay scannable.
  const errText = s === "failed" ? task.error : s === "retrying" || s === "running" ? task.note?.error : null;
  r.errDetails.hidden = !errText;
  if (errText) {
    r.errDetails.classList.toggle("is-warning", s !== "failed");
    r.errDetails.querySelector(".error-label").textContent =
      s === "failed" ? t("taskShowError") : t("taskRetryFailed", { n: task.note?.attempt ?? task.attempts });
    const firstLine = errText.split("\n")[0];
    r.errSummaryText.textContent =
      s === "failed" && task.errorCode ? coded(`task_${task.errorCode}`, {}, firstLine) : firstLine;
    r.errPre.textContent = errText;
  }
}

/** The countdown to the next attempt, or "" once it is due (or unknown). */
export function retryText(task) {
  if (task.retryAt == null) return "";
  const s = Math.ceil((task.retryAt - Date.now()) / 1000);
  return s > 0 ? t("taskRetryIn", { s }) : "";
}

