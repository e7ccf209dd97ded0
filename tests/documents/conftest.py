"""A real document library (worker processes, files on disk) for the documents tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from phonghop.documents.library import Library, Limits, Stored
from phonghop.documents.pool import WorkerPool


def process_state(pid: int) -> str | None:
    """The kernel's state letter of a process (Z: dead, not yet reaped), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def dead(pid: int) -> bool:
    """The process is gone (or a zombie nobody reaped: dead all the same)."""
    return process_state(pid) in (None, "Z")


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def store(library: Library, data: bytes) -> Stored:
    """Upload and ingest `data` as the server does."""
    return await library.ingest(await library.receive(chunks(data)))


@pytest.fixture(scope="module")
async def library(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Library]:
    lib = Library(Path(tmp_path_factory.mktemp("library")), WorkerPool(2),
                  Limits(max_bytes=8 * 1024 * 1024, max_pages=50, render_timeout=30.0))
    await lib.pool.start()
    yield lib
    await lib.pool.stop()
