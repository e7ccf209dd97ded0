// The document viewer: one page at a time over the room, with thumbnails, zoom, the
// presenter's controls, following the presenter, the laser pointer, and annotations
// (private ones over HTTP, shared ones through the room).
//
// What is shown is the viewer's own state (document, page, viewport), except while
// following: then it is the room's `presentation`. Browsing away stops following; the
// "follow the presenter" button returns to it. The presenter's own view drives the
// presentation: every page turn, zoom or pan is sent as `present.move` (at most 5 a second).

import { documentPath, pageUrl } from "./api.js";
import { CommandRejected } from "./connection.js";
import { h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { lang, pick, t } from "./i18n.js";
import {
  MAX_STROKE_POINTS, MAX_ZOOM, MIN_ZOOM, StageInput, addPoint, clamp, drawMarks, layoutPage,
  markAt, round5,
} from "./ink.js";
import { docTitle } from "./documents.js";
import { MyNotes } from "./mynotes.js";
import { encodePath } from "./path.js";
import { fetchPage, marksOn, pageKey } from "./marks.js";
import { mayDrawShared, mayPresent, mayRead, pageCount } from "./reducer.js";
import { confirmDialog, promptDialog, toast } from "./ui.js";

const MOVE_EVERY_MS = 200; // present.move: at most 5 a second
const POINTER_EVERY_MS = 33; // the laser: about 30 a second, within the volatile budget
const INK_EVERY_MS = 50; // live ink batches
const INK_BATCH_POINTS = 36; // keeps one `ink` message well under 1 KiB
const LIVE_TTL_MS = 5000; // a live stroke without news is dropped
const LASER_TTL_MS = 10000;
const MARKS_RETRY_MS = 1000; // a page shown without its shared marks asks for them again
const MARKS_RETRY_MAX_MS = 30000;
const ZOOM_STEP = 1.25;
const PALETTE = ["#d32f2f", "#1d4f8f", "#1c6b3a", "#15202b", "#ffd400", "#ff80ab"];
const WIDTHS = { pen: 0.0025, highlighter: 0.014, note: 0.003 };
const KINDS = { pen: "ink", highlighter: "highlight", note: "note" };
const TOOLS = ["none", "pen", "highlighter", "eraser", "note", "laser"];
const TOOL_ICONS = { none: "move", pen: "pen", highlighter: "highlighter", eraser: "eraser",
  note: "note", laser: "laser" };

/**
 * @typedef {Object} ViewerEnv
 * @property {number} meetingId
 * @property {boolean} projector a projector or remote-site screen: always following, only the page
 * @property {() => import("./room.js").RoomContext} context the room as it is now
 * @property {(name: string, args: object) => Promise<object>} command send a room command
 *   (rejects with CommandRejected; queued while offline)
 * @property {() => boolean} online whether commands go out now
 * @property {(kind: string, data: object) => boolean} volatile send a volatile message
 * @property {() => void} changed the viewer opened or closed (the room repaints around it)
 */

/**
 * Create the viewer (closed).
 * @param {ViewerEnv} env
 */
export function createViewer(env) {
  const { meetingId, projector } = env;
  let ctx = null;
  let isOpen = false;
  let docId = null;
  let page = 1;
  let view = { zoom: 1, x: 0.5, y: 0 };
  let following = projector;
  let presenting = false; // the room's presentation is mine: my view drives it
  let fullscreen = projector;
  let tool = "none";
  let scope = "private";
  const colors = { pen: PALETTE[0], highlighter: PALETTE[4], note: PALETTE[0] };
  let synced = false;
  let builtLang = null;
  let stageW = 0;
  let stageH = 0;
  let box = null;
  let frame = 0;
  let thumbsKey = "";
  let mode = "page";
  let resizer = null;

  const live = new Map(); // `${from}:${stroke}` -> stroke in progress by someone else
  let laser = null; // {document_id, page, x, y, at}
  let drawing = null; // my stroke in progress
  let strokeCounter = 0;
  const pendingShared = new Map(); // my finished shared strokes awaiting their ack
  const hiddenShared = new Set(); // shared marks erased here, not yet confirmed
  const undoStacks = new Map(); // document id -> [{op, scope, marks}]
  const myAdds = new Map(); // seq -> id of my annotation.added (to undo a shared stroke)
  const marksTimers = new Map(); // page key -> the timer that asks for its marks again
  const marksRetries = new Map(); // page key -> times asked again (the backoff)
  const move = { timer: 0, at: 0, sent: null };
  const pointer = { timer: 0, at: 0, next: undefined, shown: null };
  let inkTimer = 0;
  let sweepTimer = 0;
  let chromeTimer = 0;

  const notes = new MyNotes(meetingId, {
    changed: () => schedule(),
    failed: (err) => toast(err.describe ? err.describe() : t("viewer.save_failed"), "error"),
  });

  const el = h("div.viewer", { testid: "viewer", hidden: true, role: "dialog",
    "aria-modal": "false" });
  const els = {};
  const input = { current: null };

  // ---- the room ----

  function state() {
    return ctx.state;
  }

  function me() {
    return ctx.me.user_id;
  }

  function doc() {
    return docId == null ? null : state().documents.get(docId) || null;
  }

  function presentation() {
    return state().presentation;
  }

  function canDrawShared() {
    return mayDrawShared(state(), me());
  }

  // ---- opening, closing, following ----

  /**
   * Open a document (browsing: not following).
   * @param {number} id
   * @param {{page?: number}} [options]
   */
  function openDocument(id, options = {}) {
    const p = presentation();
    if (presenting && p && p.document_id !== id) {
      // The presenter opens another document: it is presented instead.
      present(id, options.page || 1);
    }
    if (!presenting) following = false;
    show(id, options.page || 1);
  }

  function show(id, n) {
    const changed = docId !== id;
    docId = id;
    page = n;
    if (changed) {
      view = { zoom: 1, x: 0.5, y: 0 };
      drawing = null;
      const d = doc();
      if (d && mayRead(d, me())) notes.load(id);
    }
    openShell();
  }

  function openShell() {
    if (!isOpen) {
      isOpen = true;
      el.hidden = false;
      document.body.classList.add("has-viewer");
      window.addEventListener("keydown", onKey);
      env.changed();
    }
    schedule();
  }

  /** Follow the presenter (opening the viewer). */
  function follow() {
    following = true;
    syncFromPresentation();
    openShell();
  }

  function close() {
    if (projector) return;
    if (!isOpen) return;
    if (drawing) strokeEnd();
    hideMyLaser();
    following = false;
    setFullscreen(false);
    isOpen = false;
    el.hidden = true;
    document.body.classList.remove("has-viewer");
    window.removeEventListener("keydown", onKey);
    env.changed();
  }

  /** Copy the presentation into the view while following (not while presenting). */
  function syncFromPresentation() {
    const p = presentation();
    if (!p || presenting) return;
    // Not under a pen that is writing: the page catches up when the stroke ends.
    if (drawing && docId === p.document_id && page === drawing.page) return;
    if (docId !== p.document_id) {
      docId = p.document_id;
      drawing = null;
      const d = doc();
      if (d && mayRead(d, me())) notes.load(docId);
    }
    page = p.page;
    view = { zoom: p.zoom || 1, x: p.x ?? 0.5, y: p.y ?? 0.5 };
  }

  /** The user moved on their own: a follower stops following. */
  function browsed() {
    if (following && !presenting && !projector) {
      following = false;
      schedule();
    }
  }

  // ---- presenting ----

  async function present(id, n) {
    try {
      await env.command("present.start", { document_id: id, page: n });
    } catch (err) {
      if (err instanceof CommandRejected) toast(pick(err.serverMessage, err.code), "error");
    }
  }

  async function stopPresenting(button) {
    if (button) button.disabled = true;
    hideMyLaser();
    try {
      await env.command("present.stop", {});
    } catch (err) {
      if (err instanceof CommandRejected) toast(pick(err.serverMessage, err.code), "error");
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  }

  /** Tell the room where the presenter is, at most every 200 ms (the latest wins). */
  function scheduleMove() {
    if (!presenting) return;
    if (move.timer) return;
    const wait = Math.max(0, move.at + MOVE_EVERY_MS - performance.now());
    move.timer = setTimeout(sendMove, wait);
  }

  function sendMove() {
    move.timer = 0;
    const p = presentation();
    if (!presenting || !p || !box || p.document_id !== docId) return;
    if (!env.online()) return; // sent again once back (see update)
    const args = { page, zoom: round3(clamp(view.zoom, MIN_ZOOM, MAX_ZOOM)),
      x: round3(box.x), y: round3(box.y) };
    const last = move.sent || p;
    if (last.page === args.page && near(last.zoom, args.zoom) && near(last.x, args.x) &&
        near(last.y, args.y)) return;
    move.sent = args;
    move.at = performance.now();
    env.command("present.move", args).catch(() => {
      move.sent = null; // let the next change resend the whole view
    });
  }

  // ---- laser pointer ----

  function laserAt(p) {
    if (!presenting || mode !== "page") return;
    pointer.shown = p ? { x: p.x, y: p.y } : null;
    positionLaser();
    pointer.next = p ? { x: round4(p.x), y: round4(p.y) } : null;
    if (pointer.timer) return;
    const wait = Math.max(0, pointer.at + POINTER_EVERY_MS - performance.now());
    pointer.timer = setTimeout(sendPointer, wait);
  }

  function sendPointer() {
    pointer.timer = 0;
    if (pointer.next === undefined) return;
    const d = doc();
    if (!d) return;
    const data = { document_id: d.id, page, x: pointer.next ? pointer.next.x : null,
      y: pointer.next ? pointer.next.y : null };
    if (!env.volatile("pointer", data)) {
      pointer.timer = setTimeout(sendPointer, POINTER_EVERY_MS); // over budget: try again
      return;
    }
    pointer.at = performance.now();
    pointer.next = undefined;
  }

  function hideMyLaser() {
    if (pointer.shown || pointer.next) {
      pointer.shown = null;
      pointer.next = null;
      if (!pointer.timer) pointer.timer = setTimeout(sendPointer, 0);
      positionLaser();
    }
  }

  // ---- drawing ----

  function markStyle() {
    const kind = KINDS[tool] || "ink";
    return { kind, color: colors[tool] || colors.pen, width: WIDTHS[tool] || WIDTHS.pen };
  }

  function strokeStart(p) {
    const d = doc();
    if (!d || mode !== "page") return;
    if (scope === "shared" && !canDrawShared()) scope = "private";
    strokeCounter += 1;
    drawing = { ...markStyle(), points: [], sent: 0, stroke: `${strokeCounter}`,
      scope, docId: d.id, version: d.version, page };
    addPoint(drawing.points, p, 0);
    if (drawing.scope === "shared") scheduleInk();
    paintLive();
  }

  function strokeMove(list) {
    if (!drawing) return;
    for (const p of list) {
      addPoint(drawing.points, p);
      if (drawing.points.length >= MAX_STROKE_POINTS * 2) {
        // A very long stroke: finish it here and go on with a new one from the same point.
        const last = { x: drawing.points.at(-2), y: drawing.points.at(-1) };
        strokeEnd();
        strokeStart(last);
      }
    }
    if (drawing && drawing.scope === "shared") scheduleInk();
    paintLive();
  }

  function strokeCancel() {
    drawing = null;
    clearTimeout(inkTimer);
    inkTimer = 0;
    if (following && !presenting && presentation()) syncFromPresentation();
    schedule();
  }

  function strokeEnd() {
    const s = drawing;
    drawing = null;
    if (following && !presenting && presentation()) {
      syncFromPresentation();
      schedule();
    }
    if (!s || !s.points.length) return;
    const d = state().documents.get(s.docId);
    if (!d || d.version !== s.version) return;
    const mark = { page: s.page, kind: s.kind, points: s.points, color: s.color, width: s.width };
    if (s.scope === "private") {
      const local = notes.add(d, mark);
      pushUndo(d.id, { op: "add", scope: "private", marks: [local] });
    } else {
      flushInk(s);
      const entry = { op: "add", scope: "shared", marks: [{ ...mark, document_id: d.id, id: null }] };
      pushUndo(d.id, entry);
      addShared(d, mark, entry.marks[0]);
    }
    paintLive();
    paintBase();
  }

  /** Add a shared mark through the room; shown as pending until the event arrives. */
  async function addShared(d, mark, record) {
    const key = `p${(strokeCounter += 1)}`;
    const pending = { ...mark, id: key, document_id: d.id, version: d.version, pending: true };
    pendingShared.set(key, pending);
    schedule();
    const args = { document_id: d.id, page: mark.page, kind: mark.kind,
      path: encodePath(mark.points), color: mark.color, width: mark.width };
    if (mark.text) args.text = mark.text;
    try {
      const ack = await env.command("annotation.add", args);
      const id = myAdds.get(ack.seq);
      if (record) record.id = id ?? null;
      if (record && record.undone && id != null) removeShared(id);
    } catch (err) {
      if (err instanceof CommandRejected) toast(pick(err.serverMessage, err.code), "error");
    } finally {
      pendingShared.delete(key);
      schedule();
    }
  }

  async function removeShared(id) {
    hiddenShared.add(id);
    schedule();
    try {
      await env.command("annotation.remove", { annotation_id: id });
    } catch (err) {
      if (err instanceof CommandRejected && err.code !== "not_found") {
        toast(pick(err.serverMessage, err.code), "error");
      }
    } finally {
      hiddenShared.delete(id);
      schedule();
    }
  }

  function scheduleInk() {
    if (inkTimer) return;
    inkTimer = setTimeout(() => {
      inkTimer = 0;
      if (drawing && drawing.scope === "shared") {
        flushInk(drawing);
        if (drawing.sent < drawing.points.length) scheduleInk();
      }
    }, INK_EVERY_MS);
  }

  /** Send the stroke's points not sent yet, in batches that fit one message. */
  function flushInk(s) {
    while (s.sent < s.points.length) {
      const chunk = s.points.slice(s.sent, s.sent + INK_BATCH_POINTS * 2).map(round4);
      const data = { document_id: s.docId, page: s.page, stroke: s.stroke, kind: s.kind,
        color: s.color, width: s.width, points: chunk };
      if (!env.volatile("ink", data)) return; // over budget: the next tick sends them
      s.sent += chunk.length;
    }
  }

  function eraseAt(p) {
    const d = doc();
    if (!d || !box) return;
    const marks = erasable(d);
    const hit = markAt(marks, p.sx, p.sy, box);
    if (!hit) return;
    if (hit.scope === "private") {
      notes.remove(d.id, hit);
    } else {
      if (hit.pending || hiddenShared.has(hit.id)) return;
      removeShared(hit.id);
    }
    pushUndo(d.id, { op: "erase", scope: hit.scope, marks: [copyMark(hit)] });
  }

  /** The marks the eraser may take on this page: mine, or every shared one for organisers. */
  function erasable(d) {
    if (scope === "private") return notes.onPage(d.id, d.version, page);
    return sharedOnPage(d).filter((a) => !a.pending &&
      (a.owner === me() || ctx.isOrganiser));
  }

  async function noteAt(p) {
    const d = doc();
    if (!d || mode !== "page") return;
    const text = await promptDialog({ title: t("ink.note_title"), label: t("ink.note_label"),
      placeholder: t("ink.note_placeholder"), confirm: t("ink.note_add") });
    if (!text || docId !== d.id) return;
    const mark = { page, kind: "note", points: [round5(p.x), round5(p.y)], color: colors.note,
      width: WIDTHS.note, text };
    if (scope === "shared" && canDrawShared()) {
      const entry = { op: "add", scope: "shared", marks: [{ ...mark, document_id: d.id, id: null }] };
      pushUndo(d.id, entry);
      addShared(d, mark, entry.marks[0]);
    } else {
      pushUndo(d.id, { op: "add", scope: "private", marks: [notes.add(d, mark)] });
    }
  }

  function copyMark(m) {
    return { page: m.page, kind: m.kind, points: [...m.points], color: m.color, width: m.width,
      text: m.text || undefined, version: m.version, id: m.id };
  }

  function pushUndo(id, entry) {
    if (!undoStacks.has(id)) undoStacks.set(id, []);
    const stack = undoStacks.get(id);
    stack.push(entry);
    if (stack.length > 100) stack.shift();
    schedule();
  }

  function undo() {
    const d = doc();
    if (!d) return;
    const stack = undoStacks.get(d.id) || [];
    const entry = stack.pop();
    if (!entry) return;
    if (entry.op === "add") {
      for (const m of entry.marks) {
        if (entry.scope === "private") notes.remove(d.id, m);
        else if (m.id != null) removeShared(m.id);
        else m.undone = true; // still on its way: removed once acknowledged
      }
    } else {
      // Undo an erase or a clear: draw the same marks again (on the same version only).
      for (const m of entry.marks) {
        if (m.version !== undefined && m.version !== d.version) continue;
        const mark = { page: m.page, kind: m.kind, points: m.points, color: m.color,
          width: m.width, text: m.text };
        if (entry.scope === "private") notes.add(d, mark);
        else addShared(d, mark, null);
      }
    }
    schedule();
  }

  async function clearPage() {
    const d = doc();
    if (!d) return;
    const shared = scope === "shared";
    const ok = await confirmDialog({
      title: t("ink.clear_title"),
      text: t(shared ? "ink.clear_shared_text" : "ink.clear_private_text", { n: page }),
      confirm: t("ink.clear_confirm"), danger: true,
    });
    if (!ok || docId !== d.id) return;
    if (!shared) {
      const gone = notes.clear(d, page);
      if (gone.length) pushUndo(d.id, { op: "clear", scope: "private", marks: gone.map(copyMark) });
      return;
    }
    const mine = sharedOnPage(d).filter((a) => a.owner === me() && !a.pending);
    try {
      await env.command("annotation.clear", { document_id: d.id, page });
      if (mine.length) pushUndo(d.id, { op: "clear", scope: "shared", marks: mine.map(copyMark) });
    } catch (err) {
      if (err instanceof CommandRejected) toast(pick(err.serverMessage, err.code), "error");
    }
  }

  // ---- marks shown ----

  function sharedOnPage(d) {
    const out = [];
    const fetched = marksOn(state(), d.id, d.version, page);
    if (fetched) {
      for (const a of fetched) if (!hiddenShared.has(a.id)) out.push(a);
    } else {
      fetchShared(d, page);
    }
    for (const a of pendingShared.values()) {
      if (a.document_id === d.id && a.version === d.version && a.page === page) out.push(a);
    }
    return out;
  }

  /** Fetch a page's shared marks (when shown); repaint when they come. A fetch that
   * failed (a busy or restarting server) is tried again by a repaint a moment later while
   * the page is still shown without them. */
  function fetchShared(d, n) {
    const key = pageKey(d.id, d.version, n);
    fetchPage(state(), meetingId, d, n).then((arrived) => {
      if (arrived) {
        marksRetries.delete(key);
        schedule();
        return;
      }
      // Not here yet (in flight, or failed): one timer per page, backing off to 30 s.
      if (marksOn(state(), d.id, d.version, n) !== null || marksTimers.has(key)) return;
      const tries = (marksRetries.get(key) || 0) + 1;
      marksRetries.set(key, tries);
      marksTimers.set(key, setTimeout(() => {
        marksTimers.delete(key);
        if (docId === d.id && page === n) schedule();
      }, Math.min(MARKS_RETRY_MS * 2 ** (tries - 1), MARKS_RETRY_MAX_MS)));
    });
  }

  function privateOnPage(d) {
    return mayRead(d, me()) ? notes.onPage(d.id, d.version, page) : [];
  }

  function liveOnPage(d) {
    const out = [];
    for (const s of live.values()) if (s.document_id === d.id && s.page === page) out.push(s);
    return out;
  }

  // ---- room messages ----

  /**
   * An event was applied to the room state.
   * @param {{kind: string, seq: number, actor: number|null, data: object}} m
   * @param {boolean} isLive received live (not replayed after a reconnect)
   */
  function onEvent(m, isLive) {
    ctx = env.context();
    const d = m.data || {};
    switch (m.kind) {
      case "annotation.added": {
        const a = d.annotation;
        if (a.owner === me()) {
          myAdds.set(m.seq, a.id);
          if (myAdds.size > 500) myAdds.delete(myAdds.keys().next().value);
        }
        dropLiveFor(a);
        break;
      }
      case "presentation.started": {
        const p = d.presentation;
        if (p.by === me()) break;
        if (!isLive && !projector) break;
        if (projector || !isOpen || (following && isOpen)) {
          follow();
        } else if (isLive) {
          const d2 = state().documents.get(p.document_id);
          toast(t("present.started_toast", { name: ctx.name(p.by) || t("present.someone"),
            title: d2 && !d2.sealed ? docTitle(d2) : t("present.secret_short") }), "info");
        }
        break;
      }
      case "presentation.moved":
        // The chair moved my presentation: my view goes there too.
        if (presenting && m.actor !== me()) {
          const p = d.presentation;
          page = p.page;
          view = { zoom: p.zoom, x: p.x, y: p.y };
          move.sent = null;
        }
        break;
      case "presentation.stopped":
        laser = null;
        if (presenting) hideMyLaser();
        break;
      case "document.removed":
        if (docId === d.document_id && !(following && presentation())) {
          if (isOpen && !projector) toast(t("viewer.removed"), "info");
          close();
          docId = null;
        }
        break;
      default:
        break;
    }
  }

  function dropLiveFor(a) {
    let oldest = null;
    for (const [key, s] of live) {
      if (s.owner !== a.owner || s.document_id !== a.document_id || s.page !== a.page) continue;
      if (s.points.length >= 2 && a.points.length >= 2 &&
          Math.abs(s.points[0] - a.points[0]) < 3e-4 && Math.abs(s.points[1] - a.points[1]) < 3e-4) {
        live.delete(key);
        oldest = null;
        schedule();
        return;
      }
      if (!oldest || s.since < oldest[1].since) oldest = [key, s];
    }
    if (oldest) live.delete(oldest[0]);
    schedule();
  }

  /**
   * A volatile message from someone else.
   * @param {{from: number, kind: string, data: object}} m
   */
  function onVolatile(m) {
    ctx = env.context();
    const d = m.data || {};
    const now = performance.now();
    if (m.kind === "ink") {
      if (!Array.isArray(d.points)) return;
      const key = `${m.from}:${d.stroke}`;
      let s = live.get(key);
      if (!s) {
        s = { owner: m.from, document_id: d.document_id, page: d.page, kind: d.kind,
          color: d.color, width: d.width, points: [], since: now, at: now };
        live.set(key, s);
      }
      for (const v of d.points) if (typeof v === "number") s.points.push(v);
      s.at = now;
      if (!sweepTimer) sweepTimer = setInterval(sweep, 1000);
      paintLive();
    } else if (m.kind === "pointer") {
      laser = d.x == null ? null : { document_id: d.document_id, page: d.page, x: d.x, y: d.y,
        at: now };
      if (laser && !sweepTimer) sweepTimer = setInterval(sweep, 1000);
      positionLaser();
    }
  }

  function sweep() {
    const now = performance.now();
    let changed = false;
    for (const [key, s] of live) {
      if (now - s.at > LIVE_TTL_MS) {
        live.delete(key);
        changed = true;
      }
    }
    if (laser && now - laser.at > LASER_TTL_MS) {
      laser = null;
      positionLaser();
    }
    if (changed) paintLive();
    if (!live.size && !laser) {
      clearInterval(sweepTimer);
      sweepTimer = 0;
    }
  }

  // ---- the room repaints ----

  /**
   * The room state changed (or the language, or the connection): follow it.
   * @param {import("./room.js").RoomContext} context
   */
  function update(context) {
    ctx = context;
    const p = presentation();
    const mine = Boolean(p && p.by === me());
    if (mine && !presenting) {
      // I present (I just started, or came back to a page where I was presenting).
      presenting = true;
      following = true;
      move.sent = null;
      if (canDrawShared()) scope = "shared";
      if (docId !== p.document_id || !isOpen) {
        docId = p.document_id;
        page = p.page;
        view = { zoom: p.zoom || 1, x: p.x ?? 0.5, y: p.y ?? 0.5 };
        const d = doc();
        if (d && mayRead(d, me())) notes.load(docId);
      }
      openShell();
      scheduleMove();
    } else if (!mine && presenting) {
      presenting = false;
      if (tool === "laser") tool = "none";
      hideMyLaser();
    }
    if (!synced) {
      synced = true;
      // Entering a room where something is being presented: follow it.
      if ((p && !mine) || projector) follow();
    }
    if (scope === "shared" && !canDrawShared()) scope = "private";
    if (tool === "laser" && !presenting) tool = "none";
    if (following && !presenting) syncFromPresentation();
    if (presenting && env.online() && !move.timer) scheduleMove();
    if (!isOpen) return;
    const d = doc();
    if (docId != null && !d && !(following && p && p.document_id === docId)) {
      // The document is gone (removed, or no longer mine to see).
      docId = null;
      if (!projector) {
        close();
        return;
      }
    }
    if (d) page = clamp(page, 1, Math.max(1, pageCount(d)));
    schedule();
  }

  // ---- painting ----

  function schedule() {
    if (!frame) frame = requestAnimationFrame(paint);
  }

  function paint() {
    frame = 0;
    if (!isOpen || !ctx) return;
    if (builtLang !== lang()) build();
    paintChrome();
    paintStage();
  }

  function build() {
    builtLang = lang();
    if (input.current) input.current.destroy();
    els.title = h("h2.viewer-title", { testid: "viewer-title", id: "viewer-title" });
    els.sub = h("p.viewer-sub");
    els.close = h("button.btn.btn-secondary.viewer-close", { type: "button", testid: "viewer-close",
      onclick: close }, h("span", { "aria-hidden": "true" }, "‹"), t("viewer.close"));
    els.prev = h("button.btn.btn-secondary.btn-icon", { type: "button", testid: "page-prev",
      "aria-label": t("viewer.prev"), title: t("viewer.prev"), onclick: () => turn(-1) }, "‹");
    els.next = h("button.btn.btn-secondary.btn-icon", { type: "button", testid: "page-next",
      "aria-label": t("viewer.next"), title: t("viewer.next"), onclick: () => turn(1) }, "›");
    els.pageLabel = h("span.page-label", { testid: "page-number", "aria-live": "polite" });
    els.zoomOut = h("button.btn.btn-quiet.btn-icon", { type: "button", testid: "zoom-out",
      "aria-label": t("viewer.zoom_out"), title: t("viewer.zoom_out"),
      onclick: () => zoomBy(1 / ZOOM_STEP) }, "−");
    els.zoomIn = h("button.btn.btn-quiet.btn-icon", { type: "button", testid: "zoom-in",
      "aria-label": t("viewer.zoom_in"), title: t("viewer.zoom_in"),
      onclick: () => zoomBy(ZOOM_STEP) }, "+");
    els.zoomLabel = h("button.btn.btn-quiet.zoom-label", { type: "button", testid: "zoom-reset",
      title: t("viewer.zoom_reset"), onclick: () => zoomTo(1) });
    els.follow = h("button.btn.btn-primary", { type: "button", testid: "follow-presenter",
      onclick: () => follow() }, h("span.live-dot", { "aria-hidden": "true" }),
    t("present.follow"));
    els.present = h("button.btn.btn-primary", { type: "button", testid: "present-start",
      onclick: () => {
        const d = doc();
        if (d) present(d.id, page);
      } }, t("present.start"));
    els.stop = h("button.btn.btn-danger-outline", { type: "button", testid: "present-stop",
      onclick: (ev) => stopPresenting(ev.currentTarget) }, t("present.stop"));
    els.full = h("button.btn.btn-quiet", { type: "button", testid: "viewer-fullscreen",
      title: t("viewer.fullscreen_hint"), onclick: () => setFullscreen(true) },
    t("viewer.fullscreen"));
    els.downloads = h("details.menu", { testid: "downloads" });
    els.thumbs = h("nav.viewer-thumbs", { testid: "thumbs", "aria-label": t("viewer.thumbs") });
    thumbsKey = "";

    els.low = h("img.page-low", { alt: "", draggable: "false", "aria-hidden": "true" });
    els.img = h("img.page-image", { testid: "page-image", alt: "", draggable: "false",
      decoding: "async" });
    els.img.addEventListener("load", () => {
      els.img.dataset.loaded = els.img.getAttribute("src") || "";
      els.img.classList.add("is-loaded");
    });
    els.img.addEventListener("error", () => {
      els.img.classList.remove("is-loaded");
      els.img.dataset.failed = "true";
      paintMessage();
    });
    els.base = h("canvas.ink-layer", { testid: "ink-canvas", "aria-hidden": "true" });
    els.live = h("canvas.ink-layer.ink-live", { testid: "ink-live", "aria-hidden": "true" });
    els.laser = h("div.laser-dot", { testid: "laser", hidden: true, "aria-hidden": "true" });
    els.message = h("div.viewer-message", { testid: "viewer-message", hidden: true });
    els.badge = h("p.stage-badge", { testid: "stage-badge", hidden: true });
    els.exitFull = h("button.btn.btn-secondary.exit-full", { type: "button",
      testid: "viewer-exit-fullscreen", onclick: () => setFullscreen(false) },
    t("viewer.exit_fullscreen"));
    els.fullPage = h("span.full-page", { testid: "full-page-number", "aria-hidden": "true" });
    els.stage = h("div.viewer-stage", { testid: "page-stage", dataset: { tool } },
      els.low, els.img, els.base, els.live, els.laser, els.message, els.badge, els.fullPage,
      projector ? null : els.exitFull);

    els.tools = h("div.viewer-tools", { testid: "ink-tools", role: "toolbar",
      "aria-label": t("ink.tools") });

    replace(el,
      h("header.viewer-bar", null,
        projector ? null : els.close,
        h("div.viewer-heading", null, els.title, els.sub),
        h("div.viewer-nav", { role: "group", "aria-label": t("viewer.pages") },
          els.prev, els.pageLabel, els.next,
          h("span.nav-gap", { "aria-hidden": "true" }),
          els.zoomOut, els.zoomLabel, els.zoomIn),
        h("div.viewer-actions", null, els.follow, els.present, els.stop, els.full,
          els.downloads)),
      h("div.viewer-body", null, els.thumbs, els.stage),
      els.tools);
    el.setAttribute("aria-labelledby", "viewer-title");

    input.current = new StageInput(els.stage, {
      tool: () => (mode === "page" && !fullscreen ? tool : "none"),
      locate,
      strokeStart,
      strokeMove,
      strokeEnd,
      strokeCancel,
      erase: eraseAt,
      note: noteAt,
      laser: laserAt,
      pan: (dx, dy) => panBy(dx, dy),
      zoom: (f, sx, sy) => zoomBy(f, sx, sy),
      tap: () => pokeChrome(),
    });
    if (resizer) resizer.disconnect();
    resizer = new ResizeObserver(() => {
      const r = els.stage.getBoundingClientRect();
      if (r.width !== stageW || r.height !== stageH) {
        stageW = r.width;
        stageH = r.height;
        paintStage();
      }
    }).observe(els.stage);
  }

  function locate(clientX, clientY) {
    const r = els.stage.getBoundingClientRect();
    const sx = clientX - r.left;
    const sy = clientY - r.top;
    if (!box) return { x: 0, y: 0, sx, sy };
    return { x: clamp((sx - box.left) / box.width, 0, 1),
      y: clamp((sy - box.top) / box.height, 0, 1), sx, sy };
  }

  function paintChrome() {
    const d = doc();
    const p = presentation();
    const n = d ? pageCount(d) : 0;
    const readable = Boolean(d && mayRead(d, me()));
    mode = pickMode(d, p, readable);
    el.classList.toggle("is-fullscreen", fullscreen);
    el.classList.toggle("is-projector", projector);
    el.dataset.mode = mode;
    el.dataset.documentId = d ? String(d.id) : "";
    el.dataset.page = String(page);
    el.dataset.following = String(following && Boolean(p) && !presenting);
    el.dataset.presenting = String(presenting);

    els.title.textContent = mode === "secret" ? t("present.secret_title")
      : mode === "waiting" ? (state().meeting ? state().meeting.title : "") : d ? docTitle(d) : "";
    replace(els.sub,
      d ? h(`span.chip.chip-class-${d.classification}`, { testid: "viewer-class" },
        t(`doc.class.${d.classification}`)) : null,
      d && d.version > 1 ? h("span", null, t("doc.version", { n: d.version })) : null,
      d && !d.sealed ? h("span", null, t("doc.pages", { n })) : null);

    const pageMode = mode === "page";
    els.prev.disabled = !pageMode || page <= 1;
    els.next.disabled = !pageMode || page >= n;
    els.pageLabel.textContent = pageMode ? t("viewer.page_of", { n: page, total: n }) : "";
    els.zoomLabel.textContent = `${Math.round(view.zoom * 100)}%`;
    for (const b of [els.zoomIn, els.zoomOut, els.zoomLabel]) b.disabled = !pageMode;
    els.zoomIn.disabled = !pageMode || view.zoom >= MAX_ZOOM;
    els.zoomOut.disabled = !pageMode || view.zoom <= MIN_ZOOM;

    const st = state();
    const presenter = mayPresent(st, me());
    const chair = ctx.isChair;
    els.follow.hidden = !p || presenting || following || projector;
    const ended = Boolean(st.meeting && st.meeting.status === "ended");
    els.present.hidden = !presenter || presenting || !readable || !d || ended;
    els.present.disabled = !env.online() || Boolean(p && p.by !== me() && !chair);
    els.present.title = p && p.by !== me() && !chair ? t("present.busy") : "";
    els.present.textContent = p && p.by !== me() && chair ? t("present.take_over") : t("present.start");
    els.stop.hidden = !(presenting || (chair && p));
    els.full.hidden = projector || !d;
    paintDownloads(d, readable);
    paintThumbs(d, readable);
    paintTools(d, readable);

    const badge = [];
    if (presenting) badge.push(t("present.you_present"));
    else if (following && p) badge.push(t("present.following", { name: ctx.name(p.by) || t("present.someone") }));
    els.badge.hidden = !badge.length || projector;
    els.badge.textContent = badge.join(" · ");
    els.badge.classList.toggle("is-presenting", presenting);
    els.fullPage.textContent = pageMode ? `${page}/${n}` : "";
  }

  function pickMode(d, p, readable) {
    if (following && p && !presenting && !state().documents.has(p.document_id)) return "secret";
    if (!d) return projector ? "waiting" : "empty";
    if (projector && following && !p) return "waiting";
    if (!readable) return "locked";
    return "page";
  }

  function paintDownloads(d, readable) {
    const key = d && readable ? `${d.id}:${d.version}:${lang()}` : "";
    if (els.downloads.dataset.key === key) return;
    els.downloads.dataset.key = key;
    els.downloads.hidden = !key;
    if (!key) return;
    const base = documentPath(meetingId, d.id);
    const link = (href, label, testid) => h("a.menu-item", { href, download: "", testid,
      onclick: () => els.downloads.removeAttribute("open") }, label);
    replace(els.downloads,
      h("summary.btn.btn-quiet", { testid: "downloads-toggle" }, t("download.title")),
      h("div.menu-list", null,
        link(`${base}/export?with=mine`, t("download.mine"), "download-mine"),
        link(`${base}/export?with=shared`, t("download.shared"), "download-shared"),
        link(`${base}/file`, t("download.original"), "download-original")));
  }

  function paintThumbs(d, readable) {
    const key = d && readable ? `${d.id}:${d.version}` : "";
    if (key !== thumbsKey) {
      thumbsKey = key;
      if (!key) {
        els.thumbs.replaceChildren();
      } else {
        const n = pageCount(d);
        const list = [];
        for (let i = 1; i <= n; i += 1) {
          const [w, hh] = d.sizes[i - 1] || [1, 1.414];
          list.push(h("button.thumb", { type: "button", testid: "thumb", dataset: { page: String(i) },
            "aria-label": t("viewer.go_page", { n: i }),
            onclick: () => goTo(i) },
          h("img", { src: pageUrl(meetingId, d, i, "thumb"), alt: "", loading: "lazy",
            draggable: "false", style: { "aspect-ratio": `${w} / ${hh}` } }),
          h("span.thumb-number", null, String(i))));
        }
        replace(els.thumbs, list);
      }
    }
    const current = els.thumbs.querySelector(".thumb.is-current");
    if (current && current.dataset.page !== String(page)) {
      current.classList.remove("is-current");
      current.removeAttribute("aria-current");
    }
    const now = els.thumbs.querySelector(`.thumb[data-page="${page}"]`);
    if (now && !now.classList.contains("is-current")) {
      now.classList.add("is-current");
      now.setAttribute("aria-current", "page");
      now.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  function paintTools(d, readable) {
    const show = Boolean(d && readable && mode === "page");
    els.tools.hidden = !show;
    if (!show) return;
    const shared = canDrawShared();
    const stack = undoStacks.get(d.id) || [];
    const key = [lang(), tool, scope, shared, presenting, colors[tool], stack.length > 0,
      env.online()].join("|");
    if (els.tools.dataset.key === key) return;
    els.tools.dataset.key = key;
    const toolButton = (name) => h("button.tool", {
      type: "button", testid: `tool-${name}`, "aria-pressed": String(tool === name),
      title: t(`ink.tool.${name}`), onclick: () => setTool(name),
    }, icon(TOOL_ICONS[name]),
    h("span.tool-label", null, t(`ink.tool.${name}`)));
    const colourFor = colors[tool] || colors.pen;
    replace(els.tools,
      shared
        ? h("div.segmented.scope-switch", { role: "group", "aria-label": t("ink.scope") },
          h("button.segment", { type: "button", testid: "scope-private",
            "aria-pressed": String(scope === "private"), onclick: () => setScope("private") },
          t("ink.scope_private")),
          h("button.segment", { type: "button", testid: "scope-shared",
            "aria-pressed": String(scope === "shared"), onclick: () => setScope("shared") },
          t("ink.scope_shared")))
        : h("span.scope-note", { testid: "scope-private-only" }, t("ink.scope_private")),
      h("div.tool-group", { role: "group", "aria-label": t("ink.tools") },
        TOOLS.filter((name) => name !== "laser" || presenting).map(toolButton)),
      h("div.swatches", { role: "group", "aria-label": t("ink.colour") },
        PALETTE.map((c) => h("button.swatch", {
          type: "button", testid: `color-${c.slice(1)}`, style: { "--swatch": c },
          "aria-pressed": String(colourFor === c), "aria-label": t(`ink.colour.${c.slice(1)}`),
          title: t(`ink.colour.${c.slice(1)}`),
          onclick: () => setColour(c),
        }))),
      h("div.tool-group.tool-end", null,
        h("button.tool", { type: "button", testid: "ink-undo", disabled: !stack.length,
          title: t("ink.undo"), onclick: undo },
        icon("undo"), h("span.tool-label", null, t("ink.undo"))),
        h("button.tool", { type: "button", testid: "ink-clear", title: t("ink.clear"),
          onclick: clearPage },
        icon("trash"), h("span.tool-label", null, t("ink.clear")))));
  }

  function setTool(name) {
    tool = tool === name && name !== "none" ? "none" : name;
    if (tool !== "laser") hideMyLaser();
    els.stage.dataset.tool = tool;
    schedule();
  }

  function setScope(s) {
    scope = s === "shared" && canDrawShared() ? "shared" : "private";
    schedule();
  }

  function setColour(c) {
    const key = tool === "highlighter" ? "highlighter" : tool === "note" ? "note" : "pen";
    colors[key] = c;
    if (tool === "none" || tool === "eraser" || tool === "laser") tool = "pen";
    els.stage.dataset.tool = tool;
    schedule();
  }

  function paintStage() {
    if (!els.stage || !isOpen) return;
    const d = doc();
    const readable = mode === "page";
    els.img.hidden = !readable;
    // Confidential pages are stamped for each reader on every request: no placeholder.
    els.low.hidden = !readable || !d || d.classification === "confidential";
    if (!readable || !d || !stageW) {
      box = null;
      clearCanvas(els.base);
      clearCanvas(els.live);
      els.base.dataset.annotations = "0";
      paintMessage();
      positionLaser();
      return;
    }
    const [w, hh] = d.sizes[page - 1] || [1, 1.414];
    box = layoutPage(stageW, stageH, hh / w, view);
    for (const img of [els.img, els.low]) {
      img.style.left = `${box.left}px`;
      img.style.top = `${box.top}px`;
      img.style.width = `${box.width}px`;
      img.style.height = `${box.height}px`;
    }
    const dpr = window.devicePixelRatio || 1;
    const size = dpr >= 2 || box.width * dpr > 1600 ? "hd" : "tablet";
    const src = pageUrl(meetingId, d, page, size);
    if (els.img.getAttribute("src") !== src) {
      const samePage = (els.img.getAttribute("src") || "").split("?")[0] === src.split("?")[0];
      if (!samePage) els.img.classList.remove("is-loaded");
      delete els.img.dataset.failed;
      els.img.setAttribute("src", src);
      const low = pageUrl(meetingId, d, page, "thumb");
      if (!els.low.hidden && els.low.getAttribute("src") !== low) els.low.setAttribute("src", low);
      els.img.alt = t("viewer.page_of", { n: page, total: pageCount(d) });
      prefetch(d, size);
    }
    els.img.dataset.page = String(page);
    paintMessage();
    paintBase();
    paintLive();
    positionLaser();
  }

  function prefetch(d, size) {
    // The next page, so that turning is instant (confidential pages are never cached).
    if (d.classification === "confidential" || page >= pageCount(d)) return;
    const img = new Image();
    img.src = pageUrl(meetingId, d, page + 1, size);
    fetchPage(state(), meetingId, d, page + 1); // and its shared marks
  }

  function paintMessage() {
    const p = presentation();
    let text = "";
    let detail = "";
    if (mode === "secret") {
      text = t("present.secret");
      detail = t("present.secret_detail", { name: ctx.name(p.by) || t("present.someone") });
    } else if (mode === "locked") {
      text = t("doc.locked");
      detail = t("doc.locked_detail");
    } else if (mode === "waiting") {
      text = t("present.waiting");
      detail = t("present.waiting_detail");
    } else if (mode === "page" && els.img.dataset.failed) {
      text = t("viewer.page_failed");
    }
    els.message.hidden = !text;
    els.message.dataset.mode = mode;
    if (text) {
      replace(els.message,
        h("span.viewer-message-icon", null, icon(mode === "waiting" ? "screen" : "lock", 48)),
        h("p.viewer-message-text", { testid: "viewer-message-text" }, text),
        detail ? h("p.viewer-message-detail", null, detail) : null);
    }
  }

  function sizeCanvas(c) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(stageW * dpr);
    const hh = Math.round(stageH * dpr);
    if (c.width !== w || c.height !== hh) {
      c.width = w;
      c.height = hh;
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, stageW, stageH);
    return g;
  }

  function clearCanvas(c) {
    const g = c.getContext("2d");
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, c.width, c.height);
  }

  function paintBase() {
    const d = doc();
    if (!box || !d || mode !== "page") return;
    const g = sizeCanvas(els.base);
    const shared = sharedOnPage(d);
    const mine = privateOnPage(d);
    drawMarks(g, shared, box);
    drawMarks(g, mine, box);
    els.base.dataset.annotations = String(shared.length + mine.length);
    els.base.dataset.shared = String(shared.length);
    els.base.dataset.private = String(mine.length);
    els.base.dataset.pending = String(shared.filter((a) => a.pending).length +
      mine.filter((a) => a.pending).length);
    els.base.dataset.notesLoaded = String(!notes.failed(d.id));
    els.base.dataset.sharedLoaded = String(marksOn(state(), d.id, d.version, page) !== null);
  }

  function paintLive() {
    const d = doc();
    if (!box || !d || mode !== "page") return;
    const g = sizeCanvas(els.live);
    const others = liveOnPage(d);
    drawMarks(g, others, box, { faded: true });
    if (drawing && drawing.docId === d.id && drawing.page === page) drawMarks(g, [drawing], box);
    els.live.dataset.live = String(others.length);
  }

  function positionLaser() {
    if (!els.laser) return;
    const d = doc();
    const dot = presenting ? pointer.shown
      : laser && d && laser.document_id === d.id && laser.page === page ? laser : null;
    if (!dot || !box || mode !== "page") {
      els.laser.hidden = true;
      return;
    }
    els.laser.hidden = false;
    els.laser.style.transform =
      `translate(${box.left + dot.x * box.width}px, ${box.top + dot.y * box.height}px)`;
  }

  // ---- navigation ----

  function turn(delta) {
    goTo(page + delta);
  }

  function goTo(n) {
    const d = doc();
    if (!d || mode !== "page" || projector) return;
    const target = clamp(n, 1, pageCount(d));
    if (target === page) return;
    browsed();
    if (drawing) strokeEnd();
    if (presenting) hideMyLaser();
    page = target;
    view = { zoom: view.zoom, x: 0.5, y: 0 }; // the top of the new page
    paintChrome();
    paintStage();
    scheduleMove();
  }

  function panBy(dx, dy) {
    if (!box || mode !== "page" || projector) return;
    browsed();
    const x = box.x - dx / box.width;
    const y = box.y - dy / box.height;
    view = { zoom: view.zoom, x, y };
    paintStage();
    // Keep the clamped centre, so that panning past an edge does not store a far point.
    if (box) view = { zoom: view.zoom, x: box.x, y: box.y };
    scheduleMove();
  }

  function zoomBy(factor, sx, sy) {
    zoomTo(view.zoom * factor, sx, sy);
  }

  function zoomTo(z, sx = stageW / 2, sy = stageH / 2) {
    if (!box || mode !== "page" || projector) return;
    const zoom = clamp(z, MIN_ZOOM, MAX_ZOOM);
    if (zoom === view.zoom) return;
    browsed();
    // Keep the page point under (sx, sy) where it is.
    const px = (sx - box.left) / box.width;
    const py = (sy - box.top) / box.height;
    const width = stageW * zoom;
    const height = width * (box.height / box.width);
    const x = px + (stageW / 2 - sx) / width;
    const y = py + (stageH / 2 - sy) / height;
    view = { zoom, x, y };
    paintChrome();
    paintStage();
    if (box) view = { zoom, x: box.x, y: box.y };
    scheduleMove();
  }

  function onKey(ev) {
    if (ev.defaultPrevented || document.querySelector("dialog[open]")) return;
    const target = ev.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
      return;
    }
    if (ev.key === "ArrowRight" || ev.key === "PageDown") {
      ev.preventDefault();
      turn(1);
    } else if (ev.key === "ArrowLeft" || ev.key === "PageUp") {
      ev.preventDefault();
      turn(-1);
    } else if (ev.key === "Escape" && fullscreen && !projector) {
      setFullscreen(false);
    }
  }

  // ---- fullscreen: only the page ----

  function setFullscreen(on) {
    if (projector) on = true;
    if (fullscreen === on) return;
    fullscreen = on;
    if (on) {
      tool = tool === "laser" ? tool : "none";
      const root = document.documentElement;
      if (root.requestFullscreen && !document.fullscreenElement) {
        root.requestFullscreen().catch(() => {
          /* not allowed here: the viewer still fills the window */
        });
      }
      pokeChrome();
    } else if (document.fullscreenElement && document.exitFullscreen) {
      document.exitFullscreen().catch(() => {});
    }
    schedule();
  }

  function onFullscreenChange() {
    if (!document.fullscreenElement && fullscreen && !projector) setFullscreen(false);
  }
  document.addEventListener("fullscreenchange", onFullscreenChange);

  /** Fullscreen: a tap shows the way out for a few seconds. */
  function pokeChrome() {
    if (!fullscreen || projector) return;
    el.classList.add("show-exit");
    clearTimeout(chromeTimer);
    chromeTimer = setTimeout(() => el.classList.remove("show-exit"), 4000);
  }

  return {
    el,
    get isOpen() {
      return isOpen;
    },
    get following() {
      return following;
    },
    openDocument,
    /**
     * Open a document and present it (presenters).
     * @param {number} id
     */
    presentDocument(id) {
      if (!presenting) following = false;
      present(id, 1);
      show(id, 1);
    },
    follow,
    close,
    update,
    onEvent,
    onVolatile,
    /** The connection came back: reload private marks that failed to load. */
    reconnected() {
      if (docId != null && notes.failed(docId)) notes.load(docId, true);
      move.sent = null;
      scheduleMove();
    },
    destroy() {
      notes.stop();
      cancelAnimationFrame(frame);
      clearTimeout(move.timer);
      for (const timer of marksTimers.values()) clearTimeout(timer);
      clearTimeout(pointer.timer);
      clearTimeout(inkTimer);
      clearInterval(sweepTimer);
      clearTimeout(chromeTimer);
      if (input.current) input.current.destroy();
      if (resizer) resizer.disconnect();
      window.removeEventListener("keydown", onKey);
      document.removeEventListener("fullscreenchange", onFullscreenChange);
      document.body.classList.remove("has-viewer");
      el.remove();
    },
  };
}

function round3(v) {
  return Math.round(v * 1000) / 1000;
}

function round4(v) {
  return Math.round(v * 1e4) / 1e4;
}

function near(a, b) {
  return Math.abs((a ?? 0) - (b ?? 0)) < 0.0015;
}
