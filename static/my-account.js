// My account, for everyone: change my password, sign out everywhere.

import * as api from "./api.js";
import { t } from "./i18n.js";
import { confirmDialog, formDialog, toast } from "./ui.js";

/**
 * Ask for the old and the new password (twice) and change it. My other sessions end; this
 * one stays signed in.
 * @returns {Promise<void>}
 */
export async function changePasswordDialog() {
  const changed = await formDialog({
    title: t("account.change_password"),
    intro: t("account.change_password_intro"),
    confirm: t("account.change_password_submit"),
    testid: "change-password",
    fields: [
      { name: "old", label: t("account.old_password"), type: "password",
        autocomplete: "current-password", maxlength: 256 },
      { name: "new", label: t("account.new_password"), type: "password",
        autocomplete: "new-password", maxlength: 256, hint: t("account.password_hint") },
      { name: "again", label: t("account.repeat_password"), type: "password",
        autocomplete: "new-password", maxlength: 256 },
    ],
    async submit(values) {
      if (values.new !== values.again) throw new Error(t("account.passwords_differ"));
      await api.changePassword(values.old, values.new);
    },
  });
  if (changed) toast(t("account.password_changed"), "success");
}

/**
 * Confirm, then end every session of my account (this one included) and sign out here.
 * @param {() => void} signedOut called once the sessions have ended
 * @returns {Promise<void>}
 */
export async function signOutEverywhereDialog(signedOut) {
  const ok = await confirmDialog({
    title: t("account.sign_out_everywhere"),
    text: t("account.sign_out_everywhere_text"),
    confirm: t("account.sign_out_everywhere_submit"),
    danger: true,
  });
  if (!ok) return;
  try {
    await api.signOutEverywhere();
  } catch (err) {
    if (!(err instanceof api.ApiError && err.status === 401)) {
      toast(err instanceof api.ApiError ? err.describe() : String(err), "error");
      return;
    }
  }
  signedOut();
}
