"""Ballot verification on a few long-lived worker processes, for the server's event loop.

A ballot costs ≈ 1 ms of libsodium (k = 2; `voting.secret.fast` says why), ⅓ less on
libdecaf (`voting.secret.decaf`, which `verifier_for` picks when it is installed),
so a burst of thousands must use every core, off the event loop. `BatchVerifier` keeps a
small pool (`multiprocessing`'s spawn context: a fresh interpreter that imports this module,
hence `voting.secret` and pysodium, and nothing of the server) and an async API:

    verifier = BatchVerifier(workers=2)
    await verifier.start()                       # optional: spawns and warms the workers
    problems = await verifier.verify(rules, [ballot_json, …])   # None or a BallotRefusal
    await verifier.aclose()

Ballots wait in one bounded queue (`max_pending`; `verify` waits for room) and go to the
workers in chunks, once per event-loop turn (the calls of one turn share chunks). At most
two chunks per worker are in flight: under load the queue fills and the next chunks grow
(up to `max_chunk`), so a burst is verified in large, cheap batches; when idle a lone
ballot goes out on the next turn. Every call has a deadline (`timeout`):
`VerifyTimeout` then, and its ballots still queued are dropped. A worker that dies fails
only the chunks it held (`VerifierFailed`); the pool is rebuilt for the next ones.

Processes, not threads, so that verification takes no time from the event loop's thread
(libsodium releases the GIL, so threads scale too: `kind="thread"` exists for the
benchmark's comparison and for tools).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal

from phonghop.voting.secret.ballot import BallotProblem, BallotRefusal, BallotRules
from phonghop.voting.secret.decaf import AVAILABLE as _DECAF  # noqa: F401 (workers load it at start)
from phonghop.voting.secret.fast import verifier_for

Problem = BallotRefusal | None
"""What verification says of one ballot: None when it is valid."""


def verify_ballots(rules: BallotRules, ballots: Sequence[object]) -> list[Problem]:
    """Each ballot's refusal (or None), in order, in this process: what a worker runs.

    A ballot the verifier cannot even examine (an object no JSON decoder makes, on which
    it raises) is refused as malformed, so that it fails alone, not its chunk."""
    verifier = verifier_for(rules)
    out: list[Problem] = []
    for ballot in ballots:
        try:
            out.append(verifier.verify(ballot))
        except Exception:
            out.append(BallotRefusal(BallotProblem.MALFORMED))
    return out


_started: Any = None  # in a worker: the barrier every worker of its pool meets at start


def _init(barrier: Any, parent: int, niceness: int) -> None:
    global _started
    _started = barrier
    _die_with(parent)
    if niceness:
        os.nice(niceness)


def _die_with(parent: int) -> None:
    """End this worker when the process that started it ends, however it ends.

    A worker blocked on its call queue never notices a parent killed with SIGKILL (the
    queue stays open in its sibling workers), and would wait forever. Linux's
    PR_SET_PDEATHSIG sends it SIGKILL then; the check after it covers a parent that died
    before the call."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(0)


def _warm() -> int:
    """Run once in each worker by `start`: its imports are done; its pid for the caller.
    Each waits for the others at the barrier, so no worker runs two of these."""
    if _started is not None:
        _started.wait(timeout=60)
    return os.getpid()


class VerifyTimeout(TimeoutError):
    """The ballots were not all verified before the deadline."""


class VerifierFailed(RuntimeError):
    """A worker died or the verifier was closed before these ballots were verified."""


@dataclass(slots=True)
class _Item:
    rules: BallotRules
    ballot: object
    future: asyncio.Future[Problem]


