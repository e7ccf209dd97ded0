// The agenda panel: items in order, the active one highlighted with its running time.

import { h, replace } from "./dom.js";
import { duration, parseTime, serverNow } from "./format.js";
import { t } from "./i18n.js";
import { itemElapsed } from "./reducer.js";

/**
 * Paint the agenda.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 */
export function renderAgenda(el, ctx) {
  const { state } = ctx;
  const items = state.order.map((id) => state.items.get(id)).filter(Boolean);
  const done = items.filter((i) => i.status === "done").length;
  replace(
    el,
    h("div.panel-head", null,
      h("h2.panel-title", { id: "agenda-title" }, t("agenda.title")),
      items.length ? h("span.panel-count", null, `${done}/${items.length}`) : null),
    items.length
      ? h("ol.agenda-list", { testid: "agenda" }, items.map((item, i) => row(item, i + 1, ctx)))
      : h("p.empty", null, t("agenda.empty")),
  );
  tickAgenda(el, state);
  const memo = ctx.memo("agenda");
  if (memo.active !== state.activeItem) {
    memo.active = state.activeItem;
    revealActive(el);
  }
}

/** Scroll the agenda's own column (not the page) so that a newly active item shows. */
function revealActive(el) {
  const item = el.querySelector("[data-testid=active-item]");
  const column = el.closest(".col");
  if (!item || !column || getComputedStyle(column).overflowY !== "auto") return;
  const top = item.getBoundingClientRect().top - column.getBoundingClientRect().top +
    column.scrollTop;
  const bottom = top + item.offsetHeight;
  if (top < column.scrollTop || bottom > column.scrollTop + column.clientHeight) {
    column.scrollTo({ top: Math.max(0, top - 12), behavior: "smooth" });
  }
}

function row(item, number, ctx) {
  const active = item.status === "active";
  const presenter = item.presenter_id != null ? ctx.name(item.presenter_id) : "";
  return h(`li.agenda-item.item-${item.status}`, {
    testid: active ? "active-item" : "agenda-item",
    dataset: { itemId: String(item.id), status: item.status },
    "aria-current": active ? "step" : false,
  },
  h("span.item-number", { "aria-hidden": "true" }, item.status === "done" ? "✓" : String(number)),
  h("div.item-body", null,
    h("p.item-title", null, item.title),
    h("p.item-meta", null,
      presenter ? h("span", null, t("agenda.presenter", { name: presenter })) : null,
      h("span", null, t("agenda.planned", { n: item.planned_minutes }))),
    h("p.item-status", null,
      h(`span.chip.chip-${item.status}`, null, t(`agenda.status.${item.status}`)),
      !active && item.spent_seconds
        ? h("span.item-spent", null, t("agenda.spent", { time: duration(item.spent_seconds) }))
        : null),
    active ? timer(item) : null,
    ctx.isChair ? chairButtons(item, ctx) : null));
}

function timer(item) {
  return h("div.item-timer", { dataset: { timer: "item" } },
    h("span.sr-only", null, t("agenda.elapsed")),
    h("span.item-clock", { testid: "item-timer" },
      h("strong.item-elapsed", null, ""),
      h("span.item-planned", null, ` / ${duration(item.planned_minutes * 60)}`)),
    h("span.progress", { "aria-hidden": "true" }, h("span.progress-bar")));
}

function chairButtons(item, ctx) {
  if (ctx.state.meeting.status !== "in_session" || item.status === "done") return null;
  const off = !ctx.connected;
  if (item.status === "active") {
    return h("div.item-actions", null,
      h("button.btn.btn-small.btn-secondary", {
        type: "button", testid: "item-done", disabled: off,
        onclick: (ev) => ctx.run("agenda.done", { item_id: item.id }, ev.currentTarget),
      }, t("agenda.done")),
      h("button.btn.btn-small.btn-quiet", {
        type: "button", testid: "item-defer", disabled: off,
        onclick: (ev) => ctx.run("agenda.defer", { item_id: item.id }, ev.currentTarget),
      }, t("agenda.defer")));
  }
  const resume = item.status === "deferred" || item.spent_seconds > 0;
  return h("div.item-actions", null,
    h("button.btn.btn-small.btn-secondary", {
      type: "button", testid: "activate-item", disabled: off,
      onclick: (ev) => ctx.run("agenda.activate", { item_id: item.id }, ev.currentTarget),
    }, t(resume ? "agenda.resume" : "agenda.activate")));
}

/**
 * Update the active item's clock (called every second; no repaint).
 * @param {HTMLElement} el the agenda panel
 * @param {import("./reducer.js").RoomState} state
 */
export function tickAgenda(el, state) {
  const box = el.querySelector("[data-timer=item]");
  if (!box || state.activeItem == null) return;
  const item = state.items.get(state.activeItem);
  if (!item) return;
  const elapsed = itemElapsed(item, serverNow(), parseTime);
  const planned = item.planned_minutes * 60;
  box.querySelector(".item-elapsed").textContent = duration(elapsed);
  const over = elapsed > planned;
  box.classList.toggle("is-over", over);
  box.title = over ? t("agenda.over") : "";
  const bar = box.querySelector(".progress-bar");
  bar.style.width = `${Math.min(100, (elapsed / Math.max(planned, 1)) * 100)}%`;
}
