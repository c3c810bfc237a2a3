// What the rules list (rules.js) and one rule's page (rule-view.js) show alike: the source
// badge, the schedule, a run's outcome, and the "Run now" and "Delete" actions.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { h, errorText, fmtDateTime, timeAgo, confirmDialog, toast, navigate } from "./ui.js";
import { statusLabel } from "./format.js";
import { handOffJob } from "./job-view.js";
import { canSubmit } from "./session.js";

export const isFileRule = (r) => r.source === "file";

/** Operators change the api's rules; rules.yaml's only in the file. */
export const canChange = (r) => canSubmit() && !isFileRule(r);

/**
 * The page of a rule. The server answers a path whose last part has a dot with a plain 404
 * (it looks like a missing file), and rule names may have dots: those get a trailing slash,
 * so a reload or a shared link still reaches the page.
 */
export function rulePath(name) {
  return `/rules/${encodeURIComponent(name)}${name.includes(".") ? "/" : ""}`;
}

export function sourceBadge(r) {
  return isFileRule(r)
    ? h("span", { class: "badge badge-file", title: t("ruleFileHint"), text: t("ruleSource_file") })
    : h("span", { class: "badge badge-api", title: t("ruleApiHint"), text: t("ruleSource_api") });
}

/** "0 3 * * * (Asia/Shanghai)", or "manual" for a rule without a schedule. */
export function scheduleCell(r) {
  const s = r.schedule;
  if (!s) return h("span", { class: "muted", text: t("ruleManual") });
  return h("div", { class: "rule-schedule" },
    h("code", { text: s.cron }),
    h("span", { class: "rule-sub muted", text: s.timezone || "UTC" }),
    s.missed === "skip" ? h("span", { class: "rule-sub muted", text: t("ruleMissedSkipShort") }) : null);
}

export function enabledBadge(r) {
  return r.enabled
    ? h("span", { class: "badge status-succeeded", text: t("ruleEnabled") })
    : h("span", { class: "badge badge-off", text: t("ruleDisabled") });
}

/** The next fire in local time; why there is none when the rule has a schedule. */
export function nextFireCell(r) {
  if (r.next_fire_ms != null) {
    return h("time", { datetime: new Date(r.next_fire_ms).toISOString(), text: fmtDateTime(r.next_fire_ms) });
  }
  const why = !r.schedule ? "" : !r.enabled ? t("ruleNextDisabled") : t("ruleNextNone");
  return h("span", { class: "muted", text: why || "—" });
}

/** "Run now by alice" / "Schedule". */
export function triggerText(run) {
  if (run.trigger === "run_now") return run.user ? t("ruleTriggerRunNowBy", { user: run.user }) : t("ruleTriggerRunNow");
  return t("ruleTriggerSchedule");
}

/**
 * What a run did: its job (linked, with the job's status when known) or why it was skipped.
 * `status` is the job's status; the runs of one rule carry it as `job_status`.
 */
export function outcome(run, status) {
  if (!run) return h("span", { class: "muted", text: t("ruleNeverRun") });
  const parts = [];
  if (run.job) {
    // A job id is a UUID: its first part tells runs apart, the tooltip has the rest.
    parts.push(h("a", {
      href: `/jobs/${encodeURIComponent(run.job)}`, class: "rule-job-link", title: run.job,
      text: t("ruleJobLink", { id: run.job.split("-")[0] }),
    }));
    if (status) parts.push(h("span", { class: `badge status-${status}`, text: statusLabel(status) }));
  } else if (run.skipped) {
    const kind = ["still_running", "missed", "invalid"].includes(run.skipped) ? t(`ruleSkipped_${run.skipped}`) : run.skipped;
    parts.push(h("span", { class: "badge status-skipped", text: t("ruleSkipped") }),
      h("span", { class: "rule-skip-reason", text: run.reason ? `${kind}: ${run.reason}` : kind }));
  }
  if (run.missed) parts.push(h("span", { class: "rule-sub muted", text: t("ruleMissedCount", { n: run.missed }) }));
  return h("div", { class: "rule-outcome" }, ...parts);
}

