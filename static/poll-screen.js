// The projector's poll screen, over the presented page: an open poll's title, countdown and
// progress, then its published result as a large bar chart with the rule and the verdict.
// A result stays on the screen until the chair presents again (a presentation starts or
// moves), another poll opens, or the poll is cancelled. The projector never shows a result
// before its publication, whoever is signed in on it.

import { countingLine } from "./board.js";
import { h, replace } from "./dom.js";
import { parseTime } from "./format.js";
import { lang, t } from "./i18n.js";
import {
  countdown, kindWords, openPoll, pollsNewestFirst, progressView, resultView, ruleWords,
} from "./polls.js";

/**
 * Create the (hidden) poll screen.
 * @returns {{el: HTMLElement, snapshot: Function, onEvent: Function, update: Function}}
 */
export function createPollScreen() {
  let shownId = null;
  let painted = "";
  const el = h("section.poll-screen", { testid: "poll-screen", hidden: true, "aria-live": "polite" });

  /**
   * A snapshot: the open poll, or the latest outcome when nothing was presented after it.
   * @param {import("./reducer.js").RoomState} state
   */
  function snapshot(state) {
    const open = openPoll(state);
    if (open) {
      shownId = open.id;
      return;
    }
    const last = pollsNewestFirst(state).find((p) => p.status === "closed" || p.status === "published");
    shownId = null;
    if (!last) return;
    const at = parseTime(last.status === "published" ? last.published_at : last.closed_at);
    const p = state.presentation;
    if (!p || parseTime(p.since) < at) shownId = last.id;
  }

  /**
   * An event was applied to the room.
   * @param {{kind: string, data: object}} m
   * @param {import("./reducer.js").RoomState} state
   */
  function onEvent(m, state) {
    const d = m.data || {};
    switch (m.kind) {
      case "poll.opened":
        shownId = d.poll.id;
        break;
      case "poll.published":
      case "poll.closed":
      case "poll.voided":
        shownId = d.poll_id;
        break;
      case "poll.cancelled":
        if (shownId === d.poll_id) shownId = null;
        break;
      case "presentation.started":
      case "presentation.moved": {
        // The chair goes back to the documents; an open poll stays on the screen.
        const poll = shownId != null ? state.polls.get(shownId) : null;
        if (!poll || poll.status !== "open") shownId = null;
        break;
      }
      default:
        break;
    }
  }

  /**
   * Paint the screen (the countdown runs by itself).
   * @param {import("./room.js").RoomContext} ctx
   */
  function update(ctx) {
    const poll = shownId != null ? ctx.state.polls.get(shownId) : null;
    const live = poll && ["open", "closed", "published", "void"].includes(poll.status) ? poll : null;
    const key = live ? JSON.stringify([live, lang()]) : "";
    if (key === painted) return;
    painted = key;
    el.hidden = !live;
    document.body.classList.toggle("has-poll-screen", Boolean(live));
    if (!live) {
      el.replaceChildren();
      return;
    }
    const item = live.item_id != null ? ctx.state.items.get(live.item_id) : null;
    const published = live.status === "published" && live.result;
    let main;
    if (published) {
      main = resultView(live, { large: true });
    } else if (live.status === "open") {
      main = h("div.poll-screen-live", null,
        countdown(live, "poll-screen-countdown"),
        progressView(live) || h("p.poll-screen-note", null, t("poll.voting_now")),
        h("p.poll-screen-note", null, `${t("poll.rule_label")}: ${ruleWords(live.rule)}`));
    } else if (live.status === "void") {
      main = h("p.poll-screen-note", { testid: "poll-void-note" }, t("poll.void_note"));
    } else if (live.counting) {
      // An encrypted poll: the board's members decrypt the sum on their tablets.
      main = h("div.poll-screen-live", null, h("p.poll-screen-note", { testid: "poll-counting" },
        h("span.spinner", { "aria-hidden": "true" }), t("poll.counting")), countingLine(live));
    } else {
      main = h("p.poll-screen-note", { testid: "poll-awaiting" }, t("poll.awaiting"));
    }
    replace(el, h("div.poll-screen-inner", { dataset: { pollId: String(live.id), status: live.status } },
      h("p.poll-screen-label", null,
        live.status === "open" ? h("span.live-dot", { "aria-hidden": "true" }) : null,
        t(published ? "vote.sheet_result" : live.status === "open" ? "vote.sheet_open" : "vote.sheet_closed")),
      h("h1.poll-screen-title", { testid: "poll-screen-title" }, live.title),
      h("p.poll-screen-meta", null, [item ? t("poll.item", { title: item.title }) : null,
        kindWords(live)].filter(Boolean).join(" · ")),
      main));
  }

  return { el, snapshot, onEvent, update };
}
