// /login and /password.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { $, navigate, safeNext, errorText, toast, setFieldError as setFieldErr } from "./ui.js";
import { session, setUser, loadMe } from "./session.js";

// ---------------------------------------------------------------------------------------
// Login

const loginForm = $("login-form");
const userEl = $("login-username");
const passEl = $("login-password");
let loginBusy = false;
/** Kept as data, so a language switch can redraw it: {key, params} or {err}. */
let loginError = null;
/** A note above the form, e.g. "your session ended": a string key, or null. */
let loginNotice = null;
let lockUntil = 0;
let lockTimer = 0;

/** Say why the login page appears (set just before going there). */
export function setLoginNotice(key) {
  loginNotice = key;
}

export function enterLogin() {
  setLoginBusy(false);
  showLoginError(null);
  setFieldErr(userEl, null);
  setFieldErr(passEl, null);
  passEl.value = "";
  passEl.type = "password";
  $("login-show").checked = false;
  renderLogin();
  // The username is what one types first; when the browser filled it, the password.
  (userEl.value ? passEl : userEl).focus({ preventScroll: true });
}

export function leaveLogin() {
  passEl.value = "";
  loginNotice = null;
}

export function renderLogin() {
  const notice = $("login-notice");
  notice.hidden = !loginNotice;
  notice.textContent = loginNotice ? t(loginNotice) : "";
  if (loginError) showLoginError(loginError);
  $("login-submit").disabled = loginBusy || Date.now() < lockUntil;
}

function setLoginBusy(on) {
  loginBusy = on;
  const btn = $("login-submit");
  btn.disabled = on || Date.now() < lockUntil;
  btn.classList.toggle("is-busy", on);
  btn.setAttribute("aria-busy", on ? "true" : "false");
}

function showLoginError(e) {
  loginError = e;
  const box = $("login-error");
  box.hidden = !e;
  box.textContent = !e ? "" : e.key ? t(e.key, e.params ?? {}) : errorText(e.err);
}

function waitText(seconds) {
  if (seconds < 60) return t("wait_s", { n: Math.max(1, Math.ceil(seconds)) });
  return t("wait_min", { n: Math.ceil(seconds / 60) });
}

$("login-show").addEventListener("change", (e) => {
  passEl.type = e.target.checked ? "text" : "password";
});

for (const el of [userEl, passEl]) el.addEventListener("input", () => setFieldErr(el, null));

loginForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (loginBusy || Date.now() < lockUntil) return;
  showLoginError(null);
  const username = userEl.value.trim();
  const password = passEl.value;
  setFieldErr(userEl, username ? null : t("errNoUsername"));
  setFieldErr(passEl, password ? null : t("errNoPassword"));
  if (!username || !password) {
    (username ? passEl : userEl).focus();
    return;
  }

  setLoginBusy(true);
  try {
    const res = await api.login(username, password, $("login-remember").checked);
    passEl.value = "";
    const user = res?.user && typeof res.user.username === "string" ? res.user : null;
    if (user) setUser(user);
    else await loadMe(); // an answer without the user: ask who we are now
    session.state = "ready";
    loginNotice = null;
    const next = safeNext(new URLSearchParams(location.search).get("next"));
    navigate(session.user?.must_change_password ? "/password" : next ?? "/", { replace: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showLoginError({ key: "loginInvalid" });
    } else if (err instanceof ApiError && err.status === 429) {
      const secs = Number(err.body?.retry_after);
      const wait = Number.isFinite(secs) && secs > 0 ? secs : 60;
      lockUntil = Date.now() + wait * 1000;
      clearTimeout(lockTimer);
      lockTimer = setTimeout(() => {
        lockUntil = 0;
        $("login-submit").disabled = loginBusy;
      }, wait * 1000);
      showLoginError({ key: "loginLocked", params: { time: waitText(wait) } });
    } else {
      showLoginError({ err });
    }
    passEl.value = "";
    passEl.focus();
  } finally {
    setLoginBusy(false);
  }
});

// ---------------------------------------------------------------------------------------
// Change password

const pwForm = $("password-form");
const curEl = $("pw-current");
const newEl = $("pw-new");
const repEl = $("pw-repeat");
// The server's minimum (users.yaml `security.password_min_length`, 8 by default); learnt
// from its error message when it differs, since no endpoint reports it.
let minLength = 8;
let pwBusy = false;
let pwError = null;

