// The dialog that adds or changes a webhook (admin): its format, URL, events, secret and
// whether it is enabled.
//
// The URL is never shown back in full: a chat robot's URL carries its access token, so the
// server only returns a shortened form. On edit an empty URL keeps the stored one, and the
// secret works like the registries' passwords: empty keeps it, "remove" clears it, and it
// only ever travels from the password input to the request body.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { h, errorText, field, checkbox, select, formDialog, setFieldError, fieldError } from "./ui.js";

export const FORMATS = ["generic", "dingtalk", "wecom", "feishu", "slack"];
export const EVENTS = ["job.finished", "job.failed", "rule.skipped"];
// The server's rule (the same as for rule names).
const NAME_RE = /^[A-Za-z0-9._-]{1,63}$/;
// Formats whose deliveries are signed with a secret; the others' URL carries the key, and
// the server refuses a secret for them.
const SIGNED = new Set(["generic", "dingtalk", "feishu"]);
let formSeq = 0;

export const formatLabel = (f) => (FORMATS.includes(f) ? t(`hookFormat_${f}`) : String(f ?? ""));
export const eventLabel = (e) => (EVENTS.includes(e) ? t(`hookEvent_${e.replace(".", "_")}`) : String(e ?? ""));

/** Opens the dialog for a new webhook (`hook` null) or an existing one; resolves with its name or null. */
export async function openWebhookForm(hook) {
  const editing = !!hook;
  const name = h("input", { type: "text", name: "webhook-name", autocomplete: "off", spellcheck: "false", maxlength: "63", required: true });
  const format = select(FORMATS.map((f) => [f, formatLabel(f)]), hook?.format ?? "generic");
  format.name = "webhook-format";
  const url = h("input", {
    type: "text", name: "webhook-url", inputmode: "url", autocomplete: "off", spellcheck: "false",
    placeholder: editing ? hook.url : "https://hooks.example.com/…",
  });
  const events = EVENTS.map((e) => {
    const box = checkbox(eventLabel(e), { checked: hook ? (hook.events ?? []).includes(e) : e !== "job.finished", name: `webhook-event-${e}` });
    box.input.value = e;
    return box;
  });
  const eventsErr = h("p", { class: "field-error", id: `webhook-events-err-${++formSeq}`, hidden: true });
  // Another system's secret: the browser must not offer to save or fill it.
  const secret = h("input", { type: "password", name: "webhook-secret", autocomplete: "new-password", value: "" });
  const clearSecret = editing && hook.has_secret ? checkbox(t("hookClearSecret"), { name: "webhook-clear-secret" }) : null;
  const enabled = checkbox(t("hookEnabledLabel"), { checked: hook ? !!hook.enabled : true, name: "webhook-enabled" });

  const secretField = field(t("hookSecretLabel"), secret, {
    optional: true,
    hint: !editing ? t("hookSecretHintNew") : hook.has_secret ? t("hookSecretHintKeep") : t("hookSecretHintNone"),
  });
  if (clearSecret) {
    secretField.append(clearSecret.label);
    clearSecret.input.addEventListener("change", () => {
      secret.disabled = clearSecret.input.checked;
      if (clearSecret.input.checked) secret.value = "";
    });
  }
  const formatHint = h("span");
  const syncFormat = () => {
    formatHint.textContent = t(`hookFormatHint_${format.value}`);
    secretField.hidden = !SIGNED.has(format.value);
  };
  format.addEventListener("change", syncFormat);
  syncFormat();
  for (const el of [name, url, secret]) el.addEventListener("input", () => setFieldError(el, null));

  const content = [
    editing ? null : field(t("hookNameLabel"), name, { hint: t("hookNameHint") }),
    field(t("hookFormatLabel"), format, { hint: formatHint, error: false }),
    field(t("hookUrlLabel"), url, { hint: editing ? t("hookUrlHintKeep") : t("hookUrlHint") }),
    h("fieldset", { class: "webhook-events", "aria-describedby": eventsErr.id },
      h("legend", { text: t("hookEventsLabel") }),
      ...events.map((e) => e.label),
      eventsErr),
    secretField,
    h("div", { class: "check-block" }, enabled.label),
  ].filter(Boolean);

  let saved = null;
  const ok = await formDialog({
    title: editing ? t("hookEditTitle", { name: hook.name }) : t("hookCreateTitle"),
    submitText: editing ? t("save") : t("hookCreateSubmit"),
    content,
    onSubmit: async () => {
      const chosen = events.filter((e) => e.input.checked).map((e) => e.input.value);
      const v = { name: name.value.trim(), url: url.value.trim() };
      for (const el of [name, url, secret]) setFieldError(el, null);
      eventsErr.hidden = true;
      let bad = null;
      if (!editing && !NAME_RE.test(v.name)) {
        setFieldError(name, v.name ? t("hookErrName") : t("hookErrNoName"));
        bad ??= name;
      }
      if (!editing && !v.url) {
        setFieldError(url, t("hookErrNoUrl"));
        bad ??= url;
      }
      if (!chosen.length) {
        eventsErr.textContent = t("hookErrNoEvents");
        eventsErr.hidden = false;
        bad ??= events[0].input;
      }
      if (bad) {
        bad.focus();
        throw fieldError();
      }
      const body = { format: format.value, events: chosen, enabled: enabled.input.checked };
      if (v.url) body.url = v.url;
      if (!SIGNED.has(format.value)) {
        // Nothing to send: the server keeps no secret for these formats.
      } else if (clearSecret?.input.checked) body.clear_secret = true;
      else if (secret.value) body.secret = secret.value;
      try {
        if (editing) await api.updateWebhook(hook.name, body);
        else await api.createWebhook({ name: v.name, ...body });
      } catch (err) {
        if (!editing && err instanceof ApiError && err.status === 409) {
          setFieldError(name, errorText(err));
          name.focus();
          throw fieldError();
        }
        // "`url`: not a URL (...)": shown under the field it names.
        const named = err instanceof ApiError && err.status === 400 ? /^`(\w+)`:\s*(.+)$/s.exec(err.body?.error ?? "") : null;
        const el = named && { name, url, secret }[named[1]];
        if (!el || !document.contains(el)) throw err;
        setFieldError(el, named[2]);
        el.focus();
        throw fieldError();
      }
      secret.value = ""; // sent: not kept on the page
      saved = editing ? hook.name : v.name;
      return true;
    },
  });
  secret.value = "";
  return ok ? saved : null;
}
