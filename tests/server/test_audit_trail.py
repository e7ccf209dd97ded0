"""The access log's writer (server/audit.py) over a real store: batches, names resolved
to accounts or keyed hashes, and a PostgreSQL outage waited out with the loss written
down when the queue overflowed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from phonghop.server.audit import AuditTrail, name_key
from phonghop.store import SqlStore, sqlite_url
from phonghop.store.audit import AuditQuery
from tests.conftest import PG, _pg_admin


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = SqlStore(sqlite_url(tmp_path))
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def pg_store() -> AsyncIterator[tuple[SqlStore, str]]:
    name = f"phonghop_trail_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    store = SqlStore(f"{PG}/{name}")
    await store.open()
    yield store, name
    await store.close()
    _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_names_become_account_ids_or_keyed_hashes(sqlite_store: SqlStore) -> None:
    chair = await sqlite_store.create_user("chutri", "argon2-hash", "Trần Quốc Hưng")
    key = secrets.token_bytes(32)
    trail = AuditTrail(sqlite_store, key)
    long_name = "n" * 300
    trail.record("signin", "bad_credentials", username="chutri", address="10.0.0.1")
    trail.record("signin", "bad_credentials", username="Mật-khẩu-gõ-nhầm", address="10.0.0.1")
    trail.record("signin", "invalid", username=long_name, address="\x00" + "9" * 500)
    trail.record("signin", actor=chair.id, username="chutri", client="device",
                 note="Ghi chú\u202e\x07 " + "x" * 500)
    assert await trail.flush()
    got = await sqlite_store.audit_records(AuditQuery(ascending=True))
    assert [(r.entry.actor_id, r.entry.actor_key) for r in got] == [
        (chair.id, None), (None, name_key(key, "Mật-khẩu-gõ-nhầm")),
        (None, name_key(key, long_name)), (chair.id, None)]
    # bounded and cleaned: addresses 64 characters, texts 200, no control characters
    assert got[2].entry.address == "9" * 64
    assert got[3].entry.detail["note"] == ("Ghi chú " + "x" * 500)[:200]
    assert (await sqlite_store.verify_audit()).ok


async def test_bursts_are_written_in_batches_in_order(sqlite_store: SqlStore) -> None:
    trail = AuditTrail(sqlite_store)
    for n in range(2500):
        trail.record("document.page_view", actor=n % 7, meeting=1, page=n)
    assert await trail.flush(30)
    got = await sqlite_store.audit_records(AuditQuery(ascending=True, limit=3000))
    assert [r.entry.detail["page"] for r in got] == list(range(2500))
    assert (await sqlite_store.verify_audit()).ok and trail.lost == 0


async def test_an_outage_is_waited_out_and_an_overflow_written_down(
        pg_store: tuple[SqlStore, str]) -> None:
    store, name = pg_store
    trail = AuditTrail(store, max_queue=4)
    trail.record("signin", actor=1, address="10.0.0.1")
    assert await trail.flush()
    # PostgreSQL stops taking connections, and every open one is cut
    _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    _pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    for n in range(6):  # in one turn of the loop: 4 queued, 2 beyond the queue
        trail.record("signout", actor=n, address="10.0.0.2")
    assert trail.lost == 2
    assert not await trail.flush(1.5)  # still down: nothing is written, nothing is lost
    _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert await trail.flush(30)
    got = await store.audit_records(AuditQuery(ascending=True))
    assert [(r.entry.kind, r.entry.outcome, r.entry.actor_id) for r in got] == [
        ("signin", "ok", 1), ("audit.gap", "store_unavailable", None),
        ("signout", "ok", 0), ("signout", "ok", 1), ("signout", "ok", 2),
        ("signout", "ok", 3)]
    assert got[1].entry.detail == {"lost": 2}
    assert (await store.verify_audit()).ok
    trail.record("signin", actor=9)
    assert await trail.flush()
    assert [r.entry.kind for r in await store.audit_records(AuditQuery(limit=1))] == ["signin"]
    await trail.close()
