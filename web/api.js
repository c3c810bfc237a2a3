// Thin wrappers over the same-origin JSON api and the job event WebSocket.
// Everything here is UI-agnostic: errors are thrown as ApiError and the caller decides
// what to show. Requests carry the UI's language, so messages the server writes for people
// (connection-test steps) come in it.

import { getLang } from "./i18n.js";

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, or 0 when the server could not be reached.
   * @param {any} body Parsed JSON body when there was one.
   */
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }

  /** Per-line problems from a 400 on the image list, if the server sent them. */
  get lineErrors() {
    return Array.isArray(this.body?.errors) ? this.body.errors : [];
  }

  /** Not logged in (or the session ended). */
  get loginRequired() {
    return this.status === 401;
  }

  /** Logged in with a generated password that must be replaced before anything else. */
  get passwordChangeRequired() {
    return this.status === 403 && this.body?.code === "password_change_required";
  }
}

// Called for a 401 or a password_change_required 403 from any call that did not opt out,
// so every page gets the same redirect without handling it itself. The error is then
// thrown with `handled = true`; callers may skip showing it.
let authProblemHandler = null;

export function onAuthProblem(fn) {
  authProblemHandler = fn;
}

/**
 * @param {{authRedirect?: boolean, page?: boolean}} [opts] authRedirect false: a
 *   401/403 is the caller's business (the login itself, asking who is logged in).
 *   page: answer `{ items, next }`, for the lists whose next page's cursor is a header.
 */
async function request(method, path, body, { authRedirect = true, page = false } = {}) {
  const init = {
    method,
    headers: { Accept: "application/json", "Accept-Language": getLang() },
    // The session is an HttpOnly cookie; same-origin only. The browser adds the Origin
    // header the server checks on state-changing requests.
    credentials: "same-origin",
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }

  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, err?.message || "network error");
  }

  const data = parseJson(await res.text());
  if (!res.ok) throw failure(res.status, data, authRedirect);
  // A list page: the items and where the next page starts (null on the last).
  if (page) return { items: Array.isArray(data) ? data : [], next: res.headers.get("x-next-cursor") };
  return data;
}

function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    // A proxy error page or similar: keep the status, drop the body.
    return null;
  }
}

/** The ApiError for a non-2xx answer, after handing a login problem to the handler. */
function failure(status, data, authRedirect) {
  const message = typeof data?.error === "string" ? data.error : `HTTP ${status}`;
  const err = new ApiError(status, message, data);
  if (authRedirect && authProblemHandler && (err.loginRequired || err.passwordChangeRequired)) {
    err.handled = true;
    authProblemHandler(err);
  }
  return err;
}

/**
 * The file name in a Content-Disposition header (`filename*=UTF-8''…` or `filename="…"`),
 * reduced to characters that are safe in a file name, or null.
 */
