// One job as a row of the Jobs table (a card on phones, through each cell's data-label):
// its link, status, age, target, image counts with a small bar, who started it, duration.

import { t } from "./i18n.js";
import { h, fmtDateTime, fmtAgo } from "./ui.js";
import { statusLabel, fmtDuration } from "./format.js";
import { triggerText } from "./trigger.js";
import { destinationText } from "./destination.js";

function cell(labelKey, ...content) {
  return h("td", { role: "cell", "data-label": t(labelKey) }, ...content);
}

export function row(j) {
  const href = `/jobs/${encodeURIComponent(j.id)}`;
  const created = j.created_at_ms
    ? h("time", { datetime: new Date(j.created_at_ms).toISOString(), title: fmtDateTime(j.created_at_ms), text: fmtAgo(j.created_at_ms) })
    : h("span", { class: "muted", text: "—" });
  return h("tr", { role: "row", "data-job": j.id },
    cell("jobsColJob", h("a", { href, class: "job-link", "aria-label": t("jobsOpen", { id: j.id.slice(0, 8) }) }, h("code", { text: j.id.slice(0, 8) }))),
    cell("jobsColStatus", h("span", { class: `badge status-${j.status}`, text: statusLabel(j.status) })),
    cell("jobsColCreated", created),
    cell("jobsColTarget", h("span", { class: "break" }, h("strong", { text: destinationText(j) }), j.namespace ? h("span", { class: "muted", text: ` / ${j.namespace}` }) : null)),
    cell("jobsColImages", images(j)),
    cell("jobsColBy", h("span", { class: "break", text: triggerText(j.trigger) })),
    cell("jobsColDuration", duration(j)),
  );
}

// Symbols keep the counts short; each carries its word for screen readers and as a tooltip.
const MARKS = [["succeeded", "✓"], ["skipped", "↷"], ["failed", "✗"], ["cancelled", "⊘"], ["running", "▶"], ["queued", "…"]];

function images(j) {
  const c = j.counts ?? {};
  const total = typeof j.total === "number" ? j.total : 0;
  const counts = h("span", { class: "jobs-counts" }, h("span", { class: "jobs-total", text: t("recentImages", { n: total }) }));
  const bar = h("span", { class: "jobs-bar", "aria-hidden": "true" });
  for (const [s, mark] of MARKS) {
    const n = c[s] ?? 0;
    if (n <= 0) continue;
    counts.append(h("span", { class: `jobs-count count-${s}`, title: statusLabel(s) },
      h("span", { "aria-hidden": "true", text: `${n} ${mark}` }), h("span", { class: "sr-only", text: `${statusLabel(s)} ${n}` })));
    if (total <= 0) continue;
    // Through the CSSOM: the CSP refuses style attributes.
    const seg = h("span", { class: `seg seg-${s}` });
    seg.style.width = `${(100 * n) / total}%`;
    bar.append(seg);
  }
  return h("span", { class: "jobs-images" }, counts, total > 0 ? bar : null);
}

function duration(j) {
  if (!j.started_at_ms) return h("span", { class: "muted", text: "—" });
  if (j.finished_at_ms) return h("span", { class: "nowrap", text: fmtDuration(j.finished_at_ms - j.started_at_ms) });
  return h("span", { class: "nowrap muted", text: t("jobsRunningFor", { d: fmtDuration(Date.now() - j.started_at_ms) }) });
}
