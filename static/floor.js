// The floor panel: the current speaker and their countdown, my own actions (check in,
// request to speak), and the queue of requests with the chair's controls.

import { h, replace } from "./dom.js";
import { duration, parseTime, serverNow, timeOfDay } from "./format.js";
import { t } from "./i18n.js";
import { speakerRemaining } from "./reducer.js";

const EXTENSIONS = [60, 180]; // seconds the chair can add with one tap

/**
 * Paint the floor panel.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 */
export function renderFloor(el, ctx) {
  replace(
    el,
    h("div.panel-head", null, h("h2.panel-title", { id: "floor-title" }, t("floor.title"))),
    speakerCard(ctx),
    myActions(ctx),
    queue(ctx),
  );
  tickFloor(el, ctx.state);
}

/**
 * Name, position (and unit when `withUnit`) and site of a speaker or a queued request.
 * Floor entries carry the name, so this works when the roster is kept to organisers.
 */
function who(ctx, entry, withUnit = false) {
  const p = ctx.state.participants.get(entry.user_id);
  const site = entry.site_id != null ? ctx.state.sites.get(entry.site_id) : null;
  const details = [p && p.position, withUnit && p && p.unit].filter(Boolean).join(" · ");
  const name = entry.full_name || ctx.name(entry.user_id) || `#${entry.user_id}`;
  return { name, details, site: site ? site.name : null };
}

function speakerCard(ctx) {
  const sp = ctx.state.speaker;
  if (!sp) {
    return h("div.speaker-card.is-empty", { testid: "no-speaker" },
      h("p.speaker-label", null, t("floor.current")),
      h("p.speaker-none", null, t("floor.none")),
      h("p.speaker-hint", null, t("floor.none_hint")));
  }
  const w = who(ctx, sp, true);
  const mine = sp.user_id === ctx.me.user_id;
  const off = !ctx.connected;
  const controls = [];
  if (ctx.isChair) {
    for (const seconds of EXTENSIONS) {
      controls.push(h("button.btn.btn-secondary", {
        type: "button", testid: `floor-extend-${seconds}`, disabled: off,
        "aria-label": t("floor.extend_label", { n: seconds / 60 }),
        onclick: (ev) => ctx.run("floor.extend", { seconds }, ev.currentTarget),
      }, t("floor.extend", { n: seconds / 60 })));
    }
  }
  if (ctx.isChair || mine) {
    controls.push(h("button.btn.btn-danger-outline", {
      type: "button", testid: "end-floor", disabled: off,
      onclick: (ev) => ctx.run("floor.end", {}, ev.currentTarget),
    }, t("floor.end")));
  }
  return h("div.speaker-card", { testid: "current-speaker", class: mine ? "is-me" : "",
    dataset: { userId: String(sp.user_id) }, "aria-live": "polite" },
  h("div.speaker-main", null,
    h("div.speaker-who", null,
      h("p.speaker-label", null, h("span.live-dot", { "aria-hidden": "true" }),
        mine ? t("floor.you_speaking") : t("floor.current")),
      h("p.speaker-name", { testid: "current-speaker-name" }, w.name),
      w.details ? h("p.speaker-details", null, w.details) : null,
      w.site ? h("p.speaker-details", null, t("floor.site", { name: w.site })) : null),
    h("div.speaker-timer", { dataset: { timer: "speaker" }, testid: "speaker-timer" },
      h("span.speaker-timer-label", null, t("floor.remaining")),
      h("strong.speaker-clock", null, ""),
      h("span.speaker-timer-of", null, t("floor.of", { time: duration(sp.seconds) })))),
  h("span.progress.progress-speaker", { "aria-hidden": "true" }, h("span.progress-bar")),
  controls.length ? h("div.speaker-controls", null, controls) : null);
}

