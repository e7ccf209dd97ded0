"""Recounting a closed poll against its sealed ballot box (pure).

The room log says what a poll's result was; the box holds the ballots it was counted
from. When a room loads (and in `phonghop audit verify`) each closed electronic poll is
counted again from its box: a result that does not follow from the ballots, or ballots
added to or taken from a sealed box, is a mismatch. Each function answers why, as a short
code that names no ballot, or None when the result follows.
"""

from __future__ import annotations

from collections.abc import Sequence

from phonghop.voting.counting_board import ballot_rules
from phonghop.voting.model import Poll
from phonghop.voting.secret.ballot import Ballot, BallotRules, parse_ballot
from phonghop.voting.secret.count import Partial, aggregate, counts, verify_partials
from phonghop.voting.secret.elgamal import Ciphertext
from phonghop.voting.secret.group import EncodingError, Point
from phonghop.voting.tally import count_choices, result

CLOSED = frozenset({"closed", "published", "void"})


def recounted(poll: Poll) -> str | None:
    """Which box a poll is recounted from: "named", "secret" (plaintext secret ballots of
    polls held before encryption), "encrypted"; None when there is nothing to recount (a
    show of hands, a poll not closed, cancelled, or closed without a count yet)."""
    if not poll.electronic or poll.status not in CLOSED:
        return None
    if poll.encrypted:
        assert poll.board is not None
        return "encrypted" if poll.board.aggregate is not None else None
    if poll.result is None:
        return None
    return "secret" if poll.secret else "named"


def box_problem(status: str | None) -> str | None:
    """A closed poll's box must be sealed (or never opened: nobody voted)."""
    return None if status in (None, "sealed") else f"box_{status}"


def plain_mismatch(poll: Poll, choices: Sequence[Sequence[int]], receipts: int) -> str | None:
    """Why the result of a named (or plaintext secret) poll does not follow from the
    ballots in its box, or None. Everything is counted again: ballots, votes per option,
    receipts, and the verdict under the poll's rule (with the electorate recorded at the
    close)."""
    r = poll.result
    assert r is not None
    cast, votes = count_choices(poll, choices)
    if cast != r.cast or receipts != r.receipts:
        return "cast"
    again = result(poll, cast, votes, r.present, r.members, receipts)
    if again.counts != r.counts:
        return "counts"
    return None if again == r else "verdict"


def sum_ballots(rules: BallotRules, stored: Sequence[str | dict[str, object]]
                ) -> list[dict[str, str]] | None:
    """The aggregate of stored encrypted ballots (their JSON), per option; None if one of
    them is not a ballot any more. CPU-bound: run it off the event loop."""
    import orjson

    ballots = []
    for doc in stored:
        parsed = parse_ballot(orjson.loads(doc) if isinstance(doc, str) else doc, rules)
        if not isinstance(parsed, Ballot):
            return None
        ballots.append(parsed)
    return [c.to_json() for c in aggregate(ballots, rules.options)]


def encrypted_recount(poll: Poll, stored: Sequence[str | dict[str, object]]) -> str | None:
    """Why an encrypted poll's close (and result) does not follow from the ballots stored
    in its box, or None: `sum_ballots` then `encrypted_mismatch`. CPU-bound: run it off
    the event loop."""
    return encrypted_mismatch(poll, sum_ballots(ballot_rules(poll), stored), len(stored))


def encrypted_mismatch(poll: Poll, totals: list[dict[str, str]] | None, cast: int
                       ) -> str | None:
    """Why an encrypted poll's close does not follow from its box, or None: the number of
    ballots and the aggregate recorded in `poll.closed` must be those of the stored
    ballots (`totals`, from `sum_ballots`). With a result, the counting board's accepted
    partial decryptions are checked again (each proof) and combined: the result must be
    what they decrypt to under the poll's rule."""
    board = poll.board
    assert board is not None and board.aggregate is not None
    if totals is None:
        return "ballot"
    if cast != board.cast:
        return "cast"
    if [dict(c) for c in board.aggregate] != totals:
        return "aggregate"
    r = poll.result
    if r is None:
        return None  # still counting, or void: nothing was decrypted
    try:
        aggregate_ = [Ciphertext(Point.from_hex(c["alpha"]), Point.from_hex(c["beta"]))
                      for c in board.aggregate]
        chosen = sorted(board.partials)[: board.threshold]
        partials = {j: [Partial.from_json(dict(p)) for p in board.partials[j]]
                    for j in chosen}
        context = bytes.fromhex(board.context or "")
        for j in chosen:
            key = Point.from_hex(board.verification_keys[j])
            if verify_partials(context, j, key, aggregate_, partials[j]):
                return "partials"
    except (ValueError, KeyError, EncodingError):
        return "partials"
    if len(chosen) < board.threshold:
        return "partials"
    found = counts(aggregate_, partials, board.cast)
    if found is None:
        return "partials"
    votes = {o.id: n for o, n in zip(poll.options, found, strict=True)}
    again = result(poll, board.cast, votes, board.present, board.total, board.cast)
    return None if again.model_copy(update={"verified": True}) == r else "verdict"
