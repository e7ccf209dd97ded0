// "Nhật ký truy cập" (access log): administrators read what happened outside the meeting
// rooms (sign-ins, account changes, confidential views, downloads, exports), filter it by
// time, user, activity and outcome, page through it and download it as CSV. Times are
// shown in Vietnam time as the server gives them (records are kept in UTC).

import * as api from "./api.js";
import { h, nfc, replace } from "./dom.js";
import { pick, t } from "./i18n.js";

/** The CSV export of the same filters (UTF-8 with BOM, Vietnamese headers). */
function csvUrl(filters) {
  return `/api/admin/audit.csv${query(filters, null)}`;
}

function query(filters, before) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
  if (before) params.set("before", String(before));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * Show the access log.
 * @param {HTMLElement} root
 * @param {{user: object, sessionExpired: () => void}} ctx
 * @returns {{destroy: () => void, refresh: () => void}}
 */
export function mountAudit(root, ctx) {
  const empty = { since: "", until: "", user: "", kind: "", outcome: "" };
  let filters = { ...empty };
  let cursors = [null]; // the `before` of each page seen so far: back goes one up
  let page = null; // {records, next, kinds}
  let kinds = [];
  let error = null;
  let destroyed = false;
  let loading = 0;
  const el = h("div.page.audit-page", { testid: "audit-page" });
  root.appendChild(el);

  async function load() {
    const mine = ++loading;
    error = null;
    page = null;
    paint();
    try {
      const data = await api.request("GET",
        `/api/admin/audit${query(filters, cursors[cursors.length - 1])}`);
      if (destroyed || mine !== loading) return;
      page = data;
      kinds = data.kinds || kinds;
    } catch (err) {
      if (destroyed || mine !== loading) return;
      if (err instanceof api.ApiError && err.status === 401) {
        ctx.sessionExpired();
        return;
      }
      error = err;
    }
    paint();
  }

  function field(label, control) {
    return h("div.field.audit-field", null, h("label.label", { for: control.id }, label), control);
  }

  function form() {
    const since = h("input.input", { id: "audit-since", type: "date", value: filters.since,
      testid: "audit-since" });
    const until = h("input.input", { id: "audit-until", type: "date", value: filters.until,
      testid: "audit-until" });
    const user = h("input.input", { id: "audit-user", type: "search", value: filters.user,
      maxlength: 64, placeholder: t("audit.user_hint"), autocomplete: "off",
      testid: "audit-user" });
    const kind = h("select.input", { id: "audit-kind", testid: "audit-kind" },
      h("option", { value: "" }, t("audit.all")),
      kinds.map((k) => h("option", { value: k.kind, selected: k.kind === filters.kind },
        pick(k))));
    const outcome = h("select.input", { id: "audit-outcome", testid: "audit-outcome" },
      h("option", { value: "" }, t("audit.all")),
      h("option", { value: "ok", selected: filters.outcome === "ok" }, t("audit.ok")),
      h("option", { value: "refused", selected: filters.outcome === "refused" },
        t("audit.refused")));
    const submit = (ev) => {
      ev.preventDefault();
      filters = { since: since.value, until: until.value, user: nfc(user.value).trim(),
        kind: kind.value, outcome: outcome.value };
      cursors = [null];
      load();
    };
    return h("form.audit-filters", { testid: "audit-filters", onsubmit: submit },
      h("div.form-row", null,
        field(t("audit.since"), since), field(t("audit.until"), until),
        field(t("audit.user"), user), field(t("audit.kind"), kind),
        field(t("audit.outcome"), outcome)),
      h("div.audit-actions", null,
        h("button.btn.btn-primary", { type: "submit", testid: "audit-apply" }, t("audit.apply")),
        h("button.btn.btn-secondary", { type: "button", testid: "audit-clear",
          onclick: () => { filters = { ...empty }; cursors = [null]; load(); } },
        t("audit.clear")),
        h("a.btn.btn-secondary", { href: csvUrl(filters), download: "", testid: "audit-csv" },
          t("audit.csv"))));
  }

  function paint() {
    document.title = `${t("audit.title")} — ${t("app.name")}`;
    const head = h("div.page-head", null, h("div", null,
      h("h1.page-title", null, t("audit.title")),
      h("p.page-subtitle", null, t("audit.subtitle"))));
    let body;
    if (error) {
      body = h("div.state-box.state-error", { role: "alert", testid: "audit-error" },
        h("p", null, error instanceof api.ApiError ? error.describe() : String(error)),
        h("button.btn.btn-secondary", { type: "button", onclick: load }, t("error.retry")));
    } else if (!page) {
      body = h("p.state-box", { "aria-busy": "true" }, t("audit.loading"));
    } else if (!page.records.length) {
      body = h("p.state-box", { testid: "audit-empty" }, t("audit.empty"));
    } else {
      body = [h("div.table-scroll", null, h("table.accounts-table.audit-table",
        { testid: "audit-table" },
        h("thead", null, h("tr", null,
          ["audit.time", "audit.actor", "audit.kind", "audit.target", "audit.meeting",
            "audit.address", "audit.outcome"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", null, page.records.map(row)))), pager()];
    }
    replace(el, head, form(), body);
  }

  function pager() {
    const n = cursors.length;
    return h("nav.audit-pager", { "aria-label": t("audit.pages") },
      h("button.btn.btn-secondary", { type: "button", testid: "audit-prev", disabled: n === 1,
        onclick: () => { cursors = cursors.slice(0, -1); load(); } }, t("audit.prev")),
      h("span.audit-page-number", { testid: "audit-page-number" }, t("audit.page", { n })),
      h("button.btn.btn-secondary", { type: "button", testid: "audit-next",
        disabled: !page.next, onclick: () => { cursors = [...cursors, page.next]; load(); } },
      t("audit.next")));
  }

  function row(r) {
    const ok = r.outcome === "ok";
    return h("tr", { testid: "audit-row", dataset: { seq: String(r.seq), kind: r.kind } },
      h("td.audit-time", null, r.at_vn),
      h("td", { testid: "audit-actor" }, who(r)),
      h("td", null, h("span.audit-kind", { testid: "audit-kind-text" }, pick(r.kind_text)),
        details(r.detail).map((d) => h("span.audit-detail", null, d))),
      h("td", null, r.target ? person(r.target) : ""),
      h("td", null, r.meeting_id
        ? h("a", { href: `#/meeting/${r.meeting_id}` }, t("audit.meeting_n", { id: r.meeting_id }))
        : ""),
      h("td.audit-address", null, r.address || t("audit.host")),
      h("td", null, h(`span.badge.${ok ? "badge-ok" : "badge-danger"}`, { testid: "audit-outcome-text",
        title: ok ? null : r.outcome }, ok ? t("audit.ok") : pick(r.outcome_text))));
  }

  load();
  return {
    destroy() {
      destroyed = true;
      el.remove();
    },
    refresh: paint,
  };
}

function person(p) {
  if (!p.username) return `#${p.id}`;
  return [h("span", null, p.full_name), h("span.audit-username", null, p.username)];
}

function who(r) {
  if (r.actor) return person(r.actor);
  if (r.actor_key) return h("span.audit-unknown", { title: r.actor_key },
    t("audit.unknown_name", { key: r.actor_key.slice(0, 8) }));
  return t("audit.host");
}

/** A record's details in words (known keys and values), else as key=value. */
function details(detail) {
  const out = [];
  for (const [key, value] of Object.entries(detail || {})) {
    const shown = typeof value === "string" && value.length > 24 ? `${value.slice(0, 16)}…` : value;
    const exact = `audit.d.${key}.${value}`;
    if (key === "role") out.push(t("audit.d.role", { v: t(`role.${value}`) }));
    else if (t(exact) !== exact) out.push(t(exact));
    else if (t(`audit.d.${key}`) !== `audit.d.${key}`) out.push(t(`audit.d.${key}`, { v: shown }));
    else out.push(`${key}=${shown}`);
  }
  return out;
}
