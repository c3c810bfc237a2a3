// The sync form on the home page: the image list with its line numbers, target (a registry,
// or "Export to a bundle" with its archive format), level, namespace, platform and "with
// signatures", remembered across reloads; "Start sync", the preview of what it would copy
// (sync-preview.js), and the same copies as a downloadable script. All three send one body.

import { t, coded } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, store, errorText, roleLabel, toast, navigate, setFieldError } from "./ui.js";
import { session, onUserChange, canSubmit } from "./session.js";
import { handOffJob } from "./job-view.js";
import { EXPORT_TARGET, EXPORT_FORMATS, needsPlatform, formatLabel, destinationBody } from "./destination.js";
import {
  initPreview, isPreviewing, previewErrorLines, updatePreviewStale, renderPreview, clearPreview,
} from "./sync-preview.js";

const form = $("sync-form");
const imagesEl = $("images");
const targetEl = $("target");
const levelEl = $("level");
const nsEl = $("namespace");
const gutter = $("gutter");
const formatEl = $("export-format");
const signaturesEl = $("with-signatures");

// Platforms: the whole multi-arch index (the default), or one platform's image out of it. The
// field is built here, after the namespace (index.html holds the others).
const PLATFORM_OTHER = "other";
const PLATFORM_CHOICES = ["", "linux/amd64", "linux/arm64", PLATFORM_OTHER];
const platformEl = h("select", { id: "platform", name: "platform", "aria-describedby": "platform-hint" },
  ...PLATFORM_CHOICES.map((value) => h("option", { value })));
const platformOtherEl = h("input", {
  id: "platform-other", class: "platform-other", type: "text", spellcheck: "false",
  autocapitalize: "off", autocomplete: "off", placeholder: "linux/arm64/v8",
  "aria-describedby": "platform-hint", hidden: true,
});
nsEl.closest(".field").after(h("div", { class: "field" },
  h("label", { for: "platform", id: "platform-label" }),
  platformEl,
  platformOtherEl,
  h("p", { id: "platform-hint", class: "hint" })));
{
  const saved = store("local", "dis.platform") ?? "";
  if (PLATFORM_CHOICES.includes(saved) && saved !== PLATFORM_OTHER) platformEl.value = saved;
  else {
    platformEl.value = PLATFORM_OTHER;
    platformOtherEl.value = saved;
  }
}

{
  const format = store("local", "dis.exportFormat");
  if (EXPORT_FORMATS.includes(format)) formatEl.value = format;
  signaturesEl.checked = store("local", "dis.withSignatures") === "1";
}

const exporting = () => targetEl.value === EXPORT_TARGET;

/** The platform the form asks for ("" = all platforms). */
function selectedPlatform() {
  return platformEl.value === PLATFORM_OTHER ? platformOtherEl.value.trim() : platformEl.value;
}

let registries = null; // null while loading
let registriesError = null;
let submitting = false;
let downloading = false;
/** Per-line errors from the last rejected submit (or script), for the gutter marks. */
let lineErrors = [];

const LEVEL_EXAMPLES = {
  skip: "a/b/c/img",
  all: "img",
  1: "b/c/img",
  2: "c/img",
  3: "img",
};

// Keep what the user typed across reloads and navigation within the tab.
imagesEl.value = store("session", "dis.draft") ?? "";
{
  const level = store("local", "dis.level");
  if (level && level in LEVEL_EXAMPLES) levelEl.value = level;
}

const isImageLine = (l) => {
  const s = l.trim();
  return s !== "" && !s.startsWith("#");
};

function imageLines(text) {
  return text.split(/\r?\n/).filter(isImageLine);
}

/** The image lines nobody has found wrong: the count must not promise what will be refused. */
function goodImageCount() {
  const lines = imagesEl.value.split("\n");
  const marked = markedLines(lines);
  return lines.filter((l, i) => isImageLine(l) && !marked.has(i + 1)).length;
}

function selectedRegistry() {
  return registries?.find((r) => r.name === targetEl.value) ?? null;
}

async function loadRegistries() {
  registries = null;
  registriesError = null;
  renderTargetOptions();
  try {
    const list = await api.registries();
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    registries = list.filter((r) => r && typeof r.name === "string");
  } catch (err) {
    registries = [];
    registriesError = err;
  }
  renderTargetOptions();
}

