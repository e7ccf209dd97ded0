// The polls panel. For the chair, the secretary and administrators it is the poll console:
// create a poll from an agenda item, edit drafts, open, close, publish, cancel, follow
// "x/y đã biểu quyết", enter the counts of a show of hands, and read the result. For
// everyone it shows the open poll and the published results, with the receipts list (each
// voter finds their code) and, for named polls, who voted what.
//
// A secret poll names its counting board in the form (members among the participants and
// the number needed to count: by default the chair, the secretary and one delegate, 2 of
// 3); its card follows the board's key ceremony, and "Bắt đầu biểu quyết" waits for it.
// The board's members see the draft too, with their own device's panel (board.js).

import { boardLink, boardSummary, memberIndex, memberPanel } from "./board.js";
import { fold, foldedOf, h, nfc, replace } from "./dom.js";
import { duration } from "./format.js";
import { lang, t } from "./i18n.js";
import {
  countdown, fetchBallots, fetchReceipts, kindWords, optionLabel, pollPath, pollsNewestFirst,
  progressView, receiptText, resultView, ruleWords, statusChip,
} from "./polls.js";
import { confirmDialog, toast } from "./ui.js";
import { VirtualList } from "./virtual-list.js";
import { ballotView, voterStatus } from "./vote.js";

const DURATIONS = [0, 30, 60, 120, 180, 300, 600, 900, 1800]; // seconds; 0: no limit
const RECEIPTS_SHOWN = 300; // rows painted at once; the filter finds the others
const BALLOT_ROW_HEIGHT = 56; // px, a named ballot's row (a name and a unit)
const RULE_BASES = ["members", "present", "cast"];
const KINDS = ["motion", "single", "multi", "hands"];
const BOARD_ROLES = ["chair", "secretary", "delegate", "presenter", "invitee"]; // in this order
const MAX_BOARD = 15;

/** Who may sit on a counting board, the chair first, then the secretary, the delegates… */
function boardCandidates(st) {
  return [...st.participants.values()].filter((p) => BOARD_ROLES.includes(p.role))
    .sort((a, b) => BOARD_ROLES.indexOf(a.role) - BOARD_ROLES.indexOf(b.role));
}

/** The default board: the chair, the secretary and one delegate, 2 of 3 (fewer if absent). */
function defaultBoard(st) {
  const people = boardCandidates(st);
  const members = ["chair", "secretary", "delegate"]
    .map((role) => people.find((p) => p.role === role)).filter(Boolean).map((p) => p.user_id);
  return { members, threshold: Math.min(2, members.length) };
}

/**
 * Paint the polls panel. The form is built once (per language) and kept, and each poll's
 * card is rebuilt only when what it shows changed, so typing (a title, the counts of a
 * show of hands, a receipt search) survives the room's events.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 * @param {import("./vote.js").Voting} voting
 * @param {import("./board.js").BoardDevice} device this device as a counting board member
 */