export function dispositionFileName(header) {
  if (!header) return null;
  let name = null;
  const star = /filename\*\s*=\s*utf-8''([^;]+)/i.exec(header);
  if (star) {
    try {
      name = decodeURIComponent(star[1].trim());
    } catch {
      name = null;
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
    if (plain) name = (plain[1] ?? plain[2]).replace(/\\(.)/g, "$1");
  }
  if (!name) return null;
  // No directories, nothing hidden, nothing a file system or a shell would trip on.
  name = name.replace(/^.*[\\/]/, "").replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  return name || null;
}

/**
 * POST a JSON body and take a file back: `{ blob, fileName }`. Errors are thrown like
 * `request` throws them (a 400 carries its per-line errors).
 */
async function download(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: { Accept: "text/x-shellscript, application/json;q=0.5", "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, err?.message || "network error");
  }
  if (!res.ok) throw failure(res.status, parseJson(await res.text()), true);
  let blob;
  try {
    blob = await res.blob();
  } catch (err) {
    throw new ApiError(0, err?.message || "network error");
  }
  return { blob, fileName: dispositionFileName(res.headers.get("Content-Disposition")) };
}

const enc = encodeURIComponent;

/** GET a text file (a bundle's push.sh); errors are thrown like `request` throws them. */
async function text(path) {
  let res;
  try {
    res = await fetch(path, { headers: { "Accept-Language": getLang() }, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, err?.message || "network error");
  }
  const body = await res.text();
  if (!res.ok) throw failure(res.status, parseJson(body), true);
  return body;
}

/**
 * POST a file as the raw body, the browser reading it from disk as it goes (an archive can be
 * gigabytes). XMLHttpRequest rather than fetch: only it reports upload progress, which
 * `onProgress(sent, total)` is given.
 */
function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Accept-Language", getLang());
    xhr.setRequestHeader("Content-Type", "application/x-tar");
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, "network error"));
    xhr.onload = () => {
      const data = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(failure(xhr.status, data, true));
    };
    xhr.send(file);
  });
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const api = {
  registries: () => request("GET", "/api/registries"),
  createJob: (payload) => request("POST", "/api/jobs", payload),
  // Same body as createJob; neither queues anything.
  previewJob: (payload) => request("POST", "/api/jobs/preview", payload),
  script: (payload) => download("/api/scripts", payload),
  listJobs: (limit = 20) => request("GET", `/api/jobs?limit=${encodeURIComponent(limit)}`),
  /**
   * One page of jobs, filtered (the keys of GET /api/jobs' query): `{ jobs, next }`, where
   * `next` is the cursor of the page after, null on the last one. A short or even empty
   * page can still have a `next`: a text search stops after looking through so many jobs.
   */
  jobsPage: async (params = {}) => {
    const { items, next } = await request("GET", `/api/jobs${query(params)}`, undefined, { page: true });
    return { jobs: items, next: next || null };
  },
  getJob: (id) => request("GET", `/api/jobs/${encodeURIComponent(id)}`),
  // The job counted but without its tasks, and the event its counts stand at.
  jobSummary: (id) => request("GET", `/api/jobs/${encodeURIComponent(id)}?tasks=false`),
  // A page of a job's tasks: {items, next}.
  jobTasks: (id, params) =>
    request("GET", `/api/jobs/${encodeURIComponent(id)}/tasks${query(params)}`, undefined, { page: true }),
  taskLog: (id, task) =>
    request("GET", `/api/jobs/${encodeURIComponent(id)}/tasks/${encodeURIComponent(task)}/log`),
  cancelJob: (id) => request("POST", `/api/jobs/${encodeURIComponent(id)}/cancel`),
  retryJob: (id) => request("POST", `/api/jobs/${encodeURIComponent(id)}/retry`),
  syncAgain: (id) => request("POST", `/api/jobs/${encodeURIComponent(id)}/sync-again`),

  // Accounts and sessions.
  me: () => request("GET", "/api/auth/me", undefined, { authRedirect: false }),
  login: (username, password, rememberMe) =>
    request("POST", "/api/auth/login", { username, password, remember_me: !!rememberMe }, { authRedirect: false }),
  logout: () => request("POST", "/api/auth/logout", undefined, { authRedirect: false }),
  // A 403 here is "the current password is wrong", never the password-change redirect.
  changePassword: (oldPassword, newPassword) =>
    request("POST", "/api/auth/password", { old_password: oldPassword, new_password: newPassword }),

  // Users (admin).
  listUsers: () => request("GET", "/api/users"),
  createUser: (user) => request("POST", "/api/users", user),
  updateUser: (username, patch) => request("PATCH", `/api/users/${enc(username)}`, patch),
  deleteUser: (username) => request("DELETE", `/api/users/${enc(username)}`),
  resetPassword: (username, password) => request("POST", `/api/users/${enc(username)}/password`, { password }),
  userLogins: (username) => request("GET", `/api/users/${enc(username)}/logins`),

  // One's own API tokens.
  listTokens: () => request("GET", "/api/tokens"),
  createToken: (name, role, expiresInDays) =>
    request("POST", "/api/tokens", { name, role, expires_in_days: expiresInDays ?? null }),
  revokeToken: (id) => request("DELETE", `/api/tokens/${enc(id)}`),

  // Registries (admin; the list itself is `registries` above). An update without a
  // `password` keeps the stored one.
  createRegistry: (registry) => request("POST", "/api/registries", registry),
  updateRegistry: (name, registry) => request("PUT", `/api/registries/${enc(name)}`, registry),
  deleteRegistry: (name) => request("DELETE", `/api/registries/${enc(name)}`),
  testRegistry: (name) => request("POST", `/api/registries/${enc(name)}/test`),

  // Sync rules: everyone reads them; operators change and run the api's (rules.yaml's are
  // read-only, but can be run).
  listRules: () => request("GET", "/api/rules"),
  getRule: (name) => request("GET", `/api/rules/${enc(name)}`),
  createRule: (rule) => request("POST", "/api/rules", rule),
  updateRule: (name, rule) => request("PUT", `/api/rules/${enc(name)}`, rule),
  deleteRule: (name) => request("DELETE", `/api/rules/${enc(name)}`),
  runRule: (name) => request("POST", `/api/rules/${enc(name)}/run`),
  // Only the rules' newest jobs are wanted (for their status): the list holds no tasks.

  // Webhooks (admin). An update without `url` or `secret` keeps the stored one.
  listWebhooks: () => request("GET", "/api/webhooks"),
  createWebhook: (hook) => request("POST", "/api/webhooks", hook),
  updateWebhook: (name, hook) => request("PUT", `/api/webhooks/${enc(name)}`, hook),
  deleteWebhook: (name) => request("DELETE", `/api/webhooks/${enc(name)}`),
  testWebhook: (name) => request("POST", `/api/webhooks/${enc(name)}/test`),
  webhookDeliveries: (name) => request("GET", `/api/webhooks/${enc(name)}/deliveries`),

  // Bundles (the Downloads page): everyone lists them, operators download, push and upload,
  // admins delete. Files and whole bundles are plain links (downloadUrl, archiveUrl).
  listDownloads: () => request("GET", "/api/downloads"),
  downloadsUsage: () => request("GET", "/api/downloads/usage"),
  bundleText: (bundle, file) => text(`/api/downloads/${enc(bundle)}/files/${enc(file)}`),
  pushBundle: (bundle, body) => request("POST", `/api/downloads/${enc(bundle)}/push`, body),
  deleteBundle: (bundle) => request("DELETE", `/api/downloads/${enc(bundle)}`),
  uploadBundle: (file, onProgress) => upload("/api/downloads", file, onProgress),

  // Statistics (everyone): figures per bucket over [from, to), optionally of one registry.
  stats: ({ from, to, bucket, registry } = {}) => request("GET", `/api/stats${query({ from, to, bucket, registry })}`),

  // Audit log (admin).
  audit: ({ limit = 50, before, actor, action } = {}) =>
    request("GET", `/api/audit${query({ limit, before, actor, action })}`),
};

