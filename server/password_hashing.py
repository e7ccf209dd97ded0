"""Password hashing on threads of its own, with a bounded queue.

argon2id is slow and memory-hard on purpose (64 MiB and tens of milliseconds a check). Run
on the default thread pool, a dozen unauthenticated sign-ins would queue ahead of signing,
verification and every other blocking job of the node. Here it has `threads` threads (the
C code releases the GIL) and at most `queue` checks waiting: one more is refused at once
with `PasswordsBusy`, which the endpoints answer as a typed `busy` with Retry-After, so
that whatever anyone sends to /api/login, the rest of the server keeps its pace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class PasswordsBusy(Exception):
    """Every hashing thread is busy and the queue is full: try again in a moment."""


class PasswordHashing:
    """A bounded executor for password hashes and checks."""

    def __init__(self, threads: int = 1, queue: int = 64) -> None:
        self.threads = threads
        self.limit = threads + queue
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="phonghop-passwords")
        self.in_flight = 0
        self.refused = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place in the queue, or raise PasswordsBusy at once.

        Taken before anything else a sign-in costs (the account's lookup included), so that
        a flood is refused for almost nothing."""
        if self.in_flight >= self.limit:
            self.refused += 1
            raise PasswordsBusy
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` on a hashing thread (in a slot of the caller's, or its own)."""
        with self.slot():
            return await self.run_in_slot(fn, *args)

    async def run_in_slot(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` on a hashing thread, within a slot the caller holds."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
