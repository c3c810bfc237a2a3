// /rules: every sync rule (rules.yaml's, read-only, and the api's), with its schedule, next
// fire and last run. Everyone signed in reads them; operators make, change, run and delete.
// The dialog is rule-form.js; what a row shows is shared with one rule's page (rule-parts.js).

import { t } from "./i18n.js";
import { api } from "./api.js";
import { $, h, toast } from "./ui.js";
import { canSubmit } from "./session.js";
import { openRuleForm } from "./rule-form.js";
import { destinationText } from "./destination.js";
import {
  rulePath, sourceBadge, scheduleCell, enabledBadge, nextFireCell, outcome, actionButtons,
} from "./rule-parts.js";
import { listPage } from "./list-page.js";

const page = listPage({
  prefix: "rules",
  fetch: () => api.listRules(),
  keep: (r) => r && typeof r.name === "string",
  render: () => renderRules(),
  emptyKey: "rulesEmpty",
});


export function enterRules() {
  page.enter();
}

export function leaveRules() {
  page.leave();
}

$("rules-refresh").addEventListener("click", page.load);
$("rule-create").addEventListener("click", async () => {
  const name = await openRuleForm(null);
  if (!name) return;
  toast(t("ruleCreated", { name }));
  page.load();
});

export function renderRules() {
  page.showStatus();
  $("rule-create").hidden = !canSubmit();

  const focusKey = document.activeElement?.dataset?.key;
  const body = $("rules-body");
  body.replaceChildren(...(page.items ?? []).map(ruleRow));
  if (focusKey) body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

function ruleRow(r) {
  const who = h("div", { class: "rule-cell" },
    h("div", { class: "rule-cell-name" },
      h("a", { href: rulePath(r.name), class: "rule-name", text: r.name }),
      sourceBadge(r)),
    r.description ? h("p", { class: "rule-desc muted", text: r.description }) : null);
  const target = h("div", {}, h("code", { text: destinationText(r) }),
    r.with_signatures ? h("div", { class: "rule-sub muted", text: t("withSignaturesShort") }) : null,
    r.namespace ? h("div", { class: "rule-sub muted", text: `${t("namespaceLabel")}: ${r.namespace}` }) : null);
  const actions = actionButtons(r, {
    onEdit: async () => {
      if (await openRuleForm(r)) {
        toast(t("ruleSaved", { name: r.name }));
        page.load();
      }
    },
    onChanged: () => page.load(),
    onDeleted: () => {
      page.drop((x) => x.name === r.name);
      renderRules();
      $("rule-create").focus();
      page.load();
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