export const TERMINAL_JOB = new Set(["succeeded", "failed", "partial"]);

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
// A socket that stayed up this long counts as healthy, so the next drop starts the
// backoff from the bottom again; a server that accepts and at once closes does not.
const HEALTHY_AFTER_MS = 10000;

/**
 * Keeps a job's state fresh: a snapshot (GET) then the event stream (WebSocket), again
 * and again with backoff until the job is finished or `stop()` is called.
 *
 * Each cycle starts from a fresh snapshot and the server replays the whole event
 * history on connect, so the caller resets its state in `onSnapshot` and applies events
 * on top, skipping ids already applied since that snapshot. Because every cycle
 * re-reads the snapshot, the view still advances (coarsely) behind a proxy that blocks
 * WebSockets.
 *
 * Callbacks: onSnapshot(job), onEvent(event), onState({state, retryInMs?, error?})
 * where state is "connecting" | "live" | "waiting" | "finished" | "stopped".
 */
export class JobWatcher {
  constructor(jobId, { onSnapshot, onResync, onEvent, onState }) {
    this.jobId = jobId;
    this.onSnapshot = onSnapshot;
    // The socket's first message: the job's counts now, and the event they stand at.
    this.onResync = onResync;
    this.onEvent = onEvent;
    this.onState = onState;
    this.failures = 0;
    this.stopped = false;
    this.finished = false;
    this.socket = null;
    this.timer = null;
  }

