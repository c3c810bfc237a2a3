// The sync form on the home page: the image list with its line numbers, target, level,
// namespace and platform, remembered across reloads; "Start sync", the preview of what it
// would copy, and the same copies as a downloadable script. All three send one body.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, store, errorText, roleLabel, toast, navigate } from "./ui.js";
import { session, onUserChange, canSubmit } from "./session.js";
import { setRef } from "./format.js";
import { handOffJob } from "./job-view.js";

const form = $("sync-form");
const imagesEl = $("images");
const targetEl = $("target");
const levelEl = $("level");
const nsEl = $("namespace");
const gutter = $("gutter");

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

/** The platform the form asks for ("" = all platforms). */
function selectedPlatform() {
  return platformEl.value === PLATFORM_OTHER ? platformOtherEl.value.trim() : platformEl.value;
}

let registries = null; // null while loading
let registriesError = null;
let submitting = false;
let previewing = false;
let downloading = false;
/** Per-line errors from the last rejected submit (or script), for the gutter marks. */
let lineErrors = [];
/** Lines the shown preview found bad ({line, input}), marked in the gutter too. */
let previewLineErrors = [];

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

function imageLines(text) {
  return text.split(/\r?\n/).filter((l) => {
    const s = l.trim();
    return s !== "" && !s.startsWith("#");
  });
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
  if (registries === null || registries.length === 0) {
    const text = registries === null ? t("targetLoading") : registriesError ? "—" : t("targetEmpty");
    targetEl.append(h("option", { value: "", text }));
    targetEl.disabled = true;
  } else {
    for (const r of registries) {
      const label = r.description && r.description !== r.name ? `${r.name} — ${r.description}` : r.name;
      targetEl.append(h("option", { value: r.name, text: label }));
    }
    targetEl.disabled = false;
    if (registries.some((r) => r.name === previous)) targetEl.value = previous;
  }
  renderFormDynamic();
}

/** Everything in the form whose text depends on the language or on other fields. */
function renderFormDynamic() {
  const reg = selectedRegistry();
  const hint = $("target-hint");
  if (registriesError) hint.textContent = t("targetLoadFailed", { error: errorText(registriesError) });
  else hint.textContent = reg ? reg.url || "" : "";
  hint.classList.toggle("hint-error", !!registriesError);

  nsEl.placeholder = reg?.namespace || "";
  $("namespace-hint").textContent = reg?.namespace
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
  $("platform-hint").textContent = t(platformEl.value ? "platformHintOne" : "platformHintAll");

  const n = imageLines(imagesEl.value).length;
  $("images-count").textContent = n ? t("imagesCount", { n }) : "";

  $("submit-text").textContent = t(submitting ? "submitting" : "submit");
  $("preview-text").textContent = t(previewing ? "previewing" : "preview");
  $("script-text").textContent = t(downloading ? "scriptDownloading" : "scriptDownload");
  // A viewer may watch jobs but not start them: say so instead of letting the submit fail.
  // Preview and scripts need the same role as a submit.
  const allowed = canSubmit();
  $("submit").disabled = submitting || !allowed;
  $("preview-btn").disabled = previewing || !allowed;
  $("script-btn").disabled = downloading || !allowed;
  const note = $("submit-note");
  note.hidden = allowed || !session.user;
  note.textContent = note.hidden ? "" : t("viewerNoSubmit", { role: roleLabel(session.user.role) });
  if (!$("form-errors").hidden && lastFormError) showFormError(lastFormError);
  updatePreviewStale();
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
}

/**
 * Line numbers to mark. An error points at a line number, but the user may have edited
 * since; mark the line only while it still holds the rejected text (or wherever that
 * text moved to), so the marks go away as the lines get fixed.
 */
function markedLines(lines) {
  const marked = new Set();
  for (const e of [...lineErrors, ...previewLineErrors]) {
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
          h("span", { text: le.message ?? "" })),
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
  $("submit-text").textContent = t(on ? "submitting" : "submit");
}

/** The body of POST /api/jobs as the form stands (also sent to the preview and the script). */
function currentPayload() {
  const payload = { images: imagesEl.value, target: targetEl.value, replace_level: levelEl.value };
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
  return currentPayload();
}

