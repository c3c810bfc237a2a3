// /users (admin): the accounts, their login history, and dialogs to create, edit, reset
// the password of and delete one. Users from users.yaml are read-only here.
//
// The login history opens under the user's row rather than on a page of its own:
// usernames may contain dots, and the server answers a path whose last part has a dot
// with a plain 404 instead of the page.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import {
  $, h, errorText, fmtDateTime, timeAgo, roleBadge, roleLabel, ROLES,
  field, checkbox, select, formDialog, confirmDialog, copyBox, toast,
  generatePassword, setFieldError, fieldError,
} from "./ui.js";
import { session } from "./session.js";
import { listPage } from "./list-page.js";

const page = listPage({
  prefix: "users",
  fetch: () => api.listUsers(),
  keep: (u) => u && typeof u.username === "string",
  render: () => renderUsers(),
  emptyKey: "usersEmpty",
});

// The server's rule for usernames (1 to 64 letters, digits, ".", "_", "-", "@").
const USERNAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

/** username -> {loading, error, list} for the open login histories. */
const histories = new Map();

export function enterUsers() {
  histories.clear();
  page.enter();
}

export function leaveUsers() {
  page.leave();
  histories.clear();
}

$("users-refresh").addEventListener("click", () => {
  for (const name of histories.keys()) loadHistory(name);
  page.load();
});
$("user-create").addEventListener("click", createUser);

const isMe = (u) => u.username === session.user?.username;
const isFile = (u) => u.managed_by === "file";

