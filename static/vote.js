// The voter's side of a poll: the ballot (choose, confirm, cast with `vote.cast`, then
// "Đã biểu quyết" with the receipt, and "Thay đổi" when the poll allows it), and the sheet
// that puts an open poll in front of every eligible delegate at once, and the published
// result after it.
//
// A ballot is never cast twice and never lost: its command id is kept in localStorage with
// its arguments (choices and the receipt this device drew) until the ack arrives, so a
// reconnect (the connection resends it) or a reload (this module resends it) repeats the
// SAME command, which the ballot box applies once. The receipt is kept per user, meeting
// and poll; after a reload `GET …/polls/{p}/me` says whether the box holds my ballot.
//
// A secret poll's ballot is encrypted and proved here ("Đang mã hoá phiếu…", with
// secret_ballot.js, for the member whose vote it is: `me.vote_for`) against the key the
// counting board made, which this device recomputes from the board's round 1 rather than
// trust the server's; its receipt is the ballot's tracker ("Mã kiểm tra phiếu"). A retry
// sends the same encrypted ballot (the box recognises it by its tracker); what was chosen
// is never stored on the device. The box checks the proofs just after the ack and takes
// out a ballot whose proofs fail (`ballot_refused`): this device then encrypts the same
// choices afresh, once.

import { request } from "./api.js";
import { CommandRejected, newCommandId } from "./connection.js";
import { countingLine, memberPanel } from "./board.js";
import { h, replace } from "./dom.js";
import { pick, t } from "./i18n.js";
import {
  countdown, kindWords, openPoll, optionLabel, pollOptions, pollPath, progressView, receiptText,
  resultView,
} from "./polls.js";
import { isPresent } from "./reducer.js";
import { buildBallot, pollFromRecord, toHex } from "./secret_ballot.js";
import { toast } from "./ui.js";

const STORE_PREFIX = "phonghop.vote";
const RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford base 32

/**
 * A fresh receipt, drawn here rather than by the server so that nothing the server keeps
 * can recompute it: 10 random Crockford base-32 characters (50 bits), "XXXXX-XXXXX".
 * @returns {string}
 */
