// Where a job (or a rule) sends its images: a registry, or a bundle of archive files in the
// downloads folder (an export). The sync form and the rule dialog offer the same choices and
// build the same body from them, so a rule saved from one reads back in the other.

import { t } from "./i18n.js";

/**
 * The target select's value for "Export to a bundle". A registry name is letters, digits,
 * `.`, `_` and `-` (common/src/config/stored.rs, check_name), so it can never be this; it is
 * also what the api writes as an export job's `target`.
 */
export const EXPORT_TARGET = "@bundle";

/** The archive formats, in the order offered; the first is the default. */
export const EXPORT_FORMATS = ["oci-archive", "docker-archive"];

/** docker-archive holds one image of one platform: the job must say which. */
export const needsPlatform = (format) => format === "docker-archive";

export const formatLabel = (format) =>
  EXPORT_FORMATS.includes(format) ? t(`exportFormat_${format}`) : String(format ?? "");

/**
 * The destination part of a job or rule body: `target` (+ `with_signatures`) for a registry,
 * `export: {format}` without `target` for a bundle. Signatures go with registry targets only:
 * an archive file holds the image alone.
 */
export function destinationBody({ target, format, withSignatures }) {
  if (target === EXPORT_TARGET) return { export: { format } };
  const body = { target };
  if (withSignatures) body.with_signatures = true;
  return body;
}

/**
 * The archive format of a job or rule the api sent, or null for a registry target. A job
 * gives it as a string (`export: "oci-archive"`), a rule as `export: {format}`.
 */
export function exportFormat(item) {
  const e = item?.export;
  if (typeof e === "string" && e) return e;
  if (e && typeof e === "object" && typeof e.format === "string") return e.format;
  return null;
}

/** The select value for a job or rule the api sent: the export choice, or its registry. */
export function targetChoice(item) {
  return exportFormat(item) || item?.target === EXPORT_TARGET ? EXPORT_TARGET : item?.target ?? "";
}

/** A job's or rule's destination in words: its registry, or "Bundle (OCI archive)". */
export function destinationText(item) {
  if (exportFormat(item) || item?.target === EXPORT_TARGET) {
    const format = exportFormat(item);
    return format ? t("destBundleFormat", { format: formatLabel(format) }) : t("destBundle");
  }
  return item?.target ?? "";
}

/** A bundle on the Downloads page, which scrolls to it and marks it. */
export const bundlePath = (id) => `/downloads?bundle=${encodeURIComponent(id)}`;
