// Load generator for bench/vote_burst.py: many voters, each on its own connection, each
// casting one ballot (`vote.cast`) at a random moment within a short window, retrying with
// the same command id until it is acknowledged (ack timeout, dropped connection, retryable
// refusal), and reconnecting with back-off when the server goes away.
//
// Usage: node vote.mjs CONFIG.json
//   CONFIG: {label, urls, voters: [{token, user_id, node}], meeting, concurrency,
//            joinTimeoutMs, attempts, maxSeconds}
//   Voter i connects to `${urls[voters[i].node]}/ws` with the subprotocols `['bearer', voters[i].token]` (also when it
//   reconnects), sends {"type":"join","meeting":M} and counts as joined on its `snapshot`.
//   A joined voter whose connection closes reconnects (0.25 s doubling to 2 s, ± 50 %)
//   until the generator quits.
//
// Protocol with the parent, one JSON object per line:
//   stdin:  {"cmd":"checkin",ackTimeoutMs,startAt?,windowMs?}
//             every voter sends `attendance.check_in` (self) and waits for the answer: at
//             startAt + U(0, windowMs) (epoch ms) when given, else all at once (100 per
//             10 ms). The report counts the bytes each voter received from the first
//             check-in sent until the last answer (every frame, presence included).
//           {"cmd":"vote",pollId,options,startAt,windowMs,ackTimeoutMs}
//             voter i picks a random option id (one choice), draws a receipt (XXXXX-XXXXX,
//             Crockford base 32, 50 random bits) and sends `vote.cast` {poll_id, choices,
//             receipt} at startAt + U(0, windowMs) (epoch ms); on no answer within
//             ackTimeoutMs, on a dropped connection (after reconnecting) or on a
//             `retryable` refusal it sends the same command (same id, same receipt) again.
//             Done once acknowledged or refused. An ack whose receipt is not the one sent
//             is flagged (receipt_mismatch).
//             With `ballotsFile` (an encrypted secret poll): a JSON list, in this
//             generator's voters' order, of {choice, ballot, receipt} made beforehand;
//             voter i sends `vote.cast` {poll_id, ballot} instead, and its receipt is the
//             ballot's tracker (what the ack must carry).
//           {"cmd":"report",waitPublishedMs}
//             stop retrying; wait (at most waitPublishedMs) until every connected voter has
//             seen `poll.published` for the poll, then report every voter's ballot.
//           {"cmd":"quit"}
//   stdout: {"type":"progress",…} (joined, failed; during a vote also pollId, sent, acked,
//            rejected, down: voters without an open joined connection), every 100 ms in a vote
//           {"type":"ready",joined,failed,errors}
//           {"type":"checkedin",acked,rejected:{code:n},timeouts,ackMs:[…],doneMs:[…],
//            bytes:[…],frames:[…]}  per acked check-in: its ack's latency and the time
//             from startAt to its ack; per voter: bytes and frames received meanwhile
//           {"type":"voted",acked,rejected,clients}      every ballot answered
//           {"type":"ballots",fields:[…],rows:[[…]…],errors:{code:n},reconnects,
//            reconnectErrors:{reason:n},closes:{code:n},pollEvents:{kind:n}}
//             one row per voter, in `fields` order (see BALLOT_FIELDS).
// Diagnostics go to stderr.

import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import {
  closeAllAndExit,
  loadConfig,
  logger,
  messageType,
  now,
  rampUp,
  report,
  serveCommands,
  sleep,
} from './_common.mjs';

const cfg = loadConfig();
const voters = cfg.voters;
const N = voters.length;
const log = logger(cfg.label);
const nonce = Math.random().toString(36).slice(2, 8);

/** @type {(WebSocket|null)[]} each voter's current joined socket */
const sockets = new Array(N).fill(null);
const everJoined = new Uint8Array(N);
const joinedAt = new Float64Array(N).fill(NaN); // the last successful join (epoch ms)
const reconnecting = new Uint8Array(N);
// Counted per vote (reset when one starts): errors, reconnections, close codes.
let serverErrors = {};
let reconnectErrors = {};
let closes = {};
let reconnects = 0;
let pollEvents = {}; // poll.* event kinds the voters received during the vote, by kind
let quitting = false;
let closeLogs = 0;

/** Answers awaited by command id: id -> (msg) => void */
const waiting = new Map();

// ---- one ballot per voter (the current poll's) ----

const IDLE = 0; // nothing to send yet
const DUE = 1; // its moment came while the connection was down: send on join
const SENT = 2; // sent, no answer yet
const ACKED = 3;
const REJECTED = 4;
const STATE_NAMES = ['idle', 'due', 'sent', 'acked', 'rejected'];

let poll = null; // {pollId, ackTimeoutMs, stopped, settledCount, reported, progress}
const ballots = new Array(N).fill(null);

