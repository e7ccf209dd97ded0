// The meeting room page: owns the connection and the room state, and repaints the panels
// an event touched (once per animation frame, however many events arrive).

import { CommandRejected, RoomConnection } from "./connection.js";
import { h, replace } from "./dom.js";
import { pick, t } from "./i18n.js";
import { renderAgenda, tickAgenda } from "./agenda.js";
import { renderAttendance } from "./attendance.js";
import { renderDocuments, renderPresentBar } from "./documents.js";
import { renderFloor, tickFloor } from "./floor.js";
import { renderMinutes } from "./minutes.js";
import { createMinutesEditor } from "./minutes-editor.js";
import { renderNotices } from "./notices.js";
import { BoardDevice } from "./board.js";
import { renderPolls } from "./poll-console.js";
import { createPollScreen } from "./poll-screen.js";
import { tickCountdowns } from "./polls.js";
import { fromView, applyEvent } from "./reducer.js";
import { keepFetched } from "./marks.js";
import { keepRoom, takeRoom } from "./resume.js";
import { renderHead } from "./room-head.js";
import { showConnection, toast } from "./ui.js";
import { Voting, renderVoteSheet, voterStatus } from "./vote.js";
import { createViewer } from "./viewer.js";

// Which panels depend on which parts of the state.
const PANELS = {
  head: ["meeting", "quorum", "participants", "attendance", "role"],
  agenda: ["meeting", "agenda", "participants", "role"],
  floor: ["meeting", "speaker", "queue", "participants", "sites", "attendance", "role"],
  notices: ["meeting", "notices", "participants", "role"],
  attendance: ["meeting", "participants", "attendance", "presence", "sites", "role"],
  documents: ["meeting", "documents", "agenda", "presentation", "participants", "role"],
  present: ["presentation", "documents", "participants", "role", "viewer"],
  polls: ["meeting", "polls", "agenda", "participants", "attendance", "role", "voting"],
  sheet: ["meeting", "polls", "agenda", "participants", "attendance", "role", "voting"],
  minutes: ["meeting", "minutes", "participants", "role"],
};
// What the document viewer follows.
const VIEWER_DEPS = ["meeting", "documents", "annotations", "presentation", "participants",
  "agenda", "role", "viewer"];
// What the minutes editor follows.
const EDITOR_DEPS = ["meeting", "minutes", "agenda", "participants", "role"];
// What the projector's poll screen follows (a presentation moving takes a result away).
const SCREEN_DEPS = ["polls", "agenda", "presentation", "role"];
const ALL = new Set([...Object.values(PANELS).flat(), ...VIEWER_DEPS, ...EDITOR_DEPS]);
const ORGANISER_ROLES = new Set(["chair", "secretary"]);

/**
 * @typedef {Object} RoomContext what every panel renderer gets
 * @property {import("./reducer.js").RoomState} state
 * @property {{user_id: number, role: string|null, voting: boolean, vote_for: number|null,
 *   is_admin: boolean}} me
 * @property {Set<number>} online user ids with a live connection
 * @property {boolean} connected whether commands go out now
 * @property {(name: string, args?: object, button?: HTMLElement) => Promise<object|null>} run
 * @property {(userId: number) => string} name a participant's full name ("" if unknown)
 * @property {boolean} isChair
 * @property {boolean} isOrganiser chair, secretary or administrator
 * @property {boolean} rosterHidden the roster is for organisers only and I am not one
 * @property {(area: string) => void} repaint ask for a panel's repaint
 * @property {(key: string) => any} memo per-panel UI memory (e.g. a search text)
 * @property {number} meetingId
 */

/**
 * Open the meeting room `meetingId` in `root`.
 * @param {HTMLElement} root
 * @param {number} meetingId
 * @param {{user: object, navigate: (hash: string) => void, sessionExpired: () => void,
 *   projector?: boolean}} app `projector`: a projector or remote-site screen showing only
 *   the presented page
 * @returns {{destroy: () => void, refresh: () => void}}
 */