function renderTargetOptions() {
  const previous = targetEl.value || store("local", "dis.target");
  targetEl.replaceChildren();
  const retry = $("target-retry");
  retry.hidden = !registriesError;
  if (registries === null) {
    targetEl.append(h("option", { value: "", text: t("targetLoading") }));
    targetEl.disabled = true;
  } else {
    if (registries.length === 0) {
      // Nothing to pick but the export, which needs no registry: say why the list is short.
      targetEl.append(h("option", { value: "", text: registriesError ? "—" : t("targetEmpty"), disabled: true }));
    }
    for (const r of registries) {
      const label = r.description && r.description !== r.name ? `${r.name} — ${r.description}` : r.name;
      targetEl.append(h("option", { value: r.name, text: label }));
    }
    targetEl.append(h("option", { value: EXPORT_TARGET, id: "target-export", text: t("targetExport") }));
    targetEl.disabled = false;
    if (previous === EXPORT_TARGET || registries.some((r) => r.name === previous)) targetEl.value = previous;
    else if (registries.length === 0) targetEl.value = "";
    else {
      // With no choice remembered, the first registry that is a target: the public
      // registries' entries hold pull credentials, and nobody mirrors into Docker Hub by accident.
      const target = registries.find((r) => !isPublicSource(r));
      if (target) targetEl.value = target.name;
    }
  }
  renderFormDynamic();
}

/** The registries images are copied from (their entries give pull credentials or a mirror). */
const PUBLIC_SOURCES = ["docker.io", "registry-1.docker.io", "index.docker.io", "gcr.io", "quay.io", "registry.k8s.io", "k8s.gcr.io", "ghcr.io"];

