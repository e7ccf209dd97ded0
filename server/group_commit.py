"""Group commit: items from many callers, written in batches by one loop.

Whatever arrives while a batch is being written goes into the next one, so under a burst
each store transaction carries many items and the round trips do not grow with the load.
A room's log writer (server/room_host.py) writes one batch at a time, because events are
appended in seq order; its ballot box (server/ballot_box.py) up to three at once, because
a commit's answer waits for turns of a busy event loop and ballots are independent
(docs/PERFORMANCE.md, "One hand-over a batch").

A slot is taken before the batch is: items that arrive while every slot is busy wait for
the next free one and go in together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """A queue of `T` written by `write(batch)` at most `batch_max` at a time, with up to
    `in_flight` batches being written at once. `failed(batch, exc)` answers a batch whose
    write raised (or was cancelled when the writer stopped): no item is left unanswered."""

    def __init__(self, name: str, write: Callable[[list[T]], Awaitable[None]],
                 failed: Callable[[list[T], BaseException], None], *, batch_max: int,
                 in_flight: int = 1) -> None:
        self.name = name
        self._write = write
        self._failed = failed
        self._batch_max = batch_max
        self._in_flight = in_flight
        self._slots = asyncio.Semaphore(in_flight)
        self._queued: list[T] = []
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._writing: dict[asyncio.Task[None], list[T]] = {}  # batches being written
        self._begun: set[int] = set()  # ids of those whose write has begun
        self._stopped = False

    @property
    def queued(self) -> int:
        """Items waiting for a batch (not those being written)."""
        return len(self._queued)

    def put(self, item: T) -> None:
        """Queue an item for the next batch (after `stop`, it is answered as failed)."""
        if self._stopped:
            self._failed([item], asyncio.CancelledError())
            return
        self._queued.append(item)
        self._wake.set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    def stop(self) -> list[T]:
        """Stop writing: batches being written are cancelled (and answered through
        `failed`); the items still queued are returned, unwritten, for the caller to
        answer."""
        self._stopped = True
        if self._loop is not None:
            self._loop.cancel()
        for task in list(self._writing):
            task.cancel()
        left, self._queued = self._queued, []
        return left

    def _written(self, task: asyncio.Task[None]) -> None:
        batch = self._writing.pop(task)
        if id(batch) not in self._begun:  # cancelled before its write began: answer it
            self._slots.release()
            self._failed(batch, asyncio.CancelledError())
        self._begun.discard(id(batch))

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queued:
                await self._slots.acquire()
                batch = self._queued[:self._batch_max]
                del self._queued[:self._batch_max]
                if self._in_flight == 1:
                    # One at a time: written here, in order, without a task per batch.
                    await self._guarded(batch)
                else:
                    task = asyncio.get_running_loop().create_task(self._guarded(batch))
                    self._writing[task] = batch
                    task.add_done_callback(self._written)

    async def _guarded(self, batch: list[T]) -> None:
        if self._in_flight > 1:  # a task of its own: `_written` needs to know it began
            self._begun.add(id(batch))
        try:
            await self._write(batch)
        except asyncio.CancelledError as exc:
            self._failed(batch, exc)
            raise
        except Exception as exc:
            self._failed(batch, exc)
        finally:
            self._slots.release()
