"""A pool of worker processes for PDF work, with per-job timeouts and priorities.

`concurrent.futures.ProcessPoolExecutor` cannot stop one job that runs too long; a hostile
PDF can make MuPDF spin for minutes. Here each worker is a process on its own pipe: a job
past its deadline gets its worker killed and replaced, and the caller a `JobFailed`. Jobs
the user waits for (priority 0) go before background pre-rendering (priority 1).

Each worker leads its own process group, and killing a worker kills the group: nothing a
job started outlives it. Workers run with an address-space limit (`PHONGHOP_WORKER_MEMORY_MB`,
default 2048) and a CPU-time limit per job (its deadline), so a job that runs out of memory
fails `too_complex` and one that spins past its CPU time fails `render_timeout`, like one
past its deadline; the worker is replaced either way (documents/worker.py).

Workers start when there is work: none at `start()`, one more whenever a job waits and
fewer than `size` are running or starting, and each retires after `idle_seconds` without a
job. An idle server holds no worker (and no PyMuPDF); the first page after a quiet spell
waits for one worker's start (about 0.3 s, its deadline does not count it).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import multiprocessing
import os
import signal
from dataclasses import dataclass, field
from typing import Any

URGENT, BACKGROUND = 0, 1
MEMORY_ENV = "PHONGHOP_WORKER_MEMORY_MB"
DEFAULT_MEMORY_MB = 2048
MIN_MEMORY_MB = 1024  # a worker with PyMuPDF and pyHanko loaded maps about 600 MB


def memory_limit() -> int:
    """Bytes of address space per worker: PHONGHOP_WORKER_MEMORY_MB (0: no limit)."""
    mb = int(os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY_MB)
    return 0 if mb <= 0 else max(mb, MIN_MEMORY_MB) * 1024 * 1024


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


def _worker_main(conn: Any, memory_bytes: int, jobs: str) -> None:
    """The worker's entry point. phonghop.documents.worker (and PyMuPDF) is imported here, in the
    worker: the server's own process never loads them for the pool's sake."""
    from phonghop.documents.worker import main

    main(conn, memory_bytes, jobs)


class _Worker:
    def __init__(self, ctx: Any, memory_bytes: int, jobs: str) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, memory_bytes, jobs),
                                   daemon=True, name="phonghop-pdf")
        self.process.start()
        child.close()
        self.job: _Job | None = None
        self.ready = False  # said ("ready",): it imported its jobs and serves them
        self.killed = False
        self.idle_since = 0.0  # loop time when it last became idle

    def kill(self) -> None:
        """Kill the worker and its process group (whatever its jobs started), and reap it."""
        if self.killed:
            return
        self.killed = True
        # Not reaped yet, so the pid (the group's id) cannot have been reused. Before the
        # worker has called setsid there is no such group, and the worker alone is killed.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.conn.close()
        self.process.join(timeout=2)


class WorkerPool:
    """Up to `size` worker processes; `await run(name, *args)` runs a job in one of them.

    `memory_bytes` caps each worker's address space (default: `memory_limit()`); `jobs`
    names the module whose `JOBS` the workers serve; a worker without a job for
    `idle_seconds` retires (None: never)."""

    def __init__(self, size: int = 2, memory_bytes: int | None = None,
                 jobs: str = f"{__package__}.worker", idle_seconds: float | None = None,
                 ) -> None:
        self.size = size
        self.memory_bytes = memory_limit() if memory_bytes is None else memory_bytes
        self.jobs = jobs
        self.idle_seconds = idle_seconds
        self._starting = 0  # workers being spawned, not yet in `_all`
        self._retiring: asyncio.TimerHandle | None = None
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._queue: list[_Job] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self.timeouts = 0  # past the deadline, or the CPU time
        self.crashes = 0
        self.exhausted = 0  # out of memory
        self.started = 0  # workers started, replacements included
        self.retired = 0  # workers that retired idle

    def _new_worker(self) -> _Worker:
        return _Worker(self._ctx, self.memory_bytes, self.jobs)

    async def start(self) -> None:
        """Ready to take jobs; workers start with the first ones."""
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._stopped = True
        if self._retiring is not None:
            self._retiring.cancel()
            self._retiring = None
        for worker in list(self._all):
            self._remove(worker)
            worker.kill()
        for job in self._queue:
            if not job.future.done():
                job.future.set_exception(JobFailed("render_failed", "shutting down"))
        self._queue.clear()

    def queued(self) -> int:
        return len(self._queue)

    def pids(self) -> list[int]:
        """The process ids of the workers (each also the id of its process group)."""
        return [w.process.pid for w in self._all]

    async def run(self, name: str, *args: Any, limit: float = 10.0,
                  priority: int = URGENT) -> Any:
        """Run job `name` in a worker; raise JobFailed on refusal, crash or timeout.

        `limit` is the job's deadline in seconds, from when a worker takes it, and its CPU
        time too."""
        assert self._loop is not None, "pool not started"
        future: asyncio.Future[Any] = self._loop.create_future()
        heapq.heappush(self._queue, _Job(priority, next(self._order), name, args, limit,
                                         future))
        self._dispatch()
        return await future

    # ---- scheduling ----

    def _add(self, worker: _Worker) -> None:
        # Idle once it says it is ready: a job's deadline must not pay for a worker's start.
        assert self._loop is not None
        self._all.add(worker)
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
                worker.conn.send((job.name, job.args, job.timeout))
            except (BrokenPipeError, OSError):
                self._replace(worker, JobFailed("render_failed", "worker gone"))
                continue
            assert self._loop is not None
            self._loop.call_later(job.timeout, self._expire, worker, job)
        self._grow()

    def _grow(self) -> None:
        """Start workers for the jobs that wait, up to `size` (counting those starting)."""
        if self._stopped or self._loop is None or self._loop.is_closed():
            return
        waiting = sum(1 for job in self._queue if not job.future.done())
        wanted = min(waiting - self._starting, self.size - len(self._all) - self._starting)
        for _ in range(max(wanted, 0)):
            self._starting += 1
            self._loop.create_task(self._spawn())

    async def _spawn(self) -> None:
        try:
            worker = await asyncio.to_thread(self._new_worker)
        except Exception as exc:  # no process to be had (out of memory or descriptors)
            self._starting -= 1
            self._fail_waiting(f"no worker: {exc}")
            return
        self._starting -= 1
        self.started += 1
        if self._stopped:  # stopped while it started
            worker.kill()
            return
        self._add(worker)

    def _became_idle(self, worker: _Worker) -> None:
        assert self._loop is not None
        worker.idle_since = self._loop.time()
        self._idle.append(worker)
        if self.idle_seconds is not None and self._retiring is None:
            self._retiring = self._loop.call_later(self.idle_seconds, self._retire_idle)

    def _retire_idle(self) -> None:
        """Stop the workers idle for `idle_seconds`; look again when the next one will be."""
        assert self._loop is not None and self.idle_seconds is not None
        self._retiring = None
        now = self._loop.time()
        for worker in list(self._idle):
            if now - worker.idle_since >= self.idle_seconds:
                self._remove(worker)
                worker.kill()
                self.retired += 1
        if self._idle:
            due = min(w.idle_since for w in self._idle) + self.idle_seconds
            self._retiring = self._loop.call_at(due, self._retire_idle)

    def _fail_waiting(self, detail: str) -> None:
        """When no worker runs or starts, fail the jobs that wait: nobody would serve them."""
        if self._all or self._starting:
            return
        for job in self._queue:
            if not job.future.done():
                job.future.set_exception(JobFailed("render_failed", detail[:200]))
        self._queue.clear()

    def _failed_start(self, worker: _Worker, detail: str) -> None:
        """A worker that died before it was ready (it cannot import its jobs, say): the jobs
        that wait fail rather than wait on a worker started again and again; the next job
        tries a fresh one."""
        self._remove(worker)
        worker.kill()
        self.crashes += 1
        self._fail_waiting(f"worker could not start: {detail}")

    def _on_readable(self, worker: _Worker) -> None:
        job = worker.job
        try:
            result = worker.conn.recv()
        except (EOFError, OSError):
            self._remove(worker)  # before its pipe closes: the loop must forget the fd
            if not worker.ready:
                self._failed_start(worker, f"exit code {self._exit_code(worker)}")
                return
            self._replace(worker, self._died(worker))
            return
        if result[0] == "fatal" and not worker.ready:  # it says why it cannot serve
            self._failed_start(worker, result[2])
            return
        if result[0] == "fatal":  # the worker reported and exits (out of memory)
            self.exhausted += 1
            self._replace(worker, JobFailed(result[1], result[2]))
            return
        if result[0] == "ready":
            worker.ready = True
        worker.job = None
        self._became_idle(worker)
        if result[0] != "ready" and job is not None and not job.future.done():
            if result[0] == "ok":
                job.future.set_result(result[1])
            else:
                job.future.set_exception(JobFailed(result[1], result[2]))
        self._dispatch()

    def _expire(self, worker: _Worker, job: _Job) -> None:
        if worker.job is job and worker in self._all:
            self.timeouts += 1
            self._replace(worker, JobFailed("render_timeout", f"{job.timeout:g} s"))

    @staticmethod
    def _exit_code(worker: _Worker) -> int | None:
        """The worker's exit code (killed and reaped first, if it still runs)."""
        worker.kill()  # reaps it: its exit code is known
        return worker.process.exitcode

    def _died(self, worker: _Worker) -> JobFailed:
        """Why a worker's pipe closed: killed by its CPU limit (a timeout), or a crash."""
        if self._exit_code(worker) == -signal.SIGXCPU:
            self.timeouts += 1
            limit = worker.job.timeout if worker.job is not None else 0
            return JobFailed("render_timeout", f"CPU time past {limit:g} s")
        self.crashes += 1
        return JobFailed("render_failed", "worker crashed")

    def _replace(self, worker: _Worker, error: JobFailed) -> None:
        """Kill a worker (stuck or dead) and fail its job; jobs still waiting get a fresh
        worker in its place."""
        job = worker.job
        self._remove(worker)
        worker.kill()
        if job is not None and not job.future.done():
            job.future.set_exception(error)
        self._grow()