export function enterPassword() {
  for (const el of [curEl, newEl, repEl]) {
    el.value = "";
    el.type = "password";
    setFieldErr(el, null);
  }
  $("pw-show").checked = false;
  showPwError(null);
  setPwBusy(false);
  renderPassword();
  if (!curEl.disabled) curEl.focus({ preventScroll: true });
}

export function leavePassword() {
  for (const el of [curEl, newEl, repEl]) el.value = "";
}

export function renderPassword() {
  const user = session.user;
  const first = !!user?.must_change_password;
  const managed = user?.managed_by === "file";
  $("password-first").hidden = !first;
  $("password-intro").hidden = first;
  $("password-managed").hidden = !managed;
  // Nothing to fill in: the password lives in users.yaml.
  pwForm.hidden = managed;
  $("password-cancel").hidden = first;
  $("password-logout").hidden = !first;
  $("password-username").value = user?.username ?? "";
  for (const el of [curEl, newEl, repEl, $("pw-show")]) el.disabled = managed;
  $("password-submit").disabled = managed || pwBusy;
  $("pw-new-hint").textContent = t("passwordHint", { n: minLength });
  if (pwError) showPwError(pwError);
}

function setPwBusy(on) {
  pwBusy = on;
  const btn = $("password-submit");
  btn.disabled = on || session.user?.managed_by === "file";
  btn.classList.toggle("is-busy", on);
  btn.setAttribute("aria-busy", on ? "true" : "false");
}

function showPwError(e) {
  pwError = e;
  const box = $("password-error");
  box.hidden = !e;
  box.textContent = !e ? "" : e.key ? t(e.key, e.params ?? {}) : errorText(e.err);
}

$("pw-show").addEventListener("change", (e) => {
  for (const el of [curEl, newEl, repEl]) el.type = e.target.checked ? "text" : "password";
});

curEl.addEventListener("input", () => setFieldErr(curEl, null));
newEl.addEventListener("input", () => {
  setFieldErr(newEl, null);
  if (repEl.value && repEl.value === newEl.value) setFieldErr(repEl, null);
});
repEl.addEventListener("input", () => {
  if (repEl.value === newEl.value) setFieldErr(repEl, null);
});
// Say it as soon as the repeat is complete, not only on submit.
repEl.addEventListener("blur", () => {
  if (repEl.value && newEl.value && repEl.value !== newEl.value) setFieldErr(repEl, t("errPasswordMismatch"));
});

/** The server's "at least N characters", in the page's language; N is remembered. */
function tooShort(err) {
  const m = /at least (\d+)/i.exec(err?.body?.error ?? "");
  if (!m) return null;
  minLength = Number(m[1]);
  $("pw-new-hint").textContent = t("passwordHint", { n: minLength });
  return t("errPasswordTooShort", { n: minLength });
}

pwForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (pwBusy || session.user?.managed_by === "file") return;
  showPwError(null);
  const cur = curEl.value;
  const next = newEl.value;
  const rep = repEl.value;
  const problems = [
    [curEl, cur ? null : t("errNoCurrentPassword")],
    [newEl, !next ? t("errNoNewPassword") : next === cur ? t("errPasswordSame") : null],
    [repEl, next && rep !== next ? t("errPasswordMismatch") : null],
  ];
  let first = null;
  for (const [el, msg] of problems) {
    setFieldErr(el, msg);
    if (msg && !first) first = el;
  }
  if (first) {
    first.focus();
    return;
  }

  setPwBusy(true);
  try {
    await api.changePassword(cur, next);
    for (const el of [curEl, newEl, repEl]) el.value = "";
    if (session.user) setUser({ ...session.user, must_change_password: false });
    toast(t("passwordChanged"));
    navigate("/", { replace: true });
  } catch (err) {
    if (err.handled) return;
    if (err instanceof ApiError && err.status === 403) {
      setFieldErr(curEl, t("errCurrentPasswordWrong"));
      curEl.value = "";
      curEl.focus();
    } else if (err instanceof ApiError && err.status === 400) {
      setFieldErr(newEl, tooShort(err) ?? errorText(err));
      newEl.focus();
    } else if (err instanceof ApiError && err.status === 409) {
      showPwError({ key: "passwordManagedByFile" });
      $("password-error").focus();
    } else {
      showPwError({ err });
      $("password-error").focus();
    }
  } finally {
    setPwBusy(false);
  }
});
