// What every view of a poll shares: option labels, the majority rule in words, countdowns,
// progress, the result as a bar chart, and the poll's HTTP paths.

import { request } from "./api.js";
import { h } from "./dom.js";
import { duration, parseTime, serverNow } from "./format.js";
import { locale, t } from "./i18n.js";
import { trackerDisplay } from "./secret_ballot.js";

// The fixed options of motions and shows of hands (voting/model.py MOTION_OPTIONS): the
// server labels them in Vietnamese; the interface names them in the user's language.
const FIXED_OPTIONS = [
  { id: 1, key: "poll.option.for" },
  { id: 2, key: "poll.option.against" },
  { id: 3, key: "poll.option.abstain" },
];

/**
 * Whether a poll has the three fixed options (motion, show of hands).
 * @param {object} poll
 * @returns {boolean}
 */
export function isFixed(poll) {
  return poll.kind === "motion" || poll.kind === "hands";
}

/**
 * The poll's options in order, each with the label to show.
 * @param {object} poll
 * @returns {{id: number, label: string}[]}
 */
export function pollOptions(poll) {
  if (isFixed(poll)) return FIXED_OPTIONS.map((o) => ({ id: o.id, label: t(o.key) }));
  return (poll.options || []).map((o) => ({ id: o.id, label: o.label }));
}

/**
 * The label of one option ("#id" if the poll does not have it).
 * @param {object} poll
 * @param {number} optionId
 * @returns {string}
 */
export function optionLabel(poll, optionId) {
  const o = pollOptions(poll).find((x) => x.id === optionId);
  return o ? o.label : `#${optionId}`;
}

/**
 * The rule in words: "Quá 1/2 tổng số thành viên", "Ít nhất 2/3 số thành viên có mặt".
 * @param {{num: number, den: number, base: string, strict: boolean}} rule
 * @returns {string}
 */
export function ruleWords(rule) {
  return t(rule.strict ? "poll.rule.strict" : "poll.rule.atleast",
    { num: rule.num, den: rule.den, base: t(`poll.base.${rule.base}`) });
}

/**
 * The fewest votes that meet the rule for a base (voting/rules.py `needed`), in exact
 * integer arithmetic.
 * @param {{num: number, den: number, strict: boolean}} rule
 * @param {number} baseCount
 * @returns {number}
 */
export function needed(rule, baseCount) {
  if (baseCount <= 0) return 1;
  const floor = Math.floor((rule.num * baseCount) / rule.den);
  if (rule.strict) return floor + 1;
  return floor * rule.den === rule.num * baseCount ? floor : floor + 1;
}

/**
 * The poll that is open now, if any (one at a time).
 * @param {import("./reducer.js").RoomState} state
 * @returns {object|null}
 */
export function openPoll(state) {
  for (const poll of state.polls.values()) if (poll.status === "open") return poll;
  return null;
}

/**
 * Every poll I know of, the newest first.
 * @param {import("./reducer.js").RoomState} state
 * @returns {object[]}
 */
export function pollsNewestFirst(state) {
  return [...state.polls.values()].sort((a, b) => b.id - a.id);
}

/**
 * The HTTP path of a poll.
 * @param {number} meetingId
 * @param {number} pollId
 * @returns {string}
 */
export function pollPath(meetingId, pollId) {
  return `/api/meetings/${meetingId}/polls/${pollId}`;
}

/**
 * A receipt as shown: a secret ballot's tracker (64 hex digits) in its display form
 * ("7f3a-91c2-0b4e-d5a8"), a named poll's receipt as it is.
 * @param {object} poll
 * @param {string} receipt
 * @returns {string}
 */
export function receiptText(poll, receipt) {
  return poll.secret && /^[0-9a-f]{64}$/.test(receipt) ? trackerDisplay(receipt) : receipt;
}

/**
 * The receipts counted in a published poll, sorted.
 * @param {number} meetingId
 * @param {number} pollId
 * @returns {Promise<string[]>}
 */
export async function fetchReceipts(meetingId, pollId) {
  const data = await request("GET", `${pollPath(meetingId, pollId)}/receipts`);
  return data.receipts || [];
}

/**
 * Who voted what in a published named poll.
 * @param {number} meetingId
 * @param {number} pollId
 * @returns {Promise<object[]>} [{voter_id, full_name, unit, choices, cast_by}]
 */
export async function fetchBallots(meetingId, pollId) {
  const data = await request("GET", `${pollPath(meetingId, pollId)}/ballots`);
  return data.ballots || [];
}

/**
 * A countdown to the poll's `closes_at`, kept current by `tickCountdowns` (null when the
 * poll has no time limit).
 * @param {object} poll
 * @param {string} [testid]
 * @returns {HTMLElement|null}
 */
export function countdown(poll, testid = "poll-countdown") {
  if (!poll.closes_at || poll.status !== "open") return null;
  const el = h("span.poll-countdown", { testid, role: "timer",
    dataset: { closesAt: poll.closes_at } },
  h("span.poll-countdown-label", null, t("poll.time_left")),
  h("strong.poll-countdown-clock", null, ""));
  tickOne(el);
  return el;
}

function tickOne(el) {
  const left = Math.ceil((parseTime(el.dataset.closesAt) - serverNow()) / 1000);
  const clock = el.querySelector(".poll-countdown-clock");
  if (Number.isNaN(left)) return;
  // At zero the server closes the poll; its `poll.closed` follows within moments.
  clock.textContent = left > 0 ? duration(left) : t("poll.closing");
  el.classList.toggle("is-ending", left <= 10);
}

/**
 * Update every countdown under `root` (called every second, no repaint).
 * @param {HTMLElement} root
 */
export function tickCountdowns(root) {
  for (const el of root.querySelectorAll("[data-closes-at]")) tickOne(el);
}

