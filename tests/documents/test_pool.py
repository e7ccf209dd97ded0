"""The worker pool against jobs gone wrong: out of memory, spinning, leaving processes behind.

Each test is what a hostile file could make a job do (tests/documents/hostile_jobs.py
stands in for the file): the caller gets a typed `JobFailed`, never a hang; the worker is
replaced; nothing the job started survives; and the pool serves the next real job.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from phonghop.documents.pool import JobFailed, WorkerPool
from tests.documents.conftest import dead, process_state
from tests.documents.corpus import report

GIB = 1 << 30


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    """One worker, 1 GiB of address space, serving the real jobs and the hostile ones."""
    workers = WorkerPool(1, memory_bytes=GIB, jobs="tests.documents.hostile_jobs")
    await workers.start()
    yield workers
    await workers.stop()


def hold_the_loop_until_it_dies(pid: int) -> int:
    """Block (the event loop too, so the pool reaps nothing) until our child `pid` is a
    zombie; the signal that killed it. Fails after two minutes."""
    deadline = time.monotonic() + 120
    while process_state(pid) != "Z":
        assert time.monotonic() < deadline, "the spinning worker was never stopped"
        time.sleep(0.05)
    # Field 52 of /proc/<pid>/stat: the exit status as waitpid(2) reports it.
    status = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[49])
    return status & 0x7F


async def ready_worker(pool: WorkerPool) -> int:
    """The pid of the (single) worker, once it serves jobs."""
    return int(await pool.run("whoami", limit=60.0))


async def serves_the_next_job(pool: WorkerPool, tmp_path: Path) -> None:
    pdf = tmp_path / "next.pdf"
    pdf.write_bytes(report(2, image=False))
    found = await pool.run("inspect", str(pdf), 50, limit=60.0)
    assert len(found.pages) == 2


async def test_a_job_that_allocates_past_the_memory_limit_fails_typed_and_is_replaced(
    pool: WorkerPool, tmp_path: Path,
) -> None:
    before = await ready_worker(pool)
    with pytest.raises(JobFailed) as failed:
        await pool.run("hog", limit=60.0)
    assert failed.value.code == "too_complex"
    assert pool.exhausted == 1
    assert dead(before)
    assert await ready_worker(pool) != before  # a fresh worker, not the bloated one
    await serves_the_next_job(pool, tmp_path)


async def test_a_spinning_job_dies_of_its_cpu_limit_even_when_the_timer_comes_late(
    pool: WorkerPool, tmp_path: Path,
) -> None:
    worker = await ready_worker(pool)
    timeouts = pool.timeouts
    job = asyncio.ensure_future(pool.run("spin", limit=1.0))
    await asyncio.sleep(0)  # the job goes to the worker
    # Hold the event loop (as a server too busy to run its timers would): only the
    # worker's CPU limit can stop the job now. The kernel kills it with SIGXCPU.
    assert hold_the_loop_until_it_dies(worker) == signal.SIGXCPU
    with pytest.raises(JobFailed) as failed:
        await job
    assert failed.value.code == "render_timeout"  # as if the timer had stopped it
    assert pool.timeouts == timeouts + 1
    await serves_the_next_job(pool, tmp_path)


async def test_a_process_a_job_started_dies_with_the_worker_on_timeout(
    pool: WorkerPool, tmp_path: Path,
) -> None:
    worker = await ready_worker(pool)
    pid_file = tmp_path / "child.pid"
    with pytest.raises(JobFailed) as failed:
        await pool.run("spawn_and_hang", str(pid_file), limit=3.0)
    assert failed.value.code == "render_timeout"
    child = int(pid_file.read_text())
    assert dead(worker)
    # Killed with its worker's process group; on a busy box the kernel may take a moment
    # to finish it off: it must be gone well before a next job could start there.
    for _ in range(50):
        if dead(child):
            break
        await asyncio.sleep(0.1)
    assert dead(child), f"the job's child {child} outlived its worker"
    await serves_the_next_job(pool, tmp_path)


async def test_workers_start_with_the_first_jobs_and_retire_when_idle(tmp_path: Path) -> None:
    """No worker until there is work; never more than `size`, however many jobs wait; an
    idle worker retires after `idle_seconds`, and the next job starts a fresh one."""
    workers = WorkerPool(2, memory_bytes=GIB, jobs="tests.documents.hostile_jobs",
                         idle_seconds=1.0)
    await workers.start()
    try:
        assert workers.pids() == [] and workers.started == 0
        served = await asyncio.gather(*(workers.run("slow_page", 0.5, limit=60.0)
                                        for _ in range(6)))
        assert workers.started == 2  # six jobs waited: two workers, not six
        assert set(served) <= set(workers.pids()) and len(workers.pids()) == 2
        deadline = time.monotonic() + 30
        while workers.pids():  # each retires a second after its last job
            assert time.monotonic() < deadline, "idle workers never retired"
            await asyncio.sleep(0.1)
        assert workers.retired == 2
        assert all(dead(pid) for pid in served)
        await serves_the_next_job(workers, tmp_path)
        assert workers.started == 3
    finally:
        await workers.stop()


@pytest.mark.parametrize(("jobs", "why"), [
    ("tests.documents.no_such_jobs", "cannot load tests.documents.no_such_jobs"),
    ("tests.documents.dying_jobs", "exit code "),
])
async def test_a_worker_that_cannot_start_fails_the_job_instead_of_starting_again(
    jobs: str, why: str,
) -> None:
    """A broken install (the jobs' module missing, or killing the worker as it loads): the
    caller gets a typed failure that says why, not a wait on workers started in a loop."""
    workers = WorkerPool(1, memory_bytes=GIB, jobs=jobs)
    await workers.start()
    try:
        for attempt in (1, 2):  # the next job tries a fresh worker, and fails the same way
            with pytest.raises(JobFailed) as failed:
                await asyncio.wait_for(workers.run("whoami", limit=60.0), 60)
            assert failed.value.code == "render_failed"
            assert why in failed.value.detail, failed.value.detail
            assert workers.started == attempt and workers.pids() == []
    finally:
        await workers.stop()
