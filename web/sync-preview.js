// The preview on the home page: what the sync form would copy, line by line
// (POST /api/jobs/preview); nothing is queued. Kept as data so a language switch can redraw
// it; `key` is the body it answered, so any later change of the form marks it stale.
// sync-form.js owns the form and hands in what the preview needs of it through
// initPreview, so this module does not import it back (no import cycle).

import { t, coded } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, h, errorText } from "./ui.js";
import { canSubmit } from "./session.js";
import { setRef } from "./format.js";

/** What the sync form lends: validPayload, currentPayload, clearFormError, focusLine,
 *  renderGutter, setBusy. */
let syncForm = null;
let previewing = false;
/** Lines the shown preview found bad ({line, input}), marked in the gutter too. */
let previewLineErrors = [];

/** {key, data} or {key, error}, or null when no preview is shown. */
let previewState = null;
/** Images beyond this many per line (copies or drops) fold into "Show n more". */
const PREVIEW_FOLD = 8;

/** Called once by sync-form.js, with the form's functions the preview calls back. */
export function initPreview(hooks) {
  syncForm = hooks;
  $("preview-btn").addEventListener("click", runPreview);
  $("preview-again").addEventListener("click", runPreview);
  $("preview-close").addEventListener("click", () => {
    clearPreview();
    $("preview-btn").focus();
  });
}

/** Whether a preview request is on its way (the form labels and disables the button). */
export function isPreviewing() {
  return previewing;
}

/** The lines the shown preview found bad, for the gutter. */
export function previewErrorLines() {
  return previewLineErrors;
}

async function runPreview() {
  if (previewing || !canSubmit()) return;
  syncForm.clearFormError();
  const payload = syncForm.validPayload();
  if (!payload) return;
  const key = JSON.stringify(payload);
  previewing = true;
  syncForm.setBusy("preview-btn", "preview-text", true, "preview", "previewing");
  try {
    const data = await api.previewJob(payload);
    if (!data || !Array.isArray(data.lines)) throw new ApiError(200, t("errBadResponse"), { error: t("errBadResponse") });
    previewState = { key, data };
  } catch (err) {
    if (err.handled) return; // on the way to /login or /password
    previewState = { key, error: err };
  } finally {
    previewing = false;
    syncForm.setBusy("preview-btn", "preview-text", false, "preview", "previewing");
  }
  previewLineErrors = (previewState.data?.lines ?? [])
    .filter((l) => l && l.error)
    .map((l) => ({ line: l.line, input: l.input }));
  syncForm.renderGutter();
  renderPreview();
  revealPreview();
}

export function clearPreview() {
  previewState = null;
  previewLineErrors = [];
  syncForm.renderGutter();
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

export function updatePreviewStale() {
  const card = $("preview-card");
  const stale = !!previewState && previewState.key !== JSON.stringify(syncForm.currentPayload());
  card.classList.toggle("is-stale", stale);
  $("preview-stale").hidden = !stale;
}

export function renderPreview() {
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
  jump.addEventListener("click", () => syncForm.focusLine(lineNo));

  const result = h("td", { class: "preview-result", role: "cell" });
  if (l.error) {
    result.append(h("p", { class: "preview-line-error" },
      h("span", { class: "preview-error-label", text: t("previewErrorPrefix") }), coded(l.code, l.params, String(l.error))));
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
          refEl(String(img?.target ?? ""))),
        sourceNote(img?.source_state)))));
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

/** What the source said of an image, when it is not simply there. */
function sourceNote(state) {
  if (!state || state.state === "present") return null;
  const text =
    state.state === "missing" ? t("previewSourceMissing")
      : state.state === "no_platform" ? t("previewSourceNoPlatform")
        : t("previewSourceUnknown", { reason: String(state.reason ?? "") });
  const cls = state.state === "unknown" ? "preview-source muted" : "preview-source hint-error";
  return h("span", { class: cls, text: ` — ${text}` });
}