export function newReceipt() {
  const bytes = new Uint8Array(10);
  crypto.getRandomValues(bytes);
  const code = Array.from(bytes, (b) => RECEIPT_ALPHABET[b & 31]).join(""); // 256 = 8 × 32: uniform
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/**
 * @typedef {Object} Ballot my ballot in one poll, as this page knows it
 * @property {"choose"|"confirm"|"encrypting"|"sending"|"voted"} phase
 * @property {number[]} picked the choices being made
 * @property {number[]|null} choices what the box holds (named polls; secret: this page's own)
 * @property {string|null} receipt
 * @property {boolean} changing choosing again after having voted (allow_change)
 * @property {"no"|"busy"|"done"|"failed"} checked whether `GET …/me` has answered
 * @property {{id: string, args: object}|null} pending a cast not yet acknowledged
 * @property {{vi: string, en: string}|null} error the last refusal
 * @property {boolean} resend `pending` came from a previous page: send it again
 * @property {number} casts how many casts this page has sent (a `…/me` answer that
 *   started before the last one is stale)
 */

/** Every ballot of the signed-in user in one meeting, and what the delegate's sheet shows. */
export class Voting {
  /**
   * @param {Object} env
   * @param {number} env.meetingId
   * @param {number} env.userId
   * @param {(name: string, args: object, id: string) => Promise<object>} env.send a command
   *   with a given id (queued while offline, resent after a reconnect)
   * @param {() => void} env.changed a ballot or the sheet changed: repaint
   */
  constructor({ meetingId, userId, send, changed }) {
    this.meetingId = meetingId;
    this.userId = userId;
    this.send = send;
    this.changed = changed;
    /** @type {Map<number, Ballot>} */
    this.ballots = new Map();
    /** @type {{pollId: number, minimized: boolean}|null} */
    this.focus = null;
    /** An encrypted cast in flight -> its choices as bits (memory only, never stored). */
    this.picks = new WeakMap();
  }

  // ---- what this device remembers ----

  storeKey(pollId) {
    return `${STORE_PREFIX}.${this.userId}.${this.meetingId}.${pollId}`;
  }

  read(pollId) {
    try {
      return JSON.parse(localStorage.getItem(this.storeKey(pollId)) || "{}") || {};
    } catch {
      return {};
    }
  }

  /** Keep the receipt, the choices of a named poll and a cast in flight. */
  save(poll, b) {
    const data = {};
    if (b.receipt) data.receipt = b.receipt;
    // A secret ballot's choices are not left on the device (tablets are shared); a cast in
    // flight keeps them only until its ack.
    if (b.choices && !poll.secret) data.choices = b.choices;
    if (b.pending) data.pending = b.pending;
    try {
      if (Object.keys(data).length) localStorage.setItem(this.storeKey(poll.id), JSON.stringify(data));
      else localStorage.removeItem(this.storeKey(poll.id));
    } catch {
      /* private mode: the ballot still goes; only the reminder is lost */
    }
  }

  /**
   * My ballot in a poll (created from what the device remembers).
   * @param {object} poll
   * @returns {Ballot}
   */
  ballot(poll) {
    let b = this.ballots.get(poll.id);
    if (!b) {
      const saved = this.read(poll.id);
      b = {
        phase: saved.pending ? "sending" : saved.receipt ? "voted" : "choose",
        picked: [], choices: saved.choices || null, receipt: saved.receipt || null,
        changing: false, checked: "no", pending: saved.pending || null, error: null, casts: 0,
        // A cast this device kept across a reload: sent again (same id) once the box answers.
        resend: Boolean(saved.pending),
      };
      this.ballots.set(poll.id, b);
    }
    return b;
  }

  // ---- the room ----

  /**
   * A snapshot arrived: the sheet shows the open poll, if any.
   * @param {import("./reducer.js").RoomState} state
   */
  snapshot(state) {
    const poll = openPoll(state);
    if (poll && (!this.focus || this.focus.pollId !== poll.id)) {
      this.focus = { pollId: poll.id, minimized: false };
    }
  }

  /**
   * An event was applied.
   * @param {{kind: string, actor: number|null, data: object}} m
   * @param {boolean} isLive received live (not replayed after a reconnect)
   * @param {import("./reducer.js").RoomState} state
   */
  onEvent(m, isLive, state) {
    const d = m.data || {};
    switch (m.kind) {
      case "poll.opened":
        this.focus = { pollId: d.poll.id, minimized: false };
        this.changed();
        break;
      case "poll.published":
        // Replayed too: a tablet that was offline still gets to see the outcome.
        this.focus = { pollId: d.poll_id, minimized: false };
        this.changed();
        break;
      case "poll.cancelled": {
        const poll = state.polls.get(d.poll_id);
        if (this.focus && this.focus.pollId === d.poll_id) this.focus = null;
        const b = this.ballots.get(d.poll_id);
        if (b && b.pending) {
          b.pending = null;
          if (poll) this.save(poll, b);
        }
        if (isLive && poll && poll.opened_at && m.actor !== this.userId) {
          toast(t("vote.cancelled", { title: poll.title }), "info");
        }
        this.changed();
        break;
      }
      default:
        break;
    }
  }

  /**
   * The box took an acknowledged encrypted ballot out again (`ballot_refused`): its
   * proofs did not hold, a fault on this device. Encrypt the same choices afresh, once;
   * otherwise the voter chooses again.
   * @param {{id: string, poll: number, receipt: string, code: string, message?: object}} m
   * @param {import("./reducer.js").RoomState} state
   */
  refused(m, state) {
    const poll = state && state.polls.get(m.poll);
    if (!poll) return;
    const b = this.ballot(poll);
    if (b.receipt !== m.receipt) return; // a ballot replaced since: the box holds the new one
    const sent = b.sent;
    b.sent = null;
    b.receipt = null;
    b.choices = null;
    if (sent && sent.id === m.id && !sent.redrawn && poll.status === "open") {
      b.phase = "sending";
      this.rebuild(poll, sent);
      return;
    }
    b.phase = "choose";
    b.error = m.message || { key: "vote.choose_again" };
    this.save(poll, b);
    toast(pick(m.message, m.code), "error");
    this.changed();
  }

  /**
   * The receipt this device holds for a poll, if any.
   * @param {number} pollId
   * @returns {string|null}
   */
  receiptOf(pollId) {
    const b = this.ballots.get(pollId);
    return (b && b.receipt) || this.read(pollId).receipt || null;
  }

  /** Back online after a drop: ask the box again about the open poll. */
  reconnected() {
    for (const b of this.ballots.values()) if (b.checked !== "busy") b.checked = "no";
    this.changed();
  }

  /**
   * Called on every repaint: the open poll's ballot is checked against the box once.
   * @param {import("./room.js").RoomContext} ctx
   */
  sync(ctx) {
    const poll = openPoll(ctx.state);
    if (!poll || poll.kind === "hands" || ctx.me.vote_for == null || !ctx.connected) return;
    const b = this.ballot(poll);
    if (b.checked === "no") this.check(poll, b);
  }

  async check(poll, b) {
    b.checked = "busy";
    // A cast sent while the question is out makes its answer stale: the box's answer to
    // that cast (ack or refusal) is newer than what `…/me` saw, so it is not overwritten.
    const casts = b.casts;
    let mine;
    try {
      mine = await request("GET", `${pollPath(this.meetingId, poll.id)}/me`);
    } catch {
      b.checked = "failed"; // asked again after the next reconnect
      this.changed();
      return;
    }
    b.checked = "done";
    if (b.casts !== casts) {
      this.changed();
      return;
    }
    if (mine.voted) {
      if (mine.receipt) b.receipt = mine.receipt;
      if (mine.choices) b.choices = mine.choices;
      if (b.phase !== "sending" && !b.changing) b.phase = "voted";
    } else if (!b.pending) {
      // The box has no ballot of mine: whatever this device remembered is not counted.
      b.receipt = null;
      b.choices = null;
      b.changing = false;
      if (b.phase === "voted") b.phase = "choose";
    }
    this.save(poll, b);
    if (b.pending && b.resend) {
      b.resend = false;
      this.transmit(poll, b.pending);
    }
    this.changed();
  }

  // ---- choosing ----

  /** One choice (motion, single): straight to the confirm step. */
  pickOne(poll, optionId) {
    const b = this.ballot(poll);
    b.picked = [optionId];
    b.phase = "confirm";
    b.error = null;
    this.changed();
  }

  /** Several choices (multi): after "Tiếp tục". */
  confirmPicked(poll) {
    const b = this.ballot(poll);
    b.phase = "confirm";
    b.error = null;
    this.changed();
  }

  back(poll) {
    this.ballot(poll).phase = "choose";
    this.changed();
  }

  change(poll) {
    const b = this.ballot(poll);
    b.changing = true;
    b.picked = b.choices ? [...b.choices] : [];
    b.phase = "choose";
    b.error = null;
    this.changed();
  }

  keep(poll) {
    const b = this.ballot(poll);
    b.changing = false;
    b.phase = "voted";
    this.changed();
  }

  /**
   * Cast what was picked (the confirm step's button).
   * @param {object} poll
   * @param {number|null} voteFor the member whose vote it is (`me.vote_for`)
   */
  async cast(poll, voteFor) {
    const b = this.ballot(poll);
    if (!poll.secret || !poll.board) {
      const args = { poll_id: poll.id, choices: [...b.picked], receipt: newReceipt() };
      this.transmit(poll, { id: newCommandId(), args });
      return;
    }
    b.phase = "encrypting";
    b.error = null;
    this.changed();
    // Let "Đang mã hoá phiếu…" paint before the proofs take the main thread.
    await new Promise((resolve) => { setTimeout(resolve, 30); });
    let made;
    const bits = poll.options.map((o) => (b.picked.includes(o.id) ? 1 : 0));
    try {
      const p = encryptedPoll(poll);
      made = buildBallot(p, String(voteFor), bits);
    } catch (err) {
      console.error(err);
      b.phase = "confirm";
      b.error = { key: "vote.encrypt_failed" };
      this.changed();
      return;
    }
    const pending = { id: newCommandId(), args: { poll_id: poll.id, ballot: made.ballot },
      tracker: made.tracker };
    // The choices stay in this page's memory only (never stored): a refused proof can be
    // rebuilt from them, a reload cannot rebuild.
    this.picks.set(pending, bits);
    this.transmit(poll, pending);
  }

  /**
   * Encrypt the same choices again (fresh randomness, a new tracker) and send that, once.
   * @param {object} poll
   * @param {{id: string, args: object}} failed the refused cast
   */
  rebuild(poll, failed) {
    const b = this.ballot(poll);
    const bits = this.picks.get(failed);
    if (!bits) { // reloaded since: the choices are not kept on the device; choose again
      b.pending = null;
      b.phase = "choose";
      b.error = { key: "vote.choose_again" };
      this.save(poll, b);
      this.changed();
      return;
    }
    let made;
    try {
      const p = encryptedPoll(poll);
      made = buildBallot(p, failed.args.ballot.voter, bits);
    } catch (err) {
      console.error(err);
      b.pending = null;
      b.phase = "confirm";
      b.error = { key: "vote.encrypt_failed" };
      this.changed();
      return;
    }
    this.transmit(poll, { id: newCommandId(), args: { poll_id: poll.id, ballot: made.ballot },
      tracker: made.tracker, redrawn: true });
  }

  /**
   * Send a ballot and wait for the box. `pending` (command id and arguments, the receipt
   * among them) is what a retry repeats unchanged.
   * @param {object} poll
   * @param {{id: string, args: object, redrawn?: boolean}} pending
   */
  async transmit(poll, pending) {
    const b = this.ballot(poll);
    b.pending = pending;
    b.casts += 1;
    b.resend = false;
    b.phase = "sending";
    b.error = null;
    this.save(poll, b); // before sending: a reload from here on repeats this id
    this.changed();
    let ack;
    try {
      ack = await this.send("vote.cast", pending.args, pending.id);
    } catch (err) {
      if (!(err instanceof CommandRejected)) return; // the room was left: the cast stays kept
      if (b.pending !== pending) return;
      if (err.code === "invalid" && !pending.redrawn && pending.args.receipt) {
        // Another ballot of this poll drew the same receipt: draw again, once.
        this.transmit(poll, { id: newCommandId(),
          args: { ...pending.args, receipt: newReceipt() }, redrawn: true });
        return;
      }
      if (err.code === "invalid_ballot" && !pending.redrawn && pending.args.ballot) {
        // The box found a proof that does not hold (a fault on this device, e.g. a bad
        // random draw): encrypt the same choices again with fresh randomness, once.
        this.rebuild(poll, pending);
        return;
      }
      b.pending = null;
      b.error = err.serverMessage || { vi: err.code, en: err.code };
      toast(pick(err.serverMessage, err.code), "error");
      if (err.code === "already_voted") {
        b.changing = false;
        b.checked = "no"; // the box holds a ballot of mine: show it
        b.phase = "voted";
      } else {
        b.phase = b.changing || !b.receipt ? (b.picked.length ? "confirm" : "choose") : "voted";
      }
      this.save(poll, b);
      this.changed();
      return;
    }
    if (b.pending !== pending) return;
    b.pending = null;
    // An encrypted ballot's proofs are checked just after its ack: kept in this page's
    // memory (never stored) until then, so that a ballot taken out can be rebuilt.
    b.sent = pending.args.ballot ? pending : null;
    b.receipt = ack.receipt || pending.args.receipt || pending.tracker;
    // A secret ballot's choices stay in this page's memory only (save() leaves them out).
    b.choices = pending.args.choices ? [...pending.args.choices] : [...b.picked];
    b.changing = false;
    b.phase = "voted";
    this.save(poll, b);
    toast(t("vote.recorded"), "success");
    this.changed();
  }
}

/**
 * Whether I may vote in a poll, as the room shows it: someone whose ballot I cast
 * (`me.vote_for`) and, for `present` polls, that member present (in person or, while an
 * approved substitute stands in, through the substitute's check-in). The box decides for good when the ballot arrives.
 * @param {object} poll
 * @param {import("./room.js").RoomContext} ctx
 * @returns {"eligible"|"absent"|"none"}
 */
export function voterStatus(poll, ctx) {
  const member = ctx.me.vote_for;
  if (member == null || poll.kind === "hands") return "none";
  if (poll.eligibility === "members") return "eligible";
  const st = ctx.state;
  const p = st.participants.get(member);
  // rooms/state.py counts_present: through the approved substitute while one stands in.
  const present = isPresent(st, p && p.substitute_user_id != null ? p.substitute_user_id : member);
  return present ? "eligible" : "absent";
}

/**
 * The ballot of an open poll for the signed-in voter.
 * @param {object} poll
 * @param {import("./room.js").RoomContext} ctx
 * @param {Voting} voting
 * @param {{meta?: boolean}} [options] `meta: false` leaves out the kind, countdown and
 *   progress (the console's card shows them already)
 * @returns {HTMLElement}
 */
export function ballotView(poll, ctx, voting, { meta = true } = {}) {
  const status = voterStatus(poll, ctx);
  const b = voting.ballot(poll);
  const off = !ctx.connected;
  const body = [];
  if (status === "absent" && b.phase !== "voted") {
    body.push(h("p.ballot-note.is-warning", { testid: "vote-ineligible" }, t("vote.need_present")));
    const a = ctx.state.attendance.get(ctx.me.user_id);
    if (!(a && a.status === "present")) {
      body.push(h("button.btn.btn-primary.btn-large", { type: "button", testid: "vote-check-in",
        disabled: off, onclick: (ev) => ctx.run("attendance.check_in", {}, ev.currentTarget) },
      t("me.check_in")));
    }
  } else if (b.phase === "voted") {
    body.push(votedView(poll, b, off, voting));
  } else if (b.phase === "encrypting") {
    body.push(h("p.ballot-note", { testid: "vote-encrypting", role: "status" },
      h("span.spinner", { "aria-hidden": "true" }), t("vote.encrypting")));
  } else if (b.phase === "sending") {
    body.push(h("p.ballot-note", { testid: "vote-sending", role: "status" },
      h("span.spinner", { "aria-hidden": "true" }), t("vote.sending")));
    if (off) body.push(h("p.ballot-note", null, t("vote.sending_offline")));
  } else if (b.phase === "confirm") {
    body.push(confirmView(poll, b, off, voting, ctx));
  } else {
    body.push(chooseView(poll, b, off, voting));
  }
  if (b.error && b.phase !== "sending") {
    body.push(h("p.form-error", { testid: "vote-error", role: "alert" },
      b.error.key ? t(b.error.key) : pick(b.error)));
  }
  return h("div.ballot", { testid: "ballot", dataset: { pollId: String(poll.id), phase: b.phase } },
    meta ? h("div.ballot-meta", null,
      h("span.ballot-kind", null, kindWords(poll)),
      countdown(poll),
      progressView(poll)) : null,
    body);
}

function chooseView(poll, b, off, voting) {
  const parts = [];
  const options = pollOptions(poll);
  if (poll.kind === "multi") {
    const picked = new Set(b.picked);
    const next = h("button.btn.btn-primary.btn-large", { type: "button", testid: "vote-next",
      onclick: () => voting.confirmPicked(poll) }, t("vote.next"));
    const boxes = [];
    // Checking a box updates the ballot in place (no repaint), so the list stays put.
    const refresh = () => {
      const n = picked.size;
      next.disabled = off || n < poll.min_choices || n > poll.max_choices;
      for (const box of boxes) box.disabled = off || (!box.checked && n >= poll.max_choices);
      count.textContent = t("vote.picked_count", { n, max: poll.max_choices });
    };
    const count = h("p.ballot-count", { testid: "vote-picked-count", "aria-live": "polite" });
    parts.push(h("p.ballot-ask", null,
      t("vote.ask_range", { min: poll.min_choices, max: poll.max_choices })));
    parts.push(h("ul.vote-checks", { role: "group", "aria-label": poll.title }, options.map((o) => {
      const box = h("input.vote-check-input", { type: "checkbox", value: String(o.id),
        checked: picked.has(o.id), onchange: () => {
          if (box.checked) picked.add(o.id);
          else picked.delete(o.id);
          b.picked = options.map((x) => x.id).filter((id) => picked.has(id));
          refresh();
        } });
      boxes.push(box);
      return h("li", null, h("label.vote-check", { testid: "vote-check",
        dataset: { optionId: String(o.id) } }, box, h("span", null, o.label)));
    })));
    parts.push(count, next);
    refresh();
  } else {
    parts.push(h("p.ballot-ask", null, t("vote.ask_one")));
    parts.push(h("div.vote-options", { role: "group", "aria-label": poll.title },
      options.map((o) => h(`button.btn.vote-option.option-${poll.kind === "motion" ? o.id : "any"}`, {
        type: "button", testid: "vote-option", disabled: off,
        dataset: { optionId: String(o.id) },
        "aria-pressed": String(b.picked.includes(o.id)),
        onclick: () => voting.pickOne(poll, o.id),
      }, o.label))));
  }
  if (b.changing) {
    parts.push(h("button.btn.btn-secondary", { type: "button", testid: "vote-keep",
      onclick: () => voting.keep(poll) }, t("vote.keep")));
  }
  return h("div.ballot-step", null, parts);
}

function confirmView(poll, b, off, voting, ctx) {
  return h("div.ballot-step.ballot-confirm", { testid: "vote-confirm-step" },
    h("p.ballot-ask", null, t(b.changing ? "vote.confirm_change" : "vote.confirm_ask")),
    h("ul.ballot-picked", { testid: "vote-picked" },
      b.picked.map((id) => h("li", null, optionLabel(poll, id)))),
    h("p.ballot-note", null, t(poll.secret ? "vote.secret_note" : "vote.named_note")),
    h("div.ballot-actions", null,
      h("button.btn.btn-primary.btn-large", { type: "button", testid: "vote-confirm",
        disabled: off, onclick: () => voting.cast(poll, ctx.me.vote_for) }, t("vote.confirm")),
      h("button.btn.btn-secondary.btn-large", { type: "button", testid: "vote-back",
        onclick: () => voting.back(poll) }, t("vote.back"))));
}

function votedView(poll, b, off, voting) {
  return h("div.vote-done", { testid: "vote-done" },
    h("p.vote-done-title", null, h("span.done-icon", { "aria-hidden": "true" }, "✓"),
      t("vote.done")),
    b.choices && b.choices.length
      ? h("p.vote-done-choice", { testid: "vote-my-choice" }, t("vote.your_choice",
        { choice: b.choices.map((id) => optionLabel(poll, id)).join(", ") }))
      : null,
    b.receipt ? receiptLine(poll, b.receipt)
      : h("p.ballot-note", { testid: "vote-receipt-elsewhere" }, t("vote.receipt_elsewhere")),
    b.receipt ? h("p.ballot-note", null, t(poll.secret ? "vote.tracker_hint" : "vote.receipt_hint"))
      : null,
    poll.allow_change && poll.status === "open"
      ? h("button.btn.btn-secondary", { type: "button", testid: "vote-change", disabled: off,
        onclick: () => voting.change(poll) }, t("vote.change"))
      : null);
}

/**
 * Paint the delegate's sheet: over everything (the document viewer included) while a poll
 * is open and I may vote, then until I close it, its published result. Organisers vote and
 * follow results in the poll console instead.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 * @param {Voting} voting
 * @param {import("./board.js").BoardDevice} [device] a counting board member's device: its
 *   "Giải mã kết quả" is on the sheet too
 */
export function renderVoteSheet(el, ctx, voting, device) {
  const f = voting.focus;
  const poll = f ? ctx.state.polls.get(f.pollId) : null;
  const mode = poll && !ctx.isOrganiser ? sheetMode(poll, ctx, voting) : null;
  if (!mode || (f.minimized && mode !== "ballot")) {
    el.hidden = true;
    el.replaceChildren();
    document.body.classList.remove("has-vote-sheet");
    return;
  }
  el.hidden = false;
  if (f.minimized) {
    document.body.classList.remove("has-vote-sheet");
    const b = voting.ballot(poll);
    replace(el, h("button.vote-pill", { type: "button", testid: "vote-pill",
      onclick: () => {
        f.minimized = false;
        voting.changed();
      } },
    h("span.live-dot", { "aria-hidden": "true" }),
    h("span.vote-pill-text", null,
      t(b.phase === "voted" ? "vote.pill_done" : "vote.pill", { title: poll.title })),
    countdown(poll, "vote-pill-countdown"),
    h("span.vote-pill-open", null, t("vote.pill_open"))));
    return;
  }
  document.body.classList.add("has-vote-sheet");
  const item = poll.item_id != null ? ctx.state.items.get(poll.item_id) : null;
  const body = mode === "ballot" ? ballotView(poll, ctx, voting)
    : mode === "result" ? resultView(poll)
      : closedView(poll, voting, ctx, device);
  replace(el,
    h("section.vote-sheet", { testid: "vote-sheet", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "vote-sheet-title", dataset: { pollId: String(poll.id), mode } },
    h("header.vote-sheet-head", null,
      h("div.vote-sheet-heading", null,
        h("p.vote-sheet-label", null,
          mode === "ballot" ? h("span.live-dot", { "aria-hidden": "true" }) : null,
          t(mode === "result" ? "vote.sheet_result" : mode === "ballot" ? "vote.sheet_open" : "vote.sheet_closed")),
        h("h2.vote-sheet-title", { id: "vote-sheet-title", testid: "vote-sheet-title" }, poll.title),
        item ? h("p.vote-sheet-item", null, t("poll.item", { title: item.title })) : null),
      h("button.btn.btn-secondary", { type: "button", testid: "vote-sheet-close",
        onclick: () => {
          if (mode === "ballot") f.minimized = true;
          else voting.focus = null;
          voting.changed();
        } }, t(mode === "ballot" ? "vote.minimize" : "common.close"))),
    h("div.vote-sheet-body", null, body)));
}

function sheetMode(poll, ctx, voting) {
  if (poll.status === "published" && poll.result) return "result";
  if (poll.kind === "hands" || ctx.me.vote_for == null) return null;
  if (poll.status === "open") return "ballot";
  // Closed, the result not published yet: only for whoever saw the ballot here.
  if ((poll.status === "closed" || poll.status === "void") && voting.ballots.has(poll.id)) {
    return "closed";
  }
  return null;
}

function closedView(poll, voting, ctx, device) {
  const b = voting.ballot(poll);
  const panel = device ? memberPanel(poll, ctx, device) : null; // a board member's
  return h("div.vote-closed", { testid: "vote-closed" },
    panel,
    h("p.ballot-ask", null, t("vote.closed")),
    b.phase === "voted" && b.receipt ? receiptLine(poll, b.receipt) : null,
    poll.counting && !panel ? countingLine(poll) : null,
    poll.status === "void" ? h("p.ballot-note.is-warning", { testid: "poll-void-note" },
      t("poll.void_note")) : h("p.ballot-note", null, t("vote.await_result")));
}

/** "Mã phiếu" (named) or "Mã kiểm tra phiếu" (secret: the tracker's display form). */
function receiptLine(poll, receipt) {
  return h("p.vote-receipt", null, h("span", null, t(poll.secret ? "vote.tracker" : "vote.receipt")),
    h("strong.receipt-code", { testid: "vote-receipt", dataset: { receipt } },
      receiptText(poll, receipt)));
}

const encryptedPolls = new Map(); // poll_uid -> the Poll a ballot is made against

/**
 * The encrypted poll a ballot is made against, recomputed on this device from the board's
 * round 1 (every proof checked), and the same context as the server's, or it throws.
 * @param {object} poll
 * @returns {import("./secret_ballot.js").Poll}
 */
export function encryptedPoll(poll) {
  const b = poll.board;
  let p = encryptedPolls.get(b.poll_uid);
  if (!p) {
    const n = b.members.length;
    const members = b.members.map((_, k) => b.round1[String(k + 1)]);
    p = pollFromRecord({ poll_uid: b.poll_uid, title: poll.title,
      options: poll.options.map((o) => o.label), min: poll.min_choices, max: poll.max_choices,
      n, t: b.threshold }, members);
    if (toHex(p.context) !== b.context) throw new Error("the poll's context differs");
    encryptedPolls.set(b.poll_uid, p);
  }
  return p;
}