function isPublicSource(r) {
  const host = String(r.url ?? "").replace(/^[a-z]+:\/\//i, "").split("/")[0].split(":")[0].toLowerCase();
  return PUBLIC_SOURCES.includes(host) || host.endsWith(".docker.io");
}

/** Everything in the form whose text depends on the language or on other fields. */
function renderFormDynamic() {
  const reg = selectedRegistry();
  const hint = $("target-hint");
  const bundle = exporting();
  if (registriesError) hint.textContent = t("targetLoadFailed", { error: errorText(registriesError) });
  else if (bundle) hint.textContent = t("targetExportHint");
  else hint.textContent = reg ? reg.url || "" : "";
  hint.classList.toggle("hint-error", !!registriesError);
  const exportOpt = $("target-export");
  if (exportOpt) exportOpt.textContent = t("targetExport");

  $("export-format-field").hidden = !bundle;
  for (const opt of formatEl.options) opt.textContent = formatLabel(opt.value);
  $("export-format-hint").textContent = t(`exportFormatHint_${formatEl.value}`);
  $("with-signatures-row").hidden = bundle;

  nsEl.placeholder = reg?.namespace || "";
  $("namespace-hint").textContent = bundle
    ? t("namespaceHintExport")
    : reg?.namespace
      ? t("namespaceHintDefault", { ns: reg.namespace })
      : t("namespaceHint");

  // Each option carries its own short example, so the choice makes sense in the open list.
  for (const opt of levelEl.options) {
    opt.textContent = t("levelOption", { name: t(`level_${opt.value}`), example: `ns/${LEVEL_EXAMPLES[opt.value]}` });
  }
  const level = levelEl.value;
  const ns = nsEl.value.trim() || reg?.namespace || "ns";
  $("level-text").textContent = t(`levelHelp_${level}`);
  $("level-example").textContent = `a/b/c/img → ${ns}/${LEVEL_EXAMPLES[level]}`;

  $("platform-label").textContent = t("platformLabel");
  for (const opt of platformEl.options) {
    if (opt.value === "") opt.textContent = t("platformAll");
    else if (opt.value === PLATFORM_OTHER) opt.textContent = t("platformOther");
    else opt.textContent = opt.value;
  }
  platformOtherEl.hidden = platformEl.value !== PLATFORM_OTHER;
  platformOtherEl.setAttribute("aria-label", t("platformOtherLabel"));
  const onePlatform = bundle && needsPlatform(formatEl.value);
  $("platform-hint").textContent = t(onePlatform ? "platformHintDockerArchive" : platformEl.value ? "platformHintOne" : "platformHintAll");
  if (onePlatform) platformEl.setAttribute("aria-required", "true");
  else platformEl.removeAttribute("aria-required");

  renderCount();

  $("submit-text").textContent = t(submitting ? "submitting" : bundle ? "submitExport" : "submit");
  $("preview-text").textContent = t(isPreviewing() ? "previewing" : "preview");
  $("script-text").textContent = t(downloading ? "scriptDownloading" : "scriptDownload");
  // A viewer may watch jobs but not start them: say so instead of letting the submit fail.
  // Preview and scripts need the same role as a submit.
  const allowed = canSubmit();
  $("submit").disabled = submitting || !allowed;
  $("preview-btn").disabled = isPreviewing() || !allowed;
  $("script-btn").disabled = downloading || !allowed;
  // The script copies registry to registry; an export has nothing for it to do.
  $("script-btn").hidden = bundle;
  $("script-note").hidden = bundle;
  const note = $("submit-note");
  note.hidden = allowed || !session.user;
  note.textContent = note.hidden ? "" : t("viewerNoSubmit", { role: roleLabel(session.user.role) });
  if (!$("form-errors").hidden && lastFormError) showFormError(lastFormError);
  updatePreviewStale();
}

// Also from renderGutter: the marks it draws come from errors that arrive without a redraw.
function renderCount() {
  const n = goodImageCount();
  $("images-count").textContent = n ? t("imagesCount", { n }) : "";
}

/** The list syntax under the image list, with its examples as code. */
function renderSyntaxHint() {
  const examples = { pattern: "nginx:1.25*", latest: "nginx:@latest=3" };
  $("images-syntax").replaceChildren(
    ...t("imagesSyntax").split(/\{(\w+)\}/).map((part, i) =>
      i % 2 ? h("code", { class: "hint-code", text: examples[part] ?? part }) : part),
  );
}

function renderGutter() {
  const lines = imagesEl.value.split("\n");
  const marked = markedLines(lines);
  const frag = document.createDocumentFragment();
  for (let i = 1; i <= lines.length; i++) {
    frag.append(h("div", { class: marked.has(i) ? "ln ln-error" : "ln", text: String(i) }));
  }
  gutter.replaceChildren(frag);
  gutter.scrollTop = imagesEl.scrollTop;
  imagesEl.setAttribute("aria-invalid", marked.size ? "true" : "false");
  renderCount();
}

/**
 * Line numbers to mark. An error points at a line number, but the user may have edited
 * since; mark the line only while it still holds the rejected text (or wherever that
 * text moved to), so the marks go away as the lines get fixed.
 */
function markedLines(lines) {
  const marked = new Set();
  for (const e of [...lineErrors, ...previewErrorLines()]) {
    const input = String(e.input ?? "").trim();
    const at = Number(e.line);
    if (lines[at - 1] !== undefined && (input === "" || lines[at - 1].trim() === input)) {
      marked.add(at);
      continue;
    }
    if (input === "") continue;
    const moved = lines.findIndex((l) => l.trim() === input);
    if (moved >= 0) marked.add(moved + 1);
  }
  return marked;
}

let gutterFrame = 0;
imagesEl.addEventListener("input", () => {
  store("session", "dis.draft", imagesEl.value || null);
  cancelAnimationFrame(gutterFrame);
  gutterFrame = requestAnimationFrame(() => {
    renderGutter();
    renderFormDynamic();
  });
});
// Ctrl/Cmd+Enter submits from the textarea, where plain Enter must stay a newline.
imagesEl.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    form.requestSubmit();
  }
});
imagesEl.addEventListener("scroll", () => {
  gutter.scrollTop = imagesEl.scrollTop;
});
targetEl.addEventListener("change", () => {
  store("local", "dis.target", targetEl.value);
  renderFormDynamic();
});
formatEl.addEventListener("change", () => {
  store("local", "dis.exportFormat", formatEl.value);
  renderFormDynamic();
});
signaturesEl.addEventListener("change", () => {
  store("local", "dis.withSignatures", signaturesEl.checked ? "1" : null);
  renderFormDynamic();
});
levelEl.addEventListener("change", () => {
  store("local", "dis.level", levelEl.value);
  renderFormDynamic();
});
nsEl.addEventListener("input", renderFormDynamic);
platformEl.addEventListener("change", () => {
  const other = platformEl.value === PLATFORM_OTHER;
  store("local", "dis.platform", other ? platformOtherEl.value.trim() || null : platformEl.value || null);
  renderFormDynamic();
  if (other) platformOtherEl.focus();
});
platformOtherEl.addEventListener("input", () => {
  store("local", "dis.platform", platformOtherEl.value.trim() || null);
  renderFormDynamic();
});
$("target-retry").addEventListener("click", loadRegistries);

