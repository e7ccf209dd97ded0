"""The server's batch verifier, on real worker processes: every ballot gets the answer the
one-ballot verifier gives, in order, however the calls interleave; a full queue makes
callers wait rather than lose ballots; a deadline, a worker killed in the middle and a close
each fail only the calls concerned, with a typed error, and the verifier goes on."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
from collections.abc import AsyncIterator

import pytest

from phonghop.voting.secret.ballot import (
    Ballot,
    BallotProblem,
    BallotRefusal,
    BallotRules,
    encrypt_ballot,
    verify_ballot,
)
from phonghop.voting.secret.batch import (
    BatchVerifier,
    VerifierFailed,
    VerifyTimeout,
    verify_ballots,
)
from phonghop.voting.secret.group import Scalar, base_mul, random_scalar

KEY = base_mul(random_scalar())
RULES = BallotRules(bytes(range(32)), KEY, 2, 0, 1)
OTHER = BallotRules(bytes(32), KEY, 3, 1, 2)


def ballots(rules: BallotRules, n: int, first: int = 0) -> list[dict]:
    """n ballots, every fifth one altered (a bumped response: its choice proof fails)."""
    out = []
    for i in range(first, first + n):
        choices = [1] + [0] * (rules.options - 1)
        doc = encrypt_ballot(rules, str(i), choices).to_json()
        if i % 5 == 4:
            doc = copy.deepcopy(doc)
            z = doc["choices"][0]["proof"][1][1]
            doc["choices"][0]["proof"][1][1] = (Scalar.from_hex(z) + Scalar(1)).hex()
        out.append(doc)
    return out


BALLOTS = ballots(RULES, 60)
OTHERS = ballots(OTHER, 20)


@pytest.fixture(scope="module")
async def verifier() -> AsyncIterator[BatchVerifier]:
    async with BatchVerifier(workers=2, max_chunk=8) as v:
        yield v


async def test_a_batch_gets_the_one_ballot_answers_in_order(verifier: BatchVerifier) -> None:
    expected = [verify_ballot(RULES, b) for b in BALLOTS]
    assert sum(e is not None for e in expected) == 12  # the altered ones, refused
    assert await verifier.verify(RULES, BALLOTS) == expected
    assert verify_ballots(RULES, BALLOTS) == expected  # what each worker runs
    # A ballot no JSON decoder makes, on which the one-ballot verifier raises, is
    # refused alone; its neighbours in the chunk get their answers.
    odd = Ballot(7, (), (), ())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_ballot(RULES, odd)
    assert await verifier.verify(RULES, [BALLOTS[0], odd, BALLOTS[4]]) == \
        [None, BallotRefusal(BallotProblem.MALFORMED), expected[4]]
    assert await verifier.verify(RULES, []) == []


async def test_interleaved_calls_of_two_polls(verifier: BatchVerifier) -> None:
    """Single ballots and batches of two polls at once, as a burst reaches the server."""
    singles = [verifier.verify_one(RULES, b) for b in BALLOTS[:30]]
    batches = [verifier.verify(OTHER, OTHERS), verifier.verify(RULES, BALLOTS[30:])]
    got = await asyncio.gather(*singles, *batches)
    assert got[:30] == [verify_ballot(RULES, b) for b in BALLOTS[:30]]
    assert got[30] == [verify_ballot(OTHER, b) for b in OTHERS]
    assert got[31] == [verify_ballot(RULES, b) for b in BALLOTS[30:]]
    # The other poll's ballots fail under this poll's rules (another context, k = 3).
    assert all(p is not None for p in await verifier.verify(RULES, OTHERS))


async def test_the_workers_import_nothing_of_the_server(verifier: BatchVerifier) -> None:
    loop = asyncio.get_running_loop()
    names = await loop.run_in_executor(verifier._pool(), eval,  # a builtin: picklable
                                       "sorted(__import__('sys').modules)")
    assert "phonghop.voting.secret.fast" in names and "pysodium" in names
    server_side = {"phonghop.server", "phonghop.rooms", "phonghop.store", "phonghop.bus"}
    assert not [n for n in names if n.split(".")[0] in ("starlette", "sqlalchemy", "redis")
                or ".".join(n.split(".")[:2]) in server_side]


async def test_a_full_queue_makes_callers_wait_and_loses_nothing() -> None:
    async with BatchVerifier(workers=1, max_pending=3, max_chunk=2) as small:
        got = await asyncio.gather(*(small.verify_one(RULES, b) for b in BALLOTS[:25]),
                                   small.verify(RULES, BALLOTS[25:]))
    assert list(got[:25]) == [verify_ballot(RULES, b) for b in BALLOTS[:25]]
    assert got[25] == [verify_ballot(RULES, b) for b in BALLOTS[25:]]


async def test_a_missed_deadline_is_a_typed_error_and_the_verifier_goes_on() -> None:
    async with BatchVerifier(workers=1, kind="thread", timeout=0.001) as hurried:
        with pytest.raises(VerifyTimeout):
            await hurried.verify(RULES, BALLOTS * 4)  # ≈ 0.2 s of work at the least
        hurried.timeout = 60
        assert await hurried.verify(RULES, BALLOTS[:10]) == \
            [verify_ballot(RULES, b) for b in BALLOTS[:10]]


async def test_a_killed_worker_fails_its_calls_and_the_pool_is_rebuilt() -> None:
    async with BatchVerifier(workers=2, max_chunk=4) as doomed:
        assert len(doomed.pids) == 2
        call = asyncio.ensure_future(doomed.verify(RULES, BALLOTS * 10))
        await asyncio.sleep(0.05)
        os.kill(doomed.pids[0], signal.SIGKILL)  # a worker this test started
        with pytest.raises(VerifierFailed):
            await call
        assert await doomed.verify(RULES, BALLOTS[:10]) == \
            [verify_ballot(RULES, b) for b in BALLOTS[:10]]


async def test_close_fails_waiting_calls_and_stops_the_workers() -> None:
    closing = BatchVerifier(workers=2, max_chunk=2)
    await closing.start()
    pids = closing.pids
    call = asyncio.ensure_future(closing.verify(RULES, BALLOTS))
    await asyncio.sleep(0.01)
    await closing.aclose()
    with pytest.raises(VerifierFailed):
        await call
    with pytest.raises(VerifierFailed):
        await closing.verify(RULES, BALLOTS[:1])
    for pid in pids:  # gone, reaped by the pool's shutdown
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_workers_yield_the_cpu_to_the_caller_by_their_niceness() -> None:
    """The server's checks run after the acks: its workers run below the event loop."""
    async with BatchVerifier(workers=2, niceness=10) as v:
        assert await v.verify(RULES, BALLOTS[:4]) == [verify_ballot(RULES, b)
                                                      for b in BALLOTS[:4]]
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert [os.getpriority(os.PRIO_PROCESS, pid) - mine for pid in v.pids] == [10, 10]
    with pytest.raises(ValueError):
        BatchVerifier(niceness=20)