export function renderPolls(el, ctx, voting, device) {
  const memo = ctx.memo("polls");
  memo.ctx = ctx;
  memo.voting = voting;
  memo.device = device;
  if (memo.lang !== lang() || !el.contains(memo.list)) {
    memo.lang = lang();
    memo.cards = new Map();
    memo.extras = memo.extras || new Map();
    memo.counts = memo.counts || new Map();
    memo.form = pollForm(memo);
    memo.list = h("div.poll-list", { testid: "poll-list" });
    memo.create = h("button.btn.btn-secondary.btn-small", { type: "button", testid: "poll-new",
      onclick: () => {
        memo.form.fill(null);
        memo.formOpen = true;
        memo.ctx.repaint("polls");
        memo.form.title.focus();
      } }, t("poll.new"));
    replace(el,
      h("div.panel-head", null,
        h("h2.panel-title", { id: "polls-title" }, t("poll.title")), memo.create),
      memo.form.el, memo.list);
  }
  const ended = ctx.state.meeting.status === "ended";
  const organiser = ctx.isOrganiser;
  if (!organiser || ended) memo.formOpen = false;
  memo.create.hidden = !organiser || ended || memo.formOpen;
  memo.form.el.hidden = !memo.formOpen;
  if (memo.formOpen) memo.form.refresh();

  // A draft cancelled before it opened concerns the organisers only.
  const polls = pollsNewestFirst(ctx.state).filter((p) =>
    organiser || p.status !== "cancelled" || p.opened_at != null);
  // The open poll first; then the newest first.
  polls.sort((a, b) => Number(b.status === "open") - Number(a.status === "open"));
  if (!polls.length) {
    memo.cards.clear();
    replace(memo.list, h("p.empty", { testid: "polls-empty" }, t("poll.empty")));
    return;
  }
  const empty = memo.list.querySelector("[data-testid=polls-empty]");
  if (empty) empty.remove();
  const shown = new Set();
  polls.forEach((poll, i) => {
    shown.add(poll.id);
    const key = cardKey(poll, ctx, memo);
    let card = memo.cards.get(poll.id);
    if (!card || card.key !== key) {
      const built = pollCard(poll, memo);
      if (card) card.el.replaceWith(built);
      card = { key, el: built };
      memo.cards.set(poll.id, card);
    }
    if (memo.list.children[i] !== card.el) memo.list.insertBefore(card.el, memo.list.children[i] || null);
  });
  for (const [id, card] of memo.cards) {
    if (!shown.has(id)) {
      card.el.remove();
      memo.cards.delete(id);
    }
  }
}

/** Everything a card shows, as one string: the card is rebuilt when it changes. */
function cardKey(poll, ctx, memo) {
  const b = memo.voting.ballots.get(poll.id);
  const x = memo.extras.get(poll.id);
  const item = poll.item_id != null ? ctx.state.items.get(poll.item_id) : null;
  const run = poll.board && memberIndex(poll, ctx.me.user_id)
    ? memo.device.run(poll.board.poll_uid) : null;
  return JSON.stringify([poll, ctx.connected, ctx.state.participants.size,
    run && [run.busy, run.error, [...run.sent]], ctx.me.role, ctx.me.vote_for, ctx.isOrganiser,
    ctx.state.meeting.status, openId(ctx), voterStatus(poll, ctx), item && item.title,
    b && [b.phase, b.picked, b.receipt, b.choices, b.changing, b.error, b.checked],
    x && x.version]);
}

function openId(ctx) {
  for (const p of ctx.state.polls.values()) if (p.status === "open") return p.id;
  return null;
}

function extras(memo, pollId) {
  if (!memo.extras.has(pollId)) {
    memo.extras.set(pollId, { receipts: null, ballots: null, busy: false, version: 0, filter: "",
      ballotList: null, ballotFilter: "" });
  }
  return memo.extras.get(pollId);
}

// ---- one poll ----

function pollCard(poll, memo) {
  const ctx = memo.ctx;
  const item = poll.item_id != null ? ctx.state.items.get(poll.item_id) : null;
  const meta = [kindWords(poll)];
  if (poll.kind !== "hands") meta.push(t(`poll.eligibility.${poll.eligibility}`));
  if (poll.duration_seconds) meta.push(t("poll.duration", { time: duration(poll.duration_seconds) }));
  return h("article.poll-card", { testid: "poll-card", class: `poll-card-${poll.status}`,
    dataset: { pollId: String(poll.id), status: poll.status } },
  h("header.poll-card-head", null,
    h("div.poll-card-heading", null,
      h("h3.poll-title", { testid: "poll-title" }, poll.title),
      item ? h("p.poll-item", null, t("poll.item", { title: item.title })) : null),
    statusChip(poll)),
  h("p.poll-meta", null, meta.join(" · ")),
  h("p.poll-meta", { testid: "poll-card-rule" }, `${t("poll.rule_label")}: ${ruleWords(poll.rule)}`),
  body(poll, memo));
}

