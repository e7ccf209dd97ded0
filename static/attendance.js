// Participants and attendance: who is present, absent (with the reason, for the organisers
// and the member only) or not checked in, who is online, and for the secretary and chair the
// buttons to check people in, mark them absent, and approve or refuse substitutes.
//
// Built for a meeting of 6,300 at 281 sites: a table of the hall and every site (present of
// expected, the most missing first) whose rows filter the list; filters by status and site;
// and a list that paints only the rows in view (virtual-list.js: fixed-height rows keyed by
// user, so a check-in repaints one row). Names are folded for the search once per
// participant.

import { fold, foldedOf, h, replace } from "./dom.js";
import { timeOfDay } from "./format.js";
import { lang, t } from "./i18n.js";
import { promptDialog } from "./ui.js";
import { VirtualList } from "./virtual-list.js";

const ROLE_ORDER = ["chair", "secretary", "presenter", "delegate", "invitee"];
const ROW_HEIGHT = 84; // px, every row of the list
const HALL = "hall"; // the site filter's value for the main hall (no site)
const STATUSES = ["present", "absent", "pending"];

/**
 * Paint the attendance panel (the search box, the filters and the scroll position are kept
 * across repaints).
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 */
export function renderAttendance(el, ctx) {
  const memo = ctx.memo("attendance");
  if (memo.lang !== lang() || !el.contains(memo.slot)) build(el, memo, ctx);
  memo.ctx = ctx;
  const { state } = ctx;

  const attending = sortedAttending(memo, state);
  const operators = [];
  for (const p of state.participants.values()) if (p.role === "site_operator") operators.push(p);

  let present = 0;
  let absent = 0;
  for (const p of attending) {
    const status = statusOf(state, p);
    if (status === "present") present += 1;
    else if (status === "absent") absent += 1;
  }
  memo.summary.textContent = ctx.rosterHidden
    ? t("att.roster_hidden")
    : t("att.summary", { present, absent, pending: attending.length - present - absent });
  memo.filters.hidden = ctx.rosterHidden;

  const sites = state.sites.size ? siteFigures(state, attending, operators) : [];
  if (memo.site && memo.site !== HALL && !state.sites.has(Number(memo.site))) memo.site = "";
  syncSiteOptions(memo, state);
  memo.siteSelect.hidden = !state.sites.size;

  const query = fold(memo.query);
  const matches = attending.filter((p) =>
    (!memo.status || statusOf(state, p) === memo.status) &&
    (!memo.site || siteKey(p) === memo.site) &&
    (!query || foldedOf(p, searchedText).includes(query)));
  memo.matches = matches;

  const table = sites.length && !ctx.rosterHidden ? sites.map((s) => [s.key, s.name, s.present,
    s.expected, s.operators.map((o) => isOnline(ctx, o.user_id)).join()].join(" ")).join("|")
    + `|${memo.site}` : "";
  if (table !== memo.table) { // the table is rebuilt when one of its figures changed
    memo.table = table;
    replace(memo.sites, table ? siteTable(sites, memo, ctx) : null);
  }
  replace(memo.requests, ctx.isOrganiser && !query ? requests(ctx) : null);
  memo.empty.hidden = matches.length > 0;
  memo.list.el.hidden = matches.length === 0;
  memo.list.show(matches, (p) => rowContent(p, ctx));
}

