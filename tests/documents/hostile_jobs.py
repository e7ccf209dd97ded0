"""The worker's jobs plus what the worst file could make one of them do, for the pool tests:
allocate without end, spin on the CPU, start a process and hang.

A pool serves these with `WorkerPool(jobs="tests.documents.hostile_jobs")`; the real jobs
stay available, so the tests also see the next real job served.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from phonghop.documents.worker import JOBS as REAL


def hog(step_mb: int = 64) -> None:
    """Allocate, and keep, `step_mb` MiB after another until something stops us."""
    held = []
    while True:
        held.append(bytearray(step_mb << 20))


def spin() -> None:
    """Burn CPU forever (no signal handler of ours: only the kernel stops this)."""
    while True:
        pass


def spawn_and_hang(pid_file: str) -> None:
    """Start a long-lived child process, tell its pid, and hang."""
    child = subprocess.Popen(["sleep", "600"])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(600)


def whoami() -> int:
    return os.getpid()


def slow_page(seconds: float) -> int:
    """A page that takes `seconds` (waiting, not computing); then who served it."""
    time.sleep(seconds)
    return os.getpid()


JOBS: dict[str, Any] = {**REAL, "hog": hog, "spin": spin, "spawn_and_hang": spawn_and_hang,
                        "whoami": whoami, "slow_page": slow_page}
