// What every list page (registries, users, rules, webhooks) does the same way: fetch the list,
// drop an answer that comes after the page was left or after a newer load, and tell loading,
// failed and empty in the page's status line. Each page keeps only its rows and dialogs.

import { t } from "./i18n.js";
import { ApiError } from "./api.js";
import { $, errorText } from "./ui.js";

/**
 * `fetch` answers the list, `keep` drops entries the page cannot show, `render` redraws the
 * page. The page's elements are `<prefix>-status`, `<prefix>-refresh` and `<prefix>-table`.
 */
export function listPage({ prefix, fetch, keep, render, emptyKey }) {
  let seq = 0;
  const page = {
    items: null, // null: not loaded
    error: null,
    loading: false,

    enter() {
      page.items = null;
      page.error = null;
      render();
      page.load();
    },

    leave() {
      seq += 1; // answers still on their way are dropped
      page.loading = false;
    },

    async load() {
      if (page.loading) return;
      const mine = ++seq;
      page.loading = true;
      page.error = null;
      render();
      try {
        const list = await fetch();
        if (mine !== seq) return;
        if (!Array.isArray(list)) throw new ApiError(200, t("errBadResponse"));
        page.items = list.filter(keep);
      } catch (err) {
        if (mine !== seq || err.handled) return;
        page.error = err;
      } finally {
        if (mine === seq) page.loading = false;
      }
      if (mine === seq) render();
    },

    /** Drops the entries `gone` picks (one just deleted), without a reload. */
    drop(gone) {
      page.items = (page.items ?? []).filter((x) => !gone(x));
    },

    /** The status line, the refresh button and whether the table shows. */
    showStatus() {
      const status = $(`${prefix}-status`);
      $(`${prefix}-refresh`).disabled = page.loading;
      status.classList.toggle("hint-error", !!page.error);
      if (page.error) status.textContent = t("loadFailed", { error: errorText(page.error) });
      else if (page.items === null) status.textContent = t("loading");
      else if (page.items.length === 0) status.textContent = t(emptyKey);
      else status.textContent = "";
      $(`${prefix}-table`).hidden = !page.items?.length;
    },
  };
  return page;
}
