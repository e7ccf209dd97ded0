// Builds a board document (docs/BALLOT_CRYPTO.md §4) the way the server publishes it, for
// the tests: members named as the Python side's tests name them, ballots in tracker order,
// the result combined from the t lowest indices.

import * as sb from "../../../../static/secret_ballot.js";

/**
 * @param {object} poll the board's poll record
 * @param {object[]} members round 1 messages, in index order
 * @param {object[]} ballots the counted ballots (JSON)
 * @param {object[]|null} shares accepted shares; null while the poll is open
 * @returns {object}
 */
export function buildBoard(poll, members, ballots, shares) {
  const p = sb.pollFromRecord(poll, members);
  const entries = ballots.map((ballot) => ({ tracker: sb.ballotTracker(p, ballot), ballot }))
    .sort((a, b) => (a.tracker < b.tracker ? -1 : a.tracker > b.tracker ? 1 : 0));
  const board = {
    version: sb.BOARD_VERSION,
    poll,
    members: members.map((m) => ({ index: m.index, user_id: String(100 + m.index),
      name: `Thành viên ${m.index}`, transport_key: m.transport_key,
      commitments: m.commitments, proofs: m.proofs })),
    public_key: sb.pointToHex(p.publicKey),
    context: sb.toHex(p.context),
    ballots: entries,
    aggregate: null,
    shares: null,
    result: null,
  };
  if (shares === null) return board;
  const agg = sb.aggregate(ballots, p);
  const sorted = [...shares].sort((a, b) => a.index - b.index);
  const combined = sb.combine({ aggregate: agg, shares: sorted, t: poll.t,
    voters: ballots.length });
  return { ...board, aggregate: sb.aggregateToJson(agg), shares: sorted,
    result: combined && { counts: combined.counts, voters: ballots.length,
      combined_from: combined.combined_from } };
}
