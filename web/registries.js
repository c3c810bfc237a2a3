// /registries: the registries syncs can target, for every signed-in user to read; for admins
// a connection test per registry, and dialogs to add, edit and delete the ones stored through
// the api (the server refuses those to other roles, so they are not offered). Registries
// declared in registries.yaml are read-only here.
//
// Passwords only ever travel from the dialog's password input to the request body: the list
// shows whether one is stored, never a value, and the input is emptied once it was sent.
// Test results open under the registry's row (like the users page's login history): names
// may contain dots, and a path whose last part has a dot is a plain 404, not the page.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import {
  $, h, errorText, timeAgo, field, checkbox, select, formDialog, confirmDialog, toast,
  setFieldError, fieldError,
} from "./ui.js";
import { isAdmin } from "./session.js";
import { listPage } from "./list-page.js";

const page = listPage({
  prefix: "registries",
  fetch: () => api.registries(),
  keep: (r) => r && typeof r.name === "string",
  render: () => renderRegistries(),
  emptyKey: "registriesEmpty",
});

/** The types, in the order the select offers them. */
const REGISTRY_TYPES = ["harbor", "acr", "nexus", "swr", "tcr", "dockerhub", "generic"];
/** Types whose target namespace (project, repository) must be set; the server checks too. */
const NAMESPACE_REQUIRED = new Set(["harbor", "acr", "swr", "tcr", "nexus"]);
// The server's rule for names of registries stored through the api.
const NAME_RE = /^[a-z0-9._-]+$/;

/** name -> {running, error, report} for the connection tests shown under their rows. */
const tests = new Map();

const typeLabel = (type) => (REGISTRY_TYPES.includes(type) ? t(`regType_${type}`) : String(type ?? ""));
const nsLabel = (type) => t(type === "harbor" || type === "nexus" ? `regNsLabel_${type}` : "regNsLabel");
const isFile = (r) => r.source === "file";
const isPlainHttp = (r) => /^http:\/\//i.test(r.url ?? "");

/** Tell the rest of the page (the sync form's target list) that the registries changed. */
function changed() {
  document.dispatchEvent(new CustomEvent("registries-changed"));
}

export function enterRegistries() {
  tests.clear();
  page.enter();
}

export function leaveRegistries() {
  page.leave();
  tests.clear();
}

$("registries-refresh").addEventListener("click", page.load);
$("registry-create").addEventListener("click", () => openForm(null));