function myActions(ctx) {
  const { state, me } = ctx;
  const p = state.participants.get(me.user_id);
  if (!p) return null;
  const status = state.meeting.status;
  const off = !ctx.connected;
  const parts = [];

  const request = state.substituteRequests.get(me.user_id);
  if (request) {
    // My request to send a substitute: an organiser approves or refuses it.
    parts.push(h("p.action-note", { testid: "my-substitute-request" },
      t("sub.my_request", { name: request.substitute.full_name })));
  }
  if (p.substitute_user_id != null) {
    // An approved substitute holds my seat: my own check-in, vote and floor pause.
    parts.push(h("p.action-note", { testid: "my-substitute" },
      t("sub.my_substitute", { name: ctx.name(p.substitute_user_id) })));
    return h("div.my-actions", { testid: "my-actions", role: "group",
      "aria-label": t("me.actions") }, parts);
  }
  if (p.role !== "site_operator" && (status === "invited" || status === "in_session")) {
    const a = state.attendance.get(me.user_id);
    if (a && a.status === "present") {
      parts.push(h("p.done-note", { testid: "checked-in" },
        h("span.done-icon", { "aria-hidden": "true" }, "✓"),
        t("me.checked_in", { time: timeOfDay(a.at) })));
    } else {
      if (a && a.status === "absent") {
        const reason = state.absenceReasons.get(me.user_id) || "";
        parts.push(h("p.action-note", null, t("me.absent", { reason })));
      }
      parts.push(h("button.btn.btn-primary.btn-large", {
        type: "button", testid: "check-in", disabled: off,
        onclick: (ev) => ctx.run("attendance.check_in", {}, ev.currentTarget),
      }, t("me.check_in")));
    }
  }

  const queued = state.queue.findIndex((r) => r.user_id === me.user_id);
  const speaking = state.speaker && state.speaker.user_id === me.user_id;
  // The chair gives the floor rather than asking for it.
  if (status === "in_session" && !speaking && p.role !== "chair") {
    if (queued >= 0) {
      parts.push(h("p.action-note.is-queued", { testid: "my-queue-position" },
        t("floor.position", { n: queued + 1 })));
      parts.push(h("button.btn.btn-secondary.btn-large", {
        type: "button", testid: "withdraw-floor", disabled: off,
        onclick: (ev) => ctx.run("floor.withdraw", {}, ev.currentTarget),
      }, t("floor.withdraw")));
    } else {
      const site = p.role === "site_operator" && p.site_id != null;
      parts.push(h("button.btn.btn-primary.btn-large", {
        type: "button", testid: "request-floor", disabled: off,
        onclick: (ev) => ctx.run("floor.request", site ? { site_id: p.site_id } : {},
          ev.currentTarget),
      }, t(site ? "floor.request_site" : "floor.request")));
    }
  } else if (status !== "in_session" && p.role !== "chair") {
    parts.push(h("p.action-note", null, t("floor.only_in_session")));
  }
  if (!parts.length) return null;
  return h("div.my-actions", { testid: "my-actions", role: "group", "aria-label": t("me.actions") },
    parts);
}

function queue(ctx) {
  const list = ctx.state.queue;
  const off = !ctx.connected;
  return h("div.queue", null,
    h("h3.sub-title", null, t("floor.queue"),
      list.length ? h("span.count-pill", { testid: "queue-count" }, String(list.length)) : null),
    list.length
      ? h("ol.queue-list", { testid: "queue" }, list.map((r, i) => {
        const w = who(ctx, r);
        const mine = r.user_id === ctx.me.user_id;
        return h("li.queue-item", { testid: "queue-item", class: mine ? "is-me" : "",
          dataset: { userId: String(r.user_id) } },
        h("span.queue-number", { "aria-hidden": "true" }, String(i + 1)),
        h("div.queue-body", null,
          h("p.queue-name", null, w.name, mine ? h("span.you", null, ` ${t("att.you")}`) : null),
          h("p.queue-meta", null,
            w.details ? h("span", null, w.details) : null,
            w.site ? h("span", null, t("floor.site", { name: w.site })) : null,
            h("span", null, t("floor.requested_at", { time: timeOfDay(r.at) }))),
          r.note ? h("p.queue-note", null, r.note) : null),
        ctx.isChair
          ? h("div.queue-actions", null,
            h("button.btn.btn-primary", {
              type: "button", testid: "grant-floor", disabled: off,
              onclick: (ev) => ctx.run("floor.grant", { user_id: r.user_id }, ev.currentTarget),
            }, t("floor.grant")),
            h("button.btn.btn-icon.btn-ghost", {
              type: "button", testid: "remove-request", disabled: off,
              "aria-label": `${t("floor.remove")}: ${w.name}`, title: t("floor.remove"),
              onclick: (ev) => ctx.run("floor.withdraw", { user_id: r.user_id }, ev.currentTarget),
            }, "×"))
          : null);
      }))
      : h("p.empty", { testid: "queue-empty" }, t("floor.queue_empty")));
}

/**
 * Update the speaker's countdown (called every second; no repaint).
 * @param {HTMLElement} el the floor panel
 * @param {import("./reducer.js").RoomState} state
 */
export function tickFloor(el, state) {
  const box = el.querySelector("[data-timer=speaker]");
  if (!box || !state.speaker) return;
  const left = speakerRemaining(state.speaker, serverNow(), parseTime);
  const over = left < 0;
  box.querySelector(".speaker-clock").textContent = over ? `+${duration(-left)}` : duration(left);
  box.querySelector(".speaker-timer-label").textContent = t(over ? "floor.overtime" : "floor.remaining");
  const card = box.closest(".speaker-card");
  card.classList.toggle("is-over", over);
  card.classList.toggle("is-ending", !over && left <= 30);
  const bar = card.querySelector(".progress-bar");
  const used = state.speaker.seconds - left;
  bar.style.width = `${Math.min(100, Math.max(0, (used / Math.max(state.speaker.seconds, 1)) * 100))}%`;
}