/** A run's time: how long ago, the full date under it (runs are compared by date). */
export function runTime(run) {
  return h("div", {}, timeAgo(run.at_ms),
    h("div", { class: "rule-sub muted", text: fmtDateTime(run.at_ms) }));
}

/** Start a job now and go to its page; a run still going (409) is said in a toast. */
export async function runNow(r, button) {
  if (button) {
    button.disabled = true;
    button.classList.add("is-busy");
  }
  try {
    const job = await api.runRule(r.name);
    if (!job || typeof job.id !== "string") throw new ApiError(202, t("errBadResponse"));
    handOffJob(job);
    navigate(`/jobs/${encodeURIComponent(job.id)}`);
  } catch (err) {
    if (err.handled) return;
    toast(t("ruleRunFailed", { name: r.name, error: errorText(err) }));
  } finally {
    if (button) {
      button.disabled = false;
      button.classList.remove("is-busy");
    }
  }
}

/** The rule saved again with only `enabled` changed; resolves true once saved. */
export async function setEnabled(r, enabled, button) {
  button.disabled = true;
  button.classList.add("is-busy");
  const body = { images: r.images, replace_level: r.replace_level, enabled };
  // An export rule has `export` and no `target`; the api refuses a body with both.
  for (const key of ["target", "export", "with_signatures", "namespace", "platform", "description", "schedule"]) {
    if (r[key] != null && !(key === "target" && r.export)) body[key] = r[key];
  }
  try {
    await api.updateRule(r.name, body);
    toast(t(enabled ? "ruleEnabled" : "ruleDisabled", { name: r.name }));
    return true;
  } catch (err) {
    if (!err.handled) toast(t("ruleSaveFailed", { name: r.name, error: errorText(err) }));
    return false;
  } finally {
    button.disabled = false;
    button.classList.remove("is-busy");
  }
}

/** Ask, then delete; resolves true once the rule is gone. */
export async function deleteRule(r) {
  const ok = await confirmDialog({
    title: t("ruleDeleteTitle", { name: r.name }),
    message: t("ruleDeleteBody", { name: r.name }),
    confirmText: t("delete"),
    action: async () => {
      try {
        await api.deleteRule(r.name);
      } catch (err) {
        // Someone else deleted it first: what was asked for is done.
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    },
  });
  if (ok) toast(t("ruleDeleted", { name: r.name }));
  return ok;
}

/** The row buttons: Run now for operators, Edit and Delete for the api's rules. */
export function actionButtons(r, { onEdit, onDeleted, onChanged, small = true } = {}) {
  const box = h("div", { class: "row-actions" });
  if (!canSubmit()) return box;
  const plain = small ? "btn btn-ghost btn-small" : "btn btn-secondary";
  const danger = small ? "btn btn-danger-ghost btn-small" : "btn btn-danger";
  const btn = (key, text, label, onClick, cls = plain) => {
    const b = h("button", { type: "button", class: cls, "aria-label": label, "data-key": `${key}:${r.name}` },
      h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { text }));
    b.addEventListener("click", () => onClick(b));
    box.append(b);
  };
  btn("run", t("ruleRunNow"), t("ruleRunNamed", { name: r.name }), (b) => runNow(r, b));
  if (canChange(r)) {
    const toggle = r.enabled ? "ruleDisable" : "ruleEnable";
    btn("toggle", t(toggle), t(`${toggle}Named`, { name: r.name }), async (b) => {
      if (await setEnabled(r, !r.enabled, b)) onChanged?.(r);
    });
    btn("edit", t("edit"), t("ruleEditNamed", { name: r.name }), () => onEdit?.(r));
    btn("del", t("delete"), t("ruleDeleteNamed", { name: r.name }), async () => {
      if (await deleteRule(r)) onDeleted?.(r);
    }, danger);
  }
  return box;
}
