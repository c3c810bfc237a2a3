// Every user-visible string lives here so a translation never needs a code change.
// Keys ending in `_one` / `_other` are plural forms picked by `t(key, { n })`;
// Chinese has no plural forms, so only `_other` is given there.

export const STRINGS = {
  en: {
    appName: "docker-image-sync",
    skipToContent: "Skip to content",
    noscript: "This page needs JavaScript.",

    themeMode_auto: "follow system",
    themeMode_light: "light",
    themeMode_dark: "dark",
    themeToggle: "Theme: {mode}. Switch to {next}.",
    langToggleText: "中文",
    langToggleLabel: "切换到中文 (Switch to Chinese)",

    syncTitle: "Sync images",
    syncIntro:
      "Copy images from public registries (docker.io, gcr.io, quay.io, registry.k8s.io, ghcr.io) into one of your private registries.",
    imagesLabel: "Images",
    imagesHint: "One image per line. Lines starting with # are comments.",
    imagesPlaceholder:
      "# one image per line\nnginx:1.25\nbitnami/redis:7.2\nregistry.k8s.io/pause:3.9",
    imagesCount_one: "{n} image",
    imagesCount_other: "{n} images",
    targetLabel: "Target registry",
    targetLoading: "Loading registries…",
    targetEmpty: "No registries configured",
    targetLoadFailed: "Could not load the registries: {error}",
    retry: "Retry",
    levelLabel: "Replacement level",
    level_skip: "Skip",
    level_all: "Replace all levels",
    level_1: "Replace 1 level",
    level_2: "Replace 2 levels",
    level_3: "Replace 3 levels",
    levelHelp_skip: "Keep the whole source path under the namespace.",
    levelHelp_all: "Keep only the image name.",
    levelHelp_1: "Drop the first path level.",
    levelHelp_2: "Drop the first two path levels.",
    levelHelp_3: "Drop the first three path levels.",
    levelOption: "{name} — {example}",
    namespaceLabel: "Namespace",
    optional: "optional",
    namespaceHintDefault: "Leave empty to use the registry's default: {ns}",
    namespaceHint: "Leave empty to use the registry's default.",
    submit: "Start sync",
    submitting: "Starting…",

    errNoImages: "Enter at least one image.",
    errNoTarget: "Choose a target registry.",
    errLines_one: "{n} line needs fixing — nothing was started:",
    errLines_other: "{n} lines need fixing — nothing was started:",
    errLineRef: "line {line}",
    errLineJump: "Go to line {line} in the image list",
    errUnauthorized: "You are not signed in, or your session has expired.",
    errNetwork: "Could not reach the server. Check the connection and try again.",
    errServer: "The server answered with an error (HTTP {status}).",
    errBadResponse: "The server sent a response this page does not understand.",

    recentTitle: "Recent jobs",
    recentEmpty: "No jobs yet.",
    recentLoading: "Loading…",
    recentLoadFailed: "Could not load recent jobs: {error}",
    refresh: "Refresh",
    recentImages_one: "{n} image",
    recentImages_other: "{n} images",
    recentOpen: "Open job {id}",

    backToForm: "New sync",
    jobTitle: "Sync job",
    jobId: "Job ID",
    copy: "Copy",
    copied: "Copied",
    metaTarget: "Target",
    metaLevel: "Replacement level",
    metaNamespace: "Namespace",
    metaCreated: "Created",
    conn_connecting: "Connecting…",
    conn_live: "Live",
    conn_reconnecting: "Connection lost — retrying in {s} s",
    conn_finished: "Finished",
    conn_stopped: "Not updating",
    reconnectNow: "Retry now",
    countsLabel: "Show tasks by status",
    count_all: "All",
    overallProgress: "Overall progress",
    tasksTitle: "Tasks",
    noTasks: "This job has no tasks.",
    noTasksMatch: "No tasks with this status.",
    jobNotFound: "There is no job with this ID.",
    jobLoadFailed: "Could not load the job: {error}",
    filtered_one: "{n} line was filtered out and will not be synced:",
    filtered_other: "{n} lines were filtered out and will not be synced:",

    status_queued: "Queued",
    status_running: "Running",
    status_retrying: "Retrying",
    status_succeeded: "Succeeded",
    status_skipped: "Skipped",
    status_failed: "Failed",
    status_partial: "Partial",

    taskAttempt: "Attempt {n}",
    taskBlobs_one: "{n} blob copied",
    taskBlobs_other: "{n} blobs copied",
    taskImagesOf: "{done} of {total} images",
    taskImages_one: "{n} image done",
    taskImages_other: "{n} images done",
    taskTook: "took {d}",
    taskSkippedNote: "The target already has this digest",
    taskShowError: "Error",
    taskRetryIn: "Retrying in {s} s…",
    taskRetryFailed: "Attempt {n} failed",
    taskRequeued: "Requeued: {reason}",
    taskProgressLabel: "Task {index} progress",

    announceProgress: "{done} of {total} tasks done, {failed} failed",
    announceFinished: "Job finished: {status}",

    notFoundTitle: "Page not found",
    notFoundBody: "This address does not match any page.",
    goHome: "Go to the sync form",

    dur_ms: "{n} ms",
    dur_s: "{n} s",
    dur_m: "{m} min {s} s",
    dur_h: "{h} h {m} min",
  },

  zh: {
    appName: "docker-image-sync",
    skipToContent: "跳到主要内容",
    noscript: "此页面需要启用 JavaScript。",

    themeMode_auto: "跟随系统",
    themeMode_light: "浅色",
    themeMode_dark: "深色",
    themeToggle: "主题：{mode}。切换为{next}。",
    langToggleText: "EN",
    langToggleLabel: "Switch to English (切换到英文)",

    syncTitle: "同步镜像",
    syncIntro:
      "把公共仓库（docker.io、gcr.io、quay.io、registry.k8s.io、ghcr.io）中的镜像复制到你的私有仓库。",
    imagesLabel: "镜像列表",
    imagesHint: "每行一个镜像，以 # 开头的行是注释。",
    imagesPlaceholder:
      "# 每行一个镜像\nnginx:1.25\nbitnami/redis:7.2\nregistry.k8s.io/pause:3.9",
    imagesCount_other: "{n} 个镜像",
    targetLabel: "目标仓库",
    targetLoading: "正在加载仓库…",
    targetEmpty: "尚未配置任何仓库",
    targetLoadFailed: "无法加载仓库列表：{error}",
    retry: "重试",
    levelLabel: "替换级别",
    level_skip: "跳过",
    level_all: "替换所有级",
    level_1: "替换1级",
    level_2: "替换2级",
    level_3: "替换3级",
    levelHelp_skip: "在命名空间下保留完整的源路径。",
    levelHelp_all: "只保留镜像名。",
    levelHelp_1: "去掉路径的第一级。",
    levelHelp_2: "去掉路径的前两级。",
    levelHelp_3: "去掉路径的前三级。",
    levelOption: "{name}（{example}）",
    namespaceLabel: "命名空间",
    optional: "可选",
    namespaceHintDefault: "留空则使用该仓库的默认命名空间：{ns}",
    namespaceHint: "留空则使用该仓库的默认命名空间。",
    submit: "开始同步",
    submitting: "正在提交…",

    errNoImages: "请至少输入一个镜像。",
    errNoTarget: "请选择目标仓库。",
    errLines_other: "有 {n} 行需要修改，同步尚未开始：",
    errLineRef: "第 {line} 行",
    errLineJump: "跳到镜像列表的第 {line} 行",
    errUnauthorized: "你尚未登录，或登录已过期。",
    errNetwork: "无法连接服务器，请检查网络后重试。",
    errServer: "服务器返回错误（HTTP {status}）。",
    errBadResponse: "服务器的响应无法识别。",

    recentTitle: "最近的任务",
    recentEmpty: "还没有任务。",
    recentLoading: "正在加载…",
    recentLoadFailed: "无法加载最近的任务：{error}",
    refresh: "刷新",
    recentImages_other: "{n} 个镜像",
    recentOpen: "打开任务 {id}",

    backToForm: "新建同步",
    jobTitle: "同步任务",
    jobId: "任务 ID",
    copy: "复制",
    copied: "已复制",
    metaTarget: "目标仓库",
    metaLevel: "替换级别",
    metaNamespace: "命名空间",
    metaCreated: "创建时间",
    conn_connecting: "正在连接…",
    conn_live: "实时更新中",
    conn_reconnecting: "连接已断开，{s} 秒后重连",
    conn_finished: "已结束",
    conn_stopped: "已停止更新",
    reconnectNow: "立即重连",
    countsLabel: "按状态筛选镜像",
    count_all: "全部",
    overallProgress: "总体进度",
    tasksTitle: "镜像",
    noTasks: "此任务没有镜像。",
    noTasksMatch: "没有处于此状态的镜像。",
    jobNotFound: "找不到此 ID 的任务。",
    jobLoadFailed: "无法加载任务：{error}",
    filtered_other: "有 {n} 行被过滤，不会同步：",

    status_queued: "排队中",
    status_running: "同步中",
    status_retrying: "重试中",
    status_succeeded: "成功",
    status_skipped: "已跳过",
    status_failed: "失败",
    status_partial: "部分失败",

    taskAttempt: "第 {n} 次尝试",
    taskBlobs_other: "已复制 {n} 个 blob",
    taskImagesOf: "镜像 {done}/{total}",
    taskImages_other: "已完成 {n} 个镜像",
    taskTook: "耗时 {d}",
    taskSkippedNote: "目标仓库已有相同 digest 的镜像",
    taskShowError: "错误",
    taskRetryIn: "{s} 秒后重试…",
    taskRetryFailed: "第 {n} 次尝试失败",
    taskRequeued: "已重新排队：{reason}",
    taskProgressLabel: "第 {index} 个镜像的进度",

    announceProgress: "已完成 {done}/{total} 个，失败 {failed} 个",
    announceFinished: "任务结束：{status}",

    notFoundTitle: "页面不存在",
    notFoundBody: "没有与此地址对应的页面。",
    goHome: "返回同步页面",

    dur_ms: "{n} 毫秒",
    dur_s: "{n} 秒",
    dur_m: "{m} 分 {s} 秒",
    dur_h: "{h} 小时 {m} 分",
  },
};

