// The top of the room: title, time and place, status, live quorum, and the chair's
// session controls.

import { h, replace } from "./dom.js";
import { longDate, timeOfDay, timeRange } from "./format.js";
import { t } from "./i18n.js";
import { statusBadge } from "./meetings.js";
import { quorum } from "./reducer.js";
import { confirmDialog } from "./ui.js";

/**
 * Paint the room head.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 */
export function renderHead(el, ctx) {
  const m = ctx.state.meeting;
  if (!m) return;
  const when = `${longDate(m.starts_at)} · ${timeRange(m.starts_at, m.ends_at)}`;
  const session = [];
  if (m.session_started_at) session.push(t("room.started_at", { time: timeOfDay(m.session_started_at) }));
  if (m.session_ended_at) session.push(t("room.ended_at", { time: timeOfDay(m.session_ended_at) }));
  const roleKey = ctx.me.role || (ctx.me.is_admin ? "administrator" : "observer");

  replace(
    el,
    h("div.head-main", null,
      h("a.back-link", { href: "#/", testid: "back-to-meetings" },
        h("span", { "aria-hidden": "true" }, "‹"), t("room.back")),
      h("h1.meeting-heading", { id: "meeting-title", testid: "meeting-title" }, m.title),
      h("p.head-meta", null,
        statusBadge(m.status),
        h("span", null, when),
        m.location ? h("span", null, m.location) : null),
      h("p.head-meta.head-sub", null,
        h("span", { testid: "my-role" }, t("room.you_are", { role: t(`role.${roleKey}`) })),
        session.length ? h("span", null, session.join(" · ")) : null)),
    h("div.head-side", null,
      quorumBox(ctx),
      ctx.isChair ? chairControls(ctx) : null),
  );
}

function quorumBox(ctx) {
  const q = quorum(ctx.state);
  const rule = t(q.rule.strict ? "quorum.rule_strict" : "quorum.rule_atleast",
    { num: q.rule.num, den: q.rule.den });
  return h("div.quorum", {
    testid: "quorum", class: q.reached ? "is-reached" : "is-short",
    dataset: { present: String(q.present), total: String(q.total), reached: String(q.reached) },
    title: rule,
  },
  h("span.quorum-label", null, t("quorum.title")),
  h("span.quorum-figure", null,
    h("strong.quorum-count", { testid: "quorum-count" }, t("quorum.count", q)),
    h("span.quorum-unit", null, t("quorum.members"))),
  h("span.quorum-state", null,
    h("span.quorum-icon", { "aria-hidden": "true" }, q.reached ? "✓" : "!"),
    t(q.reached ? "quorum.reached" : "quorum.not_reached")),
  h("span.quorum-rule", null, rule));
}

function chairControls(ctx) {
  const status = ctx.state.meeting.status;
  const off = !ctx.connected;
  const buttons = [];
  if (status === "draft" || status === "invited") {
    buttons.push(h("button.btn.btn-primary", {
      type: "button", testid: "start-session", disabled: off,
      onclick: (ev) => ctx.run("session.start", {}, ev.currentTarget),
    }, t("chair.start")));
  } else if (status === "in_session") {
    buttons.push(h("button.btn.btn-primary", {
      type: "button", testid: "next-item", disabled: off,
      onclick: (ev) => ctx.run("agenda.next", {}, ev.currentTarget),
    }, t("chair.next")));
    buttons.push(h("button.btn.btn-danger-outline", {
      type: "button", testid: "end-session", disabled: off,
      onclick: async (ev) => {
        const button = ev.currentTarget;
        const ok = await confirmDialog({
          title: t("chair.end_confirm_title"), text: t("chair.end_confirm"),
          confirm: t("chair.end"), danger: true,
        });
        if (ok) ctx.run("session.end", {}, button);
      },
    }, t("chair.end")));
  } else {
    buttons.push(h("p.chair-note", null, t("chair.ended")));
  }
  return h("div.chair-controls", { testid: "chair-controls", role: "group",
    "aria-label": t("chair.title") }, buttons);
}
