// The statistics page's four charts, drawn with the vendored uPlot (web/vendor/uplot/).
// uPlot paints on <canvas>, so CSS cannot colour it: the colours are read from the theme's
// custom properties at draw time, and every chart is rebuilt when the theme changes. It also
// needs a width in pixels, so the charts follow their container's size.

import uPlot from "./vendor/uplot/uPlot.esm.js";
import { t, locale } from "./i18n.js";

const HEIGHT = 200;
const HOUR_S = 3600;
const DAY_S = 86400;
// Counts are whole: no tick at 0.5 images.
const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6];

let charts = [];
let last = null; // the answer drawn, to rebuild from on a theme change
let resizeObserver = null;
let themeObserver = null;
let darkQuery = null;

function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    text: v("--text"),
    muted: v("--muted"),
    grid: v("--border"),
    font: `12px ${v("--font") || "sans-serif"}`,
    copied: v("--bar-ok"),
    skipped: v("--skipped-fg"),
    failed: v("--bar-bad"),
    partial: v("--retrying-fg"),
    cancelled: v("--border-strong"),
    line: v("--primary"),
    line2: v("--retrying-fg"),
  };
}

/**
 * Day buckets start at midnight UTC (the server's aggregates are epoch-aligned): shown in
 * local time, west of Greenwich each would carry the previous day's date.
 */
function timeFormats(bucket) {
  const utc = bucket === "day" ? { timeZone: "UTC" } : {};
  return {
    utc: bucket === "day",
    tick: new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", ...utc }),
    tickDay: new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric", ...utc }),
    point:
      bucket === "day"
        ? new Intl.DateTimeFormat(locale(), { dateStyle: "medium", ...utc })
        : new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }),
  };
}