class BatchVerifier:
    """A pool of `workers` processes verifying ballots for one event loop (module doc)."""

    def __init__(self, workers: int = 2, *, max_pending: int = 20_000, max_chunk: int = 64,
                 timeout: float = 30.0, kind: Literal["process", "thread"] = "process",
                 niceness: int = 0) -> None:
        if workers < 1 or max_pending < 1 or max_chunk < 1 or timeout <= 0 or not (
                0 <= niceness <= 19):
            raise ValueError("workers, max_pending and max_chunk ≥ 1, timeout > 0, "
                             "niceness 0…19")
        self.niceness = niceness
        """Added to the worker processes' nice value: how much they yield the CPU."""
        self.workers, self.max_pending, self.max_chunk = workers, max_pending, max_chunk
        self.timeout, self.kind = timeout, kind
        self.pids: list[int] = []
        """The worker processes' ids, once `start` has run (tests stop one)."""
        self._executor: Executor | None = None
        self._queue: deque[_Item] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()  # callers waiting for room
        self._tasks: set[asyncio.Task[None]] = set()  # the chunks in flight
        self._closed = False
        self._dispatch_soon = False

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.kind == "thread":
                self._executor = ThreadPoolExecutor(self.workers, "ballot-verify")
            else:
                ctx = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=ctx, initializer=_init,
                    initargs=(ctx.Barrier(self.workers), os.getpid(), self.niceness))
        return self._executor

    async def start(self) -> None:
        """Spawn the workers and wait until each has imported everything (≈ 0.3 s),
        so that the first ballots do not pay for it."""
        loop = asyncio.get_running_loop()
        pool = self._pool()
        pids = await asyncio.gather(*(loop.run_in_executor(pool, _warm)
                                      for _ in range(self.workers)))
        self.pids = sorted(set(pids)) if self.kind == "process" else []

    async def verify(self, rules: BallotRules, ballots: Sequence[object]) -> list[Problem]:
        """Each ballot's refusal or None, in order. Waits for room in the queue; raises
        `VerifyTimeout` past the verifier's `timeout` and `VerifierFailed` when a worker
        died under these ballots or the verifier is closed."""
        if self._closed:
            raise VerifierFailed("the verifier is closed")
        try:
            async with asyncio.timeout(self.timeout):
                return await self._verify(rules, ballots)
        except TimeoutError:
            raise VerifyTimeout(f"{len(ballots)} ballots not verified in time") from None

    async def verify_one(self, rules: BallotRules, ballot: object) -> Problem:
        """One ballot; concurrent calls share chunks."""
        return (await self.verify(rules, [ballot]))[0]

    async def _verify(self, rules: BallotRules, ballots: Sequence[object]) -> list[Problem]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Problem]] = []
        try:
            for ballot in ballots:
                while len(self._queue) >= self.max_pending:
                    self._dispatch()
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.append(waiter)
                    await waiter
                    if self._closed:
                        raise VerifierFailed("the verifier is closed")
                future: asyncio.Future[Problem] = loop.create_future()
                self._queue.append(_Item(rules, ballot, future))
                futures.append(future)
            if not self._dispatch_soon:  # once per loop turn: the turn's calls share chunks
                self._dispatch_soon = True
                loop.call_soon(self._dispatch)
            if len(futures) == 1:
                return [await futures[0]]
            return list(await asyncio.gather(*futures))
        finally:
            for future in futures:  # a timeout, a failure: drop what is still queued
                future.cancel()

    def _dispatch(self) -> None:
        """Send chunks while fewer than two per worker are in flight (a worker finds its
        next chunk waiting), each a share of the queue up to `max_chunk`; wake callers
        waiting for room."""
        self._dispatch_soon = False
        size = min(self.max_chunk, max(1, -(-len(self._queue) // self.workers)))
        while self._queue and len(self._tasks) < 2 * self.workers and not self._closed:
            rules = self._queue[0].rules
            chunk: list[_Item] = []
            while self._queue and len(chunk) < size and self._queue[0].rules == rules:
                item = self._queue.popleft()
                if not item.future.done():  # not dropped by its caller
                    chunk.append(item)
            if chunk:
                task = asyncio.ensure_future(self._run(rules, chunk))
                self._tasks.add(task)
                task.add_done_callback(self._done)
        while self._waiters and (len(self._queue) < self.max_pending or self._closed):
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._dispatch()

    async def _run(self, rules: BallotRules, chunk: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        if self._closed:  # closed between the dispatch and now: no new pool
            self._fail(chunk, VerifierFailed("the verifier is closed"))
            return
        pool = self._pool()
        try:
            results = await loop.run_in_executor(pool, verify_ballots, rules,
                                                 [item.ballot for item in chunk])
        except BrokenProcessPool:
            if self._executor is pool:  # rebuilt for the next chunk
                self._executor = None
                pool.shutdown(wait=False, cancel_futures=True)
            self._fail(chunk, VerifierFailed("a verifier process died"))
        except Exception as exc:
            self._fail(chunk, VerifierFailed(f"verification failed: {type(exc).__name__}"))
        else:
            for item, result in zip(chunk, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)
        finally:  # cancelled (the pool shut down under it): nobody waits forever
            self._fail(chunk, VerifierFailed("the verifier is closed"))

    @staticmethod
    def _fail(chunk: Sequence[_Item], exc: Exception) -> None:
        for item in chunk:
            if not item.future.done():
                item.future.set_exception(exc)

    async def aclose(self) -> None:
        """Fail what is queued, drop the chunks not yet started, stop the workers."""
        self._closed = True
        self._fail(self._queue, VerifierFailed("the verifier is closed"))
        self._queue.clear()
        self._dispatch()  # wakes the callers waiting for room: they see the close
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> BatchVerifier:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
