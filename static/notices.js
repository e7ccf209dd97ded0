// Notices: what the chair and secretary post to the room, newest first.

import { h, nfc, replace } from "./dom.js";
import { timeOfDay } from "./format.js";
import { lang, t } from "./i18n.js";

/**
 * Paint the notices panel. The posting form is built once (per language) and kept, so a
 * notice arriving while someone types does not take the focus away.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 */
export function renderNotices(el, ctx) {
  const memo = ctx.memo("notices");
  if (memo.lang !== lang() || !el.contains(memo.list)) {
    memo.lang = lang();
    memo.form = postForm(ctx);
    memo.list = h("div.notice-slot");
    replace(el,
      h("div.panel-head", null, h("h2.panel-title", { id: "notices-title" }, t("notice.title"))),
      memo.form, memo.list);
  }
  const canPost = ["chair", "secretary"].includes(ctx.me.role) || ctx.me.is_admin;
  memo.form.hidden = !(canPost && ctx.state.meeting.status !== "ended");
  memo.form.querySelector("button").disabled = !ctx.connected;

  const notices = [...ctx.state.notices].reverse();
  replace(memo.list, notices.length
    ? h("ul.notice-list", { testid: "notices" }, notices.map((n) =>
      h("li.notice", { testid: "notice-item" },
        h("p.notice-text", null, n.text),
        h("p.notice-meta", null, ctx.name(n.by)
          ? t("notice.by", { name: ctx.name(n.by), time: timeOfDay(n.at) })
          : timeOfDay(n.at)))))
    : h("p.empty", null, t("notice.empty")));
}

function postForm(ctx) {
  const input = h("textarea.input.textarea", {
    id: "notice-text", rows: 2, maxlength: 2000, placeholder: t("notice.placeholder"),
    testid: "notice-text", "aria-label": t("notice.placeholder"),
  });
  const button = h("button.btn.btn-secondary", { type: "submit", testid: "notice-post" },
    t("notice.post"));
  return h("form.notice-form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const text = nfc(input.value).trim();
      if (!text) {
        input.focus();
        return;
      }
      const ack = await ctx.run("notice.post", { text }, button);
      if (ack) input.value = "";
    },
  }, input, button);
}
