// Shared pieces of interface: toasts, the connection banner and modal dialogs.

import { h, nfc, replace } from "./dom.js";
import { t } from "./i18n.js";

const TOAST_MS = 6000;

/**
 * Show a short message at the bottom of the screen.
 * @param {string} text
 * @param {"info"|"error"|"success"} [kind]
 */
export function toast(text, kind = "info") {
  const region = document.getElementById("toasts");
  if (!region) return;
  const close = h("button.toast-close", { type: "button", "aria-label": t("common.close") }, "×");
  const item = h(
    `div.toast.toast-${kind}`,
    { role: kind === "error" ? "alert" : "status", testid: "toast" },
    h("span.toast-text", null, text),
    close,
  );
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  region.appendChild(item);
  setTimeout(remove, TOAST_MS);
  while (region.children.length > 4) region.firstElementChild.remove();
}

let bannerTimer = null;

/**
 * Reflect the room connection's status in the offline banner.
 * @param {import("./connection.js").ConnectionStatus|null} status null hides it
 * @param {() => void} [reconnectNow] action for the "reconnect now" button
 */
export function showConnection(status, reconnectNow) {
  const banner = document.getElementById("offline-banner");
  if (!banner) return;
  clearInterval(bannerTimer);
  const offline =
    status && (status.state === "offline" || (status.state === "connecting" && status.everOnline));
  document.body.dataset.connection = status ? status.state : "none";
  if (!offline) {
    banner.hidden = true;
    return;
  }
  const detail = h("span.banner-detail");
  const button = h(
    "button.banner-button",
    { type: "button", onclick: () => reconnectNow && reconnectNow(), testid: "reconnect-now" },
    t("conn.retry_now"),
  );
  const paint = () => {
    const parts = [];
    if (status.state === "offline" && status.retryAt) {
      const s = Math.max(0, Math.ceil((status.retryAt - Date.now()) / 1000));
      parts.push(t("conn.retry_in", { s }));
    } else {
      parts.push(t("conn.connecting"));
    }
    if (status.pending) parts.push(t("conn.pending", { n: status.pending }));
    detail.textContent = parts.join(" · ");
  };
  paint();
  bannerTimer = setInterval(paint, 1000);
  replace(
    banner,
    h("span.banner-icon", { "aria-hidden": "true" }, "!"),
    h("strong.banner-title", null, t("conn.offline")),
    detail,
    reconnectNow ? button : null,
  );
  banner.hidden = false;
}

