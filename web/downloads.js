// /downloads: the bundles export jobs wrote (GET /api/downloads), newest first, with their
// images from the manifest and their files. Everyone sees the list; operators download a
// bundle (zip or tar) or a file, read its push script, push it into a registry (an import job)
// and upload one; admins delete. The dialogs are in bundle-dialogs.js.

import { t } from "./i18n.js";
import { api, ApiError, downloadUrl, archiveUrl } from "./api.js";
import { $, h, errorText, confirmDialog, toast, timeAgo } from "./ui.js";
import { canSubmit, isAdmin } from "./session.js";
import { fmtBytes, shortDigest } from "./format.js";
import { formatLabel } from "./destination.js";
import { listPage } from "./list-page.js";
import { openPushScript, openPushToRegistry } from "./bundle-dialogs.js";

const page = listPage({
  prefix: "downloads",
  fetch: () => api.listDownloads(),
  keep: (b) => b && typeof b.id === "string",
  render: () => renderDownloads(),
  emptyKey: "downloadsEmpty",
});

/** What GET /api/downloads/usage said; null while unknown or when it does not answer. */
let usage = null;
let uploading = null; // { name, sent, total } while an upload runs

export function enterDownloads() {
  usage = null;
  page.enter();
  loadUsage();
}

export function leaveDownloads() {
  page.leave();
}

async function loadUsage() {
  try {
    usage = await api.downloadsUsage();
  } catch {
    // Only a nicety: an api without it (or a viewer it refuses) shows no usage line.
    usage = null;
  }
  renderUsage();
}

$("downloads-refresh").addEventListener("click", () => {
  page.load();
  loadUsage();
});

export function renderDownloads() {
  page.showStatus();
  renderUsage();
  renderUpload();
  const focusKey = document.activeElement?.dataset?.key;
  const list = $("downloads-list");
  list.replaceChildren(...(page.items ?? []).map(bundleItem));
  if (focusKey) list.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
  markLinked();
}

/** `?bundle=<id>` (from a job's page): that bundle, scrolled to and marked. */
function markLinked() {
  const wanted = new URLSearchParams(location.search).get("bundle");
  if (!wanted) return;
  const el = [...$("downloads-list").children].find((li) => li.dataset.bundle === wanted);
  if (!el || el.classList.contains("is-linked")) return;
  el.classList.add("is-linked");
  el.scrollIntoView({ block: "nearest" });
}

/** Bytes used of the quota; the keys as the api may send them (`used`, `quota`, `free`). */
function renderUsage() {
  const el = $("downloads-usage");
  const used = num(usage?.used ?? usage?.used_bytes);
  const quota = num(usage?.quota ?? usage?.quota_bytes);
  const free = num(usage?.free ?? usage?.free_bytes ?? usage?.available);
  el.hidden = used === null;
  if (used === null) return;
  const parts = [quota ? t("usageOfQuota", { used: fmtBytes(used), quota: fmtBytes(quota) }) : t("usageUsed", { used: fmtBytes(used) })];
  if (free !== null) parts.push(t("usageFree", { free: fmtBytes(free) }));
  el.textContent = parts.join(" · ");
  el.classList.toggle("hint-error", !!quota && used >= quota * 0.9);
}

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

function renderUpload() {
  const btn = $("bundle-upload");
  btn.hidden = !canSubmit();
  btn.disabled = !!uploading;
  btn.classList.toggle("is-busy", !!uploading);
  $("bundle-upload-text").textContent = uploading
    ? t("bundleUploading", { name: uploading.name, pct: uploading.total ? Math.floor((uploading.sent / uploading.total) * 100) : 0 })
    : t("bundleUpload");
}

$("bundle-upload").addEventListener("click", () => $("bundle-file").click());
$("bundle-file").addEventListener("change", async () => {
  const input = $("bundle-file");
  const file = input.files?.[0];
  input.value = "";
  if (!file || uploading) return;
  uploading = { name: file.name, sent: 0, total: file.size };
  renderUpload();
  try {
    const bundle = await api.uploadBundle(file, (sent, total) => {
      uploading = { name: file.name, sent, total };
      renderUpload();
    });
    toast(t("bundleUploaded", { id: bundle?.id ?? file.name }));
    page.load();
    loadUsage();
  } catch (err) {
    if (!err.handled) toast(t("bundleUploadFailed", { name: file.name, error: errorText(err) }));
  } finally {
    uploading = null;
    renderUpload();
  }
});

