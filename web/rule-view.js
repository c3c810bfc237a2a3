// /rules/<name>: one sync rule, its fields, its next and last fire, and its runs (newest
// first, the server keeps the last 100): each run's job with the job's status, or why the
// fire was skipped.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, errorText, fmtDateTime, timeAgo, toast, navigate } from "./ui.js";
import { openRuleForm } from "./rule-form.js";
import { destinationText } from "./destination.js";
import {
  sourceBadge, scheduleCell, enabledBadge, nextFireCell, outcome, actionButtons, triggerText, runTime,
} from "./rule-parts.js";

let name = null;
let rule = null; // null: not loaded
let loadError = null;
let seq = 0;

export function enterRule(ruleName) {
  name = ruleName;
  rule = null;
  loadError = null;
  renderRule();
  load();
}

export function leaveRule() {
  seq += 1;
}

export function ruleTitle() {
  return name ? t("ruleTitleNamed", { name }) : t("ruleTitle");
}

async function load() {
  const mine = ++seq;
  loadError = null;
  $("rule-refresh").disabled = true;
  try {
    const r = await api.getRule(name);
    if (mine !== seq) return;
    if (!r || typeof r.name !== "string") throw new ApiError(200, t("errBadResponse"));
    rule = r;
  } catch (err) {
    if (mine !== seq || err.handled) return;
    loadError = err;
  }
  $("rule-refresh").disabled = false;
  renderRule();
}

$("rule-refresh").addEventListener("click", () => load());

export function renderRule() {
  $("rule-name").textContent = name ?? "";
  const status = $("rule-status");
  status.classList.toggle("hint-error", !!loadError);
  if (loadError?.status === 404) status.textContent = t("ruleNotFound");
  else if (loadError) status.textContent = t("loadFailed", { error: errorText(loadError) });
  else status.textContent = rule ? "" : t("loading");
  $("rule-details").hidden = !rule;
  $("rule-runs-card").hidden = !rule;
  if (!rule) {
    $("rule-badges").replaceChildren();
    $("rule-actions").replaceChildren();
    return;
  }
  const r = rule;
  $("rule-badges").replaceChildren(sourceBadge(r), enabledBadge(r));
  const focusKey = document.activeElement?.dataset?.key;
  $("rule-actions").replaceChildren(actionButtons(r, {
    small: false,
    onEdit: async () => {
      if (await openRuleForm(r)) {
        toast(t("ruleSaved", { name: r.name }));
        load();
      }
    },
    onChanged: () => load(),
    onDeleted: () => navigate("/rules", { replace: true }),
  }));
  if (focusKey) $("rule-actions").querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();

  const item = (key, value) => [h("dt", { text: t(key) }), h("dd", {}, value)];
  const code = (text) => h("code", { text });
  const none = () => h("span", { class: "muted", text: "—" });
  $("rule-fields").replaceChildren(
    ...(r.description ? item("ruleDescriptionLabel", r.description) : []),
    ...item("colRuleTarget", code(destinationText(r))),
    ...(r.with_signatures ? item("withSignaturesShort", t("yes")) : []),
    ...item("levelLabel", t(`level_${r.replace_level}`)),
    ...item("namespaceLabel", r.namespace ? code(r.namespace) : h("span", { class: "muted", text: t("ruleNsDefault") })),
    ...item("platformLabel", r.platform ? code(r.platform) : t("platformAll")),
    ...item("colSchedule", scheduleCell(r)),
    ...item("colNextFire", nextFireCell(r)),
    ...item("ruleLastFire", r.last_fire_ms != null ? fmtDateTime(r.last_fire_ms) : none()),
    ...item("colUpdated", r.source === "file"
      ? h("span", { class: "muted", text: "rules.yaml" })
      : h("span", {}, timeAgo(r.updated_at_ms), r.updated_by ? ` · ${t("regUpdatedBy", { user: r.updated_by })}` : "")),
  );
  $("rule-images").textContent = r.images;

  const runs = Array.isArray(r.runs) ? r.runs : [];
  $("rule-runs-empty").hidden = runs.length > 0;
  $("rule-runs-table").hidden = runs.length === 0;
  $("rule-runs-body").replaceChildren(...runs.map((run) => h("tr", { role: "row" },
    cell("colTime", runTime(run)),
    cell("colTrigger", h("span", { text: triggerText(run) })),
    cell("colOutcome", outcome(run, run.job_status)))));
}

function cell(labelKey, content) {
  return h("td", { role: "cell", "data-label": t(labelKey) }, content);
}