function body(poll, memo) {
  const ctx = memo.ctx;
  const organiser = ctx.isOrganiser;
  const chair = ctx.me.role === "chair" || Boolean(ctx.me.is_admin);
  const off = !ctx.connected;
  const parts = [];
  const actions = [];
  const act = (testid, label, style, onclick) => actions.push(h(`button.btn.${style}`,
    { type: "button", testid, disabled: off, onclick }, label));

  const panel = memberPanel(poll, ctx, memo.device, { counting: false });
  if (panel && poll.status !== "published") parts.push(panel);
  switch (poll.status) {
    case "draft":
      parts.push(boardSummary(poll, ctx));
      if (!organiser) break; // a board member: the draft is theirs to see, not to change
      if (chair) {
        const busy = openId(ctx) != null;
        const inSession = ctx.state.meeting.status === "in_session";
        const keyless = poll.secret && !(poll.board && poll.board.status === "ready");
        act("poll-open", t("poll.open"), "btn-primary",
          (ev) => ctx.run("poll.open", { poll_id: poll.id }, ev.currentTarget));
        const open = actions[actions.length - 1];
        open.disabled = off || busy || !inSession || keyless;
        if (busy) open.title = t("poll.one_open");
        else if (!inSession) open.title = t("poll.need_session");
        else if (keyless) open.title = t("board.not_ready");
      }
      act("poll-edit", t("poll.edit"), "btn-secondary", () => {
        memo.form.fill(poll);
        memo.formOpen = true;
        ctx.repaint("polls");
        memo.form.title.focus();
      });
      act("poll-cancel", t("poll.cancel"), "btn-danger-outline", (ev) => cancel(poll, ctx, ev));
      break;
    case "open":
      parts.push(h("div.poll-live", null, countdown(poll), progressView(poll)));
      if (poll.kind === "hands") {
        parts.push(h("p.ballot-note", null, t("poll.hands_note")));
        if (organiser && (chair || ctx.me.role === "secretary")) parts.push(recordForm(poll, memo));
      } else if (voterStatus(poll, ctx) !== "none") {
        if (organiser) {
          parts.push(h("div.poll-my-ballot", null,
            h("h4.sub-title", null, t("vote.my_ballot")),
            ballotView(poll, ctx, memo.voting, { meta: false })));
        } else {
          const b = memo.voting.ballots.get(poll.id);
          parts.push(h("button.btn.btn-primary", { type: "button", testid: "vote-open-sheet",
            onclick: () => {
              memo.voting.focus = { pollId: poll.id, minimized: false };
              memo.voting.changed();
            } }, t(b && b.phase === "voted" ? "vote.show_mine" : "vote.open_ballot")));
        }
      }
      if (chair && poll.kind !== "hands") {
        act("poll-close", t("poll.close"), "btn-primary", async (ev) => {
          const button = ev.currentTarget;
          const ok = await confirmDialog({ title: t("poll.close_title"),
            text: t("poll.close_text"), confirm: t("poll.close") });
          if (ok) ctx.run("poll.close", { poll_id: poll.id }, button);
        });
      }
      if (organiser) {
        act("poll-cancel", t("poll.cancel"), "btn-danger-outline", (ev) => cancel(poll, ctx, ev));
      }
      break;
    case "closed":
    case "published":
      // An encrypted poll waits for its board's partial decryptions.
      if (poll.counting) {
        parts.push(boardSummary(poll, ctx));
        break;
      }
      // Organisers check the result between the close and its publication.
      if (!poll.result) {
        parts.push(h("p.ballot-note", { testid: "poll-awaiting" }, t("poll.awaiting")));
        break;
      }
      parts.push(resultView(poll));
      if (poll.status === "closed" && chair) {
        act("poll-publish", t("poll.publish"), "btn-primary",
          (ev) => ctx.run("poll.publish", { poll_id: poll.id }, ev.currentTarget));
      }
      parts.push(h("div.poll-extras", null,
        poll.kind !== "hands" ? receiptsBlock(poll, memo) : null,
        poll.kind !== "hands" && !poll.secret ? ballotsBlock(poll, memo) : null,
        csvLink(poll, ctx), boardLink(poll, ctx.meetingId)));
      break;
    case "void":
      parts.push(h("p.ballot-note.is-warning", { testid: "poll-void-note" }, t("poll.void_note")));
      break;
    default: // cancelled
      parts.push(h("p.ballot-note", null, t("poll.cancelled_note")));
      break;
  }
  return [parts, actions.length ? h("div.poll-actions", null, actions) : null];
}

