// /rules: every sync rule (rules.yaml's, read-only, and the api's), with its schedule, next
// fire and last run. Everyone signed in reads them; operators make, change, run and delete.
// The dialog is rule-form.js; what a row shows is shared with one rule's page (rule-parts.js).

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, errorText, toast } from "./ui.js";
import { canSubmit } from "./session.js";
import { openRuleForm } from "./rule-form.js";
import {
  rulePath, sourceBadge, scheduleCell, enabledBadge, nextFireCell, outcome, actionButtons,
} from "./rule-parts.js";

let rules = null; // null: not loaded
/** job id -> status, for the last runs' badges (the list of rules carries no job status). */
let loadError = null;
let loading = false;
let seq = 0;

export function enterRules() {
  rules = null;
  loadError = null;
  renderRules();
  load();
}

export function leaveRules() {
  seq += 1; // answers still on their way are dropped
  loading = false;
}

async function load() {
  if (loading) return;
  const mine = ++seq;
  loading = true;
  loadError = null;
  renderRules();
  try {
    const list = await api.listRules();
    if (mine !== seq) return;
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    rules = list.filter((r) => r && typeof r.name === "string");
  } catch (err) {
    if (mine !== seq || err.handled) return;
    loadError = err;
  } finally {
    if (mine === seq) loading = false;
  }
  if (mine === seq) renderRules();
}

$("rules-refresh").addEventListener("click", load);
$("rule-create").addEventListener("click", async () => {
  const name = await openRuleForm(null);
  if (!name) return;
  toast(t("ruleCreated", { name }));
  load();
});

export function renderRules() {
  const status = $("rules-status");
  $("rules-refresh").disabled = loading;
  $("rule-create").hidden = !canSubmit();
  status.classList.toggle("hint-error", !!loadError);
  if (loadError) status.textContent = t("loadFailed", { error: errorText(loadError) });
  else if (rules === null) status.textContent = t("loading");
  else if (rules.length === 0) status.textContent = t("rulesEmpty");
  else status.textContent = "";
  $("rules-table").hidden = !rules?.length;

  const focusKey = document.activeElement?.dataset?.key;
  const body = $("rules-body");
  body.replaceChildren(...(rules ?? []).map(ruleRow));
  if (focusKey) body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

function ruleRow(r) {
  const who = h("div", { class: "rule-cell" },
    h("div", { class: "rule-cell-name" },
      h("a", { href: rulePath(r.name), class: "rule-name", text: r.name }),
      sourceBadge(r)),
    r.description ? h("p", { class: "rule-desc muted", text: r.description }) : null);
  const target = h("div", {}, h("code", { text: r.target }),
    r.namespace ? h("div", { class: "rule-sub muted", text: `${t("namespaceLabel")}: ${r.namespace}` }) : null);
  const actions = actionButtons(r, {
    onEdit: async () => {
      if (await openRuleForm(r)) {
        toast(t("ruleSaved", { name: r.name }));
        load();
      }
    },
    onChanged: () => load(),
    onDeleted: () => {
      rules = (rules ?? []).filter((x) => x.name !== r.name);
      renderRules();
      $("rule-create").focus();
      load();
    },
  });
  const last = r.last_run;
  return h("tr", { role: "row", class: r.enabled ? null : "is-disabled" },
    cell("colName", who),
    cell("colRuleTarget", target),
    cell("colSchedule", scheduleCell(r)),
    cell("colEnabled", enabledBadge(r)),
    cell("colNextFire", nextFireCell(r)),
    cell("colLastRun", outcome(last, last?.job_status)),
    cell("colActions", actions, "cell-actions"));
}

function cell(labelKey, content, cls) {
  return h("td", { role: "cell", "data-label": t(labelKey), class: cls }, content);
}
