// Participants and attendance: who is present, absent (with the reason, for the organisers
// and the member only) or not checked in, who is online, and for the secretary and chair the
// buttons to check people in, mark them absent, and approve or refuse substitutes.

import { h, nfc, replace } from "./dom.js";
import { timeOfDay } from "./format.js";
import { lang, t } from "./i18n.js";
import { promptDialog } from "./ui.js";

const ROLE_ORDER = ["chair", "secretary", "presenter", "delegate", "invitee"];
const SHOWN_MAX = 200; // rows painted at once; the search finds the others

/**
 * Paint the attendance panel (the search box is kept across repaints).
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 */
export function renderAttendance(el, ctx) {
  const memo = ctx.memo("attendance");
  if (memo.lang !== lang() || !el.contains(memo.slot)) {
    memo.lang = lang();
    memo.query = memo.query || "";
    memo.summary = h("p.att-summary", { testid: "attendance-summary" });
    memo.slot = h("div.att-slot");
    const search = memo.search = h("input.input.input-search", {
      type: "search", placeholder: t("att.search"), "aria-label": t("att.search"),
      testid: "attendance-search", value: memo.query,
    });
    search.addEventListener("input", () => {
      memo.query = search.value;
      ctx.repaint("attendance");
    });
    replace(el,
      h("div.panel-head", null, h("h2.panel-title", { id: "attendance-title" }, t("att.title"))),
      memo.summary, search, memo.slot);
  }

  const { state } = ctx;
  const everyone = [...state.participants.values()];
  const attending = everyone.filter((p) => p.role !== "site_operator");
  const operators = everyone.filter((p) => p.role === "site_operator");
  attending.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));

  let present = 0;
  let absent = 0;
  for (const p of attending) {
    const a = state.attendance.get(p.user_id);
    if (a && a.status === "present") present += 1;
    else if (a && a.status === "absent") absent += 1;
  }
  memo.summary.textContent = ctx.rosterHidden
    ? t("att.roster_hidden")
    : t("att.summary", { present, absent, pending: attending.length - present - absent });
  memo.search.hidden = ctx.rosterHidden;

  const query = fold(memo.query);
  const matches = query
    ? attending.filter((p) => fold(`${p.full_name} ${p.position} ${p.unit}`).includes(query))
    : attending;
  const shown = matches.slice(0, SHOWN_MAX);
  replace(memo.slot,
    ctx.isOrganiser && !query ? requests(ctx) : null,
    shown.length
      ? h("ul.att-list", { testid: "attendance" }, shown.map((p) => row(p, ctx)))
      : h("p.empty", null, t("att.no_match")),
    matches.length > shown.length
      ? h("p.att-more", null, t("att.more", { shown: shown.length, total: matches.length }))
      : null,
    operators.length && !query ? sites(operators, ctx) : null);
}

/** Lower case without diacritics, so "nguyen" finds "Nguyễn". */
function fold(text) {
  return nfc(text).normalize("NFD").replace(/\p{M}/gu, "").replace(/đ/gi, "d").toLowerCase()
    .trim();
}

function presenceDot(ctx, userId) {
  // Disconnected, this page is offline for the others too, whatever it last heard.
  const on = ctx.online.has(userId) && (ctx.connected || userId !== ctx.me.user_id);
  return h("span.presence", { class: on ? "is-online" : "is-offline", testid: "presence",
    title: t(on ? "att.online" : "att.offline"), role: "img",
    "aria-label": t(on ? "att.online" : "att.offline") });
}

function row(p, ctx) {
  const { state } = ctx;
  const a = state.attendance.get(p.user_id);
  const status = a ? a.status : "pending";
  const mine = p.user_id === ctx.me.user_id;
  const notes = [];
  if (p.substitute_for != null) {
    notes.push(t("att.substitute_for", { name: ctx.name(p.substitute_for) }));
  }
  if (p.substitute_user_id != null) {
    notes.push(t("att.substituted_by", { name: ctx.name(p.substitute_user_id) }));
  }
  const pending = state.substituteRequests.get(p.user_id);
  if (pending) {
    notes.push(t("sub.pending", { name: pending.substitute.full_name }));
  }
  const rsvpReason = state.rsvpReasons.get(p.user_id);
  if (p.rsvp === "absent" && status !== "absent") {
    notes.push(rsvpReason ? `${t("att.rsvp_absent")}: ${rsvpReason}` : t("att.rsvp_absent"));
  }

  let statusText;
  if (status === "present") statusText = `${t("att.present")} · ${timeOfDay(a.at)}`;
  else if (status === "absent") {
    // Only the organisers and the member receive the reason (often medical).
    const reason = state.absenceReasons.get(p.user_id);
    statusText = reason ? t("att.absent_reason", { reason }) : t("att.absent");
  } else statusText = t("att.pending");

  return h("li.att-row", { testid: "attendee", class: `att-${status}`,
    dataset: { userId: String(p.user_id), status } },
  presenceDot(ctx, p.user_id),
  h("div.att-body", null,
    h("p.att-name", null, p.full_name, mine ? h("span.you", null, ` ${t("att.you")}`) : null),
    h("p.att-meta", null,
      p.role !== "delegate" ? h("span.chip.chip-role", null, t(`role.${p.role}`)) : null,
      p.position ? h("span", null, p.position) : null),
    notes.map((n) => h("p.att-note", null, n)),
    h("p.att-status", { testid: "attendance-status" }, statusText),
    ctx.isOrganiser ? organiserButtons(p, status, ctx) : null));
}