export function renderRegistries() {
  page.showStatus();
  $("registry-create").hidden = !isAdmin();

  // Keep focus on the same control across a redraw (a test finishing, a reload).
  const focusKey = document.activeElement?.dataset?.key;
  const body = $("registries-body");
  body.replaceChildren();
  for (const [i, r] of (page.items ?? []).entries()) {
    const testId = `registry-test-${i}`;
    body.append(registryRow(r, testId));
    if (r.problem) body.append(problemRow(r));
    if (tests.has(r.name)) body.append(testRow(r, testId));
  }
  if (focusKey) body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

function registryRow(r, testId) {
  const name = r.display_name || r.name;
  const badges = h("span", { class: "badges registry-badges" },
    isFile(r)
      ? h("span", { class: "badge badge-file", title: t("regManagedByFileHint"), text: t("regManagedByFile") })
      : null,
    r.problem ? h("span", { class: "badge status-failed", text: t("regUnusable") }) : null);
  const who = h("div", { class: "registry-cell" },
    h("div", { class: "registry-cell-name" }, h("strong", { text: name }), badges),
    h("div", { class: "registry-sub" },
      h("span", { class: "registry-type", text: typeLabel(r.type) }),
      r.display_name && r.display_name !== r.name ? h("code", { class: "registry-id muted", text: r.name }) : null),
    r.description ? h("p", { class: "registry-desc muted", text: r.description }) : null);

  const address = h("div", { class: "registry-address" },
    h("code", { class: "registry-url" }, ...breakable(r.url ?? "")),
    r.namespace
      ? h("div", { class: "registry-sub" }, h("span", { class: "muted", text: `${nsLabel(r.type)}: ` }), h("code", { text: r.namespace }))
      : null,
    r.insecure || r.create_project
      ? h("div", { class: "badges" },
        isPlainHttp(r)
          ? h("span", { class: "badge status-partial", title: t("regInsecureHint"), text: t("regPlainHttp") })
          : r.insecure
            ? h("span", { class: "badge status-partial", title: t("regInsecureHint"), text: t("regTlsUnverified") })
            : null,
        r.type === "harbor" && r.create_project
          ? h("span", { class: "badge status-queued", text: t("regCreatesProjects") })
          : null)
      : null);

  const creds = h("div", { class: "registry-creds" },
    r.username ? h("code", { text: r.username }) : h("span", { class: "muted", text: t("regAnonymous") }),
    h("div", { class: "registry-sub muted", text: r.has_password ? t("regPasswordStored") : t("regNoPassword") }));

  const updated = isFile(r)
    ? h("span", { class: "muted", text: "registries.yaml" })
    : h("div", {},
      timeAgo(r.updated_at_ms),
      r.updated_by ? h("div", { class: "registry-sub muted", text: t("regUpdatedBy", { user: r.updated_by }) }) : null);

  const actions = h("div", { class: "row-actions" });
  if (isAdmin()) {
    const btn = (key, content, label, onClick, cls = "btn btn-ghost btn-small") => {
      const b = h("button", { type: "button", class: cls, "aria-label": label, "data-key": `${key}:${r.name}` },
        ...(Array.isArray(content) ? content : [content]));
      b.addEventListener("click", onClick);
      actions.append(b);
      return b;
    };
    const entry = tests.get(r.name);
    const running = !!entry?.running;
    // While it runs the button stays focusable (a redraw keeps focus on it) but does nothing.
    const test = btn("test",
      [h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { text: running ? t("regTesting") : t("regTest") })],
      t("regTestNamed", { name }),
      () => runTest(r));
    test.classList.toggle("is-busy", running);
    test.setAttribute("aria-busy", running ? "true" : "false");
    if (running) test.setAttribute("aria-disabled", "true");
    test.setAttribute("aria-expanded", entry ? "true" : "false");
    test.setAttribute("aria-controls", testId);
    if (!isFile(r)) {
      btn("edit", t("edit"), t("regEditNamed", { name }), () => openForm(r));
      btn("del", t("delete"), t("regDeleteNamed", { name }), () => deleteRegistry(r), "btn btn-danger-ghost btn-small");
    }
  }

  return h("tr", { role: "row", class: r.problem ? "has-problem" : null },
    cell("colRegistry", who),
    cell("colAddress", address),
    cell("colCredentials", creds),
    cell("colUpdated", updated),
    cell("colActions", actions, "cell-actions"));
}

/**
 * A host or URL with line-break chances after ".", "/" and ":" (<wbr>, which copies as
 * nothing), so a long host wraps at its parts instead of between any two letters.
 */
function breakable(text) {
  const out = [];
  for (const part of text.split(/(?<=[./:])/)) {
    if (out.length) out.push(h("wbr"));
    out.push(part);
  }
  return out;
}

function cell(labelKey, content, cls) {
  return h("td", { role: "cell", "data-label": t(labelKey), class: cls }, content);
}

/** Why an api registry cannot be used right now, spelled out under its row. */
function problemRow(r) {
  return h("tr", { role: "row", class: "registry-subrow registry-problem-row" },
    h("td", { role: "cell", colspan: "5" },
      h("div", { class: "registry-problem" },
        h("span", { class: "registry-problem-icon", "aria-hidden": "true", text: "⚠" }),
        h("p", {},
          h("strong", { text: t("regProblemTitle", { name: r.display_name || r.name }) }), " ",
          h("span", { text: r.problem })))));
}

// ---------------------------------------------------------------------------------------
// Connection test

async function runTest(r) {
  const existing = tests.get(r.name);
  if (existing?.running) return;
  const entry = { running: true, error: null, report: existing?.report ?? null };
  tests.set(r.name, entry);
  renderRegistries();
  try {
    const report = await api.testRegistry(r.name);
    if (!report || !Array.isArray(report.steps)) throw new ApiError(200, t("errBadResponse"));
    entry.report = report;
  } catch (err) {
    if (err.handled) return;
    entry.error = err;
    entry.report = null;
  } finally {
    entry.running = false;
  }
  // Left the page, or the result was dismissed meanwhile.
  if (tests.get(r.name) !== entry) return;
  renderRegistries();
  const name = r.display_name || r.name;
  if (entry.error) toast(t("regTestError", { name, error: errorText(entry.error) }));
  else if (entry.report.ok) toast(t("regTestPassed", { name }));
  else {
    const failed = entry.report.steps.find((s) => !s.ok && !s.skipped);
    toast(t("regTestFailedAt", { name, step: failed ? stepLabel(failed.step) : "?" }));
  }
}

