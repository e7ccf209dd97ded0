// Signing the minutes and checking their signatures: the paths of the minutes' files, the
// password dialog (the user's PKCS#12 credential kept on the server, with an upload of their
// .p12 file when there is none or it no longer serves), and the verification report.

import { ApiError, request } from "./api.js";
import { h, replace } from "./dom.js";
import { dateFormat, parseTime, timeOfDay } from "./format.js";
import { lang, t } from "./i18n.js";
import { toast } from "./ui.js";

// Refusals after which another credential file may help: the upload is offered at once.
const NEEDS_FILE = new Set(["no_credential", "invalid_key_file", "certificate_expired",
  "certificate_not_yet_valid", "certificate_revoked", "certificate_untrusted",
  "signer_mismatch"]);
// Everyone's tablet checks the signed file when the chair signs: spread the requests.
const VERIFY_SPREAD_MS = 4000;

/**
 * The minutes' HTTP base path.
 * @param {number} meetingId
 * @returns {string} "/api/meetings/ID/minutes"
 */
export function minutesPath(meetingId) {
  return `/api/meetings/${meetingId}/minutes`;
}

/**
 * A minutes file (the prepared PDF, or a signed one).
 * @param {number} meetingId
 * @param {string} sha SHA-256 of the file
 * @returns {string}
 */
export function fileUrl(meetingId, sha) {
  return `${minutesPath(meetingId)}/files/${sha}`;
}

/**
 * One page image of a minutes file.
 * @param {number} meetingId
 * @param {string} sha
 * @param {number} page 1-based
 * @param {"thumb"|"tablet"|"hd"} [size]
 * @returns {string}
 */
export function pageImageUrl(meetingId, sha, page, size = "tablet") {
  return `${fileUrl(meetingId, sha)}/pages/${page}?size=${size}`;
}

/**
 * "10:32, 23/11/2026": a time of day and the date.
 * @param {string} iso
 * @returns {string}
 */
export function stamp(iso) {
  const ms = parseTime(iso);
  if (Number.isNaN(ms)) return "";
  const day = dateFormat({ day: "2-digit", month: "2-digit", year: "numeric" }).format(new Date(ms));
  return `${timeOfDay(iso)}, ${day}`;
}

/**
 * A calendar day "2026-12-20" as "20/12/2026" (no time zone involved).
 * @param {string} day YYYY-MM-DD
 * @returns {string}
 */
export function dayText(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || "");
  return m ? `${m[3]}/${m[2]}/${m[1]}` : day || "";
}

function describe(err) {
  return err instanceof ApiError ? err.describe() : t("error.network");
}

/**
 * Ask the password of the user's signing credential and sign the minutes in `role`.
 * Refusals (a wrong password, the secretary first, an expired certificate, …) are shown in
 * the dialog in the server's words; without a credential on the server the dialog offers
 * the upload of the user's .p12 file (the same password opens it), then signs.
 * @param {import("./room.js").RoomContext} ctx
 * @param {"secretary"|"chair"} role
 * @returns {Promise<boolean>} whether the minutes were signed
 */