const BALLOT_FIELDS = [
  'index',
  'user_id',
  'node',
  'choice',
  'state',
  'receipt',
  'scheduled_at',
  'first_sent_at',
  'acked_at',
  'sends',
  'acks',
  'duplicate_acks',
  'receipt_mismatch',
  'reject_code',
  'published_at',
  'resends_timeout',
  'resends_reconnect',
  'resends_retryable',
  'first_ack_duplicate',
  'joined_at',
];

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A fresh receipt as a voter's device draws it: XXXXX-XXXXX, 50 random bits. */
function newReceipt() {
  let code = '';
  for (let k = 0; k < 10; k++) code += CROCKFORD[randomInt(32)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

function newBallot(i, msg, made) {
  return {
    choice: made ? made.choice : msg.options[Math.floor(Math.random() * msg.options.length)],
    encrypted: made ? made.ballot : null,
    id: `v${msg.pollId}-${cfg.label}-${i}-${nonce}`.slice(0, 64),
    state: IDLE,
    receipt: made ? made.receipt : newReceipt(), // drawn once: every resend carries it
    scheduledAt: msg.startAt + Math.random() * msg.windowMs,
    firstSentAt: null,
    ackedAt: null,
    sends: 0,
    acks: 0,
    duplicateAcks: 0,
    firstAckDuplicate: false,
    receiptMismatch: false,
    rejectCode: null,
    publishedAt: null,
    resendsTimeout: 0,
    resendsReconnect: 0,
    resendsRetryable: 0,
    timer: null,
  };
}

function isOpen(i) {
  const ws = sockets[i];
  return ws !== null && ws.readyState === WebSocket.OPEN;
}

/** Sends voter i's ballot now if its connection is up; otherwise it goes out on join. */
function sendBallot(i) {
  const b = ballots[i];
  if (!b || b.state === ACKED || b.state === REJECTED || poll.stopped) return;
  clearTimeout(b.timer);
  if (!isOpen(i)) {
    if (b.state === IDLE) b.state = DUE;
    return;
  }
  const t = now();
  if (b.firstSentAt === null) b.firstSentAt = t;
  b.sends += 1;
  b.state = SENT;
  sockets[i].send(
    JSON.stringify({
      type: 'command',
      id: b.id,
      meeting: cfg.meeting,
      name: 'vote.cast',
      args: b.encrypted
        ? { poll_id: poll.pollId, ballot: b.encrypted }
        : { poll_id: poll.pollId, choices: [b.choice], receipt: b.receipt },
    }),
  );
  b.timer = setTimeout(() => {
    if (b.state !== SENT || poll.stopped) return;
    b.resendsTimeout += 1;
    sendBallot(i);
  }, poll.ackTimeoutMs);
}

function settle(i) {
  poll.settledCount += 1;
  if (poll.settledCount >= N) reportVoted();
}

function onBallotAnswer(i, msg) {
  const b = ballots[i];
  const t = now();
  if (msg.type === 'ack') {
    b.acks += 1;
    if (msg.duplicate) b.duplicateAcks += 1;
    if (msg.receipt !== b.receipt) b.receiptMismatch = true; // the ack must echo it
    if (b.state === ACKED) return; // a second answer (a resend crossed the first ack)
    clearTimeout(b.timer);
    if (b.state === REJECTED) {
      // Refused, then acknowledged: record it, it is the last word on this ballot.
      b.rejectCode = `${b.rejectCode}+ack`;
    }
    b.state = ACKED;
    b.firstAckDuplicate = Boolean(msg.duplicate);
    b.ackedAt = t;
    if (!b.rejectCode) settle(i);
    return;
  }
  // rejected
  if (b.state === ACKED) {
    b.rejectCode = `ack+${msg.code}`; // refused after an ack: evidence of trouble
    return;
  }
  if (msg.retryable && !poll.stopped) {
    clearTimeout(b.timer);
    b.resendsRetryable += 1;
    b.timer = setTimeout(() => sendBallot(i), 200 + Math.random() * 300);
    return;
  }
  if (b.state === REJECTED) return;
  clearTimeout(b.timer);
  b.state = REJECTED;
  b.rejectCode = msg.code;
  settle(i);
}

function reportVoted() {
  if (poll.reported) return;
  poll.reported = true;
  let acked = 0;
  let rejected = 0;
  for (const b of ballots) {
    if (b.state === ACKED) acked += 1;
    else if (b.state === REJECTED) rejected += 1;
  }
  report({ type: 'voted', acked, rejected, clients: N });
}

function voteProgress() {
  let sent = 0;
  let acked = 0;
  let rejected = 0;
  let down = 0;
  for (let i = 0; i < N; i++) {
    const b = ballots[i];
    if (b.sends > 0) sent += 1;
    if (b.state === ACKED) acked += 1;
    else if (b.state === REJECTED) rejected += 1;
    if (!isOpen(i)) down += 1;
  }
  report({
    type: 'progress',
    phase: 'vote',
    pollId: poll.pollId,
    joined: N - down,
    failed: 0,
    sent,
    acked,
    rejected,
    down,
  });
}

function vote(msg) {
  if (poll && !poll.stopped) {
    log('a vote is already running');
    return;
  }
  serverErrors = {};
  reconnectErrors = {};
  closes = {};
  reconnects = 0;
  pollEvents = {};
  poll = {
    pollId: msg.pollId,
    ackTimeoutMs: msg.ackTimeoutMs,
    stopped: false,
    settledCount: 0,
    reported: false,
    progress: setInterval(voteProgress, 100),
  };
  const made = msg.ballotsFile ? JSON.parse(readFileSync(msg.ballotsFile, 'utf8')) : null;
  if (made && made.length !== N) {
    log(`ballotsFile has ${made.length} ballots for ${N} voters`);
    quit(1);
    return;
  }
  for (let i = 0; i < N; i++) {
    const b = newBallot(i, msg, made ? made[i] : null);
    ballots[i] = b;
    b.timer = setTimeout(() => sendBallot(i), Math.max(0, b.scheduledAt - now()));
  }
}

async function reportBallots(msg) {
  if (!poll) {
    report({ type: 'ballots', fields: BALLOT_FIELDS, rows: [], errors: serverErrors });
    return;
  }
  poll.stopped = true;
  clearInterval(poll.progress);
  for (const b of ballots) clearTimeout(b.timer);
  const until = now() + (msg.waitPublishedMs || 0);
  for (;;) {
    let missing = 0;
    for (let i = 0; i < N; i++) if (isOpen(i) && ballots[i].publishedAt === null) missing += 1;
    if (missing === 0 || now() >= until) break;
    await sleep(50);
  }
  const round = (x) => (x === null || Number.isNaN(x) ? null : Math.round(x * 100) / 100);
  const rows = ballots.map((b, i) => [
    i,
    voters[i].user_id,
    voters[i].node,
    b.choice,
    STATE_NAMES[b.state],
    b.receipt,
    round(b.scheduledAt),
    round(b.firstSentAt),
    round(b.ackedAt),
    b.sends,
    b.acks,
    b.duplicateAcks,
    b.receiptMismatch,
    b.rejectCode,
    round(b.publishedAt),
    b.resendsTimeout,
    b.resendsReconnect,
    b.resendsRetryable,
    b.firstAckDuplicate,
    round(joinedAt[i]),
  ]);
  report({
    type: 'ballots',
    fields: BALLOT_FIELDS,
    rows,
    errors: serverErrors,
    reconnects,
    reconnectErrors,
    closes,
    pollEvents,
  });
}

// ---- check-in (eligibility "present") ----

async function checkin(msg) {
  const stats = { acked: 0, rejected: {}, timeouts: 0, ackMs: [], doneMs: [] };
  const windowMs = msg.windowMs || 0;
  const startAt = msg.startAt || now();
  received = { bytes: new Float64Array(N), frames: new Uint32Array(N) };
  const one = (i) =>
    new Promise((resolve) => {
      if (!isOpen(i)) {
        stats.rejected.not_connected = (stats.rejected.not_connected || 0) + 1;
        resolve();
        return;
      }
      const id = `in-${cfg.label}-${i}-${nonce}`;
      const sentAt = now();
      const timer = setTimeout(() => {
        waiting.delete(id);
        stats.timeouts += 1;
        resolve();
      }, msg.ackTimeoutMs);
      waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.type === 'ack') {
          stats.acked += 1;
          const t = now();
          stats.ackMs.push(Math.round((t - sentAt) * 10) / 10);
          stats.doneMs.push(Math.round(t - startAt));
        } else stats.rejected[answer.code] = (stats.rejected[answer.code] || 0) + 1;
        resolve();
      });
      sockets[i].send(
        JSON.stringify({
          type: 'command',
          id,
          meeting: cfg.meeting,
          name: 'attendance.check_in',
          args: {},
        }),
      );
    });
  const all = [];
  if (windowMs > 0) {
    for (let i = 0; i < N; i++) {
      const at = startAt + randomInt(0, windowMs + 1);
      all.push(sleep(Math.max(0, at - now())).then(() => one(i)));
    }
  } else {
    for (let i = 0; i < N; i++) {
      all.push(one(i));
      if (i % 100 === 99) await sleep(10); // spread the burst a little
    }
  }
  await Promise.all(all);
  const counted = received;
  received = null;
  report({ type: 'checkedin', ...stats, bytes: Array.from(counted.bytes),
           frames: Array.from(counted.frames) });
}

