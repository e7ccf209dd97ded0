"""A pool of worker processes for PDF work, with per-job timeouts and priorities.

`concurrent.futures.ProcessPoolExecutor` cannot stop one job that runs too long; a hostile
PDF can make MuPDF spin for minutes. Here each worker is a process on its own pipe: a job
past its deadline gets its worker killed and replaced, and the caller a `JobFailed`. Jobs
the user waits for (priority 0) go before background pre-rendering (priority 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import multiprocessing
from dataclasses import dataclass, field
from typing import Any

from documents.worker import main as worker_main

URGENT, BACKGROUND = 0, 1


class JobFailed(Exception):
    """The job was refused (`code` is a refusal code) or its worker failed or timed out."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(order=True)
class _Job:
    priority: int
    order: int
    name: str = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    timeout: float = field(compare=False)
    future: asyncio.Future[Any] = field(compare=False)


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child,), daemon=True,
                                   name="phonghop-pdf")
        self.process.start()
        child.close()
        self.job: _Job | None = None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.conn.close()
        self.process.join(timeout=2)


class WorkerPool:
    """`size` worker processes; `await run(name, *args)` runs a job in one of them."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._queue: list[_Job] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.timeouts = 0
        self.crashes = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        workers = await asyncio.to_thread(lambda: [_Worker(self._ctx) for _ in range(self.size)])
        for worker in workers:
            self._add(worker)
        self._dispatch()

    async def stop(self) -> None:
        for worker in list(self._all):
            self._remove(worker)
            worker.kill()
        for job in self._queue:
            if not job.future.done():
                job.future.set_exception(JobFailed("render_failed", "shutting down"))
        self._queue.clear()

    def queued(self) -> int:
        return len(self._queue)

    async def run(self, name: str, *args: Any, limit: float = 10.0,
                  priority: int = URGENT) -> Any:
        """Run job `name` in a worker; raise JobFailed on refusal, crash or timeout."""
        assert self._loop is not None, "pool not started"
        future: asyncio.Future[Any] = self._loop.create_future()
        heapq.heappush(self._queue, _Job(priority, next(self._order), name, args, limit,
                                         future))
        self._dispatch()
        return await future

    # ---- scheduling ----

    def _add(self, worker: _Worker) -> None:
        assert self._loop is not None
        self._all.add(worker)
        self._idle.append(worker)
        self._loop.add_reader(worker.conn.fileno(), self._on_readable, worker)

    def _remove(self, worker: _Worker) -> None:
        self._all.discard(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(worker.conn.fileno())

    def _dispatch(self) -> None:
        while self._idle and self._queue:
            job = heapq.heappop(self._queue)
            if job.future.done():  # the caller gave up (cancelled) while it queued
                continue
            worker = self._idle.pop()
            worker.job = job
            try:
                worker.conn.send((job.name, job.args))
            except (BrokenPipeError, OSError):
                self._replace(worker, JobFailed("render_failed", "worker gone"))
                continue
            assert self._loop is not None
            self._loop.call_later(job.timeout, self._expire, worker, job)

    def _on_readable(self, worker: _Worker) -> None:
        job = worker.job
        try:
            result = worker.conn.recv()
        except (EOFError, OSError):
            self.crashes += 1
            self._replace(worker, JobFailed("render_failed", "worker crashed"))
            return
        worker.job = None
        self._idle.append(worker)
        if job is not None and not job.future.done():
            if result[0] == "ok":
                job.future.set_result(result[1])
            else:
                job.future.set_exception(JobFailed(result[1], result[2]))
        self._dispatch()

    def _expire(self, worker: _Worker, job: _Job) -> None:
        if worker.job is job and worker in self._all:
            self.timeouts += 1
            self._replace(worker, JobFailed("render_timeout", f"{job.timeout:g} s"))

    def _replace(self, worker: _Worker, error: JobFailed) -> None:
        """Kill a worker (stuck or dead), fail its job, and start a fresh one in its place."""
        job = worker.job
        self._remove(worker)
        worker.kill()
        if job is not None and not job.future.done():
            job.future.set_exception(error)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.create_task(self._respawn())

    async def _respawn(self) -> None:
        worker = await asyncio.to_thread(_Worker, self._ctx)
        self._add(worker)
        self._dispatch()
