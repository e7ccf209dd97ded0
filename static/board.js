// The counting board of an encrypted secret poll (docs/BALLOT_CRYPTO.md, section 5), on a
// board member's device: the key ceremony runs by itself as the room's state asks (round 1
// while the board is collecting, the shares once every round 1 is in, the check of the
// shares received: `board.confirm` or `board.complaint`), and after the close the member
// taps "Giải mã kết quả" to send the partial decryption of the sealed box's sum.
//
// The member's secrets (its round-1 polynomial and transport key, then its key share xⱼ)
// are made here and never leave the device: they are kept in IndexedDB, keyed by the user
// and the ceremony's `poll_uid` (a new ceremony, a new key), never in localStorage.
// A member can save them to a passphrase-protected file (docs/BALLOT_CRYPTO.md, section 6)
// and open that file on another device, so that a lost tablet does not void the count.
// Also here: what the organisers' console and everyone's cards show of the board.

import { KeyFileError, openKey, sealKey } from "./board_key_file.js";
import { CommandRejected } from "./connection.js";
import { h } from "./dom.js";
import { pick, t } from "./i18n.js";
import { pollPath } from "./polls.js";
import {
  G, aggregateFromJson, ceremonyContext, fromHex, ownEntryListed, partialDecrypt, pointToHex,
  round1, round2, round3, scalarFromHex, scalarToHex,
} from "./secret_ballot.js";
import { confirmDialog, formDialog } from "./ui.js";

const DB_NAME = "phonghop-board";
const STORE = "secrets";

// ---- the device's keys (IndexedDB) ----

let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const store = d.transaction(STORE, mode).objectStore(STORE);
    const req = fn(store);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function keyOf(userId, pollUid) {
  return `${userId}/${pollUid}`;
}

/**
 * This device's record of a ceremony: `{index, t, published, transport, coefficients, x}`
 * (scalars as hex), or undefined.
 * @param {number} userId
 * @param {string} pollUid
 * @returns {Promise<object|undefined>}
 */
export function loadKey(userId, pollUid) {
  return tx("readonly", (s) => s.get(keyOf(userId, pollUid)));
}

function saveKey(userId, pollUid, record) {
  return tx("readwrite", (s) => s.put(record, keyOf(userId, pollUid)));
}

function memberSecret(record) {
  return { index: record.index, transportSecret: scalarFromHex(record.transport),
    coefficients: record.coefficients.map(scalarFromHex) };
}

// ---- board helpers ----

/**
 * My index on a poll's board (1 … n), or 0 when I am not on it.
 * @param {object} poll
 * @param {number} userId
 * @returns {number}
 */
export function memberIndex(poll, userId) {
  return poll.board ? poll.board.members.indexOf(userId) + 1 : 0;
}

/** A refusal the key dialogs show in the user's language. */
function keyProblem(key) {
  return Object.assign(new Error(key), { describe: () => t(key) });
}

function notMine() {
  // The server lists a round 1 (or a key) under my index that this device did not make.
  return Object.assign(new Error("not mine"), { code: "not_mine" });
}

function has(list, i) {
  return Array.isArray(list) && list.includes(i);
}

function roundOnes(board) {
  return board.members.map((_, k) => board.round1[String(k + 1)]);
}

function ceremonyOf(board) {
  return ceremonyContext(board.poll_uid, board.members.length, board.threshold);
}

// ---- the member's device ----

/** A board member's device: runs the ceremony's steps and sends the partial decryption. */
export class BoardDevice {
  /**
   * @param {Object} env
   * @param {number} env.userId
   * @param {(name: string, args: object) => Promise<object>} env.send a command
   * @param {() => void} env.changed repaint
   */
  constructor({ userId, send, changed }) {
    this.userId = userId;
    this.send = send;
    this.changed = changed;
    /** @type {Map<string, {busy: string|null, sent: Set<string>, error: object|null,
     *   missing: boolean}>} per ceremony (poll_uid) */
    this.runs = new Map();
  }

  /** What this device is doing for a ceremony. */
  run(pollUid) {
    if (!this.runs.has(pollUid)) {
      this.runs.set(pollUid, { busy: null, sent: new Set(), error: null, missing: false });
    }
    return this.runs.get(pollUid);
  }