function organiserButtons(p, status, ctx) {
  const meetingStatus = ctx.state.meeting.status;
  const off = !ctx.connected;
  const buttons = [];
  if (status !== "present" && (meetingStatus === "invited" || meetingStatus === "in_session")) {
    buttons.push(h("button.btn.btn-small.btn-secondary", {
      type: "button", testid: "check-in-other", disabled: off,
      "aria-label": t("att.check_in_label", { name: p.full_name }),
      onclick: (ev) => ctx.run("attendance.check_in", { user_id: p.user_id }, ev.currentTarget),
    }, t("att.check_in")));
  }
  if (status !== "absent" && meetingStatus !== "ended") {
    buttons.push(h("button.btn.btn-small.btn-quiet", {
      type: "button", testid: "mark-absent", disabled: off,
      "aria-label": t("att.mark_absent_label", { name: p.full_name }),
      onclick: async (ev) => {
        const button = ev.currentTarget;
        const reason = await promptDialog({
          title: t("absent.title"), intro: t("absent.who", { name: p.full_name }),
          label: t("absent.reason"), placeholder: t("absent.placeholder"),
          confirm: t("absent.submit"),
        });
        if (reason) ctx.run("attendance.absent", { user_id: p.user_id, reason }, button);
      },
    }, t("att.mark_absent")));
  }
  return buttons.length ? h("div.att-actions", null, buttons) : null;
}

/** Pending substitute requests, for the organisers to approve or refuse. */
function requests(ctx) {
  const pending = [...ctx.state.substituteRequests.values()];
  if (!pending.length || ctx.state.meeting.status === "ended") return null;
  const off = !ctx.connected;
  const me = ctx.me.user_id;
  return h("div.att-requests", { testid: "substitute-requests" },
    h("h3.sub-title", null, t("sub.requests")),
    h("ul.att-list", null, pending.map((r) => {
      const member = ctx.name(r.member_id);
      const name = r.substitute.full_name;
      const mine = r.member_id === me; // nobody approves their own substitute
      // Seating a substitute gives them the member's vote: in session that is the chair's
      // call, and nobody seats themselves (rooms/constitution.py).
      const mayApprove = !mine && r.substitute.user_id !== me &&
        (ctx.isChair || ctx.state.meeting.status !== "in_session");
      return h("li.att-row.att-request", { testid: "substitute-request",
        dataset: { userId: String(r.member_id) } },
      h("div.att-body", null,
        h("p.att-name", null, t("sub.request_row", { member, name })),
        h("p.att-meta", null, [r.substitute.position, r.substitute.unit].filter(Boolean)
          .map((x) => h("span", null, x))),
        mine ? null : h("div.att-actions", null,
          mayApprove ? h("button.btn.btn-small.btn-primary", {
            type: "button", testid: "approve-substitute", disabled: off,
            "aria-label": t("sub.approve_label", { member, name }),
            onclick: (ev) => ctx.run("substitute.approve", { user_id: r.member_id },
              ev.currentTarget),
          }, t("sub.approve")) : null,
          h("button.btn.btn-small.btn-quiet", {
            type: "button", testid: "refuse-substitute", disabled: off,
            "aria-label": t("sub.refuse_label", { member, name }),
            onclick: async (ev) => {
              const button = ev.currentTarget;
              const reason = await promptDialog({
                title: t("sub.refuse_title"), intro: t("sub.request_row", { member, name }),
                label: t("sub.refuse_reason"), confirm: t("sub.refuse"),
              });
              if (reason) ctx.run("substitute.refuse", { user_id: r.member_id, reason }, button);
            },
          }, t("sub.refuse")))));
    })));
}

function sites(operators, ctx) {
  return h("div.att-sites", null,
    h("h3.sub-title", null, t("att.sites")),
    h("ul.att-list", null, operators.map((p) => {
      const site = p.site_id != null ? ctx.state.sites.get(p.site_id) : null;
      return h("li.att-row.att-site", { dataset: { userId: String(p.user_id) } },
        presenceDot(ctx, p.user_id),
        h("div.att-body", null,
          h("p.att-name", null, site ? site.name : t("role.site_operator")),
          h("p.att-meta", null, h("span", null, `${t("role.site_operator")}: ${p.full_name}`))));
    })));
}