/**
 * "x/y đã biểu quyết" with a bar, when the progress is mine to see.
 * @param {object} poll
 * @returns {HTMLElement|null}
 */
export function progressView(poll) {
  const p = poll.progress;
  if (!p || poll.kind === "hands") return null;
  const share = p.eligible > 0 ? Math.min(1, p.voted / p.eligible) : 0;
  return h("div.poll-progress", { testid: "poll-progress",
    dataset: { voted: String(p.voted), eligible: String(p.eligible) } },
  h("span.poll-progress-text", null, t("poll.progress", { voted: p.voted, eligible: p.eligible })),
  h("span.progress.progress-poll", { "aria-hidden": "true" },
    h("span.progress-bar", { style: { width: `${(share * 100).toFixed(1)}%` } })));
}

/**
 * The verdict of a result: passed or not (motions, shows of hands), or who is elected.
 * @param {object} poll with a `result`
 * @returns {{text: string, tone: "pass"|"fail"|"neutral"}}
 */
export function verdict(poll) {
  const r = poll.result;
  if (r.passed === true) return { text: t("poll.passed"), tone: "pass" };
  if (r.passed === false) return { text: t("poll.not_passed"), tone: "fail" };
  const names = (r.elected || []).map((id) => optionLabel(poll, id));
  const multi = poll.kind === "multi";
  if (!names.length) return { text: t(multi ? "poll.none_elected" : "poll.none_chosen"), tone: "fail" };
  return { text: t(multi ? "poll.elected" : "poll.chosen", { names: names.join(", ") }), tone: "pass" };
}

const percent = () => new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 });

/**
 * The result as a bar chart with counts, the rule, the figures and the verdict.
 * @param {object} poll with a `result`
 * @param {{large?: boolean}} [options] `large`: the projector's version
 * @returns {HTMLElement}
 */
export function resultView(poll, { large = false } = {}) {
  const r = poll.result;
  const votes = new Map((r.counts || []).map((c) => [c.option_id, c.votes]));
  const scale = Math.max(r.base_count, ...votes.values(), 1);
  const elected = new Set(r.elected || []);
  const pct = percent();
  const v = verdict(poll);
  const rows = pollOptions(poll).map((o) => {
    const n = votes.get(o.id) || 0;
    const won = elected.has(o.id);
    return h("li.result-row", { testid: "result-row", class: won ? "is-elected" : "",
      dataset: { optionId: String(o.id), votes: String(n) } },
    h("span.result-label", { testid: "result-label" }, o.label,
      won ? h("span.result-won", null, ` ✓ ${t(poll.kind === "multi" ? "poll.won_multi" : "poll.won")}`) : null),
    h("span.result-track", { "aria-hidden": "true" },
      h(`span.result-fill.option-${isFixed(poll) ? o.id : "any"}`,
        { style: { width: `${((n / scale) * 100).toFixed(1)}%` } })),
    h("span.result-figure", null,
      h("strong.result-count", { testid: "result-count" }, String(n)),
      r.base_count > 0 ? h("span.result-pct", null, pct.format(n / r.base_count)) : null));
  });
  const notes = [];
  if (poll.kind === "motion" || poll.kind === "hands") {
    const yes = votes.get(1) || 0;
    if (yes > 0 && yes === (votes.get(2) || 0)) notes.push(t("poll.tie_motion"));
  } else if (r.tie) {
    notes.push(t("poll.tie"));
  }
  return h("div.poll-result", { testid: "poll-result", class: large ? "is-large" : "",
    dataset: { passed: String(r.passed), tie: String(Boolean(r.tie)) } },
  h(`p.poll-verdict.verdict-${v.tone}`, { testid: "poll-verdict" }, v.text),
  r.verified ? h("p.poll-verified", { testid: "poll-verified", title: t("poll.verified_hint") },
    h("span.done-icon", { "aria-hidden": "true" }, "✓"), t("poll.verified")) : null,
  h("ol.result-bars", { "aria-label": t("poll.counts") }, rows),
  h("dl.result-figures", null,
    figure(t("poll.rule_label"), `${ruleWords(r.rule)} · ${t("poll.needed",
      { n: needed(r.rule, r.base_count), base: r.base_count })}`, "poll-rule"),
    figure(t("poll.cast_label"), String(r.cast), "poll-cast"),
    figure(t("poll.present_label"), t("poll.present_of", { present: r.present, members: r.members }),
      "poll-present"),
    poll.secret && r.receipts ? figure(t("poll.receipts_label"), String(r.receipts), "poll-receipt-count") : null),
  notes.map((n) => h("p.result-note", { testid: "poll-tie" }, n)));
}

function figure(label, value, testid) {
  return h("div.result-figure-row", null, h("dt", null, label), h("dd", { testid }, value));
}

/**
 * The poll's status as a chip.
 * @param {object} poll
 * @returns {HTMLElement}
 */
export function statusChip(poll) {
  return h(`span.chip.poll-chip.poll-${poll.status}`, { testid: "poll-status",
    dataset: { status: poll.status } }, t(`poll.status.${poll.status}`));
}

/**
 * What kind of poll it is, in a few words: "Biểu quyết thông qua · Bỏ phiếu kín".
 * @param {object} poll
 * @returns {string}
 */
export function kindWords(poll) {
  const parts = [t(`poll.kind.${poll.kind}`)];
  if (poll.kind === "multi") {
    parts.push(t("poll.choose_range", { min: poll.min_choices, max: poll.max_choices }));
    parts.push(t("poll.seats", { n: poll.seats }));
  }
  if (poll.kind !== "hands") parts.push(t(poll.secret ? "poll.secret" : "poll.named"));
  return parts.join(" · ");
}