/** While check-ins are measured: what each voter received (bytes, frames). */
let received = null;

// ---- connections ----

function onMessage(i, data) {
  if (received) {
    received.bytes[i] += data.length;
    received.frames[i] += 1;
  }
  const type = messageType(data);
  if (type === 'presence' || type === 'pong' || type === 'hello') return;
  let msg;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return;
  }
  switch (type) {
    case 'ack':
    case 'rejected': {
      const b = ballots[i];
      if (b && msg.id === b.id) {
        onBallotAnswer(i, msg);
        return;
      }
      const resolve = waiting.get(msg.id);
      if (resolve) {
        waiting.delete(msg.id);
        resolve(msg);
      }
      return;
    }
    case 'event':
      onEvent(i, msg);
      return;
    case 'events':
      for (const e of msg.events) onEvent(i, e);
      return;
    case 'error':
      serverErrors[msg.code] = (serverErrors[msg.code] || 0) + 1;
      return;
    default:
      return;
  }
}

function onEvent(i, e) {
  if (!poll || typeof e.kind !== 'string' || !e.kind.startsWith('poll.')) return;
  pollEvents[e.kind] = (pollEvents[e.kind] || 0) + 1;
  if (e.kind !== 'poll.published') return;
  const b = ballots[i];
  if (b && e.data && e.data.poll_id === poll.pollId && b.publishedAt === null) {
    b.publishedAt = now();
  }
}

