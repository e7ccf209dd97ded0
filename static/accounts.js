// "Accounts": administrators create, edit, disable and re-enable accounts and reset
// passwords. The server refuses an administrator disabling or demoting themselves; the
// screen does not offer it either.

import * as api from "./api.js";
import { h, nfc, replace } from "./dom.js";
import { t } from "./i18n.js";
import { confirmDialog, formDialog, toast } from "./ui.js";

/**
 * Show the accounts screen.
 * @param {HTMLElement} root
 * @param {{user: object, sessionExpired: () => void}} ctx
 * @returns {{destroy: () => void, refresh: () => void}}
 */
export function mountAccounts(root, ctx) {
  let users = null;
  let error = null;
  let filter = "";
  let destroyed = false;
  const page = h("div.page.accounts-page", { testid: "accounts-page" });
  root.appendChild(page);

  async function load() {
    error = null;
    try {
      const result = await api.listUsers();
      if (destroyed) return;
      users = result;
    } catch (err) {
      if (destroyed) return;
      if (err instanceof api.ApiError && err.status === 401) {
        ctx.sessionExpired();
        return;
      }
      error = err;
    }
    paint();
  }

  /** Run an account action; a refusal shows as a toast, a success reloads the list. */
  async function act(work, done) {
    try {
      await work();
      if (done) toast(done, "success");
    } catch (err) {
      if (err instanceof api.ApiError && err.status === 401) {
        ctx.sessionExpired();
        return;
      }
      toast(err instanceof api.ApiError ? err.describe() : String(err), "error");
    }
    await load();
  }

  function paint() {
    document.title = `${t("accounts.title")} — ${t("app.name")}`;
    const search = h("input.input.accounts-filter", {
      type: "search", value: filter, placeholder: t("accounts.filter"),
      "aria-label": t("accounts.filter"), testid: "accounts-filter",
    });
    search.addEventListener("input", () => {
      filter = nfc(search.value).trim().toLowerCase();
      const tbody = page.querySelector("tbody");
      if (tbody) replace(tbody, visible().map(row));
    });
    const head = h("div.page-head", null,
      h("div", null,
        h("h1.page-title", null, t("accounts.title")),
        users ? h("p.page-subtitle", null, t("accounts.count", { n: users.length })) : null),
      h("button.btn.btn-primary", { type: "button", testid: "account-create",
        onclick: createDialog }, t("accounts.create")));
    let body;
    if (error) {
      body = h("div.state-box.state-error", { role: "alert" },
        h("p", null, error.describe()),
        h("button.btn.btn-secondary", { type: "button", onclick: load }, t("error.retry")));
    } else if (!users) {
      body = h("p.state-box", { "aria-busy": "true" }, t("accounts.loading"));
    } else {
      body = [search, h("div.table-scroll", null, h("table.accounts-table", null,
        h("thead", null, h("tr", null,
          h("th", { scope: "col" }, t("accounts.username")),
          h("th", { scope: "col" }, t("accounts.full_name")),
          h("th", { scope: "col" }, t("accounts.position")),
          h("th", { scope: "col" }, t("accounts.unit")),
          h("th", { scope: "col" }, t("accounts.state")),
          h("th", { scope: "col" }, h("span.sr-only", null, t("accounts.actions"))))),
        h("tbody", null, visible().map(row))))];
    }
    replace(page, head, body);
  }

  function visible() {
    if (!filter) return users;
    return users.filter((u) => [u.username, u.full_name, u.position, u.unit]
      .some((v) => nfc(v).toLowerCase().includes(filter)));
  }

  function row(u) {
    const own = u.id === ctx.user.id;
    return h("tr", { testid: "account-row", dataset: { username: u.username },
      class: u.disabled ? "account-disabled" : null },
      h("td.account-username", null, u.username),
      h("td", null, u.full_name,
        own ? h("span.badge.badge-role", null, t("accounts.you")) : null),
      h("td", null, u.position),
      h("td", null, u.unit),
      h("td", null,
        u.is_admin ? h("span.badge.badge-role", null, t("role.administrator")) : null,
        h(`span.badge.${u.disabled ? "badge-danger" : "badge-ok"}`, { testid: "account-state" },
          u.disabled ? t("accounts.disabled") : t("accounts.active"))),
      h("td.account-actions", null,
        h("button.btn.btn-quiet", { type: "button", testid: "account-edit",
          onclick: () => editDialog(u) }, t("accounts.edit")),
        own ? null : h("button.btn.btn-quiet", { type: "button", testid: "account-reset",
          onclick: () => resetDialog(u) }, t("accounts.reset")),
        own ? null : h("button.btn.btn-quiet", { type: "button", testid: "account-toggle",
          onclick: () => toggle(u) }, u.disabled ? t("accounts.enable") : t("accounts.disable"))));
  }

  async function createDialog() {
    let made = null;
    await formDialog({
      title: t("accounts.create"),
      confirm: t("accounts.create_submit"),
      testid: "account-create-dialog",
      fields: [
        { name: "username", label: t("accounts.username"), maxlength: 64,
          hint: t("accounts.username_hint") },
        { name: "full_name", label: t("accounts.full_name") },
        { name: "position", label: t("accounts.position"), optional: true },
        { name: "unit", label: t("accounts.unit"), optional: true },
        { name: "password", label: t("accounts.initial_password"), type: "password",
          autocomplete: "new-password", maxlength: 256, hint: t("account.password_hint") },
        { name: "is_admin", label: t("accounts.is_admin"), type: "checkbox", value: false },
      ],
      async submit(values) {
        made = await api.createUser(values);
      },
    });
    if (made) {
      toast(t("accounts.created", { name: made.full_name }), "success");
      await load();
    }
  }

  async function editDialog(u) {
    const own = u.id === ctx.user.id;
    const saved = await formDialog({
      title: t("accounts.edit_title", { username: u.username }),
      intro: own ? t("accounts.own_admin") : t("accounts.admin_flag_note"),
      confirm: t("accounts.save"),
      testid: "account-edit-dialog",
      fields: [
        { name: "full_name", label: t("accounts.full_name"), value: u.full_name },
        { name: "position", label: t("accounts.position"), value: u.position, optional: true },
        { name: "unit", label: t("accounts.unit"), value: u.unit, optional: true },
        { name: "is_admin", label: t("accounts.is_admin"), type: "checkbox", value: u.is_admin,
          disabled: own },
      ],
      async submit(values) {
        if (own) delete values.is_admin;
        await api.editUser(u.id, values);
      },
    });
    if (saved) {
      toast(t("accounts.saved"), "success");
      await load();
    }
  }

  async function resetDialog(u) {
    const done = await formDialog({
      title: t("accounts.reset_title", { username: u.username }),
      intro: t("accounts.reset_intro"),
      confirm: t("accounts.reset_submit"),
      danger: true,
      testid: "account-reset-dialog",
      fields: [
        { name: "password", label: t("account.new_password"), type: "password",
          autocomplete: "new-password", maxlength: 256, hint: t("account.password_hint") },
      ],
      async submit(values) {
        await api.resetPassword(u.id, values.password);
      },
    });
    if (done) toast(t("accounts.reset_done", { name: u.full_name }), "success");
  }

  async function toggle(u) {
    if (!u.disabled) {
      const ok = await confirmDialog({
        title: t("accounts.disable_title", { name: u.full_name }),
        text: t("accounts.disable_text"),
        confirm: t("accounts.disable"),
        danger: true,
      });
      if (!ok) return;
    }
    await act(() => api.setUserDisabled(u.id, !u.disabled),
      u.disabled ? t("accounts.enabled_done") : t("accounts.disabled_done"));
  }

  paint();
  load();
  return {
    destroy() {
      destroyed = true;
      page.remove();
    },
    refresh: paint,
  };
}