function stepLabel(step) {
  return ["reachable", "tls", "api", "auth", "project"].includes(step) ? t(`regStep_${step}`) : String(step ?? "");
}

function testRow(r, id) {
  const entry = tests.get(r.name);
  const name = r.display_name || r.name;
  const hide = h("button", { type: "button", class: "btn btn-ghost btn-small", "data-key": `hide:${r.name}`, text: t("regTestHide") });
  hide.addEventListener("click", () => {
    if (entry.running) return;
    tests.delete(r.name);
    renderRegistries();
    $("registries-body").querySelector(`[data-key="${CSS.escape(`test:${r.name}`)}"]`)?.focus();
  });
  hide.hidden = entry.running;

  const content = [];
  if (entry.running) {
    content.push(h("p", { class: "muted registry-test-wait" },
      h("span", { class: "spinner", "aria-hidden": "true" }), " ", t("regTestRunning")));
  }
  if (entry.error) {
    content.push(h("p", { class: "hint-error", text: t("regTestCouldNot", { error: errorText(entry.error) }) }));
  } else if (entry.report) {
    const rep = entry.report;
    content.push(h("p", { class: "registry-test-summary" },
      h("span", { class: `badge ${rep.ok ? "status-succeeded" : "status-failed"}`, text: rep.ok ? t("regTestOk") : t("regTestFailed") }),
      rep.transport ? h("span", { class: "muted registry-test-transport", text: ` ${t("regTestTransport", { transport: rep.transport })}` }) : null,
      entry.running ? h("span", { class: "muted", text: ` ${t("regTestPrevious")}` }) : null));
    content.push(h("ol", { class: "registry-steps" }, ...rep.steps.map(stepItem)));
  }

  const head = h("div", { class: "registry-test-head" },
    h("h3", { class: "history-title", text: t("regTestTitle", { name }) }), hide);
  return h("tr", { role: "row", class: "registry-subrow registry-test-row" },
    h("td", { role: "cell", colspan: "5", id },
      h("div", { class: "registry-test", "aria-busy": entry.running ? "true" : "false" }, head, ...content)));
}

function stepItem(s) {
  const state = s.skipped ? "skipped" : s.ok ? "ok" : "failed";
  const mark = { ok: "✓", failed: "✗", skipped: "–" }[state];
  return h("li", { class: `registry-step step-${state}` },
    h("span", { class: "step-mark", "aria-hidden": "true", text: mark }),
    h("span", { class: "step-name" },
      h("span", { class: "sr-only", text: `${t(`regStepState_${state}`)}: ` }),
      stepLabel(s.step)),
    h("span", { class: "step-message", text: s.message ?? "" }));
}

// ---------------------------------------------------------------------------------------
// Create and edit

const textInput = (value, extra = {}) => h("input", {
  type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false", value: value ?? "", ...extra,
});