/** The panel's fixed parts, made once (and again when the language changes). */
function build(el, memo, ctx) {
  memo.lang = lang();
  memo.query = memo.query || "";
  memo.status = memo.status || "";
  memo.site = memo.site || "";
  memo.summary = h("p.att-summary", { testid: "attendance-summary" });
  const search = memo.search = h("input.input.input-search", {
    type: "search", placeholder: t("att.search"), "aria-label": t("att.search"),
    testid: "attendance-search", value: memo.query,
  });
  search.addEventListener("input", () => {
    memo.query = search.value;
    narrowed(memo);
  });
  const statusSelect = h("select.input.att-filter", {
    testid: "attendance-filter-status", "aria-label": t("att.filter_status"),
    onchange: () => {
      memo.status = statusSelect.value;
      narrowed(memo);
    },
  }, h("option", { value: "" }, t("att.all_statuses")),
  STATUSES.map((s) => h("option", { value: s }, t(`att.${s}`))));
  statusSelect.value = memo.status;
  memo.siteSelect = h("select.input.att-filter", {
    testid: "attendance-filter-site", "aria-label": t("att.filter_site"),
    onchange: () => chooseSite(memo, memo.siteSelect.value),
  });
  memo.siteOptions = "";
  memo.filters = h("div.att-filters", null, search, statusSelect, memo.siteSelect);
  memo.requests = h("div.att-top");
  memo.sites = h("div.att-top");
  memo.table = null;
  memo.list = new VirtualList({ rowHeight: ROW_HEIGHT, attrs: { class: "att-scroll",
    testid: "attendance", role: "list", "aria-labelledby": "attendance-title" } });
  memo.empty = h("p.empty", { hidden: true }, t("att.no_match"));
  memo.slot = h("div.att-slot", null, memo.requests, memo.sites, memo.list.el, memo.empty);
  replace(el,
    h("div.panel-head", null, h("h2.panel-title", { id: "attendance-title" }, t("att.title"))),
    memo.summary, memo.filters, memo.slot);
}

function chooseSite(memo, site) {
  memo.site = site;
  memo.siteSelect.value = site;
  narrowed(memo);
}

/** The search or a filter changed: the list starts again from its first row. */
function narrowed(memo) {
  memo.list.toTop();
  memo.ctx.repaint("attendance");
}

/** The site filter's options, rebuilt only when the sites change. */
function syncSiteOptions(memo, state) {
  const sites = [...state.sites.values()].sort((a, b) => a.name.localeCompare(b.name, "vi"));
  const signature = sites.map((s) => `${s.id}:${s.name}`).join("|");
  if (signature !== memo.siteOptions) {
    memo.siteOptions = signature;
    replace(memo.siteSelect,
      h("option", { value: "" }, t("att.all_sites")),
      h("option", { value: HALL }, t("att.hall")),
      sites.map((s) => h("option", { value: String(s.id) }, s.name)));
  }
  memo.siteSelect.value = memo.site;
}

/**
 * Everyone but the site operators, by role (stable): sorted again only when the roster
 * changed (the participants map holds new objects for changed people).
 */
function sortedAttending(memo, state) {
  const now = [];
  for (const p of state.participants.values()) if (p.role !== "site_operator") now.push(p);
  const before = memo.roster;
  if (before && before.source.length === now.length &&
      before.source.every((p, i) => p === now[i])) {
    return before.sorted;
  }
  const sorted = [...now].sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  memo.roster = { source: now, sorted };
  return sorted;
}

function statusOf(state, p) {
  const a = state.attendance.get(p.user_id);
  return a ? a.status : "pending";
}

function siteKey(p) {
  return p.site_id == null ? HALL : String(p.site_id);
}

/** What the search looks in: name, position and unit. */
function searchedText(p) {
  return `${p.full_name} ${p.position || ""} ${p.unit || ""}`;
}

/**
 * Present and expected per place (the hall, then each site), the most missing first.
 * @returns {{key: string, name: string, present: number, expected: number, operators: object[]}[]}
 */
function siteFigures(state, attending, operators) {
  const places = new Map([[HALL, { key: HALL, name: t("att.hall"), present: 0, expected: 0,
    operators: [] }]]);
  for (const site of state.sites.values()) {
    places.set(String(site.id), { key: String(site.id), name: site.name, present: 0,
      expected: 0, operators: [] });
  }
  for (const p of attending) {
    const place = places.get(siteKey(p));
    if (!place) continue;
    place.expected += 1;
    if (statusOf(state, p) === "present") place.present += 1;
  }
  for (const p of operators) {
    const place = places.get(siteKey(p));
    if (place) place.operators.push(p);
  }
  return [...places.values()].sort((a, b) =>
    (b.expected - b.present) - (a.expected - a.present) || (a.key === HALL ? -1 : 0) ||
    (b.key === HALL ? 1 : 0) || a.name.localeCompare(b.name, "vi"));
}

