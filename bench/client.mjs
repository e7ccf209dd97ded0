// Load generator for bench/fanout.py: one Node process driving many websocket clients.
//
// Usage: node client.mjs CONFIG.json
//   CONFIG: {label, urls: [ws base url], tokens: [token], meeting, concurrency,
//            joinTimeoutMs, roundTimeoutMs, attempts, deflate, maxSeconds}
//   Client i connects to `${urls[i % urls.length]}/ws` with the subprotocols `['bearer', tokens[i]]`, sends
//   {"type":"join","meeting":M} and counts as joined on its `snapshot`.
//
// Protocol with the parent, one JSON object per line:
//   stdout: {"type":"progress",joined,failed,pending}  while ramping (about once a second)
//           {"type":"ready",joined,failed,errors}        all clients settled
//           {"type":"armed",round}                       the round is armed
//           {"type":"round",round,times,missing,closed,seqs,bogus[,via]}
//                                                        per-round receive times (epoch ms);
//                                                        with several urls, `via` gives the
//                                                        url index of each time
//   stdin:  {"cmd":"arm","round":k}   record the next agenda.activated event as round k
//           {"cmd":"quit"}            drop every connection and exit
// Diagnostics go to stderr. The process exits when stdin closes or after maxSeconds.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const N = cfg.tokens.length;
const NEEDLE = Buffer.from('"agenda.activated"');

/** Wall-clock time in ms with sub-ms precision (comparable to Python's time.time()). */
const now = () => performance.timeOrigin + performance.now();

const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const log = (msg) => process.stderr.write(`[${cfg.label}] ${msg}\n`);

/** @type {(WebSocket|null)[]} */
const sockets = new Array(N).fill(null);
const joined = new Uint8Array(N);
const closed = new Uint8Array(N);
const times = new Float64Array(N).fill(NaN);
/** @type {(Buffer|null)[]} raw frames of the recorded events, parsed only after the round */
const raws = new Array(N).fill(null);

let armedRound = 0;
let received = 0;
let liveJoined = 0;
let roundTimer = null;
let closeLogs = 0;

/** Fast path: runs for every frame once joined; keep it cheap (no JSON parsing). */
function onFrame(i, data) {
  const t = now();
  if (armedRound === 0 || !Number.isNaN(times[i])) return;
  if (!data.includes(NEEDLE)) return;
  times[i] = t;
  raws[i] = data;
  received += 1;
  if (received >= liveJoined) finishRound();
}

function finishRound() {
  if (armedRound === 0) return;
  if (roundTimer) clearTimeout(roundTimer);
  roundTimer = null;
  const round = armedRound;
  armedRound = 0;
  const got = [];
  const via = []; // with several urls: which one (node) each time in `got` came through
  const seqs = {};
  let missing = 0;
  let bogus = 0;
  let closedCount = 0;
  for (let i = 0; i < N; i++) {
    if (!joined[i]) continue;
    if (closed[i]) closedCount += 1;
    if (Number.isNaN(times[i])) {
      missing += 1;
      continue;
    }
    let msg = null;
    try {
      msg = JSON.parse(raws[i].toString('utf8'));
    } catch {
      msg = null;
    }
    // One commit's events arrive together: as one `event`, or as an `events` batch.
    if (msg && msg.type === 'events') {
      msg = msg.events.find((e) => e.kind === 'agenda.activated') || null;
    }
    if (!msg || msg.type !== 'event' || msg.kind !== 'agenda.activated') {
      bogus += 1;
      continue;
    }
    seqs[msg.seq] = (seqs[msg.seq] || 0) + 1;
    got.push(Math.round(times[i] * 1000) / 1000);
    via.push(i % cfg.urls.length);
  }
  times.fill(NaN);
  raws.fill(null);
  const report = { type: 'round', round, times: got, missing, closed: closedCount, seqs, bogus };
  if (cfg.urls.length > 1) report.via = via;
  send(report);
}

function arm(round) {
  if (armedRound !== 0) finishRound();
  times.fill(NaN);
  raws.fill(null);
  received = 0;
  armedRound = round;
  roundTimer = setTimeout(() => {
    log(`round ${round}: timeout after ${cfg.roundTimeoutMs} ms, ${received}/${liveJoined} received`);
    finishRound();
  }, cfg.roundTimeoutMs);
  send({ type: 'armed', round });
}

