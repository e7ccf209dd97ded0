// The minutes panel of the room. Everyone sees the status (Bản nháp / Đang ký / Đã ký) and
// the signatures; once signed, the download of the signed file and the verification badge.
// The chair, the secretary and administrators open the editor (minutes-editor.js) from it,
// and the secretary, then the chair, sign here.

import { h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { t } from "./i18n.js";
import { fileUrl, signDialog, stamp, verifyBadge } from "./minutes-sign.js";

/**
 * The status chip: draft, signing or signed.
 * @param {string} status
 * @returns {HTMLElement}
 */
export function statusChip(status) {
  return h(`span.chip.minutes-chip.minutes-chip-${status}`, { testid: "minutes-status",
    dataset: { status } }, t(`minutes.status.${status}`));
}

/**
 * The signatures applied so far: name, role, time.
 * @param {import("./room.js").RoomContext} ctx
 * @returns {HTMLElement|null}
 */
export function signatureList(ctx) {
  const signatures = ctx.state.minutes.signatures || [];
  if (!signatures.length) return null;
  return h("ul.minutes-signatures", { testid: "minutes-signatures" },
    signatures.map((s) => h("li.minutes-signature", { testid: "minutes-signature",
      dataset: { role: s.role } },
    h("span.signature-mark", { "aria-hidden": "true" }, "✓"),
    h("span.signature-text", null,
      h("strong.signature-name", { testid: "signature-name" }, s.full_name),
      h("span.signature-meta", null,
        h("span", { testid: "signature-role" }, t(`minutes.role.${s.role}`)),
        h("span", { "aria-hidden": "true" }, "·"),
        h("span", { testid: "signature-time" }, t("minutes.signed_at", { time: stamp(s.signed_at) })))))));
}

/**
 * What the signer can do now: the secretary signs after the session ended and the file to
 * sign was prepared; the chair signs after the secretary. Others get nothing.
 * @param {import("./room.js").RoomContext} ctx
 * @param {{prepare?: () => void}} [options] `prepare`: make the file to sign (the editor)
 * @returns {HTMLElement|null}
 */
export function signActions(ctx, options = {}) {
  const m = ctx.state.minutes;
  const role = ctx.me.role;
  const done = new Set((m.signatures || []).map((s) => s.role));
  if ((role !== "secretary" && role !== "chair") || done.has(role)) return null;
  const note = (key) => h("p.minutes-note", { testid: "minutes-sign-note" }, t(key));
  let body;
  if (role === "secretary") {
    if (ctx.state.meeting.status !== "ended") body = note("minutes.sign_after_end");
    else if (!m.prepared_sha256) {
      body = [note("minutes.sign_need_prepared"), options.prepare
        ? h("button.btn.btn-secondary", { type: "button", testid: "minutes-sign-prepare",
          onclick: () => options.prepare() }, t("minutes.prepare"))
        : null];
    }
  } else if (!done.has("secretary")) {
    body = note("minutes.chair_after_secretary");
  }
  if (!body) {
    body = h("button.btn.btn-primary.btn-block", { type: "button", testid: "minutes-sign",
      dataset: { role }, onclick: () => signDialog(ctx, role) }, t(`minutes.sign.${role}`));
  }
  return h("div.minutes-sign", { testid: "minutes-sign-box" }, body);
}

/**
 * The signed minutes: the download of the last signed file and its verification badge.
 * Everyone sees it once both have signed; the organisers also between the two signatures.
 * @param {import("./room.js").RoomContext} ctx
 * @returns {HTMLElement|null}
 */
export function signedBlock(ctx) {
  const m = ctx.state.minutes;
  const last = (m.signatures || []).at(-1);
  if (!last || (m.status !== "signed" && !ctx.isOrganiser)) return null;
  const signed = m.status === "signed";
  return h("div.minutes-signed", { testid: "minutes-signed", class: signed ? "is-signed" : "" },
    h("p.minutes-signed-title", { testid: "minutes-signed-title" },
      t(signed ? "minutes.signed_title" : "minutes.signing_title")),
    h("a.btn.btn-secondary.btn-small.minutes-download", { href: fileUrl(ctx.meetingId, last.sha256),
      download: "", testid: "minutes-download" }, icon("download", 20),
    t(signed ? "minutes.download_signed" : "minutes.download_partial")),
    verifyBadge(ctx, last.sha256));
}

/**
 * Paint the minutes panel.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 * @param {{open: () => void, prepare: () => void}} editor
 */
export function renderMinutes(el, ctx, editor) {
  const m = ctx.state.minutes;
  let intro = null;
  if (ctx.isOrganiser) {
    intro = [
      m.status === "draft" ? h("p.minutes-note", null, t("minutes.panel_hint")) : null,
      h("button.btn.btn-secondary.btn-block", { type: "button", testid: "minutes-open",
        onclick: () => editor.open() }, icon("doc", 20),
      t(m.status === "draft" ? "minutes.open" : "minutes.open_signed")),
    ];
  } else if (m.status === "draft") {
    intro = h("p.minutes-note", { testid: "minutes-drafting" }, t("minutes.drafting"));
  }
  replace(el,
    h("div.panel-head", null,
      h("h2.panel-title", { id: "minutes-title" }, t("minutes.title")),
      statusChip(m.status)),
    intro,
    signatureList(ctx),
    signActions(ctx, { prepare: () => editor.prepare() }),
    signedBlock(ctx));
}
