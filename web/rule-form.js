// The dialog that makes or changes a sync rule: the sync form's fields (images, target or an
// export with its format, replacement level, namespace, platform, with signatures) plus a
// description, whether it is enabled, and a schedule. Used by the rules list and by one
// rule's page.
//
// The server checks everything (the same checks as rules.yaml's); its 400 names the key
// (`schedule.cron`: ...), which is shown under that field, or lists bad image lines, which
// are shown one by one above the buttons like the sync form shows them.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { h, errorText, field, checkbox, select, formDialog, setFieldError, fieldError } from "./ui.js";
import {
  EXPORT_TARGET, EXPORT_FORMATS, needsPlatform, formatLabel, destinationBody, targetChoice, exportFormat,
} from "./destination.js";

// The server's rule for rule names (common/src/rules/spec.rs, check_name).
const NAME_RE = /^[A-Za-z0-9._-]{1,63}$/;
const LEVELS = ["skip", "all", "1", "2", "3"];
// The sync form's examples, so an option reads the same in both places.
const LEVEL_EXAMPLES = { skip: "a/b/c/img", all: "img", 1: "b/c/img", 2: "c/img", 3: "img" };

const textInput = (value, extra = {}) => h("input", {
  type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false", value: value ?? "", ...extra,
});

/** The registries a rule can target, as select options; the current target kept if gone. */
async function targetOptions(current) {
  let names = [];
  try {
    const list = await api.registries();
    if (Array.isArray(list)) names = list.filter((r) => r && typeof r.name === "string").map((r) => r.name);
  } catch (err) {
    if (err.handled) throw err;
    // The select then holds only the current target; the server still checks the name.
  }
  if (current && current !== EXPORT_TARGET && !names.includes(current)) names.unshift(current);
  return [...names.map((n) => [n, n]), [EXPORT_TARGET, t("targetExport")]];
}

/**
 * Opens the dialog for a new rule (`rule` null) or for an api rule. Resolves with the
 * saved rule's name, or null when cancelled.
 */
