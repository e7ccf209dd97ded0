// The sign-in page.

import * as api from "./api.js";
import { h, nfc, replace } from "./dom.js";
import { t } from "./i18n.js";

/**
 * Show the sign-in form.
 * @param {HTMLElement} root
 * @param {{notice: string|null, onSignedIn: (user: object) => void}} options
 *   notice: an i18n key to show above the form (e.g. session expired)
 * @returns {{destroy: () => void, refresh: () => void}}
 */
export function mountLogin(root, { notice, onSignedIn }) {
  let error = null; // ApiError or an i18n key
  let waitUntil = 0;
  let busy = false;
  let waitTimer = null;
  const values = { username: "", password: "" };

  const page = h("div.login-page", { testid: "login-page" });
  root.appendChild(page);

  function errorText() {
    if (!error) return notice ? t(notice) : "";
    return typeof error === "string" ? t(error) : error.describe();
  }

  function paint() {
    const waiting = Math.max(0, Math.ceil((waitUntil - Date.now()) / 1000));
    const username = h("input.input", {
      id: "login-username", name: "username", autocomplete: "username", autocapitalize: "none",
      spellcheck: "false", required: true, maxlength: 64, testid: "login-username",
      value: values.username,
    });
    const password = h("input.input", {
      id: "login-password", name: "password", type: "password", autocomplete: "current-password",
      required: true, maxlength: 256, testid: "login-password", value: values.password,
    });
    username.addEventListener("input", () => { values.username = username.value; });
    password.addEventListener("input", () => { values.password = password.value; });
    const message = errorText();
    let label = t("login.submit");
    if (busy) label = t("login.submitting");
    else if (waiting) label = t("login.wait", { s: waiting });
    const form = h(
      "form.login-form",
      { novalidate: true, onsubmit: submit },
      h("div.field", null, h("label.label", { for: "login-username" }, t("login.username")), username),
      h("div.field", null, h("label.label", { for: "login-password" }, t("login.password")), password),
      h("p.form-error", { role: "alert", testid: "login-error", hidden: !message }, message),
      h("button.btn.btn-primary.btn-block", {
        type: "submit", testid: "login-submit", disabled: busy || waiting > 0,
      }, label),
    );
    replace(
      page,
      h(
        "section.login-card",
        { "aria-labelledby": "login-title" },
        h("div.login-head", null,
          h("h1.login-title", { id: "login-title" }, t("login.title")),
          h("p.login-subtitle", null, t("login.subtitle"))),
        form,
      ),
      h("p.login-footer", null, t("login.footer")),
    );
    return { username, password };
  }

  async function submit(ev) {
    ev.preventDefault();
    if (busy || Date.now() < waitUntil) return;
    const username = nfc(values.username).trim();
    if (!username || !values.password) {
      error = "login.required";
      const fields = paint();
      (username ? fields.password : fields.username).focus();
      return;
    }
    busy = true;
    error = null;
    notice = null;
    paint();
    try {
      const user = await api.login(username, values.password);
      busy = false;
      onSignedIn(user);
      return;
    } catch (err) {
      busy = false;
      error = err instanceof api.ApiError ? err : new api.ApiError(0, "network", null);
      if (error.retryAfter) {
        waitUntil = Date.now() + error.retryAfter * 1000;
        startWait();
      }
      values.password = "";
    }
    const fields = paint();
    fields.password.focus();
  }

  function startWait() {
    clearInterval(waitTimer);
    waitTimer = setInterval(() => {
      if (Date.now() >= waitUntil) clearInterval(waitTimer);
      const button = page.querySelector("[data-testid=login-submit]");
      const waiting = Math.max(0, Math.ceil((waitUntil - Date.now()) / 1000));
      if (button && !busy) {
        button.disabled = waiting > 0;
        button.textContent = waiting ? t("login.wait", { s: waiting }) : t("login.submit");
      }
    }, 1000);
  }

  paint().username.focus();

  return {
    destroy() {
      clearInterval(waitTimer);
      page.remove();
    },
    refresh() {
      paint();
    },
  };
}
