// A JSON-lines oracle over static/secret_ballot.js for the Python tests: each stdin line is
// {"op": …, …}, each stdout line the answer {"ok": value} or {"error": code}. Randomness
// comes from the vectors' streams (rng.mjs) when a request carries a seed, else from the
// platform's CSPRNG. Cheating ops build what an attacker would send.

import { createInterface } from "node:readline";

import * as sb from "../../../../static/secret_ballot.js";
import { buildBoard } from "./board.mjs";
import { streamRng } from "./rng.mjs";
import { checkVectors } from "./vectors.mjs";

const rngOf = (req, label) => (req.seed ? streamRng(req.seed, label) : sb.systemRng);
const hexScalar = (s) => sb.scalarToHex(s);

function secretToJson(secret) {
  return { index: secret.index, e: hexScalar(secret.transportSecret),
    coefficients: secret.coefficients.map(hexScalar) };
}

function secretFromJson(json) {
  return { index: json.index, transportSecret: sb.scalarFromHex(json.e),
    coefficients: json.coefficients.map(sb.scalarFromHex) };
}

function ceremonyOf(poll) {
  return sb.ceremonyContext(poll.poll_uid, poll.n, poll.t);
}

/** The poll as the voter's device derives it from the published record. */
function pollOf(req) {
  return sb.pollFromRecord(req.poll, req.members);
}

/** A ballot whose ciphertexts hold `values` but whose proofs claim `claim`: the best an
 * attacker who lies about the plaintext can do with the honest prover. */
function cheatBallot(poll, voter, values, claim, rng) {
  const { context, publicKey: K, min, max } = poll;
  const G = sb.G;
  const rs = values.map(() => sb.systemRng());
  const alphas = rs.map((r) => G.multiply(r));
  const vG = (v) => (v === 0 ? sb.IDENTITY : G.multiply(sb.mod(BigInt(v))));
  const betas = rs.map((r, m) => vG(values[m]).add(K.multiply(r)));
  const base = { context, voter, publicKey: K };
  const pairs = (proof) => proof.map(([c, z]) => [sb.scalarToHex(c), sb.scalarToHex(z)]);
  const choices = values.map((_, m) => ({
    alpha: sb.pointToHex(alphas[m]), beta: sb.pointToHex(betas[m]),
    proof: pairs(sb.proveEncryption({ ...base, tag: sb.TAG.choice, extra: sb.u32(m),
      alpha: alphas[m], beta: betas[m], r: rs[m], values: [0, 1], index: claim[m] }, rng)),
  }));
  const claimed = claim.reduce((a, b) => a + b, 0);
  const countValues = Array.from({ length: max - min + 1 }, (_, i) => min + i);
  const sum = (ps) => ps.reduce((a, p) => a.add(p), sb.IDENTITY);
  const countProof = sb.proveEncryption({ ...base, tag: sb.TAG.count, extra: new Uint8Array(0),
    alpha: sum(alphas), beta: sum(betas), r: sb.mod(rs.reduce((a, b) => a + b, 0n)),
    values: countValues, index: Math.min(Math.max(claimed - min, 0), max - min) }, rng);
  return { voter, choices, count_proof: pairs(countProof) };
}

async function ceremony(req) {
  const { poll } = req;
  const cer = ceremonyOf(poll);
  const round1 = [];
  for (let i = 1; i <= poll.n; i++) {
    round1.push(sb.round1({ ceremony: cer, index: i, t: poll.t }, rngOf(req, `member/${i}/round1`)));
  }
  const members = round1.map((r) => r.published);
  const envelopes = [];
  for (const r of round1) {
    const rng = rngOf(req, `member/${r.secret.index}/round2`);
    envelopes.push(...await sb.round2({ ceremony: cer, secret: r.secret, members }, rng));
  }
  const secrets = {};
  const complaints = [];
  for (const r of round1) {
    const j = r.secret.index;
    const out = await sb.round3({ ceremony: cer, secret: r.secret, members,
      envelopes: envelopes.filter((e) => e.to === j) });
    secrets[j] = out.secret === null ? null : hexScalar(out.secret);
    complaints.push(...out.complaints);
  }
  const p = sb.pollFromRecord(poll, members);
  return { members, envelopes, secrets, complaints, round1_secrets: round1.map(
    (r) => secretToJson(r.secret)), public_key: sb.pointToHex(p.publicKey),
  context: sb.toHex(p.context), verification_keys: members.map(
    (m) => sb.pointToHex(sb.verificationKey(members, m.index))) };
}