/** Put the caret on a line of the textarea and scroll it into view. */
function focusLine(line) {
  const lines = imagesEl.value.split("\n");
  const idx = Math.min(Math.max(line, 1), lines.length) - 1;
  let start = 0;
  for (let i = 0; i < idx; i++) start += lines[i].length + 1;
  imagesEl.focus();
  imagesEl.setSelectionRange(start, start + lines[idx].length);
  const lineHeight = parseFloat(getComputedStyle(imagesEl).lineHeight) || 20;
  imagesEl.scrollTop = Math.max(0, (idx - 2) * lineHeight);
}

let lastFormError = null;

/**
 * Kept as data, not text, so a language switch can redraw it.
 * @param {{key?: string, err?: Error, lines?: Array<{line:number,input:string,message:string}>,
 *          titleKey?: string}} e  titleKey: the heading over `lines` (default errLines).
 */
function showFormError(e) {
  lastFormError = e;
  const box = $("form-errors");
  box.replaceChildren();
  if (e.lines?.length) {
    box.append(h("p", { class: "alert-title", text: t(e.titleKey ?? "errLines", { n: e.lines.length }) }));
    const list = h("ul", { class: "line-errors" });
    for (const le of e.lines) {
      const jump = h("button", {
        type: "button",
        class: "line-link",
        text: t("errLineRef", { line: le.line }),
        "aria-label": t("errLineJump", { line: le.line }),
      });
      jump.addEventListener("click", () => focusLine(Number(le.line)));
      list.append(
        h("li", {},
          jump, ": ",
          h("code", { class: "line-input", text: le.input ?? "" }),
          " — ",
          h("span", { text: coded(le.code, le.params, le.message) })),
      );
    }
    box.append(list);
  } else {
    box.append(h("p", { text: e.key ? t(e.key) : errorText(e.err) }));
  }
  box.hidden = false;
}

function clearFormError() {
  lastFormError = null;
  setFieldError(nsEl, "");
  lineErrors = [];
  $("form-errors").hidden = true;
  $("form-errors").replaceChildren();
  renderGutter();
}

function setSubmitting(on) {
  submitting = on;
  const btn = $("submit");
  btn.disabled = on || !canSubmit();
  btn.classList.toggle("is-busy", on);
  btn.setAttribute("aria-busy", on ? "true" : "false");
  $("submit-text").textContent = t(on ? "submitting" : exporting() ? "submitExport" : "submit");
}

/** The body of POST /api/jobs as the form stands (also sent to the preview and the script). */
function currentPayload() {
  const payload = {
    images: imagesEl.value,
    ...destinationBody({ target: targetEl.value, format: formatEl.value, withSignatures: signaturesEl.checked }),
    replace_level: levelEl.value,
  };
  const ns = nsEl.value.trim();
  if (ns) payload.namespace = ns;
  const platform = selectedPlatform();
  if (platform) payload.platform = platform;
  return payload;
}

/** The payload, or null after showing what is missing (and focusing that field). */
function validPayload() {
  if (imageLines(imagesEl.value).length === 0) {
    showFormError({ key: "errNoImages" });
    imagesEl.focus();
    return null;
  }
  if (!targetEl.value) {
    showFormError(registriesError ? { err: registriesError } : { key: "errNoTarget" });
    targetEl.focus();
    return null;
  }
  if (platformEl.value === PLATFORM_OTHER && !selectedPlatform()) {
    showFormError({ key: "errNoPlatform" });
    platformOtherEl.focus();
    return null;
  }
  // The api refuses it too; said here, on the field, before anything is sent.
  if (exporting() && needsPlatform(formatEl.value) && !selectedPlatform()) {
    showFormError({ key: "errExportPlatform" });
    platformEl.focus();
    return null;
  }
  return currentPayload();
}