/** The dialog for a new registry (`r` null) or for editing an api registry. */
async function openForm(r) {
  const editing = !!r;
  const name = textInput("", { required: true, name: "registry-name" });
  const display = h("input", { type: "text", autocomplete: "off", maxlength: "200", value: r?.display_name ?? "" });
  const type = select(REGISTRY_TYPES.map((k) => [k, typeLabel(k)]), r?.type ?? REGISTRY_TYPES[0]);
  type.name = "registry-type";
  const url = textInput(r?.url, { required: true, inputmode: "url", placeholder: "harbor.example.com", name: "registry-url" });
  const ns = textInput(r?.namespace, { name: "registry-namespace" });
  // Another system's account: not this site's login, so the browser must not fill it in.
  const username = textInput(r?.username, { name: "registry-username" });
  const password = h("input", { type: "password", autocomplete: "new-password", name: "registry-password", value: "" });
  const description = h("input", { type: "text", autocomplete: "off", maxlength: "500", value: r?.description ?? "" });
  const insecure = checkbox(t("regInsecureLabel"), { checked: !!r?.insecure });
  // The proxy's password has a field of its own so that it is never shown back in the url.
  const proxy = textInput(r?.proxy, { inputmode: "url", placeholder: "http://proxy.example.com:3128", name: "registry-proxy" });
  const proxyPassword = h("input", { type: "password", autocomplete: "new-password", name: "registry-proxy-password", value: "" });
  const noProxy = textInput(r?.no_proxy, { name: "registry-no-proxy", placeholder: "auth.example.com,.corp" });
  const createProject = checkbox(t("regCreateProjectLabel"), { checked: !!r?.create_project });
  const clearPw = editing && r.has_password ? checkbox(t("regClearPassword")) : null;

  const nsField = field(nsLabel(type.value), ns, { hint: " " });
  const urlField = field(t("regUrlLabel"), url, { hint: " " });
  const insecureHint = h("p", { class: "hint check-hint", id: `${insecure.input.id}-hint`, text: t("regInsecureFormHint") });
  insecure.input.setAttribute("aria-describedby", insecureHint.id);
  const createProjectBox = h("div", { class: "check-block" }, createProject.label,
    h("p", { class: "hint check-hint", id: `${createProject.input.id}-hint`, text: t("regCreateProjectHint") }));
  createProject.input.setAttribute("aria-describedby", `${createProject.input.id}-hint`);

  let pwHint;
  if (!editing) pwHint = t("regPasswordHintNew");
  else if (r.has_password) pwHint = t("regPasswordHintKeep");
  else pwHint = t("regPasswordHintNone");
  const pwField = field(t("regPasswordLabel"), password, { hint: pwHint, optional: !editing });
  if (clearPw) {
    pwField.append(clearPw.label);
    clearPw.input.addEventListener("change", () => {
      password.disabled = clearPw.input.checked;
      if (clearPw.input.checked) {
        password.value = "";
        setFieldError(password, null);
      }
    });
  }

  /** Labels and hints that follow the type. */
  const syncType = () => {
    const k = type.value;
    const required = NAMESPACE_REQUIRED.has(k);
    const label = nsField.querySelector("label");
    label.replaceChildren(nsLabel(k));
    if (!required) label.append(" ", h("span", { class: "optional", text: `(${t("optional")})` }));
    ns.required = required;
    nsField.querySelector(".hint").textContent = t(`regNsHint_${k}`);
    urlField.querySelector(".hint").textContent = t(k === "nexus" ? "regUrlHint_nexus" : k === "dockerhub" ? "regUrlHint_dockerhub" : "regUrlHint");
    createProjectBox.hidden = k !== "harbor";
    setFieldError(ns, null);
  };
  type.addEventListener("change", syncType);
  syncType();
  const checked = [name, url, ns, password, proxy, noProxy];
  for (const el of checked) el.addEventListener("input", () => setFieldError(el, null));
  // The proxy's errors may be about its password (no user in the url): editing that clears them too.
  proxyPassword.addEventListener("input", () => setFieldError(proxy, null));

  const content = [
    // Editing is how a problem gets fixed (a password entered again): keep it in view.
    editing && r.problem
      ? h("div", { class: "alert alert-error" },
        h("p", {}, h("strong", { text: t("regProblemTitle", { name: r.display_name || r.name }) }), " ", r.problem))
      : null,
    editing ? null : field(t("regNameLabel"), name, { hint: t("regNameHint") }),
    field(t("displayNameLabel"), display, { optional: true }),
    field(t("regTypeLabel"), type),
    urlField,
    nsField,
    field(t("regUsernameLabel"), username, { optional: true }),
    pwField,
    field(t("regDescriptionLabel"), description, { optional: true }),
    h("div", { class: "check-block" }, insecure.label, insecureHint),
    createProjectBox,
    field(t("regProxyLabel"), proxy, { optional: true, hint: t("regProxyHint") }),
    field(t("regProxyPasswordLabel"), proxyPassword, {
      optional: true,
      hint: r?.proxy_has_password ? t("regProxyPasswordKeep") : t("regProxyPasswordHint"),
    }),
    field(t("regNoProxyLabel"), noProxy, { optional: true, hint: t("regNoProxyHint") }),
  ].filter(Boolean);

  const ok = await formDialog({
    title: editing ? t("regEditTitle", { name: r.name }) : t("regCreateTitle"),
    submitText: editing ? t("save") : t("regCreateSubmit"),
    content,
    onSubmit: async () => {
      const k = type.value;
      const v = {
        name: name.value.trim(),
        url: url.value.trim(),
        ns: ns.value.trim(),
        display: display.value.trim(),
        username: username.value.trim(),
        description: description.value.trim(),
      };
      // Each check below sets its field's error again: none from an earlier try stays.
      for (const el of checked) setFieldError(el, null);
      let bad = null;
      if (!editing && !NAME_RE.test(v.name)) {
        setFieldError(name, v.name ? t("regErrName") : t("regErrNoName"));
        bad ??= name;
      }
      if (!v.url) {
        setFieldError(url, t("regErrNoUrl"));
        bad ??= url;
      } else if (/\s/.test(v.url)) {
        setFieldError(url, t("regErrUrlSpace"));
        bad ??= url;
      }
      // In the dialog's order, so that the first field with an error gets the focus.
      if (NAMESPACE_REQUIRED.has(k) && !v.ns) {
        setFieldError(ns, t("regErrNoNs", { label: nsLabel(k), type: typeLabel(k) }));
        bad ??= ns;
      }
      let proxyUrl = null;
      if (proxy.value.trim()) {
        try {
          const u = new URL(proxy.value.trim());
          if (!["http:", "https:"].includes(u.protocol) || !u.hostname) throw new Error("scheme");
          if (proxyPassword.value) {
            if (!u.username) throw new Error("user");
            u.password = proxyPassword.value;
          }
          proxyUrl = u.href.replace(/\/$/, "");
        } catch (e) {
          setFieldError(proxy, e.message === "user" ? t("regErrProxyUser") : t("regErrProxy"));
          bad ??= proxy;
        }
      } else if (noProxy.value.trim()) {
        setFieldError(noProxy, t("regErrNoProxyAlone"));
        bad ??= noProxy;
      }
      if (bad) {
        bad.focus();
        throw fieldError();
      }

      const body = {
        type: k,
        url: v.url,
        insecure: insecure.input.checked,
        create_project: k === "harbor" && createProject.input.checked,
        proxy: proxyUrl,
        no_proxy: proxyUrl ? noProxy.value.trim() || null : null,
      };
      if (editing) {
        // A full replacement: an emptied field clears the value.
        body.display_name = v.display || null;
        body.username = v.username || null;
        body.namespace = v.ns || null;
        body.description = v.description || null;
        if (clearPw?.input.checked) body.clear_password = true;
        else if (password.value) body.password = password.value;
      } else {
        body.name = v.name;
        // Left out when empty: "none", not an empty string.
        if (v.display) body.display_name = v.display;
        if (v.username) body.username = v.username;
        if (v.ns) body.namespace = v.ns;
        if (v.description) body.description = v.description;
        if (password.value) body.password = password.value;
      }
      try {
        if (editing) await api.updateRegistry(r.name, body);
        else await api.createRegistry(body);
      } catch (err) {
        if (!editing && err instanceof ApiError && err.status === 409) {
          setFieldError(name, errorText(err));
          name.focus();
          throw fieldError();
        }
        throw err;
      }
      // Sent: the passwords are not kept anywhere on the page.
      password.value = "";
      proxyPassword.value = "";
      return true;
    },
  });
  password.value = "";
  proxyPassword.value = "";
  if (!ok) return;
  const shown = editing ? r.name : name.value.trim();
  tests.delete(shown); // an old result says nothing about the new settings
  toast(editing ? t("regSaved", { name: shown }) : t("regCreated", { name: shown }));
  changed();
  page.load();
}

// ---------------------------------------------------------------------------------------
// Delete

async function deleteRegistry(r) {
  const ok = await confirmDialog({
    title: t("regDeleteTitle", { name: r.name }),
    message: t("regDeleteBody", { name: r.display_name || r.name }),
    confirmText: t("delete"),
    action: async () => {
      try {
        await api.deleteRegistry(r.name);
      } catch (err) {
        // Someone else deleted it first: what was asked for is done.
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    },
  });
  if (!ok) return;
  tests.delete(r.name);
  page.drop((x) => x.name === r.name);
  renderRegistries();
  toast(t("regDeleted", { name: r.name }));
  $("registry-create").focus();
  changed();
  page.load();
}
