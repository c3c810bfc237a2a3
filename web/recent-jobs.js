// The recent jobs under the sync form on the home page, each a link to its job view.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, fmtDateTime, fmtAgo, errorText } from "./ui.js";
import { statusLabel } from "./format.js";
import { destinationText } from "./destination.js";

let recent = null;
let recentError = null;
let recentLoading = false;
let recentTimer = 0;
/** Polling stops once the home page is left, also for a load that was under way. */
let onHome = false;
// While any listed job is still going, its badge would go stale; poll gently until none is.
const RECENT_POLL_MS = 10000;

async function loadRecent() {
  if (recentLoading) return;
  recentLoading = true;
  recentError = null;
  renderRecent();
  try {
    const list = await api.listJobs(20);
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    recent = list;
  } catch (err) {
    recentError = err;
  } finally {
    recentLoading = false;
  }
  renderRecent();
  clearTimeout(recentTimer);
  const active = recent?.some((j) => !["succeeded", "failed", "partial"].includes(j?.status));
  if (active && onHome) recentTimer = setTimeout(loadRecent, RECENT_POLL_MS);
}

export function renderRecent() {
  const status = $("recent-status");
  const list = $("recent-list");
  $("recent-refresh").disabled = recentLoading;
  if (recentError) status.textContent = t("recentLoadFailed", { error: errorText(recentError) });
  else if (recentLoading && !recent) status.textContent = t("recentLoading");
  else if (recent && recent.length === 0) status.textContent = t("recentEmpty");
  else status.textContent = "";
  status.classList.toggle("hint-error", !!recentError);

  list.replaceChildren();
  for (const j of recent ?? []) {
    if (!j || typeof j.id !== "string") continue;
    const c = j.counts ?? {};
    const done = (c.succeeded ?? 0) + (c.skipped ?? 0) + (c.failed ?? 0);
    const total = typeof j.total === "number" ? j.total : null;
    const chips = h("span", { class: "recent-counts" });
    for (const s of ["succeeded", "skipped", "failed", "running", "queued"]) {
      if (c[s] > 0) {
        chips.append(h("span", { class: `mini status-${s}`, title: statusLabel(s), text: `${statusLabel(s)} ${c[s]}` }));
      }
    }
    const created = h("time", { class: "muted", text: fmtAgo(j.created_at_ms) });
    if (j.created_at_ms) {
      created.setAttribute("datetime", new Date(j.created_at_ms).toISOString());
      created.title = fmtDateTime(j.created_at_ms);
    }
    const link = h(
      "a",
      { class: "recent-item", href: `/jobs/${encodeURIComponent(j.id)}` },
      h("span", { class: `badge status-${j.status}`, text: statusLabel(j.status) }),
      h(
        "span",
        { class: "recent-main" },
        h("span", { class: "recent-line" },
          h("strong", { text: destinationText(j) }),
          h("code", { class: "recent-id", text: j.id.slice(0, 8) }),
        ),
        h("span", { class: "recent-line muted" },
          total != null ? h("span", { text: `${done}/${t("recentImages", { n: total })}` }) : null,
          created,
        ),
      ),
      chips,
    );
    list.append(h("li", {}, link));
  }
}

$("recent-refresh").addEventListener("click", loadRecent);

export function enterRecent() {
  onHome = true;
  loadRecent();
}

export function leaveRecent() {
  onHome = false;
  clearTimeout(recentTimer);
  recentTimer = 0;
}