  /**
   * Called on every repaint: takes the next step of every ceremony I am a member of.
   * @param {import("./room.js").RoomContext} ctx
   */
  sync(ctx) {
    if (!ctx.connected) return;
    for (const poll of ctx.state.polls.values()) {
      const i = memberIndex(poll, this.userId);
      if (!i || poll.status !== "draft") continue;
      const b = poll.board;
      const r = this.run(b.poll_uid);
      if (r.busy || r.error) continue;
      if (b.status === "collecting" && !b.round1[String(i)] && !r.sent.has("round1")) {
        this.step(poll, "round1", () => this.round1(poll, i));
      } else if (b.status === "dealing" && !has(b.dealt, i) && !r.sent.has("shares")) {
        this.step(poll, "shares", () => this.shares(poll, i));
      } else if (b.status === "checking" && !has(b.confirmed, i) && !r.sent.has("check")
        && b.members.every((_, k) => k + 1 === i || (b.shares || {})[String(k + 1)])) {
        this.step(poll, "check", () => this.check(poll, i));
      }
    }
  }

  /** Run one step: busy meanwhile, its refusal (or failure) shown on the panel. */
  async step(poll, name, fn) {
    const r = this.run(poll.board.poll_uid);
    r.busy = name;
    this.changed();
    try {
      await fn();
      r.sent.add(name);
    } catch (err) {
      if (err instanceof CommandRejected) {
        if (err.code === "already_sent") r.sent.add(name);
        else r.error = err.serverMessage || { vi: err.code, en: err.code };
      } else if (err && err.code === "no_key") {
        r.missing = true;
        r.error = { key: "board.no_key" };
      } else if (err && err.code === "not_mine") {
        r.error = { key: "board.not_mine" };
      } else if (!(err && err.message === "stopped")) { // stopped: the room was left
        r.error = { key: "board.device_error" };
        console.error(err);
      }
    } finally {
      r.busy = null;
      this.changed();
    }
  }

  async record(poll) {
    const rec = await loadKey(this.userId, poll.board.poll_uid);
    if (!rec) throw Object.assign(new Error("no key"), { code: "no_key" });
    return rec;
  }

  /** Round 1: my polynomial and transport key, kept here before anything is sent. */
  async round1(poll, i) {
    const b = poll.board;
    let rec = await loadKey(this.userId, b.poll_uid);
    if (!rec) {
      const made = round1({ ceremony: ceremonyOf(b), index: i, t: b.threshold });
      rec = { index: i, t: b.threshold, published: made.published,
        transport: scalarToHex(made.secret.transportSecret),
        coefficients: made.secret.coefficients.map(scalarToHex), x: null };
      await saveKey(this.userId, b.poll_uid, rec);
    }
    await this.send("board.round1", { poll_id: poll.id, message: rec.published });
  }

  /** Round 2: my share for every other member, sealed to their transport keys. */
  async shares(poll, i) {
    const b = poll.board;
    const rec = await this.record(poll);
    const members = roundOnes(b);
    if (!ownEntryListed(members, rec.published)) throw notMine();
    const shares = await round2({ ceremony: ceremonyOf(b), secret: memberSecret(rec), members });
    await this.send("board.shares", { poll_id: poll.id, shares });
  }

  /** Round 3: open and check the shares sent to me; my key share, or a complaint (with
   * the revealed key and its proof, as round3 made it: the server judges it). */
  async check(poll, i) {
    const b = poll.board;
    const rec = await this.record(poll);
    const envelopes = Object.values(b.shares || {}).flat().filter((e) => e.to === i);
    const out = await round3({ ceremony: ceremonyOf(b), secret: memberSecret(rec),
      members: roundOnes(b), envelopes });
    if (out.secret === null) {
      const { from: _me, ...complaint } = out.complaints[0];
      await this.send("board.complaint", { poll_id: poll.id, ...complaint });
      return;
    }
    await saveKey(this.userId, b.poll_uid, { ...rec, x: scalarToHex(out.secret) });
    await this.send("board.confirm", { poll_id: poll.id });
  }

