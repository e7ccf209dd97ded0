// One websocket to one meeting room: join, resume with `since`, heartbeat, reconnect with
// backoff and jitter, and commands that survive a reconnect (resent with the same id; the
// server applies a retried id only once).

import { syncClock } from "./format.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const JITTER = 0.5; // ± 50 %
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 10000;
const OPEN_WITHIN_MS = 10000;
const RETRYABLE_TRIES = 3;
// The server refuses more than 20 messages a second (bursts of 60) from one connection, and
// a refused command is lost on the wire: volatile messages (the laser pointer, live ink)
// get at most this share, so commands and pings always fit.
const VOLATILE_PER_S = 12;
const VOLATILE_BURST = 12;

// Close codes after which reconnecting cannot help.
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_REMOVED = 4403;
// Join refusals that are final for this page.
// Refusals a reconnect cannot cure: the room is not shown, its message is. `log_broken` and
// `count_mismatch`: the server found the meeting's record tampered with and does not open it.
const FATAL_JOIN = new Set(["not_participant", "not_found", "unauthenticated", "forbidden",
  "log_broken", "count_mismatch"]);

let counter = 0;
const pageKey = randomHex(6);

function randomHex(bytes) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a); // available on plain http too, unlike randomUUID
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A fresh client command id (≤ 64 characters, unique per page and time).
 * @returns {string}
 */
export function newCommandId() {
  counter += 1;
  return `${pageKey}-${Date.now().toString(36)}-${counter}`;
}

/**
 * The websocket URL of this server.
 * @returns {string}
 */
export function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

/**
 * The delay before reconnect attempt number `attempt` (0-based): 0.5 s doubling up to
 * 15 s, each with ±50 % jitter so that a room full of tablets does not reconnect at once.
 * @param {number} attempt
 * @param {() => number} [random]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

/** A refused command: the server's code and bilingual message. */
export class CommandRejected extends Error {
  /**
   * @param {object} reply the `rejected` message
   */
  constructor(reply) {
    super(reply.code);
    this.code = reply.code;
    this.serverMessage = reply.message;
    this.retryable = Boolean(reply.retryable);
  }
}

/**
 * @typedef {Object} ConnectionStatus
 * @property {"connecting"|"online"|"offline"|"closed"} state
 * @property {number|null} retryAt epoch ms of the next attempt (offline)
 * @property {string|null} reason why it closed for good ("unauthenticated", "removed", a code)
 * @property {object|null} message the server's bilingual message when closed
 * @property {number} pending commands sent but not answered yet
 * @property {boolean} everOnline whether this page has been joined before
 */

/** The websocket of one meeting room. */
export class RoomConnection {
  /**
   * @param {Object} options
   * @param {number} options.meetingId
   * @param {() => (number|null)} options.since last seq seen, or null for a fresh snapshot
   * @param {(message: object) => void} options.onMessage every message but pong/ack/rejected
   * @param {(status: ConnectionStatus) => void} options.onStatus
   * @param {string} [options.url]
   */
  constructor({ meetingId, since, onMessage, onStatus, url }) {
    this.meetingId = meetingId;
    this.since = since;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.url = url || socketUrl();
    this.ws = null;
    this.joined = false;
    this.stopped = false;
    this.everOnline = false;
    this.attempt = 0;
    this.retryAt = null;
    /** @type {Map<string, {message: object, promise: Promise<object>, resolve: Function, reject: Function, tries: number}>} */
    this.pending = new Map();
    this.timers = {};
    this.volatileTokens = VOLATILE_BURST;
    this.volatileStamp = 0;
    this.onBrowserOnline = () => {
      if (!this.joined && !this.stopped) this.reconnectNow();
    };
    // The device lost its network: the socket may be dead without knowing; check at once.
    this.onBrowserOffline = () => {
      if (this.joined) this.ping();
    };
    // A tablet waking up may hold a socket that died while it slept: check at once.
    this.onVisible = () => {
      if (document.visibilityState !== "visible" || this.stopped) return;
      if (this.joined) this.ping();
      else this.reconnectNow();
    };
  }

  /** Open the connection (and keep it open until `stop`). */
  start() {
    window.addEventListener("online", this.onBrowserOnline);
    window.addEventListener("offline", this.onBrowserOffline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  /** Close for good: leaving the room or signing out. */
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onBrowserOnline);
    window.removeEventListener("offline", this.onBrowserOffline);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.clearTimers();
    this.discardSocket(1000, "leaving");
    for (const p of this.pending.values()) p.reject(new Error("stopped"));
    this.pending.clear();
  }

  /** Whether the room is joined and commands go out at once. */
  get online() {
    return this.joined;
  }

  /** Skip the wait and try to reconnect immediately. */
  reconnectNow() {
    if (this.stopped) return;
    this.clearTimers();
    this.discardSocket(4000, "reconnect");
    this.connect();
  }

  /**
   * Send a room command. It stays pending until answered, and is resent with the same id
   * after a reconnect. Every ack settles it, with or without a `seq` (a `vote.cast` ack
   * carries the ballot's `receipt` instead).
   * @param {string} name e.g. "floor.request"
   * @param {object} [args]
   * @param {string} [id] the command id: a caller that keeps it (a ballot kept across a
   *   reload) sends it again with the same id, so the server never applies it twice
   * @returns {Promise<object>} the ack; rejects with CommandRejected
   */
  command(name, args = {}, id = newCommandId()) {
    const waiting = this.pending.get(id);
    if (waiting) return waiting.promise; // already on its way: one answer for both callers
    const message = { type: "command", id, meeting: this.meetingId, name, args };
    const entry = { message, tries: 0 };
    entry.promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.pending.set(id, entry);
    if (this.joined) this.send(message);
    this.emitStatus();
    return entry.promise;
  }