export async function openRuleForm(rule) {
  const editing = !!rule;
  const name = textInput("", { name: "rule-name", maxlength: "63", required: true });
  const images = h("textarea", {
    name: "rule-images", rows: "6", wrap: "off", spellcheck: "false", autocapitalize: "off",
    autocomplete: "off", class: "rule-images", placeholder: t("imagesPlaceholder"),
  });
  images.value = rule?.images ?? "";
  const chosen = targetChoice(rule);
  const target = select(await targetOptions(chosen), chosen || null);
  target.name = "rule-target";
  const format = select(EXPORT_FORMATS.map((f) => [f, formatLabel(f)]), exportFormat(rule) ?? EXPORT_FORMATS[0]);
  format.name = "rule-export-format";
  const formatHint = h("span");
  const signatures = checkbox(t("withSignaturesLabel"), { checked: !!rule?.with_signatures, name: "rule-with-signatures" });
  const level = select(LEVELS.map((k) => [k, t("levelOption", { name: t(`level_${k}`), example: `ns/${LEVEL_EXAMPLES[k]}` })]),
    rule?.replace_level ?? "skip");
  level.name = "rule-level";
  const ns = textInput(rule?.namespace, { name: "rule-namespace" });
  const platform = textInput(rule?.platform, { name: "rule-platform", placeholder: "linux/amd64" });
  const description = textInput(rule?.description, { name: "rule-description", maxlength: "500" });
  const enabled = checkbox(t("ruleEnabledLabel"), { checked: rule ? !!rule.enabled : true, name: "rule-enabled" });
  const cron = textInput(rule?.schedule?.cron, { name: "rule-cron", placeholder: "0 3 * * *" });
  const zone = textInput(rule?.schedule?.timezone, { name: "rule-timezone", placeholder: "UTC" });
  const missed = select([["run", t("ruleMissed_run")], ["skip", t("ruleMissed_skip")]], rule?.schedule?.missed ?? "run");
  missed.name = "rule-missed";
  // What the lines expand to now, from the sync form's preview route: the same check a run does.
  const previewBox = h("div", { class: "rule-preview", id: "rule-preview-result", hidden: true, "aria-live": "polite" });
  const previewBtn = h("button", { type: "button", class: "btn btn-secondary", id: "rule-preview", text: t("preview") });
  previewBtn.addEventListener("click", async () => {
    previewBtn.disabled = true;
    previewBtn.textContent = t("previewing");
    const body = { images: images.value, ...destination(), replace_level: level.value };
    if (ns.value.trim()) body.namespace = ns.value.trim();
    if (platform.value.trim()) body.platform = platform.value.trim();
    try {
      renderRulePreview(previewBox, await api.previewJob(body));
    } catch (err) {
      if (err.handled) return;
      previewBox.replaceChildren(h("p", { class: "hint-error", text: errorText(err) }));
    } finally {
      previewBtn.disabled = false;
      previewBtn.textContent = t("preview");
      previewBox.hidden = false;
    }
  });
  // Bad image lines, as the sync form lists them: line, input, the server's message.
  const linesBox = h("div", { class: "alert alert-error rule-line-errors", role: "alert", tabindex: "-1", hidden: true });

  const destination = () => destinationBody({ target: target.value, format: format.value, withSignatures: signatures.input.checked });
  const formatField = field(t("exportFormatLabel"), format, { hint: formatHint });
  const signaturesBlock = h("div", { class: "check-block" }, signatures.label,
    h("p", { class: "hint check-hint", text: t("withSignaturesHint") }));
  // The choices that only make sense for one kind of destination follow the target.
  const showDestination = () => {
    const bundle = target.value === EXPORT_TARGET;
    formatField.hidden = !bundle;
    signaturesBlock.hidden = bundle;
    formatHint.textContent = t(`exportFormatHint_${format.value}`);
  };
  target.addEventListener("change", showDestination);
  format.addEventListener("change", showDestination);
  showDestination();

  const byKey = { name, images, target, "export.format": format, namespace: ns, platform, description, "schedule.cron": cron, "schedule.timezone": zone };
  const fields = Object.values(byKey);
  for (const el of fields) el.addEventListener("input", () => setFieldError(el, null));

  const content = [
    editing ? null : field(t("ruleNameLabel"), name, { hint: t("ruleNameHint") }),
    field(t("imagesLabel"), images, { hint: t("ruleImagesHint") }),
    h("div", { class: "form-grid rule-form-grid" },
      field(t("targetLabel"), target),
      formatField,
      field(t("levelLabel"), level),
      field(t("namespaceLabel"), ns, { optional: true, hint: t("namespaceHint") }),
      field(t("platformLabel"), platform, { optional: true, hint: t("rulePlatformHint") })),
    signaturesBlock,
    h("div", { class: "rule-preview-row" }, previewBtn),
    previewBox,
    field(t("ruleDescriptionLabel"), description, { optional: true }),
    h("div", { class: "check-block" }, enabled.label),
    h("fieldset", { class: "rule-schedule-fields" },
      h("legend", { text: t("ruleScheduleLegend") }),
      h("p", { class: "hint", text: t("ruleScheduleHint") }),
      h("div", { class: "form-grid rule-form-grid" },
        field(t("ruleCronLabel"), cron, { optional: true, hint: t("ruleCronHint") }),
        field(t("ruleTimezoneLabel"), zone, { optional: true, hint: t("ruleTimezoneHint") }),
        field(t("ruleMissedLabel"), missed, { hint: t("ruleMissedHint") }))),
    linesBox,
  ].filter(Boolean);

  let saved = null;
  const ok = await formDialog({
    title: editing ? t("ruleEditTitle", { name: rule.name }) : t("ruleCreateTitle"),
    submitText: editing ? t("save") : t("ruleCreateSubmit"),
    wide: true,
    content,
    onSubmit: async () => {
      for (const el of fields) setFieldError(el, null);
      linesBox.hidden = true;
      const v = { name: name.value.trim(), cron: cron.value.trim() };
      let bad = null;
      if (!editing && !NAME_RE.test(v.name)) {
        setFieldError(name, v.name ? t("ruleErrName") : t("ruleErrNoName"));
        bad ??= name;
      }
      if (!images.value.split("\n").some((l) => l.trim() && !l.trim().startsWith("#"))) {
        setFieldError(images, t("errNoImages"));
        bad ??= images;
      }
      if (!target.value) {
        setFieldError(target, t("errNoTarget"));
        bad ??= target;
      }
      if (target.value === EXPORT_TARGET && needsPlatform(format.value) && !platform.value.trim()) {
        setFieldError(platform, t("errExportPlatform"));
        bad ??= platform;
      }
      // Only the count: what a field may hold is the server's to say (croner's grammar).
      if (v.cron && v.cron.split(/\s+/).length !== 5) {
        setFieldError(cron, t("ruleErrCronFields"));
        bad ??= cron;
      }
      if (bad) {
        bad.focus();
        throw fieldError();
      }

      const body = {
        images: images.value,
        ...destination(),
        replace_level: level.value,
        enabled: enabled.input.checked,
      };
      // A full replacement: an emptied field is left out, which clears it.
      const opt = { namespace: ns, platform, description };
      for (const [key, el] of Object.entries(opt)) if (el.value.trim()) body[key] = el.value.trim();
      if (v.cron) {
        body.schedule = { cron: v.cron, missed: missed.value };
        if (zone.value.trim()) body.schedule.timezone = zone.value.trim();
      }
      try {
        if (editing) await api.updateRule(rule.name, body);
        else await api.createRule({ name: v.name, ...body });
      } catch (err) {
        throw showServerError(err, { byKey, linesBox, name: editing ? null : name });
      }
      saved = editing ? rule.name : v.name;
      return true;
    },
  });
  return ok ? saved : null;
}

