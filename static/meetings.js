// "My meetings": the meetings I take part in (administrators may list all of them).

import * as api from "./api.js";
import { h, replace } from "./dom.js";
import { dateTile, longDate, timeRange } from "./format.js";
import { t } from "./i18n.js";

// The list shown: "mine", or "all" for administrators (their default, since they prepare
// meetings they do not attend). Kept per user while the page lives.
let scope = null;
let scopeUser = null;

const GROUPS = [
  { key: "live", statuses: ["in_session"] },
  { key: "upcoming", statuses: ["draft", "invited"] },
  { key: "ended", statuses: ["ended", "minutes_signed"] },
];

/**
 * Show the meeting list.
 * @param {HTMLElement} root
 * @param {{user: object, sessionExpired: () => void}} ctx
 * @returns {{destroy: () => void, refresh: () => void}}
 */
export function mountMeetings(root, ctx) {
  let rows = null;
  let error = null;
  let destroyed = false;
  if (scopeUser !== ctx.user.id) {
    scopeUser = ctx.user.id;
    scope = ctx.user.is_admin ? "all" : "mine";
  }
  const page = h("div.page.meetings-page", { testid: "meetings-page" });
  root.appendChild(page);

  async function load() {
    rows = null;
    error = null;
    paint();
    try {
      const result = await api.listMeetings(ctx.user.is_admin ? scope : "mine");
      if (destroyed) return;
      rows = result;
    } catch (err) {
      if (destroyed) return;
      if (err instanceof api.ApiError && err.status === 401) {
        ctx.sessionExpired();
        return;
      }
      error = err;
    }
    paint();
  }

  function paint() {
    document.title = `${t("meetings.title")} — ${t("app.name")}`;
    const head = h(
      "div.page-head",
      null,
      h("div", null,
        h("h1.page-title", null, scope === "all" ? t("meetings.all") : t("meetings.title")),
        rows ? h("p.page-subtitle", null, t("meetings.count", { n: rows.length })) : null),
      ctx.user.is_admin ? scopeSwitch() : null,
    );
    let body;
    if (error) {
      body = h("div.state-box.state-error", { role: "alert", testid: "meetings-error" },
        h("p", null, error.describe()),
        h("button.btn.btn-secondary", { type: "button", onclick: load }, t("error.retry")));
    } else if (!rows) {
      body = h("p.state-box", { "aria-busy": "true" }, t("meetings.loading"));
    } else if (!rows.length) {
      body = h("p.state-box", { testid: "meetings-empty" }, t("meetings.empty"));
    } else {
      body = GROUPS.map((g) => group(g, rows.filter((r) => g.statuses.includes(r.status))));
    }
    replace(page, head, body);
  }

  function scopeSwitch() {
    const option = (value, label) =>
      h("button.segment", {
        type: "button", "aria-pressed": String(scope === value), testid: `scope-${value}`,
        onclick: () => {
          if (scope !== value) {
            scope = value;
            load();
          }
        },
      }, label);
    return h("div.segmented", { role: "group", "aria-label": t("meetings.scope") },
      option("mine", t("meetings.title")), option("all", t("meetings.all")));
  }

  function group(g, list) {
    if (!list.length) return null;
    if (g.key === "ended") list = [...list].reverse(); // most recent first
    return h("section.meeting-group", { "aria-labelledby": `group-${g.key}` },
      h("h2.group-title", { id: `group-${g.key}` }, t(`meetings.group.${g.key}`)),
      h("ul.meeting-list", null, list.map(card)));
  }

  function card(m) {
    const tile = dateTile(m.starts_at);
    return h("li", null,
      h("a.meeting-card", { href: `#/meeting/${m.id}`, testid: "meeting-link",
        class: `status-${m.status}`, dataset: { meetingId: String(m.id) } },
        h("span.date-tile", { "aria-hidden": "true" },
          h("span.date-weekday", null, tile.weekday),
          h("span.date-day", null, tile.day),
          h("span.date-month", null, tile.month)),
        h("span.meeting-main", null,
          h("span.meeting-title", null, m.title),
          h("span.meeting-meta", null,
            h("span", null, `${longDate(m.starts_at)} · ${timeRange(m.starts_at, m.ends_at)}`),
            h("span", null, m.location || t("meetings.no_place")))),
        h("span.meeting-badges", null,
          statusBadge(m.status),
          m.role ? h("span.badge.badge-role", null, t(`role.${m.role}`)) : null),
        h("span.chevron", { "aria-hidden": "true" }, "›")));
  }

  load();
  return {
    destroy() {
      destroyed = true;
      page.remove();
    },
    refresh: paint,
  };
}

/**
 * A meeting status badge ("Đang họp", …).
 * @param {string} status draft | invited | in_session | ended
 * @returns {HTMLElement}
 */
export function statusBadge(status) {
  return h(`span.badge.badge-status.status-${status}`, { testid: "meeting-status" },
    status === "in_session" ? h("span.live-dot", { "aria-hidden": "true" }) : null,
    t(`status.${status}`));
}
