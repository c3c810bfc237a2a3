// /webhooks/<name> (admin): one webhook's deliveries, newest first, and "Send test". While a
// delivery is pending the list is asked again (soon for a new one, else around its next
// attempt), so a test's outcome or a retry's shows up without pressing Refresh; nothing is
// polled once all are settled.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, errorText, fmtDateTime, timeAgo } from "./ui.js";
import { sendTest } from "./webhooks.js";

const POLL_MIN_MS = 2000;
// A retry's backoff can be long; the page still looks now and then (a test sent elsewhere).
const POLL_MAX_MS = 30000;
const STATUS_CLASS = { pending: "status-queued", delivered: "status-succeeded", failed: "status-failed" };

let name = null;
let deliveries = null;
let loadError = null;
let seq = 0;
let timer = 0;

export function enterWebhook(hookName) {
  name = hookName;
  deliveries = null;
  loadError = null;
  renderWebhook();
  load();
}

export function leaveWebhook() {
  seq += 1;
  clearTimeout(timer);
}

export function webhookTitle() {
  return name ? t("hookTitleNamed", { name }) : t("webhooksTitle");
}

async function load() {
  clearTimeout(timer);
  const mine = ++seq;
  try {
    const list = await api.webhookDeliveries(name);
    if (mine !== seq) return;
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    deliveries = list.filter((d) => d && typeof d.id === "string");
    loadError = null;
  } catch (err) {
    if (mine !== seq || err.handled) return;
    loadError = err;
  }
  renderWebhook();
  const pending = (deliveries ?? []).filter((d) => d.status === "pending");
  if (pending.length) {
    const soonest = Math.min(...pending.map((d) => d.next_attempt_at_ms ?? 0)) - Date.now();
    timer = setTimeout(load, Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, soonest + 500)));
  }
}

$("webhook-refresh").addEventListener("click", () => load());
$("webhook-test").addEventListener("click", async () => {
  if (await sendTest(name, $("webhook-test"))) load();
});

export function renderWebhook() {
  $("webhook-title").textContent = name ? t("hookTitleNamed", { name }) : "";
  const status = $("deliveries-status");
  status.classList.toggle("hint-error", !!loadError);
  if (loadError?.status === 404) status.textContent = t("hookNotFound");
  else if (loadError) status.textContent = t("loadFailed", { error: errorText(loadError) });
  else if (deliveries === null) status.textContent = t("loading");
  else if (deliveries.length === 0) status.textContent = t("deliveriesEmpty");
  else status.textContent = "";
  $("webhook-test").hidden = loadError?.status === 404;
  $("deliveries-table").hidden = !deliveries?.length;
  $("deliveries-body").replaceChildren(...(deliveries ?? []).map(deliveryRow));
}

function deliveryRow(d) {
  const statusText = ["pending", "delivered", "failed"].includes(d.status) ? t(`delivery_${d.status}`) : String(d.status ?? "");
  const none = () => h("span", { class: "muted", text: "—" });
  return h("tr", { role: "row", class: `delivery-${d.status}` },
    cell("colCreated", h("div", {}, timeAgo(d.created_at_ms),
      h("div", { class: "rule-sub muted", text: fmtDateTime(d.created_at_ms) }))),
    cell("colEvent", h("code", { text: d.event ?? "" })),
    cell("colStatus", h("div", {},
      h("span", { class: `badge ${STATUS_CLASS[d.status] ?? ""}`, text: statusText }),
      d.delivered_at_ms != null ? h("div", { class: "rule-sub muted", text: fmtDateTime(d.delivered_at_ms) }) : null)),
    cell("colAttempts", String(d.attempts ?? 0)),
    cell("colLastCode", d.last_code != null ? h("code", { text: String(d.last_code) }) : none()),
    cell("colLastError", d.last_error ? h("span", { class: "delivery-error", text: d.last_error }) : none()),
    cell("colNextAttempt", d.next_attempt_at_ms != null ? fmtDateTime(d.next_attempt_at_ms) : none()));
}

function cell(labelKey, content) {
  return h("td", { role: "cell", "data-label": t(labelKey) }, content);
}