/** The table of places: a row filters the list to that place (again: all places). */
function siteTable(sites, memo, ctx) {
  return h("div.att-sites", { testid: "site-table" },
    h("table.att-site-table", null,
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, t("att.col_place")),
        h("th.num", { scope: "col" }, t("att.col_present")),
        h("th.num", { scope: "col" }, t("att.col_missing")))),
      h("tbody", null, sites.map((s) => {
        const chosen = memo.site === s.key;
        const missing = s.expected - s.present;
        return h("tr", {
          testid: "site-row", class: chosen ? "is-chosen" : null,
          dataset: { site: s.key, present: String(s.present), expected: String(s.expected) },
          "aria-selected": chosen ? "true" : "false",
        },
        h("th", { scope: "row" },
          h("button.att-site-pick", { type: "button", testid: "site-pick",
            "aria-pressed": chosen ? "true" : "false",
            onclick: () => chooseSite(memo, chosen ? "" : s.key) },
          s.operators.map((p) => presenceDot(ctx, p.user_id, p.full_name)), s.name)),
        h("td.num", null, t("att.of", { present: s.present, expected: s.expected })),
        h("td.num", { class: missing ? "is-missing" : null }, String(missing)));
      }))));
}

function isOnline(ctx, userId) {
  // Disconnected, this page is offline for the others too, whatever it last heard.
  return ctx.online.has(userId) && (ctx.connected || userId !== ctx.me.user_id);
}

function presenceDot(ctx, userId, name) {
  const on = isOnline(ctx, userId);
  const label = name ? `${name}: ${t(on ? "att.online" : "att.offline")}`
    : t(on ? "att.online" : "att.offline");
  return h("span.presence", { class: on ? "is-online" : "is-offline", testid: "presence",
    title: label, role: "img", "aria-label": label });
}

/**
 * What a person's row shows (virtual-list.js `Row`): equal keys, the same row.
 * @returns {import("./virtual-list.js").Row}
 */
function rowContent(p, ctx) {
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
  const request = state.substituteRequests.get(p.user_id);
  if (request) notes.push(t("sub.pending", { name: request.substitute.full_name }));
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
  const site = p.site_id != null ? state.sites.get(p.site_id) : null;
  const meta = [p.position, site ? site.name : null].filter(Boolean).join(" · ");
  const online = isOnline(ctx, p.user_id);
  const organiser = ctx.isOrganiser ? `${state.meeting.status}|${ctx.connected}` : "";
  const note = notes.join(" · ");
  const key = [p.full_name, p.role, meta, note, statusText, status, online, mine, organiser]
    .join("\u0000");
  return {
    id: p.user_id,
    key,
    build: () => h("div.att-row", { testid: "attendee", class: `att-${status}`, role: "listitem",
      dataset: { userId: String(p.user_id), status } },
    presenceDot(ctx, p.user_id),
    h("div.att-body", null,
      h("p.att-name", { title: p.full_name }, p.full_name,
        mine ? h("span.you", null, ` ${t("att.you")}`) : null,
        p.role !== "delegate" ? h("span.chip.chip-role", null, t(`role.${p.role}`)) : null),
      meta || note ? h("p.att-meta", { title: [meta, note].filter(Boolean).join(" · ") },
        meta, meta && note ? " · " : null, note ? h("span.att-note", null, note) : null)
        : null,
      h("p.att-status", { testid: "attendance-status", title: statusText }, statusText)),
    ctx.isOrganiser ? organiserButtons(p, status, ctx) : null),
  };
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
          .join(" · ")),
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