export function mountRoom(root, meetingId, app) {
  const projector = Boolean(app.projector);
  let state = null;
  let me = { user_id: app.user.id, role: null, voting: false, vote_for: null,
    is_admin: app.user.is_admin };
  let online = new Set();
  let dirty = new Set();
  let frame = 0;
  let fatal = null; // {message} once the room cannot be shown
  let lastStatus = null;
  const memo = new Map();

  const page = h("div.room-page", { testid: "room-page", "aria-busy": "true" },
    h("p.state-box", { testid: "room-loading" }, t("room.loading")));
  root.appendChild(page);

  const panels = {
    head: h("section.room-head", { "aria-labelledby": "meeting-title" }),
    floor: h("section.panel.panel-floor", { "aria-labelledby": "floor-title" }),
    notices: h("section.panel.panel-notices", { "aria-labelledby": "notices-title" }),
    agenda: h("section.panel.panel-agenda", { "aria-labelledby": "agenda-title" }),
    attendance: h("section.panel.panel-attendance", { "aria-labelledby": "attendance-title" }),
    documents: h("section.panel.panel-documents", { "aria-labelledby": "documents-title" }),
    present: h("section.present-bar", { testid: "present-bar", hidden: true, role: "status" }),
    polls: h("section.panel.panel-polls", { testid: "polls-panel", "aria-labelledby": "polls-title" }),
    sheet: h("div.vote-layer", { testid: "vote-layer", hidden: true }),
    minutes: h("section.panel.panel-minutes", { testid: "minutes-panel",
      "aria-labelledby": "minutes-title" }),
  };

  const conn = new RoomConnection({
    meetingId,
    since: () => (state ? state.seq : null),
    onMessage: receive,
    onStatus: status,
  });

  const viewer = createViewer({
    meetingId,
    projector,
    context: () => context(),
    command: (name, args) => conn.command(name, args),
    online: () => conn.online,
    volatile: (kind, data) => conn.volatile(kind, data),
    changed: () => schedule(["viewer"]),
  });

  const voting = new Voting({
    meetingId,
    userId: app.user.id,
    send: (name, args, id) => conn.command(name, args, id),
    changed: () => schedule(["voting"]),
  });
  // This device as a counting board member: the key ceremony's steps, the decryption.
  const boardDevice = new BoardDevice({
    userId: app.user.id,
    send: (name, args) => conn.command(name, args),
    changed: () => schedule(["voting"]),
  });
  const pollScreen = createPollScreen();
  const minutesEditor = createMinutesEditor({
    meetingId,
    userId: app.user.id,
    context: () => context(),
    send: (name, args) => conn.command(name, args),
  });

  function receive(m) {
    switch (m.type) {
      case "snapshot":
        if (m.meeting !== meetingId) return;
        if (m.kept) {
          state = m.kept; // what this tab had before a reload (resume.js)
        } else {
          // with the shared marks of the pages fetched and unchanged since
          const next = fromView(m.room, m.seq);
          keepFetched(state, next);
          state = next;
        }
        me = { ...me, ...m.me };
        online = new Set(m.online || []);
        online.add(me.user_id);
        voting.snapshot(state);
        pollScreen.snapshot(state);
        layout();
        schedule(ALL);
        break;
      case "resumed":
        if (state && m.seq > state.seq) state.seq = m.seq;
        break;
      case "event":
        event(m);
        break;
      case "events": // one commit's events (or a replay chunk) in one frame, in seq order
        for (const e of m.events || []) event(e);
        break;
      case "volatile":
        if (state && m.meeting === meetingId) viewer.onVolatile(m);
        break;
      case "ballot_refused":
        if (state) voting.refused(m, state);
        break;
      case "presence":
        for (const id of m.online || []) online.add(id);
        for (const id of m.offline || []) online.delete(id);
        online.add(me.user_id);
        schedule(["presence"]);
        break;
      case "error":
        // A refused volatile message (the laser, live ink) is not worth a word: the
        // finished stroke goes as a command, which says so if refused.
        if (m.ref !== "volatile") toast(pick(m.message, m.code), "error");
        break;
      default:
        break;
    }
  }

  function event(m) {
    if (!state || m.meeting !== meetingId || m.seq <= state.seq) return;
    const before = role();
    const changed = applyEvent(state, m);
    if (role() !== before) changed.add("role");
    schedule(changed);
    viewer.onEvent(m, conn.online);
    voting.onEvent(m, conn.online, state);
    pollScreen.onEvent(m, state);
    if (!conn.online) return; // replayed after a reconnect: no live announcements
    if (m.kind === "floor.granted" && m.data.speaker.user_id === me.user_id) {
      toast(t("floor.granted_you"), "success");
    } else if (m.kind === "notice.posted" && m.data.notice.by !== me.user_id) {
      toast(`${t("notice.new")}: ${m.data.notice.text}`, "info");
    } else if (m.kind === "role.changed" && !projector) {
      toast(roleChange(m.data, nameOf), "info"); // no change of role or vote is silent
    } else if (m.kind === "poll.opened" && !projector && m.actor !== me.user_id) {
      // Voters get the ballot itself; everyone else hears of it.
      const c = context();
      if (c.isOrganiser || voterStatus(m.data.poll, c) === "none") {
        toast(t("poll.opened_toast", { title: m.data.poll.title }), "info");
      }
    }
  }

  function status(s) {
    if (s.state === "closed") {
      if (s.reason === "unauthenticated") {
        app.sessionExpired();
        return;
      }
      fatal = { message: s.message ? pick(s.message) : t("error.removed") };
      showConnection(null);
      paintFatal();
      return;
    }
    lastStatus = s;
    showConnection(s, () => conn.reconnectNow());
    const connected = String(s.state === "online");
    if (state && connected !== page.dataset.connected) {
      schedule(["role"]); // buttons follow
      if (connected === "true" && page.dataset.connected === "false") {
        viewer.reconnected();
        voting.reconnected();
      }
    }
    page.dataset.connected = connected;
  }

  function role() {
    const p = state && state.participants.get(me.user_id);
    return p ? p.role : null;
  }

  /** A person's name from the roster, or from the floor entries that carry it; "" if unknown. */
  function nameOf(uid) {
    const p = state.participants.get(uid);
    if (p) return p.full_name;
    if (state.speaker && state.speaker.user_id === uid && state.speaker.full_name) {
      return state.speaker.full_name;
    }
    const r = state.queue.find((q) => q.user_id === uid);
    return (r && r.full_name) || "";
  }

  function context() {
    const r = role();
    return {
      state,
      me: { ...me, role: r },
      online,
      connected: conn.online,
      run,
      name: (uid) => nameOf(uid),
      isChair: r === "chair",
      isOrganiser: ORGANISER_ROLES.has(r) || Boolean(me.is_admin),
      // With roster "organisers" only the chair, secretary and administrators get the list
      // of participants; everyone else holds just their own entries.
      rosterHidden: state.meeting.roster === "organisers" &&
        !(ORGANISER_ROLES.has(r) || Boolean(me.is_admin)),
      memo: (key) => {
        if (!memo.has(key)) memo.set(key, {});
        return memo.get(key);
      },
      repaint: (area) => schedule([area]),
      meetingId,
    };
  }

  /**
   * Send a command; the button is busy until the server answers. Refusals become toasts.
   * @param {string} name
   * @param {object} [args]
   * @param {HTMLElement} [button]
   * @returns {Promise<object|null>} the ack, or null when refused or not sent
   */
  async function run(name, args = {}, button = null) {
    if (!conn.online) {
      toast(t("conn.not_online"), "error");
      return null;
    }
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
    try {
      return await conn.command(name, args);
    } catch (err) {
      if (err instanceof CommandRejected) toast(pick(err.serverMessage, err.code), "error");
      return null;
    } finally {
      if (button && button.isConnected) {
        button.disabled = !conn.online;
        button.removeAttribute("aria-busy");
      }
    }
  }

  function layout() {
    if (page.dataset.ready) return;
    page.dataset.ready = "true";
    page.removeAttribute("aria-busy");
    if (projector) {
      document.body.classList.add("is-projector");
      replace(page, viewer.el, pollScreen.el);
      return;
    }
    replace(
      page,
      panels.head,
      panels.present,
      h("div.room-grid", null,
        h("div.col.col-agenda", null, panels.agenda, panels.documents),
        h("div.col.col-floor", null, panels.floor, panels.polls, panels.minutes, panels.notices),
        h("div.col.col-attendance", null, panels.attendance)),
      minutesEditor.el,
      viewer.el,
      panels.sheet,
    );
  }

  function schedule(areas) {
    for (const a of areas) dirty.add(a);
    if (!frame) frame = requestAnimationFrame(paint);
  }

  function paint() {
    frame = 0;
    if (!state || fatal) return;
    const changed = dirty;
    dirty = new Set();
    const ctx = context();
    const renderers = {
      head: renderHead, agenda: renderAgenda, floor: renderFloor,
      notices: renderNotices, attendance: renderAttendance,
      documents: (el, c) => renderDocuments(el, c, viewer),
      present: (el, c) => renderPresentBar(el, c, viewer),
      polls: (el, c) => renderPolls(el, c, voting, boardDevice),
      sheet: (el, c) => renderVoteSheet(el, c, voting, boardDevice),
      minutes: (el, c) => renderMinutes(el, c, minutesEditor),
    };
    if (VIEWER_DEPS.some((d) => changed.has(d))) viewer.update(ctx);
    if (projector) {
      if (SCREEN_DEPS.some((d) => changed.has(d))) pollScreen.update(ctx);
    } else {
      voting.sync(ctx);
      boardDevice.sync(ctx);
      if (EDITOR_DEPS.some((d) => changed.has(d))) minutesEditor.update(ctx);
      for (const [panel, deps] of Object.entries(PANELS)) {
        if (deps.some((d) => changed.has(d))) renderers[panel](panels[panel], ctx);
      }
    }
    document.title = `${state.meeting ? state.meeting.title : ""} — ${t("app.name")}`;
    tick();
  }

  function paintFatal() {
    conn.stop();
    page.removeAttribute("aria-busy");
    replace(page, h("div.state-box.state-error", { role: "alert", testid: "room-error" },
      h("p", null, fatal.message),
      h("a.btn.btn-secondary", { href: "#/" }, t("error.back"))));
  }

  function tick() {
    if (!state) return;
    tickAgenda(panels.agenda, state);
    tickFloor(panels.floor, state);
    for (const el of [panels.polls, panels.sheet, pollScreen.el]) tickCountdowns(el);
  }

  const ticker = setInterval(tick, 1000);
  // A reload resumes from what this tab had (joining with `since`), not a whole snapshot.
  const kept = takeRoom(meetingId, app.user.id);
  if (kept) {
    receive({ type: "snapshot", meeting: meetingId, seq: kept.state.seq, me: kept.me,
      online: kept.online, kept: kept.state });
  }
  const keep = () => {
    if (state && !fatal) keepRoom(meetingId, app.user.id, state, me, [...online]);
  };
  window.addEventListener("pagehide", keep);
  conn.start();

  return {
    destroy() {
      window.removeEventListener("pagehide", keep);
      viewer.destroy();
      minutesEditor.destroy();
      document.body.classList.remove("is-projector", "has-vote-sheet", "has-poll-screen");
      clearInterval(ticker);
      cancelAnimationFrame(frame);
      conn.stop();
      showConnection(null);
      page.remove();
    },
    refresh() {
      if (fatal) {
        paintFatal();
        return;
      }
      if (!state) {
        replace(page, h("p.state-box", { testid: "room-loading" }, t("room.loading")));
        return;
      }
      schedule(ALL);
      showConnection(lastStatus, () => conn.reconnectNow());
    },
  };
}

/**
 * The words for a `role.changed` event: who now holds which role, or has or lost a vote.
 * @param {object} d the event's data
 * @param {(uid: number) => string} nameOf
 * @returns {string}
 */
export function roleChange(d, nameOf) {
  const name = d.full_name;
  if (d.role == null) return t("rolechg.removed", { name });
  if (d.previous_role == null) {
    return d.substitute_for != null
      ? t("rolechg.substitute", { name, member: nameOf(d.substitute_for) })
      : t("rolechg.added", { name, to: t(`role.${d.role}`) });
  }
  if (d.role !== d.previous_role) {
    return t("rolechg.role", { name, from: t(`role.${d.previous_role}`), to: t(`role.${d.role}`) });
  }
  return t(d.voting ? "rolechg.vote_on" : "rolechg.vote_off", { name });
}