/** The answer to a rejected submit or script: per-line errors in the list, else the message. */
function showRequestError(err, titleKey) {
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
// Preview: what the form would copy, line by line. Kept as data so a language switch can
// redraw it; `key` is the body it answered, so any later change of the form marks it stale.

/** {key, data} or {key, error}, or null when no preview is shown. */
let previewState = null;
/** Images beyond this many per line (copies or drops) fold into "Show n more". */
const PREVIEW_FOLD = 8;

$("preview-btn").addEventListener("click", runPreview);
$("preview-again").addEventListener("click", runPreview);
$("preview-close").addEventListener("click", () => {
  clearPreview();
  $("preview-btn").focus();
});

async function runPreview() {
  if (previewing || !canSubmit()) return;
  clearFormError();
  const payload = validPayload();
  if (!payload) return;
  const key = JSON.stringify(payload);
  previewing = true;
  setBusy("preview-btn", "preview-text", true, "preview", "previewing");
  try {
    const data = await api.previewJob(payload);
    if (!data || !Array.isArray(data.lines)) throw new ApiError(200, t("errBadResponse"), { error: t("errBadResponse") });
    previewState = { key, data };
  } catch (err) {
    if (err.handled) return; // on the way to /login or /password
    previewState = { key, error: err };
  } finally {
    previewing = false;
    setBusy("preview-btn", "preview-text", false, "preview", "previewing");
  }
  previewLineErrors = (previewState.data?.lines ?? [])
    .filter((l) => l && l.error)
    .map((l) => ({ line: l.line, input: l.input }));
  renderGutter();
  renderPreview();
  revealPreview();
}

function clearPreview() {
  previewState = null;
  previewLineErrors = [];
  renderGutter();
  renderPreview();
}

/** Bring a fresh preview into view and put focus on its heading, so it is read next. */
function revealPreview() {
  const card = $("preview-card");
  if (card.hidden) return;
  $("preview-title").focus({ preventScroll: true });
  const top = card.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight - 120) {
    const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
    card.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
  }
}

function updatePreviewStale() {
  const card = $("preview-card");
  const stale = !!previewState && previewState.key !== JSON.stringify(currentPayload());
  card.classList.toggle("is-stale", stale);
  $("preview-stale").hidden = !stale;
}

function renderPreview() {
  const card = $("preview-card");
  card.hidden = !previewState;
  if (!previewState) {
    $("preview-rows").replaceChildren();
    return;
  }
  const { data, error } = previewState;
  const errBox = $("preview-error");
  errBox.hidden = !error;
  errBox.textContent = error ? t("previewFailed", { error: errorText(error) }) : "";
  $("preview-body").hidden = !data;
  if (data) renderPreviewData(data);
  updatePreviewStale();
}

function renderPreviewData(data) {
  const lines = data.lines.filter((l) => l && typeof l === "object");
  const count = (list) => (Array.isArray(list) ? list.length : 0);
  const total = typeof data.total === "number" ? data.total : lines.reduce((n, l) => n + count(l.images), 0);
  const errors = typeof data.errors === "number" ? data.errors : lines.filter((l) => l.error).length;
  const dropped = lines.reduce((n, l) => n + count(l.dropped), 0);

  const level = data.replace_level;
  $("preview-meta").textContent = t("previewMeta", {
    target: data.target ?? "—",
    namespace: data.namespace || "—",
    level: ["skip", "all", "1", "2", "3"].includes(level) ? t(`level_${level}`) : String(level ?? "—"),
  });
  // One platform: the target digests of multi-arch images will not be the source's.
  let platformNote = $("preview-platform-note");
  if (!platformNote) {
    platformNote = h("p", { id: "preview-platform-note", class: "alert alert-info preview-platform-note" });
    $("preview-meta").after(platformNote);
  }
  const platform = data.platform_note && typeof data.platform === "string" ? data.platform : "";
  platformNote.hidden = !platform;
  platformNote.textContent = platform ? t("previewPlatformNote", { platform }) : "";
  const summary = $("preview-summary");
  summary.textContent = t("previewSummary", {
    images: t("previewSumImages", { n: total }),
    dropped: t("previewSumDropped", { n: dropped }),
    errors: t("previewSumErrors", { n: errors }),
  });
  const next = $("preview-next");
  const state = errors > 0 ? "errors" : total > 0 ? "ready" : "empty";
  next.dataset.state = state;
  next.textContent = t(state === "errors" ? "previewHasErrors" : state === "ready" ? "previewReady" : "previewNothing");

  const rows = document.createDocumentFragment();
  for (const l of lines) rows.append(previewRow(l));
  $("preview-rows").replaceChildren(rows);
}