  /**
   * Whether a volatile message could go out now (joined, and within the budget).
   * @returns {boolean}
   */
  volatileReady() {
    if (!this.joined) return false;
    const now = performance.now();
    this.volatileTokens = Math.min(VOLATILE_BURST,
      this.volatileTokens + ((now - this.volatileStamp) / 1000) * VOLATILE_PER_S);
    this.volatileStamp = now;
    return this.volatileTokens >= 1;
  }

  /**
   * Send a volatile message (never stored, never resent): only when joined and within the
   * budget; the caller keeps what was not sent and tries again (e.g. unsent ink points).
   * @param {string} kind "pointer" or "ink"
   * @param {object} data
   * @returns {boolean} whether it was sent
   */
  volatile(kind, data) {
    if (!this.volatileReady()) return false;
    if (!this.send({ type: "volatile", meeting: this.meetingId, kind, data })) return false;
    this.volatileTokens -= 1;
    return true;
  }

  // ---- socket life ----

  connect() {
    if (this.stopped) return;
    this.joined = false;
    this.emitStatus("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    clearTimeout(this.timers.open);
    this.timers.open = setTimeout(() => {
      if (this.ws === ws) this.lost();
    }, OPEN_WITHIN_MS);
    ws.onopen = () => {
      clearTimeout(this.timers.open);
      const join = { type: "join", meeting: this.meetingId };
      const since = this.since();
      if (since !== null && since !== undefined) join.since = since;
      this.send(join);
      this.startHeartbeat();
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ev.code);
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  receive(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    switch (m.type) {
      case "hello":
        if (m.server_time) syncClock(m.server_time);
        break;
      case "snapshot":
      case "resumed":
        this.onMessage(m);
        this.joinedNow();
        return;
      case "pong":
        this.pong(m);
        return;
      case "ack":
        this.settle(m.id, (p) => p.resolve(m));
        return;
      case "rejected":
        this.rejected(m);
        return;
      case "error":
        if (m.ref === "join" || m.code === "unauthenticated") {
          if (FATAL_JOIN.has(m.code)) {
            this.fail(m.code, m.message);
          } else {
            this.lost(); // e.g. store_unavailable: try again later
          }
          return;
        }
        break;
      default:
        break;
    }
    this.onMessage(m);
  }

  joinedNow() {
    this.joined = true;
    this.everOnline = true;
    this.attempt = 0;
    this.retryAt = null;
    for (const p of this.pending.values()) this.send(p.message); // same ids: idempotent
    this.emitStatus("online");
  }

  rejected(m) {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.retryable && p.tries < RETRYABLE_TRIES) {
      p.tries += 1;
      setTimeout(() => {
        if (this.pending.has(m.id) && this.joined) this.send(p.message);
      }, backoffDelay(p.tries));
      return;
    }
    this.settle(m.id, (q) => q.reject(new CommandRejected(m)));
  }

  settle(id, fn) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    fn(p);
    this.emitStatus();
  }

  startHeartbeat() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => this.ping(), PING_EVERY_MS);
  }

  /** Send an app-level ping; no pong within 10 s means the link is dead. */
  ping() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.send({ type: "ping", t: Date.now() });
    if (!this.timers.pong) {
      this.timers.pong = setTimeout(() => {
        this.timers.pong = null;
        this.lost();
      }, PONG_WITHIN_MS);
    }
  }

  pong(m) {
    clearTimeout(this.timers.pong);
    this.timers.pong = null;
    const sent = typeof m.t === "number" ? m.t : null;
    if (sent !== null && m.server_time) {
      const now = Date.now();
      syncClock(m.server_time, sent + (now - sent) / 2);
    }
  }

  /** The connection is dead (no pong, no open, a refused join): drop it and retry. */
  lost() {
    this.discardSocket(4000, "heartbeat lost");
    this.closed(null);
  }

  closed(code) {
    this.clearTimers();
    this.ws = null;
    this.joined = false;
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHENTICATED) {
      this.fail("unauthenticated", null);
      return;
    }
    if (code === CLOSE_REMOVED) {
      this.fail("removed", null);
      return;
    }
    this.scheduleReconnect();
  }

  fail(reason, message) {
    this.stopped = true;
    this.clearTimers();
    this.discardSocket(1000, reason);
    this.emitStatus("closed", reason, message);
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.connect(), delay);
    this.emitStatus("offline");
  }

  /** Forget the current socket without waiting for a closing handshake on a dead network. */
  discardSocket(code, reason) {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      /* already closing */
    }
  }

  clearTimers() {
    clearTimeout(this.timers.open);
    clearTimeout(this.timers.pong);
    this.timers.pong = null;
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.ping);
  }

  emitStatus(state, reason = null, message = null) {
    if (state) this.state = state;
    this.onStatus({
      state: this.state,
      retryAt: this.state === "offline" ? this.retryAt : null,
      reason,
      message,
      pending: this.pending.size,
      everOnline: this.everOnline,
    });
  }
}
