// Load generator for bench/reconnect_storm.py: many clients that join, then all drop their
// connections abruptly and reconnect with `since`, recording every event seq they see.
//
// Usage: node storm.mjs CONFIG.json
//   CONFIG: {label, urls, tokens, meeting, concurrency, joinTimeoutMs, attempts, maxSeconds}
//   Client i connects to `${urls[i % urls.length]}/ws` with the subprotocols `['bearer', tokens[i]]` (also when it
//   reconnects), sends {"type":"join","meeting":M} and counts as joined on its `snapshot`.
//
// Protocol with the parent, one JSON object per line:
//   stdin:  {"cmd":"storm",startAt,windowMs,jitterMs,attempts,deadlineMs}
//             client i terminates its TCP connection (ws.terminate(): no close handshake)
//             at startAt + U(0, windowMs) (epoch ms), waits U(0, jitterMs), reconnects and
//             sends join with since = the last seq it saw; it is done on `resumed` (or a
//             fresh `snapshot`). Failed attempts back off (0.25 s doubling to 2 s, plus
//             jitter), at most `attempts` of them, all within `deadlineMs` of startAt.
//           {"cmd":"check",finalSeq,waitMs}
//             wait (at most waitMs) until every client has seen finalSeq, then check each
//             client's seqs: every seq in (its first snapshot's seq, finalSeq] seen exactly
//             once (seqs covered by a later fresh snapshot count as seen).
//           {"cmd":"quit"}
//   stdout: {"type":"progress",…} about once a second
//           {"type":"ready",joined,failed,errors}      all clients joined (or gave up)
//           {"type":"stormed",dropped,resumed,snapshots,failed,firstDrop,lastDrop,
//            lastResume,reconnectMs:[…],rejoinMs:[…],attempts:{n:count},errors:{reason:count}}
//             reconnectMs: drop → resumed (jitter included); rejoinMs: first reconnection
//             attempt → resumed
//           {"type":"checked",clients,missed,duplicates,clientsMissing,clientsWithDuplicates,
//            behind,closed,examples:[…]}
// Diagnostics go to stderr.

import { WebSocket } from 'ws';
import {
  closeAllAndExit,
  loadConfig,
  logger,
  now,
  rampUp,
  report,
  serveCommands,
  sleep,
} from './_common.mjs';

const cfg = loadConfig();
const N = cfg.tokens.length;
const log = logger(cfg.label);

const JOINING = 0;
const JOINED = 1;
const DROPPED = 2;
const REJOINING = 3;
const RESUMED = 4;
const FAILED = 5;

/** @type {(WebSocket|null)[]} the client's current socket; frames from any other are ignored */
const sockets = new Array(N).fill(null);
const phase = new Uint8Array(N);
const baseSeq = new Float64Array(N); // seq of the first snapshot: everything up to it is known
const lastSeq = new Float64Array(N);
/** @type {number[][]} every event seq each client received, over all its connections */
const seen = Array.from({ length: N }, () => []);
/** @type {([number, number][]|null)[]} seq ranges covered by a fresh snapshot on reconnect */
const covered = new Array(N).fill(null);
const dropAt = new Float64Array(N).fill(NaN);
const resumedAt = new Float64Array(N).fill(NaN);
const rejoinAt = new Float64Array(N).fill(NaN); // first reconnection attempt (after the jitter)
const resumeKind = new Uint8Array(N); // 1 resumed, 2 snapshot
const attemptsUsed = new Uint8Array(N);
const closedUnexpectedly = new Uint8Array(N);
const stormErrors = {};
let stormState = null; // {deadline, doneCount, reported}
let quitting = false;
let closeLogs = 0;

function record(i, seq) {
  seen[i].push(seq);
  if (seq > lastSeq[i]) lastSeq[i] = seq;
}

/** Every frame of client i's current socket. */
function onMessage(i, ws, data, settle) {
  if (sockets[i] !== ws) return;
  let msg;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    settle('bad_json');
    return;
  }
  switch (msg.type) {
    case 'event':
      record(i, msg.seq);
      break;
    case 'events':
      for (const e of msg.events) record(i, e.seq);
      break;
    case 'snapshot':
      if (phase[i] === JOINING) {
        baseSeq[i] = msg.seq;
        lastSeq[i] = msg.seq;
        phase[i] = JOINED;
      } else if (phase[i] === REJOINING) {
        // A fresh snapshot instead of a resume: it stands for everything up to its seq.
        if (msg.seq > lastSeq[i]) {
          (covered[i] ||= []).push([lastSeq[i] + 1, msg.seq]);
          lastSeq[i] = msg.seq;
        }
        resumeKind[i] = 2;
        resumedAt[i] = now();
        phase[i] = RESUMED;
      }
      settle(null);
      break;
    case 'resumed':
      if (phase[i] === REJOINING) {
        resumeKind[i] = 1;
        resumedAt[i] = now();
        phase[i] = RESUMED;
        settle(null);
      }
      break;
    case 'error':
    case 'rejected':
      settle(`${msg.type}:${msg.code}`);
      break;
    default: // hello, presence, pong
      break;
  }
}

