"""Encrypted ballots checked off the event loop: every proof of every ballot, and the
aggregate of a sealed box.

Proofs are checked by `voting.secret.batch.BatchVerifier`: worker processes of their own
(started when an encrypted poll opens, not before: a meeting without a secret poll pays
nothing), so that a burst of thousands costs the event loop's thread only the hand-over
(≈ 20–40 µs a ballot, against ≈ 1 ms a ballot verified on a thread, which holds the GIL
for its Python part). The box calls them once a ballot is in (`server/ballot_box.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence

from phonghop.voting.secret import decaf, fast
from phonghop.voting.secret.ballot import BallotRefusal, BallotRules
from phonghop.voting.secret.batch import BatchVerifier, VerifierFailed, VerifyTimeout
from phonghop.voting.secret.fast import add_sums

log = logging.getLogger("phonghop.ballots")

WORKERS = max(1, min(2, os.cpu_count() or 1))
TIMEOUT = 30.0  # seconds a batch may take before its ballots are left to the seal
# The checks run after the acks: the processes checking them yield the CPU to the event
# loop that takes ballots in and acknowledges them, which a voter waits for. Not more than
# 5: at 10 they starved behind any other busy process (the database, a conversion) and a
# close waited for them (docs/PERFORMANCE.md).
NICENESS = 5

_verifier: BatchVerifier | None = None


class ChecksUnavailable(Exception):
    """The ballots could not be verified in time (workers busy or dead): try again."""


def _pool() -> BatchVerifier:
    global _verifier
    if _verifier is None:
        _verifier = BatchVerifier(WORKERS, timeout=TIMEOUT, niceness=NICENESS)
    return _verifier


async def warm() -> None:
    """Start the workers ahead of the ballots (an encrypted poll is open): spawning them
    takes 0.3 s on an idle box and seconds under a burst, which the first ballots' checks
    would otherwise wait for."""
    verifier = _pool()
    if not verifier.pids:
        await verifier.start()


async def verify_ballots(rules: BallotRules, docs: Sequence[object]
                         ) -> list[BallotRefusal | None]:
    """For each ballot (its JSON): None when every proof holds, else why it is refused.

    Raises ChecksUnavailable when the workers could not answer (nothing was decided)."""
    try:
        return list(await _pool().verify(rules, docs))
    except (VerifyTimeout, VerifierFailed) as exc:
        log.warning("ballot checks unavailable: %s", type(exc).__name__)
        raise ChecksUnavailable from None


async def close() -> None:
    """Stop the verifier's workers (the node is stopping)."""
    global _verifier
    if _verifier is not None:
        verifier, _verifier = _verifier, None
        await verifier.aclose()


async def aggregate_ballots(rules: BallotRules, stored: Sequence[str]) -> list[dict[str, str]]:
    """The aggregate `(Σ αₘ, Σ βₘ)` of a sealed box's checked ballots (their JSON), per
    option: two threads, each adding up half (libdecaf and libsodium run without the
    GIL), on the engine the checks use."""
    sum_choices = decaf.sum_choices if fast.engine() == "libdecaf" else fast.sum_choices
    half = len(stored) // 2
    first, second = await asyncio.gather(
        asyncio.to_thread(sum_choices, stored[:half], rules.options),
        asyncio.to_thread(sum_choices, stored[half:], rules.options))
    return [{"alpha": a.hex(), "beta": b.hex()} for a, b in add_sums(first, second)]