  /**
   * Save my secrets for this poll to a passphrase-protected file (a download).
   * @param {object} poll
   */
  async exportKey(poll) {
    const b = poll.board;
    const i = memberIndex(poll, this.userId);
    const rec = await loadKey(this.userId, b.poll_uid);
    if (!rec || !rec.x) {
      this.run(b.poll_uid).error = { key: "board.no_key" };
      this.changed();
      return;
    }
    await formDialog({
      title: t("board.export_title"), intro: t("board.export_intro"),
      confirm: t("board.export_confirm"), testid: "board-export",
      fields: [
        { name: "passphrase", label: t("board.passphrase"), type: "password",
          autocomplete: "new-password", hint: t("board.passphrase_hint") },
        { name: "again", label: t("board.passphrase_again"), type: "password",
          autocomplete: "new-password" },
      ],
      submit: async ({ passphrase, again }) => {
        if (passphrase !== again) throw keyProblem("board.passphrase_mismatch");
        let doc;
        try {
          doc = await sealKey({ transport_secret: rec.transport,
            coefficients: rec.coefficients, share: rec.x }, b.poll_uid, i, passphrase);
        } catch (err) {
          throw err instanceof KeyFileError ? keyProblem(`board.key_${err.code}`) : err;
        }
        const blob = new Blob([JSON.stringify(doc, null, 1)], { type: "application/json" });
        const link = h("a", { href: URL.createObjectURL(blob),
          download: `khoa-ban-kiem-phieu-${poll.id}-${i}.json` });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      },
    });
  }

  /**
   * Open a key file saved on another device: checked against what the server published
   * for my index (my round 1, my verification key) before it is kept here.
   * @param {object} poll
   * @param {File} file
   */
  async importKey(poll, file) {
    const b = poll.board;
    const i = memberIndex(poll, this.userId);
    let doc = null;
    try {
      doc = JSON.parse(await file.text());
    } catch { /* refused below, in the dialog */ }
    await formDialog({
      title: t("board.import_title"), intro: t("board.import_intro"),
      confirm: t("board.import_confirm"), testid: "board-import",
      fields: [{ name: "passphrase", label: t("board.passphrase"), type: "password",
        autocomplete: "current-password" }],
      submit: async ({ passphrase }) => {
        if (!doc || doc.poll_uid !== b.poll_uid || doc.index !== i) {
          throw keyProblem("board.key_other_poll");
        }
        let secrets;
        try {
          secrets = await openKey(doc, passphrase);
        } catch (err) {
          throw err instanceof KeyFileError ? keyProblem(`board.key_${err.code}`) : err;
        }
        const published = b.round1[String(i)];
        const mine = published && secrets.share &&
          pointToHex(G.multiply(scalarFromHex(secrets.transport_secret))) ===
            published.transport_key &&
          secrets.coefficients.every((a, k) =>
            pointToHex(G.multiply(scalarFromHex(a))) === published.commitments[k]) &&
          (!b.verification_keys ||
            pointToHex(G.multiply(scalarFromHex(secrets.share))) === b.verification_keys[String(i)]);
        if (!mine) throw keyProblem("board.not_mine");
        await saveKey(this.userId, b.poll_uid, { index: i, t: b.threshold, published,
          transport: secrets.transport_secret, coefficients: secrets.coefficients,
          x: secrets.share });
        const r = this.run(b.poll_uid);
        r.error = null;
        r.missing = false;
        r.restored = true;
        this.changed();
      },
    });
  }

  /** After the close: my partial decryption of the sum (the "Giải mã kết quả" button). */
  decrypt(poll) {
    const i = memberIndex(poll, this.userId);
    this.step(poll, "partial", async () => {
      const b = poll.board;
      const rec = await this.record(poll);
      if (!rec.x) throw Object.assign(new Error("no key"), { code: "no_key" });
      const x = scalarFromHex(rec.x);
      if (pointToHex(G.multiply(x)) !== b.verification_keys[String(i)]) {
        throw notMine();
      }
      const { partials } = partialDecrypt({ context: fromHex(b.context, 32), index: i, secret: x,
        aggregate: aggregateFromJson(b.aggregate) });
      await this.send("board.partial", { poll_id: poll.id, partials });
    });
  }
}

// ---- what the screens show ----

/**
 * The ceremony's progress in words: "Ban kiểm phiếu: đang tạo khóa 2/3…", "Sẵn sàng", …
 * @param {object} board
 * @returns {{text: string, tone: string}}
 */
export function ceremonyWords(board) {
  const n = board.members.length;
  if (board.status === "ready") return { text: t("board.ready"), tone: "ready" };
  if (board.status === "failed") return { text: t("board.failed"), tone: "failed" };
  const done = board.status === "collecting" ? Object.keys(board.round1 || {}).length
    : board.status === "dealing" ? (board.dealt || []).length : (board.confirmed || []).length;
  const step = { collecting: 1, dealing: 2, checking: 3 }[board.status] || 1;
  return { text: t("board.making", { done, n, step }), tone: "busy" };
}