/**
 * One connection attempt for client i: resolves to null once joined (initial snapshot, or
 * resumed/snapshot on a reconnection), or to an error reason.
 */
function connectOnce(i, since) {
  return new Promise((resolve) => {
    const url = `${cfg.urls[i % cfg.urls.length]}/ws`;  // the token: the `bearer` subprotocol, never the URL
    let settled = false;
    const ws = new WebSocket(url, ["bearer", cfg.tokens[i]], {
      perMessageDeflate: false,
      handshakeTimeout: cfg.joinTimeoutMs,
      maxPayload: 256 * 1024 * 1024,
    });
    sockets[i] = ws;
    const settle = (reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (reason !== null) {
        if (sockets[i] === ws) sockets[i] = null;
        ws.terminate();
      }
      resolve(reason);
    };
    const timer = setTimeout(() => settle('join_timeout'), cfg.joinTimeoutMs);
    ws.on('open', () => {
      const join = { type: 'join', meeting: cfg.meeting };
      if (since !== null) join.since = since;
      ws.send(JSON.stringify(join));
    });
    ws.on('error', (err) => settle(`error:${err.code || err.message}`));
    ws.on('message', (data) => onMessage(i, ws, data, settle));
    ws.on('close', (code) => {
      if (!settled) {
        settle(`close:${code}`);
        return;
      }
      if (sockets[i] === ws && !quitting) {
        // Not one of ours: the server closed a joined client.
        sockets[i] = null;
        closedUnexpectedly[i] = 1;
        if (++closeLogs <= 10) log(`client ${i} closed by the server with ${code}`);
      }
    });
  });
}

// ---- the storm ----

function countErr(reason) {
  stormErrors[reason] = (stormErrors[reason] || 0) + 1;
}

function drop(i, st) {
  const ws = sockets[i]; // null if the server closed it already: it reconnects all the same
  phase[i] = DROPPED;
  dropAt[i] = now();
  sockets[i] = null;
  if (ws) ws.terminate(); // destroys the TCP socket: no websocket close handshake
  setTimeout(() => reconnect(i, st), Math.random() * st.jitterMs);
}

async function reconnect(i, st) {
  phase[i] = REJOINING;
  rejoinAt[i] = now();
  for (let attempt = 1; attempt <= st.attempts; attempt++) {
    attemptsUsed[i] = attempt;
    const reason = await connectOnce(i, lastSeq[i]);
    if (reason === null) {
      finishOne(st);
      return;
    }
    countErr(reason);
    const backoff = Math.min(2000, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random());
    if (now() + backoff > st.deadline) break;
    await sleep(backoff);
  }
  phase[i] = FAILED;
  finishOne(st);
}

function finishOne(st) {
  st.doneCount += 1;
  if (st.doneCount >= st.total) reportStorm(st);
}

function reportStorm(st) {
  if (st.reported) return;
  st.reported = true;
  clearInterval(st.progress);
  clearTimeout(st.deadlineTimer);
  let dropped = 0;
  let resumed = 0;
  let snapshots = 0;
  let failed = 0;
  let firstDrop = Infinity;
  let lastDrop = -Infinity;
  let lastResume = -Infinity;
  const reconnectMs = [];
  const rejoinMs = [];
  const attempts = {};
  for (let i = 0; i < N; i++) {
    if (Number.isNaN(dropAt[i])) continue;
    dropped += 1;
    firstDrop = Math.min(firstDrop, dropAt[i]);
    lastDrop = Math.max(lastDrop, dropAt[i]);
    if (phase[i] === RESUMED) {
      if (resumeKind[i] === 1) resumed += 1;
      else snapshots += 1;
      lastResume = Math.max(lastResume, resumedAt[i]);
      reconnectMs.push(Math.round((resumedAt[i] - dropAt[i]) * 10) / 10);
      rejoinMs.push(Math.round((resumedAt[i] - rejoinAt[i]) * 10) / 10);
      attempts[attemptsUsed[i]] = (attempts[attemptsUsed[i]] || 0) + 1;
    } else {
      failed += 1;
    }
  }
  report({
    type: 'stormed',
    dropped,
    resumed,
    snapshots,
    failed,
    firstDrop: Number.isFinite(firstDrop) ? firstDrop : null,
    lastDrop: Number.isFinite(lastDrop) ? lastDrop : null,
    lastResume: Number.isFinite(lastResume) ? lastResume : null,
    reconnectMs,
    rejoinMs,
    attempts,
    errors: stormErrors,
  });
}