const OPS = {
  ceremony,
  ceremony_context: (req) => sb.toHex(sb.ceremonyContext(req.poll_uid, req.n, req.t)),
  round1: (req) => {
    const out = sb.round1({ ceremony: ceremonyOf(req.poll), index: req.index, t: req.poll.t },
      rngOf(req, `member/${req.index}/round1`));
    return { published: out.published, secret: secretToJson(out.secret) };
  },
  verify_round1: (req) => sb.verifyRound1(ceremonyOf(req.poll), req.poll.n, req.poll.t,
    req.member),
  round2: (req) => sb.round2({ ceremony: ceremonyOf(req.poll), secret: secretFromJson(req.secret),
    members: req.members }, rngOf(req, `member/${req.secret.index}/round2`)),
  seal_share: (req) => sb.sealShare(ceremonyOf(req.poll), req.from, req.to,
    sb.pointFromHex(req.transport_key), sb.scalarFromHex(req.share)),
  round3: async (req) => {
    const out = await sb.round3({ ceremony: ceremonyOf(req.poll),
      secret: secretFromJson(req.secret), members: req.members, envelopes: req.envelopes },
    rngOf(req, `member/${req.secret.index}/round3`));
    return { secret: out.secret === null ? null : hexScalar(out.secret),
      complaints: out.complaints };
  },
  make_complaint: (req) => sb.makeComplaint(ceremonyOf(req.poll), secretFromJson(req.secret),
    req.envelope, req.dealer, req.reason),
  judge_complaint: (req) => sb.judgeComplaint({ ceremony: ceremonyOf(req.poll),
    complainer: req.complainer, dealer: req.dealer, envelope: req.envelope,
    complaint: req.complaint }),
  own_entry_listed: (req) => sb.ownEntryListed(req.members, req.own),
  verification_keys: (req) => req.members.map(
    (m) => sb.pointToHex(sb.verificationKey(req.members, m.index))),
  poll: (req) => {
    const p = pollOf(req);
    return { context: sb.toHex(p.context), public_key: sb.pointToHex(p.publicKey) };
  },
  ballot: (req) => {
    const out = sb.buildBallot(pollOf(req), req.voter, req.choices,
      rngOf(req, `ballot/${req.voter}`));
    return { ...out, display: sb.trackerDisplay(out.tracker) };
  },
  cheat_ballot: (req) => cheatBallot(pollOf(req), req.voter, req.values, req.claim, sb.systemRng),
  verify_ballot: (req) => sb.verifyBallot(pollOf(req), req.ballot),
  tracker: (req) => sb.ballotTracker(pollOf(req), req.ballot),
  partials: (req) => {
    const p = pollOf(req);
    return sb.partialDecrypt({ context: p.context, index: req.index,
      secret: sb.scalarFromHex(req.secret), aggregate: sb.aggregate(req.ballots, p) },
    rngOf(req, `partial/${req.index}`));
  },
  verify_share: (req) => {
    const p = pollOf(req);
    return sb.verifyShare(p.context, sb.aggregate(req.ballots, p),
      sb.verificationKey(req.members, req.share.index), req.share);
  },
  combine: (req) => {
    const p = pollOf(req);
    return sb.combine({ aggregate: sb.aggregate(req.ballots, p), shares: req.shares,
      t: req.poll.t, voters: req.ballots.length });
  },
  board: (req) => buildBoard(req.poll, req.members, req.ballots, req.shares ?? null),
  vectors: (req) => checkVectors(req.vectors),
  verify_board: (req) => sb.verifyBoard(req.board),
};

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let answer;
  try {
    const req = JSON.parse(line);
    const op = OPS[req.op];
    if (!op) throw new sb.BallotCryptoError("unknown_op", req.op);
    answer = { ok: await op(req) };
  } catch (err) {
    answer = err instanceof sb.BallotCryptoError ? { error: err.code, message: err.message }
      : { error: "exception", message: String(err?.stack ?? err) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