/** The answer to a rejected submit or script: per-line errors in the list, else the message. */
function showRequestError(err, titleKey) {
  if (err instanceof ApiError && err.body?.field === "namespace") {
    // Said once, on the field it is about.
    setFieldError(nsEl, errorText(err));
    nsEl.focus();
    return;
  }
  if (err instanceof ApiError && err.lineErrors.length) {
    lineErrors = err.lineErrors;
    showFormError({ lines: err.lineErrors, titleKey });
    renderGutter();
  } else {
    showFormError({ err });
  }
  $("form-errors").focus();
}

function setBusy(btnId, textId, on, key, busyKey) {
  const btn = $(btnId);
  btn.disabled = on || !canSubmit();
  btn.classList.toggle("is-busy", on);
  btn.setAttribute("aria-busy", on ? "true" : "false");
  $(textId).textContent = t(on ? busyKey : key);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (submitting || !canSubmit()) return;
  clearFormError();

  const payload = validPayload();
  if (!payload) return;

  setSubmitting(true);
  try {
    const created = await api.createJob(payload);
    if (!created || typeof created.id !== "string") throw new ApiError(202, t("errBadResponse"));
    // The textarea is left as it is: the user may want to adjust and send again.
    handOffJob(created);
    navigate(`/jobs/${encodeURIComponent(created.id)}`);
  } catch (err) {
    if (err.handled) return; // on the way to /login or /password
    showRequestError(err);
  } finally {
    setSubmitting(false);
  }
});

// ---------------------------------------------------------------------------------------
// Preview: in sync-preview.js; it calls back into the form through these.

initPreview({ validPayload, currentPayload, clearFormError, focusLine, renderGutter, setBusy });

// ---------------------------------------------------------------------------------------
// Script: the same copies as a shell script, saved as a file.

$("script-btn").addEventListener("click", async () => {
  if (downloading || !canSubmit() || exporting()) return;
  clearFormError();
  const payload = validPayload();
  if (!payload) return;
  downloading = true;
  setBusy("script-btn", "script-text", true, "scriptDownload", "scriptDownloading");
  try {
    const { blob, fileName } = await api.script(payload);
    const name = fileName ?? `docker-sync-${payload.target.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "")}.sh`;
    saveFile(blob, name);
    toast(t("scriptDownloaded", { name }));
  } catch (err) {
    if (err.handled) return; // on the way to /login or /password
    showRequestError(err, "errLinesScript");
  } finally {
    downloading = false;
    setBusy("script-btn", "script-text", false, "scriptDownload", "scriptDownloading");
  }
});

/** Save a blob through a temporary <a download>; the click handler above leaves those alone. */
function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // Not at once: some browsers read the URL only after click() has returned.
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// ---------------------------------------------------------------------------------------
// Wiring

/** Logging out: the list may name what the next person at this browser should not see. */
export function forgetDraft() {
  imagesEl.value = "";
  store("session", "dis.draft", null);
  lineErrors = [];
  clearPreview();
  renderGutter();
  renderFormDynamic();
}

export function enterSyncForm() {
  // Again after an error: it may have been a session that has since been renewed.
  if ((registries === null && !registriesError) || registriesError) loadRegistries();
  renderFormDynamic();
}

/** Redraw every text of the form, its hints and its preview after a language switch. */
export function renderSyncForm() {
  renderFormDynamic();
  renderSyntaxHint();
  renderPreview();
}

onUserChange(() => {
  // A preview belongs to whoever asked for it.
  if (!session.user && session.enabled) clearPreview();
  renderFormDynamic();
});

// /registries added, changed or deleted one: the sync form's target list follows.
document.addEventListener("registries-changed", () => loadRegistries());

// Drawn once at load, whatever the page: a restored draft needs its line numbers.
renderGutter();
renderFormDynamic();
renderSyntaxHint();
