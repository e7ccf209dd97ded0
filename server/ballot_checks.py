"""Encrypted ballots checked off the event loop: every proof of every ballot, and the
aggregate of a sealed box. The one seam where the work is scheduled (threads today; a
process pool can take its place without touching the callers)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson

from voting.secret.ballot import Ballot, BallotRefusal, BallotRules, parse_ballot, tracker
from voting.secret.ballot import verify_ballot as _verify
from voting.secret.count import aggregate

CHUNK = 64  # ballots verified together in one worker call


def check_ballots(rules: BallotRules, docs: Sequence[object]) -> list[BallotRefusal | str]:
    """For each ballot (its JSON): why it is refused, or its tracker (64 hex digits)."""
    out: list[BallotRefusal | str] = []
    for doc in docs:
        parsed = parse_ballot(doc, rules)
        if isinstance(parsed, BallotRefusal):
            out.append(parsed)
            continue
        refusal = _verify(rules, parsed)
        out.append(refusal if refusal is not None else tracker(rules.context, parsed).hex())
    return out


async def verify_ballots(rules: BallotRules, docs: Sequence[object]
                         ) -> list[BallotRefusal | str]:
    """`check_ballots` in worker threads, a chunk each (libsodium releases the GIL)."""
    chunks = [docs[i:i + CHUNK] for i in range(0, len(docs), CHUNK)]
    done = await asyncio.gather(*(asyncio.to_thread(check_ballots, rules, c) for c in chunks))
    return [verdict for chunk in done for verdict in chunk]


def _aggregate(rules: BallotRules, stored: Sequence[str]) -> list[dict[str, str]]:
    ballots = [parse_ballot(orjson.loads(b), rules) for b in stored]
    assert all(isinstance(b, Ballot) for b in ballots), "a stored ballot was checked"
    return [c.to_json() for c in aggregate(ballots, rules.options)]  # type: ignore[arg-type]


async def aggregate_ballots(rules: BallotRules, stored: Sequence[str]) -> list[dict[str, str]]:
    """The aggregate `(Σ αₘ, Σ βₘ)` of a sealed box's ballots (their JSON), per option."""
    return await asyncio.to_thread(_aggregate, rules, stored)