export function renderUsers() {
  page.showStatus();

  // Keep focus on the same control across a redraw (a language switch, a reload).
  const focusKey = document.activeElement?.dataset?.key;
  const body = $("users-body");
  body.replaceChildren();
  for (const [i, u] of (page.items ?? []).entries()) {
    const histId = `user-history-${i}`;
    const open = histories.has(u.username);
    body.append(userRow(u, histId, open));
    if (open) body.append(historyRow(u, histId));
  }
  if (focusKey) body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

function userRow(u, histId, open) {
  const name = u.display_name || u.username;
  const who = h("div", { class: "user-cell" },
    h("div", { class: "user-cell-name" },
      h("strong", { text: name }),
      isMe(u) ? h("span", { class: "tag", text: t("you") }) : null),
    h("div", { class: "user-cell-sub muted" },
      h("code", { text: u.username }),
      u.email ? h("span", { class: "user-email", text: u.email }) : null));

  const state = h("div", { class: "badges" },
    h("span", {
      class: `badge ${u.active === false ? "status-queued" : "status-succeeded"}`,
      text: u.active === false ? t("userInactive") : t("userActive"),
    }),
    isFile(u)
      ? h("span", { class: "badge badge-file", title: t("managedByFileHint"), text: t("managedByFile") })
      : null);

  const actions = h("div", { class: "row-actions" });
  const btn = (key, text, label, onClick, cls = "btn btn-ghost btn-small") => {
    const b = h("button", { type: "button", class: cls, text, "aria-label": label, "data-key": `${key}:${u.username}` });
    b.addEventListener("click", onClick);
    actions.append(b);
    return b;
  };
  const hist = btn("hist", t("loginHistory"), t("loginHistoryOf", { name }), () => toggleHistory(u.username));
  hist.setAttribute("aria-expanded", open ? "true" : "false");
  hist.setAttribute("aria-controls", histId);
  if (!isFile(u)) {
    btn("edit", t("edit"), t("editUserNamed", { name }), () => editUser(u));
    btn("reset", t("resetPassword"), t("resetPasswordNamed", { name }), () => resetPassword(u));
    // Deleting oneself would end this session mid-task; another admin can do it.
    if (!isMe(u)) btn("del", t("delete"), t("deleteUserNamed", { name }), () => deleteUser(u), "btn btn-danger-ghost btn-small");
  }

  return h("tr", { role: "row", class: u.active === false ? "is-inactive" : null },
    cell("colUser", who),
    cell("colRole", roleBadge(u.role)),
    cell("colStatus", state),
    cell("colLastLogin", timeAgo(u.last_login_ms, t("never"))),
    cell("colActions", actions, "cell-actions"));
}

function cell(labelKey, content, cls) {
  return h("td", { role: "cell", "data-label": t(labelKey), class: cls }, content);
}

// ---------------------------------------------------------------------------------------
// Login history

function toggleHistory(username) {
  if (histories.has(username)) histories.delete(username);
  else loadHistory(username);
  renderUsers();
}

async function loadHistory(username) {
  const entry = { loading: true, error: null, list: histories.get(username)?.list ?? null };
  histories.set(username, entry);
  try {
    const list = await api.userLogins(username);
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    entry.list = list;
  } catch (err) {
    if (err.handled) return;
    entry.error = err;
  } finally {
    entry.loading = false;
  }
  if (histories.get(username) === entry) renderUsers();
}

function historyRow(u, id) {
  const entry = histories.get(u.username);
  const title = h("h3", { class: "history-title", text: t("loginHistoryOf", { name: u.display_name || u.username }) });
  let content;
  if (entry.error) content = h("p", { class: "hint-error", text: t("loadFailed", { error: errorText(entry.error) }) });
  else if (entry.loading && !entry.list) content = h("p", { class: "muted", text: t("loading") });
  else if (!entry.list?.length) content = h("p", { class: "muted", text: t("loginHistoryEmpty") });
  else {
    content = h("ol", { class: "logins" }, ...entry.list.map((l) =>
      h("li", { class: "login-entry" },
        h("span", { class: `badge ${l.success ? "status-succeeded" : "status-failed"}`, text: l.success ? t("loginOk") : t("loginFailed") }),
        h("time", { class: "login-time", datetime: l.at_ms ? new Date(l.at_ms).toISOString() : null, text: fmtDateTime(l.at_ms) }),
        h("code", { class: "login-client", text: l.client ?? "" }),
        h("span", { class: "login-ua muted", title: l.user_agent ?? "", text: l.user_agent || "—" }))));
  }
  return h("tr", { role: "row", class: "history-row" },
    h("td", { role: "cell", colspan: "5", id, "aria-live": "polite" }, h("div", { class: "history" }, title, content)));
}

// ---------------------------------------------------------------------------------------
// Dialogs

function roleSelect(value) {
  return select(ROLES.map((r) => [r, roleLabel(r)]), value);
}

/** A password input with a Generate button; the value is meant to be handed over. */
function passwordInput(initial) {
  const input = h("input", {
    type: "text",
    class: "mono",
    autocomplete: "new-password",
    spellcheck: "false",
    autocapitalize: "off",
    value: initial,
  });
  const gen = h("button", { type: "button", class: "btn btn-secondary", text: t("generate") });
  gen.addEventListener("click", () => {
    input.value = generatePassword();
    setFieldError(input, null);
    input.focus();
    input.select();
  });
  input.addEventListener("input", () => setFieldError(input, null));
  return { input, gen };
}

function withButton(fieldEl, button) {
  // Put the button on the control's line.
  const control = fieldEl.querySelector("input, select");
  const row = h("div", { class: "select-row" });
  control.replaceWith(row);
  row.append(control, button);
  return fieldEl;
}

async function createUser() {
  const username = h("input", { type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false", maxlength: "64", required: true });
  const display = h("input", { type: "text", autocomplete: "off", maxlength: "200" });
  const email = h("input", { type: "email", autocomplete: "off", spellcheck: "false" });
  const role = roleSelect("viewer");
  const active = checkbox(t("userActiveLabel"), { checked: true });
  const pw = passwordInput(generatePassword());
  username.addEventListener("input", () => setFieldError(username, null));
  email.addEventListener("input", () => setFieldError(email, null));

  let createdName = "";
  const ok = await formDialog({
    title: t("userCreateTitle"),
    submitText: t("userCreateSubmit"),
    content: [
      field(t("usernameLabel"), username, { hint: t("usernameRule") }),
      field(t("displayNameLabel"), display, { optional: true }),
      field(t("emailLabel"), email, { optional: true }),
      field(t("roleLabel"), role, { hint: t(`roleHelp_${role.value}`) }),
      withButton(field(t("initialPasswordLabel"), pw.input, { hint: t("generatedPasswordHint") }), pw.gen),
      active.label,
    ],
    onSubmit: async () => {
      const name = username.value.trim();
      let bad = null;
      if (!USERNAME_RE.test(name)) {
        setFieldError(username, name ? t("errUsernameRule") : t("errNoUsername"));
        bad ??= username;
      }
      if (email.value.trim() && email.validity.typeMismatch) {
        setFieldError(email, t("errEmail"));
        bad ??= email;
      }
      if (!pw.input.value) {
        setFieldError(pw.input, t("errNoPassword"));
        bad ??= pw.input;
      }
      if (bad) {
        bad.focus();
        throw fieldError();
      }
      try {
        await api.createUser({
          username: name,
          password: pw.input.value,
          // Left out when empty: "no display name", not an empty one.
          display_name: display.value.trim() || undefined,
          role: role.value,
          email: email.value.trim() || undefined,
          active: active.input.checked,
        });
      } catch (err) {
        if (err instanceof ApiError && err.status === 400 && /password/i.test(err.body?.error ?? "")) {
          setFieldError(pw.input, errorText(err));
          pw.input.focus();
          throw fieldError();
        }
        throw err;
      }
      createdName = name;
      return {
        done: [
          h("p", { text: t("userCreated", { name }) }),
          h("p", { class: "hint", text: t("initialPasswordHandOver") }),
          copyBox(pw.input.value, t("initialPasswordLabel")),
        ],
      };
    },
  });
  if (ok) {
    toast(t("userCreated", { name: createdName }));
    page.load();
  }
}

// The role hint follows the select.
document.addEventListener("change", (e) => {
  const sel = e.target;
  if (!(sel instanceof HTMLSelectElement) || !sel.closest("dialog")) return;
  const hint = document.getElementById(`${sel.id}-hint`);
  if (hint && ROLES.includes(sel.value)) hint.textContent = t(`roleHelp_${sel.value}`);
});

async function editUser(u) {
  const self = isMe(u);
  const display = h("input", { type: "text", autocomplete: "off", maxlength: "200", value: u.display_name ?? "" });
  const email = h("input", { type: "email", autocomplete: "off", spellcheck: "false", value: u.email ?? "" });
  const role = roleSelect(u.role);
  role.disabled = self;
  const active = checkbox(t("userActiveLabel"), { checked: u.active !== false, disabled: self });
  email.addEventListener("input", () => setFieldError(email, null));

  const ok = await formDialog({
    title: t("editUserTitle", { name: u.username }),
    submitText: t("save"),
    content: [
      field(t("displayNameLabel"), display, { optional: true }),
      field(t("emailLabel"), email, { optional: true }),
      field(t("roleLabel"), role, { hint: self ? t("editSelfHint") : t(`roleHelp_${role.value}`) }),
      active.label,
      self ? null : h("p", { class: "hint", text: t("userInactiveHint") }),
    ].filter(Boolean),
    onSubmit: async () => {
      if (email.value.trim() && email.validity.typeMismatch) {
        setFieldError(email, t("errEmail"));
        email.focus();
        throw fieldError();
      }
      const patch = {};
      if (display.value.trim() !== (u.display_name ?? "")) patch.display_name = display.value.trim();
      if (email.value.trim() !== (u.email ?? "")) patch.email = email.value.trim();
      if (!self && role.value !== u.role) patch.role = role.value;
      if (!self && active.input.checked !== (u.active !== false)) patch.active = active.input.checked;
      if (Object.keys(patch).length) await api.updateUser(u.username, patch);
      return Object.keys(patch).length > 0;
    },
  });
  if (ok) {
    toast(t("userSaved", { name: u.username }));
    page.load();
  }
}

async function resetPassword(u) {
  const pw = passwordInput(generatePassword());
  const name = u.display_name || u.username;
  await formDialog({
    title: t("resetPasswordTitle", { name: u.username }),
    submitText: t("resetPassword"),
    content: [
      h("p", { text: t("resetPasswordBody", { name }) }),
      withButton(field(t("newPasswordLabel"), pw.input, { hint: t("generatedPasswordHint") }), pw.gen),
    ],
    onSubmit: async () => {
      if (!pw.input.value) {
        setFieldError(pw.input, t("errNoPassword"));
        pw.input.focus();
        throw fieldError();
      }
      try {
        await api.resetPassword(u.username, pw.input.value);
      } catch (err) {
        if (err instanceof ApiError && err.status === 400) {
          setFieldError(pw.input, errorText(err));
          pw.input.focus();
          throw fieldError();
        }
        throw err;
      }
      return {
        done: [
          h("p", { text: t("passwordResetDone", { name }) }),
          copyBox(pw.input.value, t("newPasswordLabel")),
        ],
      };
    },
  });
}

async function deleteUser(u) {
  const ok = await confirmDialog({
    title: t("deleteUserTitle", { name: u.username }),
    message: t("deleteUserBody", { name: u.display_name || u.username }),
    confirmText: t("delete"),
    action: () => api.deleteUser(u.username),
  });
  if (!ok) return;
  histories.delete(u.username);
  page.drop((x) => x.username === u.username);
  renderUsers();
  toast(t("userDeleted", { name: u.username }));
  $("user-create").focus();
  page.load();
}
