// Times building one ballot (encryption, every proof and the tracker) in Node:
//   node tests/voting/secret/js/bench.mjs
// Prints one JSON line per poll shape: k options, min … max choices, median and mean ms.

import * as sb from "../../../../static/secret_ballot.js";

const SHAPES = [
  { k: 2, min: 1, max: 1 }, { k: 2, min: 0, max: 2 },
  { k: 5, min: 1, max: 1 }, { k: 5, min: 0, max: 5 },
];
const RUNS = Number(process.argv[2] ?? 30);

function pollOf({ k, min, max }) {
  const poll = { poll_uid: "bench/1/1", title: "bench", min, max, n: 3, t: 2,
    options: Array.from({ length: k }, (_, m) => `option ${m}`) };
  const ceremony = sb.ceremonyContext(poll.poll_uid, poll.n, poll.t);
  const members = [1, 2, 3].map((i) => sb.round1({ ceremony, index: i, t: poll.t }).published);
  return sb.pollFromRecord(poll, members);
}

for (const shape of SHAPES) {
  const poll = pollOf(shape);
  const choices = Array.from({ length: shape.k }, (_, m) => (m < Math.max(shape.min, 1) ? 1 : 0));
  for (let i = 0; i < 5; i++) sb.buildBallot(poll, "42", choices); // warm-up (JIT, tables)
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    sb.buildBallot(poll, "42", choices);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const t0 = performance.now();
  const { ballot } = sb.buildBallot(poll, "42", choices);
  const built = performance.now() - t0;
  const t1 = performance.now();
  const ok = sb.verifyBallot(poll, ballot);
  const verify = performance.now() - t1;
  console.log(JSON.stringify({ ...shape, runs: RUNS, median_ms: +times[RUNS >> 1].toFixed(1),
    mean_ms: +mean.toFixed(1), verify_ms: +verify.toFixed(1), built_ms: +built.toFixed(1), ok }));
}
