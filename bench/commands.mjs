// Load generator for bench/commands.py: K delegates, each on its own connection, sending
// room commands in a closed loop (floor.request → ack → floor.withdraw → ack → …), paced
// to stay under the server's per-connection message rate limit.
//
// Usage: node commands.mjs CONFIG.json
//   CONFIG: {label, urls, tokens, meeting, concurrency, joinTimeoutMs, attempts, maxSeconds,
//            ratePerConn, ackTimeoutMs}
//   Client i connects to `${urls[i % urls.length]}/ws` with the subprotocols `['bearer', tokens[i]]` and joins.
//
// Protocol with the parent, one JSON object per line:
//   stdin:  {"cmd":"go",startAt,warmupMs,durationMs}
//             every client sends from startAt (epoch ms, staggered over one pacing gap)
//             until startAt + warmupMs + durationMs; one command in flight per client, and
//             at most ratePerConn commands a second per client. Acks that arrive within
//             [startAt + warmupMs, startAt + warmupMs + durationMs] are measured.
//           {"cmd":"quit"}
//   stdout: {"type":"progress",…}, {"type":"ready",joined,failed,errors}
//           {"type":"done",sent,acked,ackedTotal,latencies:[ms…],rejected:{code:n},
//            rejectedInWindow:{code:n},errors:{code:n},timeouts,clients}
// A client that ends in the floor queue withdraws (unmeasured) before `done`.

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
const N = cfg.tokens.length;
const log = logger(cfg.label);

/** @type {(WebSocket|null)[]} */
const sockets = new Array(N).fill(null);
/** @type {Map<string, (answer: object) => void>[]} answers awaited, per client, by command id */
const waiting = Array.from({ length: N }, () => new Map());
const serverErrors = {};
let quitting = false;

function onMessage(i, data) {
  const type = messageType(data);
  // Events (every client sees every floor change) are not parsed: only answers are.
  if (type !== 'ack' && type !== 'rejected' && type !== 'error') return;
  let msg;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return;
  }
  if (type === 'error') {
    serverErrors[msg.code] = (serverErrors[msg.code] || 0) + 1;
    return;
  }
  const resolve = waiting[i].get(msg.id);
  if (resolve) {
    waiting[i].delete(msg.id);
    resolve(msg);
  }
}

function connectOnce(i) {
  return new Promise((resolve) => {
    const url = `${cfg.urls[i % cfg.urls.length]}/ws`;  // the token: the `bearer` subprotocol, never the URL
    let settled = false;
    const ws = new WebSocket(url, ["bearer", cfg.tokens[i]], {
      perMessageDeflate: false,
      handshakeTimeout: cfg.joinTimeoutMs,
      maxPayload: 256 * 1024 * 1024,
    });
    const settle = (reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (reason !== null) ws.terminate();
      resolve(reason);
    };
    const timer = setTimeout(() => settle('join_timeout'), cfg.joinTimeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'join', meeting: cfg.meeting })));
    ws.on('error', (err) => settle(`error:${err.code || err.message}`));
    ws.on('close', (code) => {
      if (!settled) settle(`close:${code}`);
      else if (!quitting) log(`client ${i} closed by the server with ${code}`);
      if (sockets[i] === ws) sockets[i] = null;
    });
    ws.on('message', (data) => {
      if (settled) {
        onMessage(i, data);
        return;
      }
      const type = messageType(data);
      if (type === 'snapshot') {
        sockets[i] = ws;
        settle(null);
      } else if (type === 'error' || type === 'rejected') {
        let code = '?';
        try {
          code = JSON.parse(data.toString('utf8')).code;
        } catch {
          // keep '?'
        }
        settle(`${type}:${code}`);
      }
    });
  });
}

/** Sends a command on client i's connection; resolves to its ack/rejected or null (timeout). */
function command(i, id, name) {
  const ws = sockets[i];
  if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve({ type: 'closed' });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting[i].delete(id);
      resolve(null);
    }, cfg.ackTimeoutMs);
    waiting[i].set(id, (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    ws.send(JSON.stringify({ type: 'command', id, meeting: cfg.meeting, name, args: {} }));
  });
}

async function go(msg) {
  const winStart = msg.startAt + msg.warmupMs;
  const winEnd = winStart + msg.durationMs;
  const gap = 1000 / cfg.ratePerConn;
  const stats = {
    sent: 0,
    acked: 0,
    ackedTotal: 0,
    latencies: [],
    rejected: {},
    rejectedInWindow: {},
    timeouts: 0,
    closed: 0,
  };
  const count = (map, code) => {
    map[code] = (map[code] || 0) + 1;
  };
  const sender = async (i) => {
    let inQueue = false;
    let n = 0;
    let nextAt = msg.startAt + (gap * i) / N;
    while (nextAt < winEnd) {
      const wait = nextAt - now();
      if (wait > 0) await sleep(wait);
      const name = inQueue ? 'floor.withdraw' : 'floor.request';
      const t0 = now();
      const answer = await command(i, `${cfg.label}-${i}-${++n}`, name);
      const t1 = now();
      stats.sent += 1;
      nextAt = Math.max(t1, t0 + gap);
      const inWindow = t1 >= winStart && t1 <= winEnd;
      if (answer === null) {
        stats.timeouts += 1;
      } else if (answer.type === 'closed') {
        stats.closed += 1;
        return;
      } else if (answer.type === 'ack') {
        stats.ackedTotal += 1;
        inQueue = !inQueue;
        if (inWindow) {
          stats.acked += 1;
          stats.latencies.push(Math.round((t1 - t0) * 100) / 100);
        }
      } else {
        count(stats.rejected, answer.code);
        if (inWindow) count(stats.rejectedInWindow, answer.code);
        if (answer.code === 'already_requested') inQueue = true;
        else if (answer.code === 'not_requested') inQueue = false;
      }
    }
    if (inQueue) await command(i, `${cfg.label}-${i}-${++n}`, 'floor.withdraw');
  };
  const senders = [];
  for (let i = 0; i < N; i++) if (sockets[i]) senders.push(sender(i));
  await Promise.all(senders);
  report({ type: 'done', clients: senders.length, errors: serverErrors, ...stats });
}

function quit(code) {
  if (quitting) return;
  quitting = true;
  closeAllAndExit(sockets, code);
}

serveCommands(
  {
    go: (msg) => {
      go(msg).catch((err) => {
        log(`go failed: ${err.stack || err}`);
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