function bundleItem(b) {
  const m = b.manifest && typeof b.manifest === "object" ? b.manifest : null;
  const images = Array.isArray(m?.images) ? m.images : [];
  const created = num(m?.created_at_ms) ?? num(b.modified_ms);
  const files = Array.isArray(b.files) ? b.files.filter((f) => f && typeof f.name === "string") : [];

  const head = h("div", { class: "bundle-head" },
    h("h2", { class: "bundle-id" }, h("code", { text: b.id })),
    m ? h("span", { class: "badge badge-format", text: formatLabel(m.format) })
      : h("span", { class: "badge status-running", title: t("bundlePendingHint"), text: t("bundlePending") }),
    h("span", { class: "bundle-facts muted" },
      h("span", { class: "bundle-size", text: fmtBytes(num(b.size)) }),
      " · ",
      h("span", { class: "bundle-count", text: t("bundleImages", { n: m ? images.length : 0 }) }),
      " · ",
      timeAgo(created)),
    m?.job ? h("a", { class: "bundle-job", href: `/jobs/${encodeURIComponent(m.job)}`, text: t("bundleJob") }) : null);

  const imageList = images.length
    ? h("ul", { class: "bundle-images" }, ...images.map((i) => h("li", { class: "bundle-image" },
      h("code", { class: "ref", text: String(i.source ?? "") }),
      h("span", { class: "muted" }, " → ", h("code", { class: "ref", text: String(i.target ?? "") })),
      h("span", { class: "bundle-image-facts muted" },
        [i.platform, shortDigest(i.digest), fmtBytes(num(i.size))].filter(Boolean).join(" · ")))))
    : null;

  // Files are served to operators only: a viewer sees what there is, without the links.
  const mayDownload = canSubmit();
  const fileList = h("details", { class: "bundle-files" },
    h("summary", { text: t("bundleFiles", { n: files.length }) }),
    h("ul", {}, ...files.map((f) => h("li", {},
      mayDownload
        ? h("a", { href: downloadUrl(b.id, f.name), download: f.name, "data-file": f.name, text: f.name })
        : h("code", { text: f.name }),
      h("span", { class: "muted", text: ` ${fmtBytes(num(f.size))}` })))));

  return h("li", { class: "bundle", "data-bundle": b.id },
    head, imageList, fileList, actions(b, m, files));
}

function actions(b, m, files) {
  const box = h("div", { class: "row-actions bundle-actions" });
  if (canSubmit()) {
    const link = (key, text, href, label) => box.append(h("a", {
      class: "btn btn-secondary btn-small", href, download: "", "data-key": `${key}:${b.id}`, "aria-label": label, text,
    }));
    link("zip", t("bundleZip"), archiveUrl(b.id, true), t("bundleZipNamed", { id: b.id }));
    link("tar", t("bundleTar"), archiveUrl(b.id), t("bundleTarNamed", { id: b.id }));
    const btn = (key, text, onClick, cls = "btn btn-ghost btn-small") => {
      const el = h("button", { type: "button", class: cls, "data-key": `${key}:${b.id}` },
        h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { text }));
      el.addEventListener("click", () => onClick(el));
      box.append(el);
      return el;
    };
    if (files.some((f) => f.name === "push.sh")) btn("script", t("bundleScript"), () => openPushScript(b.id));
    // An import reads the manifest: a bundle still being written has none yet.
    if (m) btn("push", t("bundlePush"), () => openPushToRegistry(b.id, m));
  }
  if (isAdmin()) {
    const del = h("button", { type: "button", class: "btn btn-danger-ghost btn-small", "data-key": `del:${b.id}`, text: t("delete") });
    del.addEventListener("click", () => deleteBundle(b));
    box.append(del);
  }
  return box.children.length ? box : null;
}

async function deleteBundle(b) {
  const ok = await confirmDialog({
    title: t("bundleDeleteTitle", { id: b.id }),
    message: t("bundleDeleteBody", { id: b.id, size: fmtBytes(num(b.size)) }),
    confirmText: t("delete"),
    action: async () => {
      try {
        await api.deleteBundle(b.id);
      } catch (err) {
        // Gone already (another admin, or the retention sweep): what was asked for is done.
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    },
  });
  if (!ok) return;
  page.drop((x) => x.id === b.id);
  renderDownloads();
  toast(t("bundleDeleted", { id: b.id }));
  $("downloads-refresh").focus();
  page.load();
  loadUsage();
}