async function cancel(poll, ctx, ev) {
  const button = ev.currentTarget;
  const ok = await confirmDialog({ title: t("poll.cancel_title"),
    text: t(poll.status === "open" ? "poll.cancel_open_text" : "poll.cancel_text", { title: poll.title }),
    confirm: t("poll.cancel"), danger: true });
  if (ok) ctx.run("poll.cancel", { poll_id: poll.id }, button);
}

function csvLink(poll, ctx) {
  return h("a.btn.btn-quiet.btn-small", { href: `${pollPath(ctx.meetingId, poll.id)}/result.csv`,
    download: "", testid: "result-csv" }, t("poll.csv"));
}

/** The counts of a show of hands, entered by the chair or the secretary. */
function recordForm(poll, memo) {
  const ctx = memo.ctx;
  const kept = memo.counts.get(poll.id) || ["", "", ""];
  memo.counts.set(poll.id, kept);
  const inputs = ["for", "against", "abstain"].map((name, i) => {
    const input = h("input.input.input-count", { type: "number", min: 0, max: 1000000, step: 1,
      inputmode: "numeric", required: true, id: `record-${poll.id}-${name}`,
      testid: `record-${name}`, value: kept[i] });
    input.addEventListener("input", () => { kept[i] = input.value; });
    return h("div.record-field", null,
      h("label.label", { for: input.id }, optionLabel(poll, i + 1)), input);
  });
  const submit = h("button.btn.btn-primary", { type: "submit", testid: "record-submit",
    disabled: !ctx.connected }, t("poll.record"));
  return h("form.record-form", { testid: "record-form", onsubmit: async (ev) => {
    ev.preventDefault();
    const counts = kept.map((v) => Number.parseInt(v, 10));
    if (counts.some((n) => !Number.isInteger(n) || n < 0)) return;
    const ok = await confirmDialog({ title: t("poll.record_title"),
      text: t("poll.record_text", { for: counts[0], against: counts[1], abstain: counts[2] }),
      confirm: t("poll.record") });
    if (!ok) return;
    if (await ctx.run("poll.record", { poll_id: poll.id, counts }, submit)) memo.counts.delete(poll.id);
  } },
  h("p.sub-title", null, t("poll.record_title")),
  h("div.record-fields", null, inputs), submit);
}

/** Receipts counted (published polls): each voter checks their code is among them. */
function receiptsBlock(poll, memo) {
  const x = extras(memo, poll.id);
  const mine = memo.voting.receiptOf(poll.id);
  if (!x.receipts) {
    return h("button.btn.btn-secondary.btn-small", { type: "button", testid: "show-receipts",
      disabled: x.busy, onclick: () => load(memo, poll, "receipts", fetchReceipts) },
    t("poll.show_receipts"));
  }
  const list = h("ul.receipt-list", { testid: "receipt-list" });
  const shown = (r) => receiptText(poll, r);
  const paint = () => {
    const q = x.filter.trim().toUpperCase();
    const found = q ? x.receipts.filter((r) => shown(r).toUpperCase().includes(q)) : x.receipts;
    replace(list, found.slice(0, RECEIPTS_SHOWN).map((r) => h("li.receipt-item",
      { testid: "receipt-item", class: r === mine ? "is-mine" : "" }, shown(r))),
    found.length > RECEIPTS_SHOWN
      ? h("li.receipt-more", null, t("poll.receipts_more", { shown: RECEIPTS_SHOWN, total: found.length }))
      : null);
  };
  const filter = h("input.input.input-search", { type: "search", testid: "receipt-filter",
    placeholder: t("poll.receipt_search"), "aria-label": t("poll.receipt_search"), value: x.filter });
  filter.addEventListener("input", () => {
    x.filter = filter.value;
    paint();
  });
  paint();
  let check = null;
  if (mine) {
    const found = x.receipts.includes(mine);
    const words = poll.secret ? ["poll.tracker_found", "poll.tracker_missing"]
      : ["poll.receipt_found", "poll.receipt_missing"];
    check = h(`p.receipt-check.${found ? "is-found" : "is-missing"}`, { testid: "my-receipt-check" },
      t(found ? words[0] : words[1], { code: shown(mine) }));
  }
  return h("div.receipts", { testid: "receipts" },
    h("h4.sub-title", null, t("poll.receipts_title", { n: x.receipts.length })),
    check, filter, list);
}

