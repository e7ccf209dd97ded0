"""Store fixtures: the same SqlStore contract on SQLite (a file in a tmp dir) and PostgreSQL.

PostgreSQL is the local server on 127.0.0.1:5432 (trust auth, user postgres). One fresh
database is created for the test run and dropped after it; each test starts from an empty
schema in it, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from phonghop.store import SqlStore, sqlite_url

PG_HOST = os.environ.get("PHONGHOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def _pg_reachable() -> bool:
    import socket

    host_port = PG_HOST.rsplit("@", 1)[-1].split("/")[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port or 5432)), timeout=1):
            return True
    except OSError:
        return False


async def _admin(sql: str, database: str = "postgres") -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG_HOST}/{database}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run: its URL (without a driver)."""
    if not _pg_reachable():
        pytest.skip(f"PostgreSQL is not running at {PG_HOST}")
    name = f"phonghop_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_HOST}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a store of each kind (on PostgreSQL, the run's database)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return request.getfixturevalue("pg_database")


@pytest.fixture
async def open_store(store_url: str) -> AsyncIterator[Callable[[], Awaitable[SqlStore]]]:
    """open_store() -> an opened SqlStore on the test's empty database (several may be open)."""
    if store_url.startswith("postgresql"):
        await _admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public",
                     store_url.rsplit("/", 1)[-1])
    opened: list[SqlStore] = []

    async def opener() -> SqlStore:
        store = SqlStore(store_url)
        await store.open()
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: Callable[[], Awaitable[SqlStore]]) -> SqlStore:
    return await open_store()