/** One connection attempt: resolves to null once joined (snapshot), or an error reason. */
function connectOnce(i) {
  return new Promise((resolve) => {
    const v = voters[i];
    const url = `${cfg.urls[v.node]}/ws`;  // the token: the `bearer` subprotocol, never the URL
    let settled = false;
    const ws = new WebSocket(url, ["bearer", v.token], {
      perMessageDeflate: false,
      handshakeTimeout: cfg.joinTimeoutMs,
      maxPayload: 256 * 1024 * 1024,
    });
    const done = (reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (reason !== null) ws.terminate();
      resolve(reason);
    };
    const timer = setTimeout(() => done('join_timeout'), cfg.joinTimeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'join', meeting: cfg.meeting })));
    ws.on('error', (err) => done(`error:${err.code || err.message}`));
    ws.on('close', (code) => {
      if (!settled) {
        done(`close:${code}`);
        return;
      }
      if (sockets[i] !== ws) return;
      sockets[i] = null;
      if (quitting) return;
      closes[code] = (closes[code] || 0) + 1;
      if (++closeLogs <= 5) log(`voter ${i} closed by the server with ${code}`);
      reconnect(i);
    });
    ws.on('message', (data) => {
      if (settled) {
        if (sockets[i] === ws) onMessage(i, data);
        return;
      }
      const type = messageType(data);
      if (type === 'snapshot') {
        sockets[i] = ws;
        everJoined[i] = 1;
        joinedAt[i] = now();
        done(null);
        onJoined(i);
      } else if (type === 'error' || type === 'rejected') {
        let code = '?';
        try {
          code = JSON.parse(data.toString('utf8')).code;
        } catch {
          // keep '?'
        }
        done(`${type}:${code}`);
      }
    });
  });
}

/** A (re)joined voter sends the ballot it still owes: due, or sent and unanswered. */
function onJoined(i) {
  const b = ballots[i];
  if (!b || !poll || poll.stopped) return;
  if (b.state === DUE) {
    sendBallot(i);
  } else if (b.state === SENT) {
    b.resendsReconnect += 1;
    sendBallot(i);
  }
}

async function reconnect(i) {
  if (reconnecting[i] || quitting) return;
  reconnecting[i] = 1;
  const b = ballots[i];
  if (b && b.state === SENT) clearTimeout(b.timer); // resent on join instead
  reconnects += 1;
  for (let attempt = 1; !quitting; attempt++) {
    const backoff = Math.min(2000, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random());
    await sleep(backoff);
    if (quitting) break;
    const reason = await connectOnce(i);
    if (reason === null) break;
    reconnectErrors[reason] = (reconnectErrors[reason] || 0) + 1;
  }
  reconnecting[i] = 0;
}

function quit(code) {
  if (quitting) return;
  quitting = true;
  closeAllAndExit(sockets, code);
}

serveCommands(
  {
    vote,
    checkin: (msg) => {
      checkin(msg).catch((err) => log(`checkin failed: ${err.stack || err}`));
    },
    report: (msg) => {
      reportBallots(msg).catch((err) => {
        log(`report failed: ${err.stack || err}`);
        quit(1);
      });
    },
    quit: () => quit(0),
  },
  (code) => quit(typeof code === 'number' ? code : 0),
  cfg.maxSeconds,
  log,
);

rampUp(N, cfg.concurrency, cfg.attempts, connectOnce, log).catch((err) => {
  log(`ramp failed: ${err.stack || err}`);
  quit(1);
});