/** Who voted what (published named polls). */
function ballotsBlock(poll, memo) {
  const x = extras(memo, poll.id);
  if (!x.ballots) {
    return h("button.btn.btn-secondary.btn-small", { type: "button", testid: "show-ballots",
      disabled: x.busy, onclick: () => load(memo, poll, "ballots", fetchBallots) },
    t("poll.show_ballots"));
  }
  // 6,300 named ballots: the rows in view only (virtual-list.js), kept with the poll's
  // extras so that a repaint of the panel keeps the reader's place.
  if (!x.ballotList) {
    x.ballotList = new VirtualList({ rowHeight: BALLOT_ROW_HEIGHT,
      attrs: { class: "ballot-table", testid: "ballot-table", role: "rowgroup" } });
  }
  const list = x.ballotList;
  const show = () => {
    const q = fold(x.ballotFilter);
    list.show(q ? x.ballots.filter((bt) => foldedOf(bt, ballotText).includes(q)) : x.ballots,
      (bt) => ballotRow(poll, bt));
  };
  // Only the rows in view are in the page, so the browser's find cannot reach the others:
  // the list has its own search, by name or unit.
  const filter = h("input.input.input-search", { type: "search", testid: "ballot-filter",
    placeholder: t("poll.ballot_search"), "aria-label": t("poll.ballot_search"),
    value: x.ballotFilter });
  filter.addEventListener("input", () => {
    x.ballotFilter = filter.value;
    list.toTop();
    show();
  });
  show();
  return h("div.ballots", null,
    h("h4.sub-title", null, t("poll.ballots_title")), filter,
    h("div", { role: "table", "aria-label": t("poll.ballots_title") },
      h("div.ballot-head", { role: "row" },
        h("span", { role: "columnheader" }, t("poll.col_voter")),
        h("span", { role: "columnheader" }, t("poll.col_choice"))),
      list.el));
}

/** What the named ballots' search looks in: the voter's name and unit. */
function ballotText(bt) {
  return `${bt.full_name} ${bt.unit || ""}`;
}

/** One named ballot's row (virtual-list.js `Row`). */
function ballotRow(poll, bt) {
  const substitute = bt.cast_by != null && bt.cast_by !== bt.voter_id;
  const choice = bt.choices.map((id) => optionLabel(poll, id)).join(", ");
  const unit = [bt.unit, substitute ? t("poll.cast_by_substitute") : null].filter(Boolean)
    .join(" · ");
  return {
    id: bt.voter_id,
    key: `${bt.full_name}\u0000${unit}\u0000${choice}`,
    build: () => h("div.ballot-row", { testid: "ballot-row", role: "row",
      dataset: { voterId: String(bt.voter_id) } },
    h("span.ballot-who", { role: "cell" }, h("span.ballot-voter", { title: bt.full_name },
      bt.full_name), unit ? h("span.ballot-unit", { title: unit }, unit) : null),
    h("span.ballot-choice", { role: "cell", testid: "ballot-choice" }, choice)),
  };
}

async function load(memo, poll, what, fetcher) {
  const x = extras(memo, poll.id);
  x.busy = true;
  x.version += 1;
  memo.ctx.repaint("polls");
  try {
    x[what] = await fetcher(memo.ctx.meetingId, poll.id);
  } catch (err) {
    toast(err.describe ? err.describe() : t("error.network"), "error");
  } finally {
    x.busy = false;
    x.version += 1;
    memo.ctx.repaint("polls");
  }
}

// ---- the form: create a poll, or edit a draft ----