function openDialog(content, testid) {
  const dialog = h("dialog.dialog", { testid });
  dialog.appendChild(content);
  document.body.appendChild(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  return dialog;
}

/**
 * Ask a yes/no question.
 * @param {{title: string, text: string, confirm: string, danger?: boolean}} options
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, text, confirm, danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const form = h(
      "form.dialog-body",
      { method: "dialog" },
      h("h2.dialog-title", null, title),
      h("p.dialog-text", null, text),
      h(
        "div.dialog-actions",
        null,
        h("button.btn.btn-secondary", { type: "submit", value: "cancel", testid: "dialog-cancel" },
          t("common.cancel")),
        h(
          `button.btn.${danger ? "btn-danger" : "btn-primary"}`,
          { type: "submit", value: "ok", testid: "dialog-confirm",
            onclick: () => { answer = true; } },
          confirm,
        ),
      ),
    );
    const dialog = openDialog(form, "confirm-dialog");
    dialog.addEventListener("close", () => resolve(answer));
  });
}

/**
 * Ask for a short text (e.g. the reason for an absence).
 * @param {{title: string, intro?: string, label: string, placeholder?: string, confirm: string}} options
 * @returns {Promise<string|null>} the NFC text, or null when cancelled
 */
export function promptDialog({ title, intro, label, placeholder = "", confirm }) {
  return new Promise((resolve) => {
    let answer = null;
    const input = h("textarea.input.textarea", {
      id: "prompt-input", required: true, maxlength: 2000, rows: 3, placeholder,
      testid: "prompt-input",
    });
    const form = h(
      "form.dialog-body",
      { method: "dialog" },
      h("h2.dialog-title", null, title),
      intro ? h("p.dialog-text", null, intro) : null,
      h("label.label", { for: "prompt-input" }, label),
      input,
      h(
        "div.dialog-actions",
        null,
        h("button.btn.btn-secondary", { type: "button", testid: "dialog-cancel",
          onclick: () => dialog.close() }, t("common.cancel")),
        h("button.btn.btn-primary", { type: "submit", testid: "dialog-confirm" }, confirm),
      ),
    );
    form.addEventListener("submit", (ev) => {
      const value = nfc(input.value).trim();
      if (!value) {
        ev.preventDefault();
        input.focus();
        return;
      }
      answer = value;
    });
    const dialog = openDialog(form, "prompt-dialog");
    dialog.addEventListener("close", () => resolve(answer));
    input.focus();
  });
}

/**
 * A dialog with a form whose submission is sent to the server; it stays open, showing the
 * server's refusal, until `submit` succeeds.
 * @param {{title: string, intro?: string, confirm: string, danger?: boolean, testid: string,
 *   fields: Array<{name: string, label: string, type?: string, value?: any,
 *   autocomplete?: string, maxlength?: number, hint?: string, disabled?: boolean}>,
 *   submit: (values: Object<string, any>) => Promise<void>}} options
 *   a field of type "checkbox" gives a boolean; other fields give NFC text (passwords as typed)
 * @returns {Promise<boolean>} true when submitted successfully, false when cancelled
 */
export function formDialog({ title, intro, confirm, danger = false, testid, fields, submit }) {
  return new Promise((resolve) => {
    let done = false;
    const inputs = {};
    const error = h("p.form-error", { role: "alert", hidden: true, testid: `${testid}-error` });
    const rows = fields.map((f) => {
      const id = `${testid}-${f.name}`;
      if (f.type === "checkbox") {
        inputs[f.name] = h("input", { type: "checkbox", id, checked: Boolean(f.value),
          disabled: Boolean(f.disabled), testid: id });
        return h("label.check-row", { for: id }, inputs[f.name], f.label);
      }
      inputs[f.name] = h("input.input", {
        id, type: f.type || "text", required: true, maxlength: f.maxlength || 200,
        autocomplete: f.autocomplete || "off", value: f.value ?? "", testid: id,
        disabled: Boolean(f.disabled),
      });
      if (f.optional) inputs[f.name].removeAttribute("required");
      return h("div.field", null, h("label.label", { for: id }, f.label), inputs[f.name],
        f.hint ? h("span.field-hint", null, f.hint) : null);
    });
    const button = h(`button.btn.${danger ? "btn-danger" : "btn-primary"}`,
      { type: "submit", testid: "dialog-confirm" }, confirm);
    const form = h(
      "form.dialog-body.form-dialog",
      { novalidate: true },
      h("h2.dialog-title", null, title),
      intro ? h("p.dialog-text", null, intro) : null,
      rows,
      error,
      h("div.dialog-actions", null,
        h("button.btn.btn-secondary", { type: "button", testid: "dialog-cancel",
          onclick: () => dialog.close() }, t("common.cancel")),
        button),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const values = {};
      for (const f of fields) {
        const input = inputs[f.name];
        if (f.type === "checkbox") values[f.name] = input.checked;
        else if (f.type === "password") values[f.name] = input.value;
        else values[f.name] = nfc(input.value).trim();
        if (f.type !== "checkbox" && !f.optional && !values[f.name]) {
          error.textContent = t("form.required");
          error.hidden = false;
          input.focus();
          return;
        }
      }
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      try {
        await submit(values);
        done = true;
        dialog.close();
      } catch (err) {
        error.textContent = err && err.describe ? err.describe() : String(err);
        error.hidden = false;
      } finally {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      }
    });
    const dialog = openDialog(form, testid);
    dialog.addEventListener("close", () => resolve(done));
    const first = fields.find((f) => !f.disabled);
    if (first) inputs[first.name].focus();
  });
}
