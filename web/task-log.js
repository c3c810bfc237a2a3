// A task's log, opened from its row: each attempt, the digest check, skopeo's lines and how
// it ended, with times (GET /api/jobs/{id}/tasks/{task}/log). Read when opened, and again at
// each opening: a running task's log grows.

import { t } from "./i18n.js";
import { api } from "./api.js";
import { h, errorText } from "./ui.js";

function time(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** The row's "Log" disclosure; `jobId` is read when it opens (the row outlives nothing). */
export function logToggle(jobId, taskId) {
  const body = h("pre", { class: "task-log-text" });
  const label = h("span", { class: "task-log-label" });
  const details = h("details", { class: "task-log" }, h("summary", {}, label), body);
  label.dataset.i18n = "taskLog";
  label.textContent = t("taskLog");
  details.addEventListener("toggle", async () => {
    if (!details.open) return;
    body.textContent = t("loading");
    try {
      const lines = await api.taskLog(jobId(), taskId);
      const list = Array.isArray(lines) ? lines : [];
      body.textContent = list.length
        ? list.map((l) => `${time(l.at_ms)}  ${l.line}`).join("\n")
        : t("taskLogEmpty");
    } catch (err) {
      if (!err.handled) body.textContent = t("loadFailed", { error: errorText(err) });
    }
  });
  return details;
}