function pollForm(memo) {
  const f = {};
  const field = (id, label, control, hint) => h("div.form-field", { class: `field-${id}` },
    h("label.label", { for: control.id }, label), control,
    hint ? h("p.field-hint", null, hint) : null);
  const check = (id, label) => {
    const input = h("input", { type: "checkbox", id, testid: id });
    return [input, h("label.check-row", { for: id }, input, h("span", null, label))];
  };
  const number = (id, min, max) => h("input.input.input-count", { type: "number", id, testid: id,
    min, max, step: 1, inputmode: "numeric" });

  f.heading = h("h3.poll-form-title", { testid: "poll-form-title" });
  f.title = h("input.input", { id: "poll-title", testid: "poll-title", maxlength: 500,
    required: true, placeholder: t("poll.title_placeholder"), autocomplete: "off" });
  f.item = h("select.input", { id: "poll-item", testid: "poll-item" });
  f.kind = h("select.input", { id: "poll-kind", testid: "poll-kind" },
    KINDS.map((k) => h("option", { value: k }, t(`poll.kind_long.${k}`))));
  f.options = h("textarea.input.textarea", { id: "poll-options", testid: "poll-options", rows: 4,
    placeholder: t("poll.options_placeholder") });
  f.min = number("poll-min", 1, 100);
  f.max = number("poll-max", 1, 100);
  f.seats = number("poll-seats", 1, 100);
  const [secret, secretRow] = check("poll-secret", t("poll.secret_label"));
  f.secret = secret;
  f.eligibility = h("select.input", { id: "poll-eligibility", testid: "poll-eligibility" },
    ["present", "members"].map((e) => h("option", { value: e }, t(`poll.eligibility_long.${e}`))));
  f.strict = h("select.input", { id: "poll-rule-strict", testid: "poll-rule-strict" },
    h("option", { value: "true" }, t("poll.strict_true")),
    h("option", { value: "false" }, t("poll.strict_false")));
  f.num = number("poll-rule-num", 1, 100);
  f.den = number("poll-rule-den", 1, 100);
  f.base = h("select.input", { id: "poll-rule-base", testid: "poll-rule-base" },
    RULE_BASES.map((b) => h("option", { value: b }, t(`poll.base.${b}`))));
  f.preview = h("p.rule-preview", { testid: "poll-rule-preview", "aria-live": "polite" });
  f.duration = h("select.input", { id: "poll-duration", testid: "poll-duration" },
    DURATIONS.map((s) => h("option", { value: String(s) },
      s ? t("poll.duration_option", { time: duration(s) }) : t("poll.no_limit"))));
  const [allowChange, allowRow] = check("poll-allow-change", t("poll.allow_change"));
  const [progressPublic, progressRow] = check("poll-progress-public", t("poll.progress_public"));
  const [autoPublish, autoRow] = check("poll-auto-publish", t("poll.auto_publish"));
  f.allowChange = allowChange;
  f.progressPublic = progressPublic;
  f.autoPublish = autoPublish;
  f.error = h("p.form-error", { testid: "poll-form-error", role: "alert", hidden: true });
  f.save = h("button.btn.btn-primary", { type: "submit", testid: "poll-save" });
  const close = () => {
    memo.formOpen = false;
    memo.ctx.repaint("polls");
  };

  f.choiceFields = h("div.form-row", null,
    field("poll-min", t("poll.min_choices"), f.min),
    field("poll-max", t("poll.max_choices"), f.max),
    field("poll-seats", t("poll.seats_label"), f.seats));
  f.optionsField = field("poll-options", t("poll.options_label"), f.options, t("poll.options_hint"));
  f.boardList = h("ul.board-pick", { testid: "board-pick" });
  f.threshold = number("board-threshold", 1, MAX_BOARD);
  f.boardField = h("fieldset.form-group.board-fields", { testid: "board-fields" },
    h("legend.label", null, t("board.label")),
    h("p.field-hint", null, t("board.form_hint")),
    f.boardList,
    field("board-threshold", t("board.threshold_label"), f.threshold));
  f.electronic = h("div.form-group", null, secretRow, f.boardField,
    field("poll-eligibility", t("poll.eligibility_label"), f.eligibility),
    field("poll-duration", t("poll.duration_label"), f.duration),
    allowRow, progressRow);

  f.el = h("form.poll-form", { testid: "poll-form", novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    submit(memo, f, close);
  } },
  f.heading,
  field("poll-item", t("poll.item_label"), f.item),
  field("poll-title", t("poll.title_label"), f.title),
  field("poll-kind", t("poll.kind_label"), f.kind),
  f.optionsField, f.choiceFields, f.electronic,
  h("fieldset.form-group.rule-fields", null,
    h("legend.label", null, t("poll.rule_label")),
    h("div.form-row", null,
      field("poll-rule-strict", t("poll.strict_label"), f.strict),
      h("div.form-field.rule-fraction", null,
        h("label.label", { for: "poll-rule-num" }, t("poll.fraction_label")),
        h("span.fraction", null, f.num, h("span.fraction-bar", { "aria-hidden": "true" }, "/"), f.den)),
      field("poll-rule-base", t("poll.base_label"), f.base)),
    f.preview),
  autoRow,
  f.error,
  h("div.form-actions", null, f.save,
    h("button.btn.btn-secondary", { type: "button", testid: "poll-form-cancel", onclick: close },
      t("common.cancel"))));

  const sync = () => {
    const kind = f.kind.value;
    f.optionsField.hidden = kind !== "single" && kind !== "multi";
    f.choiceFields.hidden = kind !== "multi";
    f.electronic.hidden = kind === "hands";
    f.boardField.hidden = !f.secret.checked;
    const num = Number.parseInt(f.num.value, 10);
    const den = Number.parseInt(f.den.value, 10);
    f.preview.textContent = num > 0 && den > 0
      ? ruleWords({ num, den, base: f.base.value, strict: f.strict.value === "true" }) : "";
  };
  for (const input of [f.kind, f.num, f.den, f.base, f.strict, f.secret]) {
    input.addEventListener("input", sync);
    input.addEventListener("change", sync);
  }

  /** The agenda items to choose from (rebuilt only when they change), keeping the choice. */
  f.refresh = () => {
    const st = memo.ctx.state;
    const items = st.order.map((id) => st.items.get(id)).filter(Boolean);
    const key = JSON.stringify(items.map((it) => [it.id, it.title]));
    if (key === f.itemsKey) return;
    f.itemsKey = key;
    const chosen = f.item.value;
    replace(f.item, h("option", { value: "" }, t("poll.no_item")),
      items.map((it) => h("option", { value: String(it.id) }, it.title)));
    f.item.value = [...f.item.options].some((o) => o.value === chosen) ? chosen : "";
    f.paintBoard();
  };

  /** The participants to pick the board from (rebuilt when they change), keeping the picks. */
  f.picked = new Set();
  f.paintBoard = () => {
    const people = boardCandidates(memo.ctx.state);
    const key = JSON.stringify([people.map((p) => [p.user_id, p.full_name, p.role]), [...f.picked]]);
    if (key === f.boardKey) return;
    f.boardKey = key;
    replace(f.boardList, people.map((p) => {
      const box = h("input", { type: "checkbox", value: String(p.user_id),
        checked: f.picked.has(p.user_id), onchange: () => {
          if (box.checked) f.picked.add(p.user_id);
          else f.picked.delete(p.user_id);
        } });
      return h("li", null, h("label.check-row", { testid: "board-member",
        dataset: { userId: String(p.user_id) } }, box,
      h("span", null, `${p.full_name} · ${t(`role.${p.role}`)}`)));
    }));
  };

  /** Fill the form from a draft (edit) or with the defaults (create). */
  f.fill = (poll) => {
    f.editing = poll ? poll.id : null;
    f.heading.textContent = t(poll ? "poll.edit_title" : "poll.new_title");
    f.save.textContent = t(poll ? "poll.save_changes" : "poll.save");
    f.refresh();
    const st = memo.ctx.state;
    const itemId = poll ? poll.item_id : st.activeItem;
    f.item.value = itemId != null && st.items.has(itemId) ? String(itemId) : "";
    f.title.value = poll ? poll.title : "";
    f.kind.value = poll ? poll.kind : "motion";
    const fixed = !poll || poll.kind === "motion" || poll.kind === "hands";
    f.options.value = fixed ? "" : poll.options.map((o) => o.label).join("\n");
    f.min.value = String(poll ? poll.min_choices : 1);
    f.max.value = String(poll ? poll.max_choices : 1);
    f.seats.value = String(poll ? poll.seats : 1);
    f.secret.checked = poll ? poll.secret : false;
    const board = poll && poll.board ? poll.board : defaultBoard(st);
    f.picked = new Set(board.members);
    f.boardKey = null;
    f.paintBoard();
    f.threshold.value = String(board.threshold);
    f.eligibility.value = poll ? poll.eligibility : "present";
    const rule = poll ? poll.rule : { num: 1, den: 2, base: "members", strict: true };
    f.num.value = String(rule.num);
    f.den.value = String(rule.den);
    f.base.value = rule.base;
    f.strict.value = String(rule.strict);
    const seconds = poll && poll.duration_seconds ? poll.duration_seconds : 0;
    for (const o of [...f.duration.options]) if (o.dataset.custom) o.remove();
    if (!DURATIONS.includes(seconds)) { // set through the API: offer it as it is
      f.duration.append(h("option", { value: String(seconds), dataset: { custom: "1" } },
        t("poll.duration_option", { time: duration(seconds) })));
    }
    f.duration.value = String(seconds);
    f.allowChange.checked = poll ? poll.allow_change : false;
    f.progressPublic.checked = poll ? poll.progress_public : false;
    f.autoPublish.checked = poll ? poll.auto_publish : true;
    f.error.hidden = true;
    sync();
  };
  f.fill(null);
  return f;
}