/** "Ban kiểm phiếu: A, B, C · cần 2/3 thành viên để kiểm phiếu". */
function membersLine(poll, ctx) {
  const b = poll.board;
  return h("p.poll-meta", { testid: "board-members" }, t("board.members", {
    names: b.members.map((uid) => ctx.name(uid) || `#${uid}`).join(", "),
    t: b.threshold, n: b.members.length }));
}

/**
 * The board on a poll's card, for everyone who sees it: the members, then the ceremony's
 * progress (a draft; the organisers restart a failed one), or the count's (closed).
 * @param {object} poll
 * @param {import("./room.js").RoomContext} ctx
 * @returns {HTMLElement|null}
 */
export function boardSummary(poll, ctx) {
  const b = poll.board;
  if (!b) return null;
  const parts = [membersLine(poll, ctx)];
  if (poll.status === "draft") {
    const w = ceremonyWords(b);
    parts.push(h(`p.board-status.is-${w.tone}`, { testid: "board-status",
      dataset: { status: b.status } }, w.text));
    if (b.status === "failed" && b.complaint) {
      parts.push(h("p.ballot-note", { testid: "board-complaint" }, t("board.complaint", {
        dealer: ctx.name(b.members[b.complaint.dealer - 1]) || `#${b.complaint.dealer}`,
        complainer: ctx.name(b.members[b.complaint.complainer - 1]) || `#${b.complaint.complainer}` })));
    }
    if (ctx.isOrganiser) {
      parts.push(h("button.btn.btn-secondary.btn-small", { type: "button", testid: "board-restart",
        disabled: !ctx.connected, hidden: b.status === "ready",
        onclick: (ev) => ctx.run("board.restart", { poll_id: poll.id }, ev.currentTarget) },
      t("board.restart")));
    }
  } else if (poll.counting) {
    parts.push(countingLine(poll));
    const chair = ctx.me.role === "chair" || Boolean(ctx.me.is_admin);
    if (chair) {
      parts.push(h("button.btn.btn-danger-outline.btn-small", { type: "button",
        testid: "poll-void", disabled: !ctx.connected, onclick: async (ev) => {
          const button = ev.currentTarget;
          const ok = await confirmDialog({ title: t("board.void_title"),
            text: t("board.void_text", { t: b.threshold }), confirm: t("board.void"),
            danger: true });
          if (ok) ctx.run("poll.void", { poll_id: poll.id }, button);
        } }, t("board.void")));
    }
  }
  return h("div.board-summary", { testid: "board-summary" }, parts);
}

/**
 * "Đang kiểm phiếu… 1/2 thành viên ban kiểm phiếu đã giải mã".
 * @param {object} poll a closed encrypted poll, counting
 * @returns {HTMLElement}
 */
export function countingLine(poll) {
  const b = poll.board;
  const k = Object.keys(b.partials || {}).length;
  // Counted: the result reaches the organisers first when it is not published at once.
  if (k >= b.threshold) return h("p.board-counting", { testid: "board-counting" }, t("poll.awaiting"));
  return h("p.board-counting", { testid: "board-counting", role: "status" },
    h("span.spinner", { "aria-hidden": "true" }),
    t("board.counting", { k, t: b.threshold }));
}

/** One step of the member's panel: ✓ done, … working, ○ waiting. */
function stepRow(testid, state, label, note) {
  const mark = { done: "✓", busy: "…", wait: "○", error: "✕" }[state];
  return h(`li.board-step.is-${state}`, { testid, dataset: { state } },
    h("span.board-step-mark", { "aria-hidden": "true" }, mark),
    h("span.board-step-label", null, label),
    note ? h("span.board-step-note", null, note) : null);
}

/**
 * The board member's panel (large, on the member's tablet): what this device is doing for
 * the ceremony, step by step, and after the close the "Giải mã kết quả" button.
 * @param {object} poll
 * @param {import("./room.js").RoomContext} ctx
 * @param {BoardDevice} device
 * @param {{counting?: boolean}} [options] `counting: false` leaves out the count's
 *   progress (the console's card shows it already)
 * @returns {HTMLElement|null}
 */