function storm(msg) {
  if (stormState) {
    log('storm already started');
    return;
  }
  const targets = [];
  for (let i = 0; i < N; i++) if (phase[i] === JOINED) targets.push(i);
  const st = {
    total: targets.length,
    doneCount: 0,
    reported: false,
    jitterMs: msg.jitterMs,
    attempts: msg.attempts,
    deadline: msg.startAt + msg.deadlineMs,
  };
  stormState = st;
  st.progress = setInterval(() => {
    let dropped = 0;
    let resumed = 0;
    let failed = 0;
    for (const i of targets) {
      if (phase[i] !== JOINED) dropped += 1;
      if (phase[i] === RESUMED) resumed += 1;
      if (phase[i] === FAILED) failed += 1;
    }
    report({ type: 'progress', phase: 'storm', dropped, resumed, failed, joined: resumed });
  }, 1000);
  st.deadlineTimer = setTimeout(() => {
    log(`storm deadline: ${st.total - st.doneCount} clients still reconnecting`);
    reportStorm(st);
  }, Math.max(0, st.deadline - now()) + 2000);
  if (st.total === 0) {
    reportStorm(st);
    return;
  }
  for (const i of targets) {
    const at = msg.startAt + Math.random() * msg.windowMs;
    setTimeout(() => drop(i, st), Math.max(0, at - now()));
  }
}

// ---- the check ----

async function check(msg) {
  const finalSeq = msg.finalSeq;
  const until = now() + msg.waitMs;
  const live = (i) => sockets[i] !== null && (phase[i] === JOINED || phase[i] === RESUMED);
  for (;;) {
    let behind = 0;
    for (let i = 0; i < N; i++) if (live(i) && lastSeq[i] < finalSeq) behind += 1;
    if (behind === 0 || now() >= until) break;
    await sleep(100);
  }
  let missed = 0;
  let duplicates = 0;
  let clientsMissing = 0;
  let clientsWithDuplicates = 0;
  let behind = 0;
  let closed = 0;
  const examples = [];
  for (let i = 0; i < N; i++) {
    if (phase[i] === JOINING) continue; // never joined: reported by `ready`
    if (closedUnexpectedly[i]) closed += 1;
    if (lastSeq[i] < finalSeq) behind += 1;
    const lo = baseSeq[i] + 1;
    const span = Math.max(0, finalSeq - lo + 1);
    const count = new Uint16Array(span);
    let dups = 0;
    for (const seq of seen[i]) {
      if (seq < lo) {
        dups += 1; // at or before its first snapshot: already known, sent again
        continue;
      }
      if (seq > finalSeq) continue;
      if (count[seq - lo] > 0) dups += 1;
      count[seq - lo] += 1;
    }
    for (const [a, b] of covered[i] || []) {
      for (let s = Math.max(a, lo); s <= Math.min(b, finalSeq); s++) {
        if (count[s - lo] === 0) count[s - lo] = 1;
      }
    }
    let miss = 0;
    let firstMissing = null;
    for (let k = 0; k < span; k++) {
      if (count[k] === 0) {
        miss += 1;
        if (firstMissing === null) firstMissing = lo + k;
      }
    }
    missed += miss;
    duplicates += dups;
    if (miss) clientsMissing += 1;
    if (dups) clientsWithDuplicates += 1;
    if ((miss || dups) && examples.length < 5) {
      examples.push({
        client: i,
        base: baseSeq[i],
        last: lastSeq[i],
        missed: miss,
        firstMissing,
        duplicates: dups,
        seen: seen[i].length,
        phase: phase[i],
      });
    }
  }
  report({
    type: 'checked',
    clients: N,
    missed,
    duplicates,
    clientsMissing,
    clientsWithDuplicates,
    behind,
    closed,
    examples,
  });
}

function quit(code) {
  if (quitting) return;
  quitting = true;
  closeAllAndExit(sockets, code);
}

serveCommands(
  {
    storm,
    check: (msg) => {
      check(msg).catch((err) => log(`check failed: ${err.stack || err}`));
    },
    quit: () => quit(0),
  },
  (code) => quit(typeof code === 'number' ? code : 0),
  cfg.maxSeconds,
  log,
);

rampUp(N, cfg.concurrency, cfg.attempts, (i) => connectOnce(i, null), log).catch((err) => {
  log(`ramp failed: ${err.stack || err}`);
  quit(1);
});