/** Check the form, then `poll.create` (or `poll.update` of the draft being edited). */
async function submit(memo, f, close) {
  const fail = (key, params) => {
    f.error.textContent = t(key, params);
    f.error.hidden = false;
  };
  f.error.hidden = true;
  const title = nfc(f.title.value).trim();
  if (!title) {
    fail("poll.need_title");
    f.title.focus();
    return;
  }
  const kind = f.kind.value;
  const int = (input) => Number.parseInt(input.value, 10);
  const rule = { num: int(f.num), den: int(f.den), base: f.base.value, strict: f.strict.value === "true" };
  if (!(rule.num >= 1 && rule.den >= 1 && rule.num <= rule.den && rule.den <= 100)) {
    fail("poll.need_fraction");
    return;
  }
  const args = { title, kind, rule, auto_publish: f.autoPublish.checked };
  if (f.item.value) args.item_id = Number(f.item.value);
  if (kind === "single" || kind === "multi") {
    const labels = [...new Set(nfc(f.options.value).split("\n").map((s) => s.trim()).filter(Boolean))];
    if (labels.length < 2) {
      fail("poll.need_options");
      f.options.focus();
      return;
    }
    args.options = labels;
    if (kind === "multi") {
      const [min, max, seats] = [int(f.min), int(f.max), int(f.seats)];
      if (!(min >= 1 && min <= max && max <= labels.length && seats >= 1 && seats <= labels.length)) {
        fail("poll.need_choices", { n: labels.length });
        return;
      }
      Object.assign(args, { min_choices: min, max_choices: max, seats });
    }
  }
  if (kind !== "hands") {
    Object.assign(args, { secret: f.secret.checked, eligibility: f.eligibility.value,
      allow_change: f.allowChange.checked, progress_public: f.progressPublic.checked });
    const seconds = int(f.duration);
    if (seconds > 0) args.duration_seconds = seconds;
    if (f.secret.checked) {
      // In the order of the list: member i is the i-th named.
      const members = boardCandidates(memo.ctx.state).map((p) => p.user_id)
        .filter((uid) => f.picked.has(uid));
      const threshold = int(f.threshold);
      if (!(members.length >= 1 && members.length <= MAX_BOARD && threshold >= 1
        && threshold <= members.length)) {
        fail("board.need_members", { t: Math.max(1, threshold || 1) });
        return;
      }
      const before = f.editing != null ? memo.ctx.state.polls.get(f.editing) : null;
      const same = before && before.board && before.board.threshold === threshold
        && JSON.stringify(before.board.members) === JSON.stringify(members);
      // The same board again is left out: naming it would restart its key ceremony.
      if (!same) args.board = { members, threshold };
    }
  }
  const editing = f.editing;
  const ack = editing == null
    ? await memo.ctx.run("poll.create", args, f.save)
    : await memo.ctx.run("poll.update", { poll_id: editing, ...args }, f.save);
  if (ack) close();
}
