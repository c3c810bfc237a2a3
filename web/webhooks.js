// /webhooks (admin): where the service reports finished jobs and skipped scheduled runs, a
// test delivery per webhook, and dialogs (webhook-form.js) to add, edit and delete them.
// Each webhook's deliveries are on its own page (webhook-view.js).

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, errorText, confirmDialog, toast, navigate } from "./ui.js";
import { openWebhookForm, formatLabel, eventLabel } from "./webhook-form.js";
import { listPage } from "./list-page.js";

const page = listPage({
  prefix: "webhooks",
  fetch: () => api.listWebhooks(),
  keep: (w) => w && typeof w.name === "string",
  render: () => renderWebhooks(),
  emptyKey: "webhooksEmpty",
});


/** A webhook's page; a trailing slash when the name has a dot (see rulePath in rule-parts.js). */
export function webhookPath(name) {
  return `/webhooks/${encodeURIComponent(name)}${name.includes(".") ? "/" : ""}`;
}

/** Queue a `ping` delivery; says so in a toast. Resolves true when it was queued. */
export async function sendTest(name, button) {
  button.disabled = true;
  button.classList.add("is-busy");
  try {
    await api.testWebhook(name);
    toast(t("hookTestQueued", { name }));
    return true;
  } catch (err) {
    if (!err.handled) toast(t("hookTestFailed", { name, error: errorText(err) }));
    return false;
  } finally {
    button.disabled = false;
    button.classList.remove("is-busy");
  }
}

export function enterWebhooks() {
  page.enter();
}

export function leaveWebhooks() {
  page.leave();
}

$("webhooks-refresh").addEventListener("click", page.load);
$("webhook-create").addEventListener("click", async () => {
  const name = await openWebhookForm(null);
  if (!name) return;
  toast(t("hookCreated", { name }));
  page.load();
});

export function renderWebhooks() {
  page.showStatus();
  const focusKey = document.activeElement?.dataset?.key;
  const body = $("webhooks-body");
  body.replaceChildren(...(page.items ?? []).map(hookRow));
  if (focusKey) body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

function hookRow(w) {
  const actions = h("div", { class: "row-actions" });
  const btn = (key, text, label, onClick, cls = "btn btn-ghost btn-small") => {
    const b = h("button", { type: "button", class: cls, "aria-label": label, "data-key": `${key}:${w.name}` },
      h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { text }));
    b.addEventListener("click", () => onClick(b));
    actions.append(b);
  };
  btn("test", t("webhookTest"), t("hookTestNamed", { name: w.name }), (b) => sendTest(w.name, b));
  btn("deliveries", t("hookDeliveries"), t("hookDeliveriesNamed", { name: w.name }), () => navigate(webhookPath(w.name)));
  btn("edit", t("edit"), t("hookEditNamed", { name: w.name }), async () => {
    if (await openWebhookForm(w)) {
      toast(t("hookSaved", { name: w.name }));
      page.load();
    }
  });
  btn("del", t("delete"), t("hookDeleteNamed", { name: w.name }), () => deleteHook(w), "btn btn-danger-ghost btn-small");

  const events = h("ul", { class: "webhook-event-list" }, ...(w.events ?? []).map((e) => h("li", { title: e, text: eventLabel(e) })));
  return h("tr", { role: "row", class: w.enabled ? null : "is-disabled" },
    cell("colName", h("div", {},
      h("a", { href: webhookPath(w.name), class: "webhook-name", text: w.name }),
      w.updated_by ? h("div", { class: "rule-sub muted", text: t("regUpdatedBy", { user: w.updated_by }) }) : null)),
    cell("colFormat", formatLabel(w.format)),
    cell("colUrl", h("code", { class: "webhook-url", text: w.url ?? "" })),
    cell("colEvents", events),
    cell("colEnabled", w.enabled
      ? h("span", { class: "badge status-succeeded", text: t("ruleEnabled") })
      : h("span", { class: "badge badge-off", text: t("ruleDisabled") })),
    cell("colSecret", h("span", { class: w.has_secret ? null : "muted", text: w.has_secret ? t("yes") : t("no") })),
    cell("colActions", actions, "cell-actions"));
}

function cell(labelKey, content, cls) {
  return h("td", { role: "cell", "data-label": t(labelKey), class: cls }, content);
}

async function deleteHook(w) {
  const ok = await confirmDialog({
    title: t("hookDeleteTitle", { name: w.name }),
    message: t("hookDeleteBody", { name: w.name }),
    confirmText: t("delete"),
    action: async () => {
      try {
        await api.deleteWebhook(w.name);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    },
  });
  if (!ok) return;
  page.drop((x) => x.name === w.name);
  renderWebhooks();
  toast(t("hookDeleted", { name: w.name }));
  $("webhook-create").focus();
  page.load();
}
