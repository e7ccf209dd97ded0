// Entry point: the signed-in user, the header, and hash routing between the pages.
//   #/               my meetings
//   #/meeting/ID     the meeting room
//   #/meeting/ID/projector  only the presented page (a projector, a remote site's screen)
//   #/accounts       the accounts (administrators)
//   #/audit          the access log (administrators)
//   (sign-in is shown whenever nobody is signed in)

import { mountAccounts } from "./accounts.js";
import * as api from "./api.js";
import { mountAudit } from "./audit.js";
import { h, replace } from "./dom.js";
import { lang, onLangChange, setLang, t } from "./i18n.js";
import { mountLogin } from "./login.js";
import { mountMeetings } from "./meetings.js";
import { changePasswordDialog, signOutEverywhereDialog } from "./my-account.js";
import { forgetRooms } from "./resume.js";
import { mountRoom } from "./room.js";
import { showConnection, toast } from "./ui.js";

const app = {
  user: null,
  page: null, // {destroy(), refresh?()}
  notice: null, // a message to show on the sign-in page
};

function route() {
  const match = /^#\/meeting\/(\d{1,10})(\/projector)?\/?$/.exec(location.hash);
  if (match) return { name: "room", id: Number(match[1]), projector: Boolean(match[2]) };
  if (/^#\/accounts\/?$/.test(location.hash)) return { name: "accounts" };
  if (/^#\/audit\/?$/.test(location.hash)) return { name: "audit" };
  return { name: "meetings" };
}

/**
 * Go to a route (a hash like "#/meeting/3").
 * @param {string} hash
 */
function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

async function signOut() {
  forgetRooms(); // what this tab kept of the rooms is the signed-out user's
  if (app.page) {
    app.page.destroy(); // close the room's socket first: logout would close it as expired
    app.page = null;
  }
  try {
    await api.logout();
  } catch {
    /* the session may already be gone; the page signs out either way */
  }
  app.user = null;
  app.notice = null;
  navigate("#/");
  render();
}

/** Every session of my account has ended (sign out everywhere): back to sign-in. */
function signedOutEverywhere() {
  forgetRooms();
  if (app.page) {
    app.page.destroy();
    app.page = null;
  }
  app.user = null;
  app.notice = null;
  navigate("#/");
  render();
}

/** The session ended on the server side (expired, revoked): back to sign-in. */
function sessionExpired() {
  forgetRooms();
  app.user = null;
  app.notice = "error.session_expired"; // an i18n key, shown on the sign-in page
  render();
}

function renderHeader() {
  const header = document.getElementById("app-header");
  const user = app.user;
  const langButton = h(
    "button.header-button.lang-switch",
    { type: "button", testid: "lang-switch", "aria-label": t("lang.switch_label"),
      lang: lang() === "vi" ? "en" : "vi", onclick: () => setLang(lang() === "vi" ? "en" : "vi") },
    t("lang.switch"),
  );
  replace(
    header,
    h(
      "a.brand",
      { href: "#/", "aria-label": t("app.name") },
      h("span.brand-mark", { "aria-hidden": "true" }, brandIcon()),
      h(
        "span.brand-text",
        null,
        h("span.brand-name", null,
          h("span.brand-long", null, t("app.name")),
          h("span.brand-short", { "aria-hidden": "true" }, t("app.short"))),
        user && user.unit ? h("span.brand-unit", null, user.unit) : null,
      ),
    ),
    h(
      "div.header-tools",
      null,
      user ? userMenu(user) : null,
      langButton,
      user
        ? h("button.header-button", { type: "button", testid: "logout", onclick: signOut },
            t("nav.logout"))
        : null,
    ),
  );
}

/**
 * The signed-in user's name, opening a menu: accounts and the access log (administrators),
 * change password, sign out everywhere.
 * @param {object} user
 * @returns {HTMLElement}
 */
function userMenu(user) {
  const menu = h("details.user-menu", { testid: "user-menu" });
  const item = (label, testid, action, danger = false) =>
    h(`button.user-menu-item${danger ? ".danger" : ""}`, { type: "button", testid,
      onclick: () => { menu.open = false; action(); } }, label);
  menu.append(
    h("summary", { "aria-label": t("account.menu") },
      h("div.header-user", { testid: "header-user" },
        h("span.header-user-name", null, user.full_name),
        user.position ? h("span.header-user-position", null, user.position) : null),
      h("span.user-menu-icon", { "aria-hidden": "true" }, "▾")),
    h("div.user-menu-items", null,
      user.is_admin ? item(t("accounts.title"), "menu-accounts", () => navigate("#/accounts"))
        : null,
      user.is_admin ? item(t("audit.title"), "menu-audit", () => navigate("#/audit")) : null,
      item(t("account.change_password"), "menu-change-password", changePasswordDialog),
      item(t("account.sign_out_everywhere"), "menu-sign-out-everywhere",
        () => signOutEverywhereDialog(signedOutEverywhere), true)),
  );
  return menu;
}

function brandIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "22");
  svg.setAttribute("height", "22");
  svg.innerHTML =
    '<path fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" ' +
    'stroke-linejoin="round" d="M4 20h16M6 20v-7h12v7M9 13V9h6v4M12 9V4M9.5 5.5h5"/>';
  return svg;
}

function render() {
  if (app.page) {
    app.page.destroy();
    app.page = null;
  }
  showConnection(null);
  renderHeader();
  const main = document.getElementById("main");
  main.replaceChildren();
  if (!app.user) {
    document.title = `${t("login.title")} — ${t("app.name")}`;
    app.page = mountLogin(main, {
      notice: app.notice,
      onSignedIn(user) {
        app.user = user;
        app.notice = null;
        render();
      },
    });
    return;
  }
  const where = route();
  const ctx = { user: app.user, navigate, sessionExpired };
  if (where.name === "room") {
    app.page = mountRoom(main, where.id, { ...ctx, projector: where.projector });
  } else if (where.name === "accounts" && app.user.is_admin) {
    app.page = mountAccounts(main, ctx);
  } else if (where.name === "audit" && app.user.is_admin) {
    app.page = mountAudit(main, ctx);
  } else {
    document.title = `${t("meetings.title")} — ${t("app.name")}`;
    app.page = mountMeetings(main, ctx);
  }
}

async function start() {
  document.documentElement.lang = lang();
  renderHeader();
  try {
    app.user = await api.currentUser();
  } catch (err) {
    // The server is unreachable: show sign-in with the reason; signing in retries.
    app.user = null;
    if (err instanceof api.ApiError) toast(err.describe(), "error");
  }
  render();
}

window.addEventListener("hashchange", () => render());
onLangChange(() => {
  renderHeader();
  if (app.page && app.page.refresh) app.page.refresh();
  else render();
});

start();
