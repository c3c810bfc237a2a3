// How jobs and images are shown, shared by the sync form's preview, the recent jobs and the
// job view. Dates and roles are in ui.js, which the account pages share as well.

import { t } from "./i18n.js";

export function fmtDuration(ms) {
  if (ms == null) return "";
  if (ms < 1000) return t("dur_ms", { n: Math.round(ms) });
  const s = ms / 1000;
  if (s < 60) return t("dur_s", { n: s < 10 ? s.toFixed(1) : Math.round(s) });
  const total = Math.round(s);
  if (total < 3600) return t("dur_m", { m: Math.floor(total / 60), s: total % 60 });
  return t("dur_h", { h: Math.floor(total / 3600), m: Math.floor((total % 3600) / 60) });
}

export function shortDigest(d) {
  return d && d.length > 19 ? `${d.slice(0, 19)}…` : d || "";
}

export function statusLabel(status) {
  return t(`status_${status}`);
}

export function setBadge(el, status) {
  el.className = `badge status-${status}`;
  el.textContent = status ? statusLabel(status) : "";
}

/**
 * Image references are long and have no spaces; offer line breaks after each "/" (with
 * <wbr>, which copies as nothing) so narrow screens break them at path boundaries.
 */
export function setRef(el, text) {
  if (el.title === text) return;
  el.title = text;
  const parts = text.split("/");
  el.replaceChildren();
  parts.forEach((p, i) => {
    el.append(i < parts.length - 1 ? `${p}/` : p);
    if (i < parts.length - 1) el.append(document.createElement("wbr"));
  });
}

/** A byte count as people read it: "512 B", "3.4 MB" (decimal units, as `ls -h --si`). */
export function fmtBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${units[i]}`;
}