/** Keeps the connection alive with app-level pings when the server asks for a heartbeat. */
function startHeartbeat(ws, seconds) {
  if (!(seconds > 0)) return;
  const period = seconds * 1000;
  const tick = () => {
    // Never ping during a round: it would add load to the measurement.
    if (armedRound === 0 && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: 'ping', t: Date.now() }));
    }
  };
  const first = setTimeout(() => {
    tick();
    const iv = setInterval(tick, period);
    ws.once('close', () => clearInterval(iv));
  }, Math.random() * period);
  ws.once('close', () => clearTimeout(first));
}

/** One connection attempt; resolves to null on success or an error reason. */
function connectOnce(i) {
  return new Promise((resolve) => {
    const base = cfg.urls[i % cfg.urls.length];
    const url = `${base}/ws`;  // the token: the `bearer` subprotocol, never the URL
    let settled = false;
    const ws = new WebSocket(url, ["bearer", cfg.tokens[i]], {
      perMessageDeflate: Boolean(cfg.deflate),
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
      if (joined[i] && !closed[i]) {
        closed[i] = 1;
        liveJoined -= 1;
        if (!quitting && ++closeLogs <= 10) log(`client ${i} closed with ${code}`);
        if (armedRound !== 0 && received >= liveJoined) finishRound();
      }
    });
    ws.on('message', (data) => {
      if (joined[i]) {
        onFrame(i, data);
        return;
      }
      let msg;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        startHeartbeat(ws, msg.heartbeat_s);
      } else if (msg.type === 'snapshot') {
        sockets[i] = ws;
        joined[i] = 1;
        liveJoined += 1;
        done(null);
      } else if (msg.type === 'error' || msg.type === 'rejected') {
        done(`${msg.type}:${msg.code}`);
      }
    });
  });
}

async function connectClient(i, errors) {
  let reason = null;
  for (let attempt = 1; attempt <= cfg.attempts; attempt++) {
    reason = await connectOnce(i);
    if (reason === null) return true;
    errors[reason] = (errors[reason] || 0) + 1;
    await new Promise((r) => setTimeout(r, 200 * attempt + Math.random() * 300));
  }
  log(`client ${i} gave up: ${reason}`);
  return false;
}

async function rampUp() {
  const errors = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  const progress = setInterval(
    () => send({ type: 'progress', joined: ok, failed, pending: N - ok - failed }),
    1000,
  );
  const worker = async () => {
    while (next < N) {
      const i = next++;
      if (await connectClient(i, errors)) ok += 1;
      else failed += 1;
    }
  };
  const workers = [];
  for (let w = 0; w < Math.min(cfg.concurrency, N); w++) workers.push(worker());
  await Promise.all(workers);
  clearInterval(progress);
  send({ type: 'ready', joined: ok, failed, errors });
}

let quitting = false;

/** Closes every connection politely (1000), waits at most 3 s for the close handshakes, exits. */
function quit(code) {
  if (quitting) return;
  quitting = true;
  let open = 0;
  const exit = () => {
    for (const ws of sockets) if (ws) ws.terminate();
    process.stdout.write('', () => process.exit(code));
  };
  for (const ws of sockets) {
    if (!ws || ws.readyState !== WebSocket.OPEN) continue;
    open += 1;
    ws.once('close', () => {
      open -= 1;
      if (open === 0) exit();
    });
    ws.close(1000, 'bench done');
  }
  if (open === 0) exit();
  setTimeout(exit, 3000).unref();
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    log(`bad command: ${line}`);
    return;
  }
  if (msg.cmd === 'arm') arm(msg.round);
  else if (msg.cmd === 'quit') quit(0);
  else log(`unknown command: ${line}`);
});
rl.on('close', () => quit(0));
setTimeout(() => {
  log(`lifetime of ${cfg.maxSeconds} s reached, exiting`);
  quit(2);
}, cfg.maxSeconds * 1000).unref();

rampUp().catch((err) => {
  log(`ramp failed: ${err.stack || err}`);
  quit(1);
});