export function memberPanel(poll, ctx, device, { counting = true } = {}) {
  const i = memberIndex(poll, ctx.me.user_id);
  if (!i || !["draft", "closed", "published", "void"].includes(poll.status)) return null;
  const b = poll.board;
  const n = b.members.length;
  const r = device.run(b.poll_uid);
  const parts = [
    h("h4.board-panel-title", null, t("board.panel_title")),
    h("p.board-panel-you", null, t("board.you", { i, n, t: b.threshold })),
  ];
  if (poll.status === "draft") {
    const state = (done, name, ready) => (done ? "done" : r.busy === name ? "busy"
      : r.error && ready ? "error" : "wait");
    const in1 = Object.keys(b.round1 || {}).length;
    const steps = [
      stepRow("board-step-key", state(Boolean(b.round1[String(i)]), "round1", true),
        t("board.step_key")),
      stepRow("board-step-shares", state(has(b.dealt, i), "shares", b.status === "dealing"),
        t("board.step_shares"), b.status === "collecting" ? t("board.wait_members", { k: in1, n }) : null),
      // The check that found a bad share (this device's complaint failed the ceremony) is
      // marked ✕ with the dealer's name, not left "waiting" beside the failure.
      b.status === "failed" && b.complaint && b.complaint.complainer === i
        ? stepRow("board-step-check", "error", t("board.step_check"), t("board.bad_share", {
          dealer: ctx.name(b.members[b.complaint.dealer - 1]) || `#${b.complaint.dealer}` }))
        : stepRow("board-step-check", state(has(b.confirmed, i), "check", b.status === "checking"),
          t("board.step_check"), b.status === "dealing"
            ? t("board.wait_members", { k: (b.dealt || []).length, n }) : null),
    ];
    parts.push(h("ol.board-steps", null, steps));
    const w = ceremonyWords(b);
    parts.push(h(`p.board-status.is-${w.tone}`, { testid: "board-device-status",
      dataset: { status: b.status } }, b.status === "ready" ? t("board.ready_member")
      : b.status === "failed" ? t("board.failed_member") : w.text));
  } else if (poll.counting) {
    const sent = Boolean((b.partials || {})[String(i)]);
    if (counting) parts.push(countingLine(poll));
    if (sent) {
      parts.push(h("p.board-status.is-ready", { testid: "board-decrypted" }, t("board.decrypted")));
    } else {
      parts.push(h("button.btn.btn-primary.btn-large", { type: "button", testid: "board-decrypt",
        disabled: !ctx.connected || r.busy === "partial",
        onclick: () => device.decrypt(poll) }, t("board.decrypt")));
    }
  } else if (poll.status === "void") {
    parts.push(h("p.ballot-note", null, t("board.void_note")));
  } else {
    parts.push(h("p.board-status.is-ready", null, t("board.done")));
  }
  if (r.error) parts.push(h("p.form-error", { testid: "board-error", role: "alert" }, r.error.key ? t(r.error.key) : pick(r.error)));
  const keyed = (poll.status === "draft" && b.status === "ready") || poll.counting;
  if (keyed) parts.push(keyButtons(poll, device, r));
  return h("section.board-panel", { testid: "board-panel", dataset: { pollId: String(poll.id) },
    "aria-label": t("board.panel_title") }, parts);
}

function keyButtons(poll, device, r) {
  const file = h("input", { type: "file", accept: "application/json,.json", hidden: true,
    testid: "board-import-file",
    onchange: (ev) => {
      const [picked] = ev.currentTarget.files;
      ev.currentTarget.value = "";
      if (picked) device.importKey(poll, picked);
    } });
  return h("div.board-key-actions", null,
    r.restored ? h("p.board-status.is-ready", { testid: "board-key-restored" },
      t("board.key_restored")) : null,
    h("button.btn.btn-quiet.btn-small", { type: "button", testid: "board-export-key",
      onclick: () => device.exportKey(poll) }, t("board.export")),
    r.missing ? h("button.btn.btn-secondary.btn-small", { type: "button",
      testid: "board-import-key", onclick: () => file.click() }, t("board.import")) : null,
    file);
}

/**
 * The link to the poll's public board (board.json), to verify the count independently.
 * @param {object} poll
 * @param {number} meetingId
 * @returns {HTMLElement|null}
 */
export function boardLink(poll, meetingId) {
  if (!poll.board || !poll.board.public_key || poll.status === "draft") return null;
  return h("a.btn.btn-quiet.btn-small", { href: `${pollPath(meetingId, poll.id)}/board.json`,
    download: `board-${poll.id}.json`, testid: "board-json" }, t("board.download"));
}