/**
 * Puts a rejected save's message where it belongs; returns what the dialog should throw
 * (a field error to stay quiet, or the error itself for the dialog's own box).
 */
function showServerError(err, { byKey, linesBox, name }) {
  if (!(err instanceof ApiError)) return err;
  if (err.lineErrors.length) {
    linesBox.replaceChildren(
      h("p", { class: "alert-title", text: t("ruleErrLines", { n: err.lineErrors.length }) }),
      h("ul", { class: "line-errors" }, ...err.lineErrors.map((le) => h("li", {},
        t("errLineRef", { line: le.line }), ": ",
        h("code", { class: "line-input", text: le.input ?? "" }), " — ",
        h("span", { text: le.message ?? "" })))));
    linesBox.hidden = false;
    setFieldError(byKey.images, t("ruleErrSeeLines"));
    linesBox.focus();
    return fieldError();
  }
  if (err.status === 409 && name) {
    setFieldError(name, errorText(err));
    name.focus();
    return fieldError();
  }
  // "`schedule.cron`: ..." names the field the message is about; under it, the rest says it.
  const named = err.status === 400 ? /^`([\w.]+)`:\s*(.+)$/s.exec(err.body?.error ?? "") : null;
  const el = named ? byKey[named[1]] : null;
  if (!el || !document.contains(el)) return err;
  setFieldError(el, named[2]);
  el.focus();
  return fieldError();
}

/** Images listed per preview before "and N more". */
const PREVIEW_SHOWN = 20;

/** The preview's totals, each bad line with its error, and the first copies. */
function renderRulePreview(box, data) {
  const lines = Array.isArray(data?.lines) ? data.lines.filter((l) => l && typeof l === "object") : [];
  const copies = lines.flatMap((l) => (Array.isArray(l.images) ? l.images : []));
  const dropped = lines.reduce((n, l) => n + (Array.isArray(l.dropped) ? l.dropped.length : 0), 0);
  const bad = lines.filter((l) => l.error);
  const out = [h("p", { class: "rule-preview-summary", text: t("previewSummary", {
    images: t("previewSumImages", { n: copies.length }),
    dropped: t("previewSumDropped", { n: dropped }),
    errors: t("previewSumErrors", { n: bad.length }),
  }) })];
  if (bad.length) {
    out.push(h("ul", { class: "rule-preview-errors" }, ...bad.map((l) =>
      h("li", { class: "hint-error", text: t("ruleLineError", { line: l.line, input: l.input ?? "", message: l.error }) }))));
  }
  if (copies.length) {
    const shown = copies.slice(0, PREVIEW_SHOWN).map((c) =>
      h("li", { class: "rule-preview-copy" }, h("code", { text: String(c?.source ?? "") }), " → ", h("code", { text: String(c?.target ?? "") })));
    if (copies.length > PREVIEW_SHOWN) shown.push(h("li", { class: "muted", text: t("ruleMoreImages", { n: copies.length - PREVIEW_SHOWN }) }));
    out.push(h("ul", { class: "rule-preview-copies" }, ...shown));
  }
  box.replaceChildren(...out);
}