  /** @param {object} [snapshot] a job already in hand (e.g. the POST answer); skips one GET. */
  start(snapshot) {
    this.cycle(snapshot);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000);
      this.socket = null;
    }
  }

  /** Skip the remaining backoff wait. */
  retryNow() {
    if (this.stopped || this.finished || this.socket) return;
    clearTimeout(this.timer);
    this.cycle();
  }

  async cycle(snapshot) {
    if (this.stopped) return;
    this.onState({ state: "connecting" });
    if (!snapshot) {
      try {
        snapshot = await api.jobSummary(this.jobId);
      } catch (err) {
        if (this.stopped) return;
        if (err.status === 404 || err.status === 401 || err.status === 403) {
          // Nothing to retry for: the job does not exist or we are not allowed.
          this.stopped = true;
          this.onState({ state: "stopped", error: err });
          return;
        }
        this.scheduleRetry(err);
        return;
      }
      if (this.stopped) return;
    }
    this.onSnapshot(snapshot);
    if (TERMINAL_JOB.has(snapshot.status)) {
      this.markFinished();
      return;
    }
    this.connect();
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    // A snapshot first, then what follows it: the job's stream keeps only its newest events,
    // and a job of 10,000 images writes more.
    const url = `${proto}//${location.host}/api/jobs/${encodeURIComponent(this.jobId)}/events?snapshot=true`;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      this.scheduleRetry(err);
      return;
    }
    this.socket = socket;
    let openedAt = 0;

    socket.onopen = () => {
      openedAt = Date.now();
      this.onState({ state: "live" });
    };
    socket.onmessage = (msg) => {
      if (typeof msg.data !== "string") return;
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return; // one bad frame must not end the stream
      }
      if (!event || typeof event !== "object") return;
      if (event.kind === "snapshot") {
        if (event.job && typeof event.job === "object") this.onResync({ ...event.job, at_event: event.id });
        return;
      }
      this.onEvent(event);
      if (event.kind === "job_finished") this.finished = true;
    };
    socket.onclose = () => {
      this.socket = null;
      if (this.stopped) return;
      if (this.finished) {
        this.markFinished();
        return;
      }
      if (openedAt && Date.now() - openedAt >= HEALTHY_AFTER_MS) this.failures = 0;
      this.scheduleRetry(null);
    };
    // onerror is always followed by onclose, which does the work.
    socket.onerror = () => {};
  }

  markFinished() {
    this.finished = true;
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000);
      this.socket = null;
    }
    this.onState({ state: "finished" });
  }

  scheduleRetry(error) {
    // Full jitter keeps many open tabs from reconnecting in lockstep after a restart.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.failures);
    const delay = Math.max(BACKOFF_MIN_MS, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
    this.failures += 1;
    this.onState({ state: "waiting", retryInMs: delay, error });
    this.timer = setTimeout(() => this.cycle(), delay);
  }
}

/** A bundle's file, for an `<a download>`: the session cookie goes with it. */
export const downloadUrl = (bundle, file) => `/api/downloads/${enc(bundle)}/files/${enc(file)}`;

/** A whole bundle as one archive: tar, or zip with `zip`. */
export const archiveUrl = (bundle, zip = false) => `/api/downloads/${enc(bundle)}/archive${zip ? "?format=zip" : ""}`;