export function signDialog(ctx, role) {
  return new Promise((resolve) => {
    let signed = false;
    let busy = false;
    const password = h("input.input", { type: "password", id: "sign-password", maxlength: 200,
      autocomplete: "off", required: true, testid: "sign-password" });
    const file = h("input.input.file-input", { type: "file", id: "sign-credential",
      accept: ".p12,.pfx,application/x-pkcs12", testid: "credential-file" });
    const uploadBox = h("div.field.credential-box", { hidden: true, testid: "credential-box" },
      h("label.label", { for: "sign-credential" }, t("minutes.credential_file")), file,
      h("p.field-hint", null, t("minutes.credential_hint")));
    const toggle = h("button.btn.btn-ghost.btn-small.credential-toggle", { type: "button",
      testid: "credential-toggle", onclick: () => showUpload() }, t("minutes.credential_other"));
    const error = h("p.form-error", { role: "alert", testid: "sign-error", hidden: true });
    const submit = h("button.btn.btn-primary", { type: "submit", testid: "sign-submit" },
      t("minutes.sign_submit"));
    const cancel = h("button.btn.btn-secondary", { type: "button", testid: "sign-cancel",
      onclick: () => dialog.close() }, t("common.cancel"));
    const form = h("form.dialog-body", { method: "dialog", testid: "sign-form" },
      h("h2.dialog-title", null, t(`minutes.sign_title.${role}`)),
      h("p.dialog-text", null, t("minutes.sign_text")),
      h("div.field", null,
        h("label.label", { for: "sign-password" }, t("minutes.sign_password")), password,
        h("p.field-hint", null, t("minutes.sign_password_hint"))),
      uploadBox, toggle, error,
      h("div.dialog-actions", null, cancel, submit));
    const dialog = h("dialog.dialog", { testid: "sign-dialog" }, form);

    function showUpload() {
      uploadBox.hidden = false;
      toggle.hidden = true;
      submit.textContent = t("minutes.upload_and_sign");
    }

    function fail(text, code = "") {
      error.textContent = text;
      error.dataset.code = code;
      error.hidden = false;
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (busy) return;
      error.hidden = true;
      const secret = password.value;
      if (!secret) {
        fail(t("minutes.need_password"));
        password.focus();
        return;
      }
      const chosen = !uploadBox.hidden && file.files && file.files[0];
      if (!uploadBox.hidden && !chosen) {
        fail(t("minutes.need_file"));
        file.focus();
        return;
      }
      busy = true;
      submit.disabled = true;
      submit.setAttribute("aria-busy", "true");
      const label = submit.textContent;
      submit.textContent = t("minutes.signing");
      try {
        if (chosen) {
          // The password goes in the body: addresses end up in proxies' logs.
          await request("POST", "/api/me/credential",
            { pkcs12: await base64Of(chosen), password: secret });
        }
        await request("POST", `${minutesPath(ctx.meetingId)}/sign`,
          { method: "pkcs12", password: secret });
        signed = true;
        dialog.close();
        toast(t("minutes.signed_toast"), "success");
      } catch (err) {
        const code = err instanceof ApiError ? err.code : "";
        fail(describe(err), code);
        if (NEEDS_FILE.has(code)) showUpload();
        if (code === "wrong_password") password.select();
      } finally {
        busy = false;
        if (submit.isConnected) {
          submit.disabled = false;
          submit.removeAttribute("aria-busy");
          if (!signed) submit.textContent = uploadBox.hidden ? label : t("minutes.upload_and_sign");
        }
      }
    });
    dialog.addEventListener("cancel", (ev) => {
      if (busy) ev.preventDefault(); // the signature is on its way: wait for the answer
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(signed);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    password.focus();
  });
}

// ---- verification ----

/** meeting:sha -> {state: "loading"|"done"|"error", report, message, timer} */
const reports = new Map();

function loadReport(ctx, sha, delayMs) {
  const key = `${ctx.meetingId}:${sha}`;
  const entry = { state: "loading", report: null, message: "" };
  reports.set(key, entry);
  const meetingId = ctx.meetingId;
  const repaint = ctx.repaint;
  entry.timer = setTimeout(async () => {
    try {
      entry.report = await request("GET", `${minutesPath(meetingId)}/verify`);
      entry.state = "done";
    } catch (err) {
      entry.state = "error";
      entry.message = describe(err);
    }
    repaint("minutes");
  }, delayMs);
  return entry;
}

function problemTexts(report) {
  const texts = [];
  const add = (p) => {
    const text = (lang() === "en" ? p.en : p.vi) || p.vi || p.en || p.code;
    if (text && !texts.includes(text)) texts.push(text.normalize("NFC"));
  };
  for (const p of report.problems || []) add(p);
  for (const s of report.signatures || []) for (const p of s.problems || []) add(p);
  return texts;
}

/**
 * The verification badge of the signed minutes (the file of the last signature): "Chữ ký
 * hợp lệ" in green when every signature holds, else red with the problems found. The report
 * is fetched once per file; the organisers ask at once, everyone else a moment later so a
 * room of tablets does not ask all in the same second.
 * @param {import("./room.js").RoomContext} ctx
 * @param {string} sha the last signature's file
 * @returns {HTMLElement}
 */
export function verifyBadge(ctx, sha) {
  const key = `${ctx.meetingId}:${sha}`;
  const entry = reports.get(key) ||
    loadReport(ctx, sha, ctx.isOrganiser ? 0 : Math.floor(Math.random() * VERIFY_SPREAD_MS));
  const box = h("div.minutes-verify", { testid: "minutes-verify", role: "status",
    dataset: { state: entry.state } });
  if (entry.state === "loading") {
    replace(box, h("span.verify-badge.is-loading", null, t("minutes.verifying")));
    return box;
  }
  if (entry.state === "error") {
    replace(box,
      h("span.verify-badge.is-error", null, t("minutes.verify_failed", { message: entry.message })),
      h("button.btn.btn-quiet.btn-small", { type: "button", testid: "minutes-verify-retry",
        onclick: () => {
          loadReport(ctx, sha, 0);
          ctx.repaint("minutes");
        } }, t("error.retry")));
    return box;
  }
  const report = entry.report;
  const valid = Boolean(report.all_valid);
  box.dataset.valid = String(valid);
  const problems = valid ? [] : problemTexts(report);
  replace(box,
    h(`span.verify-badge.${valid ? "is-valid" : "is-invalid"}`, { testid: "minutes-verify-badge" },
      h("span.verify-icon", { "aria-hidden": "true" }, valid ? "✓" : "✗"),
      t(valid ? "minutes.valid" : "minutes.invalid")),
    valid && !report.complete ? h("p.verify-note", null, t("minutes.incomplete")) : null,
    (report.signatures || []).length
      ? h("ul.verify-signers", null, report.signatures.map((s) => h("li", { testid: "verify-signer" },
        h("strong", null, (s.signer && s.signer.name) || "—"),
        s.signer && s.signer.position ? ` · ${s.signer.position}` : "",
        s.signing_time ? ` · ${stamp(s.signing_time)}` : "",
        ` · ${t(s.ok ? "minutes.signature_ok" : "minutes.signature_bad")}`)))
      : null,
    problems.length
      ? h("ul.verify-problems", { testid: "minutes-verify-problems" },
        problems.map((text) => h("li", null, text)))
      : null);
  return box;
}

/** The contents of a (small) file as base64. */
async function base64Of(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
