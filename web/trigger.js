// Who or what started a job, in words: the job page and the Jobs list say it the same way.

import { t } from "./i18n.js";

export function triggerText(trigger) {
  if (!trigger) return "—";
  const user = trigger.user ?? "";
  switch (trigger.kind) {
    case "token":
      return t("triggerToken", { user, token: trigger.token ?? "" });
    case "schedule":
      return t("triggerSchedule", { rule: trigger.rule ?? "" });
    case "run_now":
      return t("triggerRunNow", { user, rule: trigger.rule ?? "" });
    default:
      return user || "—";
  }
}
