// Reproduces the Python side's test vectors (tests/voting/secret/vectors.json, written by
// make_vectors.py from the spec's test rng) with static/secret_ballot.js, bit for bit.
//   node tests/voting/secret/js/vectors.mjs tests/voting/secret/vectors.json
// checkVectors(doc) answers {checked, mismatches}: each mismatch names what differs.

import { readFileSync } from "node:fs";
import { argv } from "node:process";
import { pathToFileURL } from "node:url";

import * as sb from "../../../../static/secret_ballot.js";
import { buildBoard } from "./board.mjs";
import { streamRng } from "./rng.mjs";

/** JSON with sorted keys: the vectors compare values, not the order of object keys. */
function canonical(value) {
  return JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

/** An rng that also records its draws. */
function recorded(seed, label) {
  const rng = streamRng(seed, label);
  const draws = [];
  const draw = () => {
    const s = rng();
    draws.push(sb.scalarToHex(s));
    return s;
  };
  return { draw, draws };
}

export async function checkVectors(doc) {
  let checked = 0;
  const mismatches = [];
  const same = (what, actual, expected) => {
    checked += 1;
    if (canonical(actual) !== canonical(expected)) mismatches.push(what);
  };
  const refused = (what, f) => {
    checked += 1;
    try {
      f();
      mismatches.push(`${what}: accepted`);
    } catch (err) {
      if (!(err instanceof sb.BallotCryptoError)) mismatches.push(`${what}: ${err}`);
    }
  };
  const { seed, poll } = doc;

  // Hashing and the group.
  doc.hashing.forEach((h, i) => {
    const parts = h.parts.map((p) => sb.fromHex(p));
    same(`hashing[${i}].hs`, sb.scalarToHex(sb.Hs(h.tag, ...parts)), h.hs);
    same(`hashing[${i}].hb`, sb.toHex(sb.Hb(h.tag, ...parts)), h.hb);
    if (h.texts) same(`hashing[${i}].texts`, h.texts.map((s) => sb.toHex(sb.str(s))), h.parts);
  });
  same("group.order", sb.ORDER.toString(), doc.group.order);
  let multiple = sb.IDENTITY;
  doc.group.multiples_of_g.forEach((hex, c) => {
    same(`group.multiples_of_g[${c}]`, sb.pointToHex(multiple), hex);
    multiple = multiple.add(sb.G);
  });
  doc.group.products.forEach((p, i) => {
    const s = sb.scalarFromHex(p.scalar);
    const P = sb.pointFromHex(p.point);
    const product = s === 0n || P.is0() ? sb.IDENTITY : P.multiply(s);
    same(`group.products[${i}]`, sb.pointToHex(product), p.product);
  });
  doc.group.bad_points.forEach((hex, i) => refused(`group.bad_points[${i}]`,
    () => sb.pointFromHex(hex)));
  doc.group.bad_scalars.forEach((hex, i) => refused(`group.bad_scalars[${i}]`,
    () => sb.scalarFromHex(hex)));

  // The ceremony: every member's rounds from its own streams.
  const ceremony = sb.ceremonyContext(poll.poll_uid, poll.n, poll.t);
  same("ceremony", sb.toHex(ceremony), doc.ceremony);
  const secrets = {};
  for (const m of doc.members) {
    const rng = recorded(seed, m.rng[0]);
    const out = sb.round1({ ceremony, index: m.index, t: poll.t }, rng.draw);
    secrets[m.index] = out.secret;
    same(`members[${m.index}].draws_round1`, rng.draws, m.draws_round1);
    same(`members[${m.index}].transport_secret`, sb.scalarToHex(out.secret.transportSecret),
      m.transport_secret);
    same(`members[${m.index}].coefficients`, out.secret.coefficients.map(sb.scalarToHex),
      m.coefficients);
    same(`members[${m.index}].round1`, out.published, m.round1);
  }
  const published = doc.members.map((m) => m.round1);
  const boxes = [];
  for (const m of doc.members) {
    const rng = recorded(seed, m.rng[1]);
    const sent = await sb.round2({ ceremony, secret: secrets[m.index], members: published },
      rng.draw);
    same(`members[${m.index}].draws_round2`, rng.draws, m.draws_round2);
    same(`members[${m.index}].round2`, sent, m.round2);
    boxes.push(...m.round2);
  }
  for (const m of doc.members) {
    const out = await sb.round3({ ceremony, secret: secrets[m.index], members: published,
      envelopes: boxes.filter((e) => e.to === m.index) });
    same(`members[${m.index}].complaints`, out.complaints, []);
    same(`members[${m.index}].secret`, out.secret === null ? null : sb.scalarToHex(out.secret),
      m.secret);
    same(`members[${m.index}].verification_key`,
      sb.pointToHex(sb.verificationKey(published, m.index)), m.verification_key);
  }
  const c = doc.complaint;
  const crng = recorded(seed, c.rng);
  const complained = await sb.round3({ ceremony, secret: secrets[c.member], members: published,
    envelopes: c.inbox }, crng.draw);
  same("complaint.draws", crng.draws, c.draws);
  same("complaint", complained, { secret: null, complaints: c.complaints });
  const byIndex = (i) => published.find((m) => m.index === i);
  const verdicts = [];
  for (const k of c.complaints) {
    verdicts.push(await sb.judgeComplaint({ ceremony, complainer: byIndex(c.member),
      dealer: byIndex(k.dealer), envelope: c.inbox.find((e) => e.from === k.dealer),
      complaint: k }));
  }
  same("complaint.verdicts", verdicts, c.verdicts);
  const f = c.false;
  const frng = recorded(seed, f.rng);
  const falseComplaint = sb.makeComplaint(ceremony, secrets[c.member], f.envelope,
    f.complaint.dealer, f.complaint.reason, frng.draw);
  same("complaint.false.draws", frng.draws, f.draws);
  same("complaint.false", falseComplaint, f.complaint);
  same("complaint.false.verdict", await sb.judgeComplaint({ ceremony,
    complainer: byIndex(c.member), dealer: byIndex(f.complaint.dealer), envelope: f.envelope,
    complaint: f.complaint }), f.verdict);

  // The poll's key and context.
  const p = sb.pollFromRecord(poll, published);
  same("public_key", sb.pointToHex(p.publicKey), doc.public_key);
  same("verification_keys", Object.fromEntries(published.map((m) => [String(m.index),
    sb.pointToHex(sb.verificationKey(published, m.index))])), doc.verification_keys);
  same("context", sb.toHex(p.context), doc.context);

  // Ballots, and the forgeries every verifier refuses.
  for (const b of doc.ballots) {
    const rng = recorded(seed, b.rng);
    const made = sb.buildBallot(p, b.voter, b.choices, rng.draw);
    same(`ballots[${b.voter}].draws`, rng.draws, b.draws);
    same(`ballots[${b.voter}].ballot`, made.ballot, b.ballot);
    same(`ballots[${b.voter}].tracker`, made.tracker, b.tracker);
    same(`ballots[${b.voter}].tracker_display`, sb.trackerDisplay(made.tracker),
      b.tracker_display);
    same(`ballots[${b.voter}] verifies`, sb.verifyBallot(p, b.ballot), true);
  }
  for (const bad of doc.invalid_ballots) {
    same(`invalid_ballots: ${bad.name}`, sb.verifyBallot(p, bad.ballot), false);
  }

  // The count.
  const cast = doc.ballots.map((b) => b.ballot);
  const agg = sb.aggregate(cast, p);
  same("aggregate", sb.aggregateToJson(agg), doc.aggregate);
  const members = Object.fromEntries(doc.members.map((m) => [m.index, m]));
  const shares = {};
  for (const share of doc.partials) {
    const rng = recorded(seed, share.rng);
    const made = sb.partialDecrypt({ context: p.context, index: share.index,
      secret: sb.scalarFromHex(members[share.index].secret), aggregate: agg }, rng.draw);
    shares[share.index] = made;
    same(`partials[${share.index}].draws`, rng.draws, share.draws);
    same(`partials[${share.index}]`, made.partials, share.partials);
    same(`partials[${share.index}] verify`, sb.verifyShare(p.context, agg,
      sb.verificationKey(published, share.index), share), true);
  }
  for (const combination of doc.combinations) {
    const out = sb.combine({ aggregate: agg, shares: combination.from.map((j) => shares[j]),
      t: poll.t, voters: cast.length });
    same(`combinations ${combination.from}`, out?.counts, combination.counts);
  }

  // The board: the same document, and it verifies.
  const board = buildBoard(poll, published, cast, Object.values(shares));
  same("board", board, doc.board);
  const check = sb.verifyBoard(doc.board);
  same("board verifies", { status: check.status, errors: check.errors },
    { status: "verified", errors: [] });
  same("board counts", check.counts, doc.board.result?.counts);
  return { checked, mismatches };
}

if (import.meta.url === pathToFileURL(argv[1]).href) {
  const out = await checkVectors(JSON.parse(readFileSync(argv[2], "utf-8")));
  console.log(JSON.stringify(out));
  process.exit(out.mismatches.length ? 1 : 0);
}
