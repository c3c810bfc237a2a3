// /tokens: one's own API tokens. A new token is shown once, in a box, and never stored:
// it lives in that box's input until "Done" or leaving the page.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import {
  $, h, errorText, fmtDate, timeAgo, roleBadge, roleLabel, roleRank, ROLES,
  copyBox, confirmDialog, toast, setFieldError,
} from "./ui.js";
import { session } from "./session.js";

let tokens = null; // null: not loaded
let loadError = null;
let loading = false;
let busy = false;
let formError = null;
let newToken = null; // {name} of the token in the box (the secret itself is only in the DOM)

const nameEl = $("token-name");
const roleEl = $("token-role");
const expiryEl = $("token-expiry");

export function enterTokens() {
  hideNewToken();
  tokens = null;
  loadError = null;
  nameEl.value = "";
  setFieldError(nameEl, null);
  showError(null);
  roleEl.replaceChildren();
  expiryEl.value = "90";
  renderTokens();
  load();
}

export function leaveTokens() {
  hideNewToken();
}

/** Roles one may give a token: one's own and those below it. */
function allowedRoles() {
  const own = session.user?.role;
  if (!session.enabled || !ROLES.includes(own)) return ROLES;
  return ROLES.filter((r) => roleRank(r) <= roleRank(own));
}

export function renderTokens() {
  // Role choices (keep the selection across a language switch).
  const roles = allowedRoles();
  // By default no more than a script usually needs (operator: submit syncs); an admin
  // token has to be chosen on purpose.
  const fallback = roles.includes("operator") ? "operator" : roles[roles.length - 1];
  const selected = roleEl.value || fallback;
  roleEl.replaceChildren(...roles.map((r) => h("option", { value: r, text: roleLabel(r) })));
  roleEl.value = roles.includes(selected) ? selected : fallback;
  for (const opt of expiryEl.options) {
    opt.textContent = opt.value ? t("expiresInDays", { n: Number(opt.value) }) : t("expiresNever");
  }
  if (newToken) $("token-new-title").textContent = t("tokenNewTitle", { name: newToken.name });
  if (formError) showError(formError);
  renderList();
}

function renderList() {
  const status = $("tokens-status");
  const table = $("tokens-table");
  const body = $("tokens-body");
  $("tokens-refresh").disabled = loading;
  status.classList.toggle("hint-error", !!loadError);
  if (loadError) status.textContent = t("loadFailed", { error: errorText(loadError) });
  else if (tokens === null) status.textContent = t("loading");
  else if (tokens.length === 0) status.textContent = t("tokensEmpty");
  else status.textContent = "";
  table.hidden = !tokens?.length;
  body.replaceChildren();
  const now = Date.now();
  for (const tok of tokens ?? []) {
    const expired = tok.expires_at_ms != null && tok.expires_at_ms <= now;
    const revoke = h("button", {
      type: "button",
      class: "btn btn-danger-ghost btn-small",
      text: t("tokenRevoke"),
      "aria-label": t("tokenRevokeNamed", { name: tok.name }),
    });
    revoke.addEventListener("click", () => revokeToken(tok));
    const expires = tok.expires_at_ms == null
      ? h("span", { class: "muted", text: t("expiresNever") })
      : h("span", {},
        h("time", { datetime: new Date(tok.expires_at_ms).toISOString(), text: fmtDate(tok.expires_at_ms) }),
        expired ? " " : null,
        expired ? h("span", { class: "badge status-failed", text: t("tokenExpired") }) : null);
    body.append(h("tr", { role: "row", class: expired ? "is-expired" : null },
      cell("colName", h("strong", { class: "token-name", text: tok.name ?? "" })),
      cell("colRole", roleBadge(tok.role)),
      cell("colCreated", h("time", {
        datetime: tok.created_at_ms ? new Date(tok.created_at_ms).toISOString() : null,
        text: fmtDate(tok.created_at_ms),
      })),
      cell("colLastUsed", timeAgo(tok.last_used_ms, t("neverUsed"))),
      cell("colExpires", expires),
      cell("colActions", revoke, "cell-actions"),
    ));
  }
}

function cell(labelKey, content, cls) {
  return h("td", { role: "cell", "data-label": t(labelKey), class: cls }, content);
}

async function load() {
  if (loading) return;
  loading = true;
  loadError = null;
  renderList();
  try {
    const list = await api.listTokens();
    if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
    tokens = list.filter((x) => x && x.id != null);
  } catch (err) {
    if (err.handled) return;
    loadError = err;
  } finally {
    loading = false;
  }
  renderList();
}

$("tokens-refresh").addEventListener("click", load);

function showError(e) {
  formError = e;
  const box = $("token-error");
  box.hidden = !e;
  box.textContent = e ? errorText(e) : "";
}

function setBusy(on) {
  busy = on;
  const btn = $("token-submit");
  btn.disabled = on;
  btn.classList.toggle("is-busy", on);
  btn.setAttribute("aria-busy", on ? "true" : "false");
}

nameEl.addEventListener("input", () => setFieldError(nameEl, null));

$("token-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (busy) return;
  showError(null);
  const name = nameEl.value.trim();
  if (!name) {
    setFieldError(nameEl, t("errTokenName"));
    nameEl.focus();
    return;
  }
  const days = expiryEl.value ? Number(expiryEl.value) : null;
  setBusy(true);
  try {
    const created = await api.createToken(name, roleEl.value, days);
    if (!created || typeof created.token !== "string") throw new ApiError(201, t("errBadResponse"));
    nameEl.value = "";
    showNewToken(created);
    // Show it in the list at once; the reload below brings the server's view.
    tokens = [{ ...created, token: undefined, last_used_ms: null }, ...(tokens ?? []).filter((x) => x.id !== created.id)];
    renderList();
    load();
  } catch (err) {
    if (err.handled) return;
    showError(err);
    $("token-error").focus();
  } finally {
    setBusy(false);
  }
});

function showNewToken(created) {
  newToken = { name: created.name ?? "" };
  const box = $("token-new");
  $("token-new-title").textContent = t("tokenNewTitle", { name: newToken.name });
  $("token-new-box").replaceChildren(copyBox(created.token, t("tokenValueLabel")));
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
  box.focus({ preventScroll: true });
}

function hideNewToken() {
  newToken = null;
  $("token-new-box").replaceChildren(); // drops the only copy of the secret
  $("token-new").hidden = true;
}

$("token-new-done").addEventListener("click", () => {
  hideNewToken();
  nameEl.focus();
});

async function revokeToken(tok) {
  const ok = await confirmDialog({
    title: t("tokenRevokeTitle"),
    message: t("tokenRevokeBody", { name: tok.name }),
    confirmText: t("tokenRevoke"),
    action: () => api.revokeToken(tok.id),
  });
  if (!ok) return;
  tokens = (tokens ?? []).filter((x) => x.id !== tok.id);
  renderList();
  toast(t("tokenRevoked", { name: tok.name }));
  // Focus went back to the removed button; put it somewhere sensible.
  if (!document.activeElement || document.activeElement === document.body) $("tokens-refresh").focus();
}