function previewRow(l) {
  const lineNo = Number(l.line);
  const jump = h("button", {
    type: "button",
    class: "line-link",
    text: String(l.line ?? "?"),
    "aria-label": t("errLineJump", { line: l.line }),
    title: t("errLineJump", { line: l.line }),
  });
  jump.addEventListener("click", () => focusLine(lineNo));

  const result = h("td", { class: "preview-result", role: "cell" });
  if (l.error) {
    result.append(h("p", { class: "preview-line-error" },
      h("span", { class: "preview-error-label", text: t("previewErrorPrefix") }), String(l.error)));
  }
  const images = Array.isArray(l.images) ? l.images : [];
  const drops = Array.isArray(l.dropped) ? l.dropped : [];
  if (images.length) {
    result.append(foldedList("preview-copies", images.map((img) =>
      h("li", { class: "preview-copy" },
        refEl(String(img?.source ?? "")),
        h("span", { class: "ref-to" },
          h("span", { class: "arrow", "aria-hidden": "true", text: "→ " }),
          h("span", { class: "sr-only", text: `${t("previewTo")} ` }),
          refEl(String(img?.target ?? "")))))));
  }
  if (drops.length) {
    result.append(foldedList("preview-drops", drops.map((d) =>
      h("li", { class: "preview-drop" },
        h("span", { class: "tag preview-drop-tag", text: t("previewDropped") }), " ",
        refEl(String(d?.image ?? "")),
        h("span", { class: "preview-drop-reason", text: ` — ${dropReason(d)}` })))));
  }
  if (!l.error && !images.length && !drops.length) {
    result.append(h("p", { class: "muted preview-nothing", text: t("previewLineNothing") }));
  }

  return h("tr", { class: l.error ? "preview-row has-error" : "preview-row", role: "row" },
    h("td", { class: "col-line", role: "cell" }, jump),
    h("td", { class: "col-input", role: "cell" }, h("code", { class: "line-input", text: String(l.input ?? "") })),
    result);
}

/** A monospace image reference that may break after each "/" (see setRef). */
function refEl(text) {
  const el = h("code", { class: "ref" });
  setRef(el, text);
  return el;
}

/** A list whose items past PREVIEW_FOLD hide behind a "Show n more" disclosure. */
function foldedList(cls, items) {
  const head = h("ul", { class: `preview-list ${cls}` }, ...items.slice(0, PREVIEW_FOLD));
  // Folding one item would save nothing.
  if (items.length <= PREVIEW_FOLD + 1) {
    head.append(...items.slice(PREVIEW_FOLD));
    return head;
  }
  const rest = items.slice(PREVIEW_FOLD);
  return h("div", {},
    head,
    h("details", { class: "preview-more" },
      h("summary", { text: t("previewMore", { n: rest.length }) }),
      h("ul", { class: `preview-list ${cls}` }, ...rest)));
}

/** The server's reasons are English sentences; the known ones are said in the page's language. */
function dropReason(d) {
  const reason = String(d?.reason ?? "");
  if (d?.pattern) return t("dropExcluded", { pattern: d.pattern });
  if (reason === "matches no include pattern") return t("dropNotIncluded");
  const dup = /^duplicate of line (\d+)$/.exec(reason);
  if (dup) return t("dropDuplicate", { line: dup[1] });
  return reason;
}

// ---------------------------------------------------------------------------------------
// Script: the same copies as a shell script, saved as a file.

$("script-btn").addEventListener("click", async () => {
  if (downloading || !canSubmit()) return;
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
