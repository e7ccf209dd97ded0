// Helpers shared by the Node load generators of bench/reconnect_storm.py (storm.mjs),
// bench/commands.py (commands.mjs) and bench/vote_burst.py (vote.mjs). (client.mjs,
// fanout.py's generator, stands alone.)
//
// Each generator reads a JSON config file named on its command line, talks to its parent
// with one JSON object per line (stdout: reports; stdin: commands) and logs to stderr.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

/** Wall-clock time in ms with sub-ms precision (comparable to Python's time.time()). */
export const now = () => performance.timeOrigin + performance.now();

/** The config file named on the command line. */
export function loadConfig() {
  return JSON.parse(readFileSync(process.argv[2], 'utf8'));
}

/** A report line for the parent. */
export const report = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

/** A logger for stderr, prefixed with the generator's label. */
export const logger = (label) => (msg) => process.stderr.write(`[${label}] ${msg}\n`);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `handlers[msg.cmd](msg)` for every command line on stdin; `onEnd` when stdin closes.
 * Also exits after `maxSeconds` (a stray generator never outlives its run by much).
 */
export function serveCommands(handlers, onEnd, maxSeconds, log) {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      log(`bad command: ${line}`);
      return;
    }
    const handler = handlers[msg.cmd];
    if (handler) handler(msg);
    else log(`unknown command: ${line}`);
  });
  rl.on('close', onEnd);
  setTimeout(() => {
    log(`lifetime of ${maxSeconds} s reached, exiting`);
    onEnd(2);
  }, maxSeconds * 1000).unref();
}

/**
 * Joins clients 0..n-1 with `concurrency` in flight: `connectOnce(i)` resolves to null on
 * success or an error reason; each client gets `attempts` tries with a short back-off.
 * Reports `progress` about once a second and `ready` at the end.
 */
export async function rampUp(n, concurrency, attempts, connectOnce, log) {
  const errors = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  const progress = setInterval(
    () => report({ type: 'progress', joined: ok, failed, pending: n - ok - failed }),
    1000,
  );
  const connectClient = async (i) => {
    let reason = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      reason = await connectOnce(i);
      if (reason === null) return true;
      errors[reason] = (errors[reason] || 0) + 1;
      await sleep(200 * attempt + Math.random() * 300);
    }
    log(`client ${i} gave up: ${reason}`);
    return false;
  };
  const worker = async () => {
    while (next < n) {
      const i = next++;
      if (await connectClient(i)) ok += 1;
      else failed += 1;
    }
  };
  const workers = [];
  for (let w = 0; w < Math.min(concurrency, n); w++) workers.push(worker());
  await Promise.all(workers);
  clearInterval(progress);
  report({ type: 'ready', joined: ok, failed, errors });
}

/** Closes the given sockets politely (1000), waits at most 3 s, then exits with `code`. */
export function closeAllAndExit(sockets, code) {
  let open = 0;
  let exited = false;
  const exit = () => {
    if (exited) return;
    exited = true;
    for (const ws of sockets) if (ws) ws.terminate();
    process.stdout.write('', () => process.exit(code));
  };
  for (const ws of sockets) {
    if (!ws || ws.readyState !== 1) continue;
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

/** Type of a server message without parsing all of it: `{"type":"X",…` → X. */
export function messageType(data) {
  const head = data.subarray(0, 24).toString('latin1');
  if (!head.startsWith('{"type":"')) return null;
  const end = head.indexOf('"', 9);
  return end < 0 ? null : head.slice(9, end);
}