function baseOptions(el, stats, pal, yAxis) {
  const fmt = timeFormats(stats.bucket);
  const step = stats.bucket === "day" ? DAY_S : HOUR_S;
  const axis = { stroke: pal.muted, font: pal.font, grid: { stroke: pal.grid, width: 1 }, ticks: { stroke: pal.grid, width: 1 } };
  return {
    width: Math.max(el.clientWidth, 200),
    height: HEIGHT,
    ...(fmt.utc ? { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC") } : {}),
    // Half a bucket either side, so the first and last bars are not cut in two.
    scales: { x: { time: true, range: (u, min, max) => [min - step / 2, max + step / 2] }, y: yAxis.scale },
    axes: [
      {
        ...axis,
        values: (u, splits, ax, space, incr) =>
          splits.map((s) => (incr < DAY_S ? fmt.tick : fmt.tickDay).format(s * 1e3)),
      },
      { ...axis, size: 56, values: (u, splits) => splits.map(yAxis.tick), ...(yAxis.incrs ? { incrs: yAxis.incrs } : {}) },
    ],
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    series: [{ label: t("statsColTime"), value: (u, v) => (v == null ? "—" : fmt.point.format(v * 1e3)) }],
  };
}

/**
 * Stacked bars: each series is drawn from zero to the running total, the largest first, so
 * the smaller ones cover its lower part. The legend lists them top of the stack first and
 * shows each part's own value, not the running total.
 */
function stacked(el, stats, pal, parts) {
  const n = new Intl.NumberFormat(locale());
  const x = stats.series.map((b) => b.start_ms / 1e3);
  const raw = parts.map((p) => stats.series.map(p.get));
  const sums = raw.map((_, i) => x.map((_, j) => raw.slice(0, i + 1).reduce((s, r) => s + r[j], 0)));
  const order = parts.map((_, i) => parts.length - 1 - i);
  const opts = baseOptions(el, stats, pal, {
    scale: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
    tick: (v) => n.format(v),
    incrs: COUNT_INCRS,
  });
  const bars = uPlot.paths.bars({ size: [0.7, 48] });
  for (const i of order) {
    opts.series.push({
      label: parts[i].label,
      fill: parts[i].color,
      stroke: parts[i].color,
      width: 0,
      paths: bars,
      points: { show: false },
      value: (u, v, s, idx) => (idx == null ? "—" : n.format(raw[i][idx])),
    });
  }
  return new uPlot(opts, [x, ...order.map((i) => sums[i])], el);
}

function lines(el, stats, pal, yAxis, parts) {
  const x = stats.series.map((b) => b.start_ms / 1e3);
  const opts = baseOptions(el, stats, pal, yAxis);
  for (const p of parts) {
    opts.series.push({
      label: p.label,
      stroke: p.color,
      width: 2,
      // Buckets without images have no rate or duration: a gap, not a drop to zero.
      spanGaps: false,
      points: { show: true, size: 5, fill: p.color },
      value: (u, v) => (v == null ? "—" : yAxis.tick(v)),
    });
  }
  return new uPlot(opts, [x, ...parts.map((p) => stats.series.map(p.get))], el);
}

function build() {
  destroy();
  const stats = last;
  if (!stats) return;
  const pal = palette();
  const pct = new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 });
  const sec = new Intl.NumberFormat(locale(), { style: "unit", unit: "second", unitDisplay: "narrow", maximumFractionDigits: 1 });
  const el = (id) => document.getElementById(id);
  charts = [
    stacked(el("stats-chart-images"), stats, pal, [
      { label: t("statsCopied"), color: pal.copied, get: (b) => b.copied },
      { label: t("statsSkipped"), color: pal.skipped, get: (b) => b.skipped },
      { label: t("statsFailed"), color: pal.failed, get: (b) => b.failed },
    ]),
    stacked(el("stats-chart-jobs"), stats, pal, [
      { label: t("status_succeeded"), color: pal.copied, get: (b) => b.jobs.succeeded },
      { label: t("status_partial"), color: pal.partial, get: (b) => b.jobs.partial },
      { label: t("status_failed"), color: pal.failed, get: (b) => b.jobs.failed },
      { label: t("status_cancelled"), color: pal.cancelled, get: (b) => b.jobs.cancelled },
    ]),
    lines(el("stats-chart-rate"), stats, pal, { scale: { range: [0, 1] }, tick: (v) => pct.format(v) }, [
      { label: t("statsSuccessRate"), color: pal.line, get: (b) => b.success_rate },
    ]),
    lines(
      el("stats-chart-duration"),
      stats,
      pal,
      { scale: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] }, tick: (v) => sec.format(v) },
      [
        { label: t("statsP50"), color: pal.line, get: (b) => (b.duration_p50_ms == null ? null : b.duration_p50_ms / 1e3) },
        { label: t("statsP95"), color: pal.line2, get: (b) => (b.duration_p95_ms == null ? null : b.duration_p95_ms / 1e3) },
      ],
    ),
  ];
}

function destroy() {
  for (const c of charts) c.destroy();
  charts = [];
}

// Called by the ResizeObserver, which already runs once a frame, before paint.
function resize() {
  for (const c of charts) {
    const width = Math.max(c.root.parentElement.clientWidth, 200);
    if (width !== c.width) c.setSize({ width, height: HEIGHT });
  }
}

function watch() {
  if (resizeObserver) return;
  // A chart's caption, not the window: the charts also change width when they restack, and
  // the caption is as wide as its chart but not as tall, so resizing a chart in the callback
  // does not change what is observed (which the browser would report as a loop).
  resizeObserver = new ResizeObserver(resize);
  resizeObserver.observe(document.querySelector("#stats-charts figcaption"));
  // An explicit choice is data-theme on <html>; "auto" follows the system's setting.
  themeObserver = new MutationObserver(build);
  themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  darkQuery = matchMedia("(prefers-color-scheme: dark)");
  darkQuery.addEventListener("change", build);
}

/** Draws `stats` (an /api/stats answer) into the page's chart containers, which must be shown. */
export function drawCharts(stats) {
  last = stats;
  watch();
  build();
}

/** Removes the charts and stops following the theme and the page's size. */
export function stopCharts() {
  destroy();
  last = null;
  resizeObserver?.disconnect();
  themeObserver?.disconnect();
  darkQuery?.removeEventListener("change", build);
  resizeObserver = themeObserver = darkQuery = null;
}
