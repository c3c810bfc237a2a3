// The Downloads page's dialogs: a bundle's push.sh with the command that runs it (for a site
// across the air gap), and "Push to a registry", which queues an import job here and goes to it.

import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { h, field, select, formDialog, copyBox, navigate, setFieldError, fieldError, errorText } from "./ui.js";
import { handOffJob } from "./job-view.js";

// The sync form's examples, so a level reads the same everywhere.
const LEVELS = ["skip", "all", "1", "2", "3"];
const LEVEL_EXAMPLES = { skip: "a/b/c/img", all: "img", 1: "b/c/img", 2: "c/img", 3: "img" };

/** push.sh as the bundle holds it, under the command line from the bundle's README. */
export function openPushScript(bundle) {
  const script = h("pre", { class: "bundle-script", id: "bundle-script-text", tabindex: "0", text: t("loading") });
  const failed = h("p", { class: "hint-error", hidden: true });
  api.bundleText(bundle, "push.sh").then(
    (text) => (script.textContent = text),
    (err) => {
      if (err.handled) return;
      script.hidden = true;
      failed.textContent = t("loadFailed", { error: errorText(err) });
      failed.hidden = false;
    });
  return formDialog({
    title: t("bundleScriptTitle", { id: bundle }),
    wide: true,
    cancelable: false,
    submitText: t("close"),
    content: [
      h("p", { text: t("bundleScriptHow") }),
      copyBox("sh push.sh registry.example.com/mirror", t("bundleScriptCommand")),
      h("p", { class: "hint", text: t("bundleScriptCredentials") }),
      copyBox("REGISTRY_USERNAME=robot REGISTRY_PASSWORD=... sh push.sh registry.example.com/mirror", t("bundleScriptCommandAuth")),
      script,
      failed,
    ],
    onSubmit: async () => true,
  });
}

/** Where the bundle's images go: a registry, namespace and level, as a sync would take them. */
export async function openPushToRegistry(bundle, manifest) {
  let registries = [];
  try {
    const list = await api.registries();
    if (Array.isArray(list)) registries = list.filter((r) => r && typeof r.name === "string");
  } catch (err) {
    if (err.handled) return false;
    // The select is then empty and says so; the server would refuse a guess anyway.
  }
  const target = select(registries.length
    ? registries.map((r) => [r.name, r.description && r.description !== r.name ? `${r.name} — ${r.description}` : r.name])
    : [["", t("targetEmpty")]]);
  target.name = "push-target";
  const ns = h("input", { type: "text", name: "push-namespace", autocomplete: "off", autocapitalize: "off", spellcheck: "false" });
  const nsHint = h("span");
  const showNs = () => {
    const reg = registries.find((r) => r.name === target.value);
    ns.placeholder = reg?.namespace || "";
    nsHint.textContent = reg?.namespace ? t("namespaceHintDefault", { ns: reg.namespace }) : t("namespaceHint");
  };
  target.addEventListener("change", showNs);
  showNs();
  const level = select(LEVELS.map((k) => [k, t("levelOption", { name: t(`level_${k}`), example: `ns/${LEVEL_EXAMPLES[k]}` })]), "skip");
  level.name = "push-level";
  const images = Array.isArray(manifest?.images) ? manifest.images : [];

  let job = null;
  const ok = await formDialog({
    title: t("bundlePushTitle", { id: bundle }),
    submitText: t("bundlePushSubmit"),
    content: [
      h("p", { text: t("bundlePushIntro", { n: images.length }) }),
      field(t("targetLabel"), target),
      field(t("namespaceLabel"), ns, { optional: true, hint: nsHint }),
      field(t("levelLabel"), level, { hint: t("bundlePushLevelHint") }),
    ],
    onSubmit: async () => {
      setFieldError(target, null);
      setFieldError(ns, null);
      if (!target.value) {
        setFieldError(target, t("errNoTarget"));
        target.focus();
        throw fieldError();
      }
      const body = { target: target.value, replace_level: level.value };
      if (ns.value.trim()) body.namespace = ns.value.trim();
      try {
        job = await api.pushBundle(bundle, body);
      } catch (err) {
        if (err instanceof ApiError && err.body?.field === "namespace") {
          setFieldError(ns, errorText(err));
          ns.focus();
          throw fieldError();
        }
        throw err;
      }
      if (!job || typeof job.id !== "string") throw new ApiError(202, t("errBadResponse"));
      return true;
    },
  });
  if (!ok || !job) return false;
  handOffJob(job);
  navigate(`/jobs/${encodeURIComponent(job.id)}`);
  return true;
}