export const LANGS = ["en", "zh"];
const STORAGE_KEY = "dis.lang";

function stored() {
  // Storage can throw (disabled cookies, some private modes); the page must still work.
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function initialLang() {
  const saved = stored();
  if (LANGS.includes(saved)) return saved;
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language || "en"];
  return String(langs[0]).toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current = initialLang();
const listeners = new Set();

export function getLang() {
  return current;
}

/** BCP 47 tag for Intl and the `lang` attribute. */
export function locale() {
  return current === "zh" ? "zh-CN" : "en";
}

export function setLang(lang) {
  if (!LANGS.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    /* not remembered, still switched */
  }
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function t(key, params = {}) {
  const dict = STRINGS[current];
  let template;
  if (typeof params.n === "number") {
    const form = params.n === 1 ? "one" : "other";
    template = dict[`${key}_${form}`] ?? dict[`${key}_other`] ?? STRINGS.en[`${key}_${form}`];
  }
  template ??= dict[key] ?? STRINGS.en[key];
  if (template === undefined) {
    // A missing key should be visible in testing, never crash the page.
    console.warn(`i18n: missing key ${key}`);
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * Fill static markup: `data-i18n` sets text, `data-i18n-<attr>` sets that attribute
 * (placeholder, aria-label, title).
 */
export function applyStatic(root = document) {
  document.documentElement.lang = locale();
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const attr of ["placeholder", "aria-label", "title"]) {
    const dataName = `i18n${attr.replace(/(^|-)(\w)/g, (_, _d, c) => c.toUpperCase())}`;
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.dataset[dataName]));
    }
  }
}
