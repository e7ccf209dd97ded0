"""The access log's contract (`store.audit.AuditLog`), the same on SQLite and PostgreSQL.

Appends get the next seqs and chain to the head, also when several stores (nodes) append
at once; reads filter and page by seq; and whoever edits the tables behind the store's
back (an altered field, a removed, inserted or replaced record, a cut tail) is named by
`verify_audit` at the first record where the chain breaks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa

from phonghop.store import SqlStore
from phonghop.store.audit import GENESIS, AuditEntry, AuditQuery, AuditRefused, chain_hash

Opener = Callable[[], Awaitable[SqlStore]]


def entry(n: int, kind: str = "signin", outcome: str = "ok", **fields: object) -> AuditEntry:
    return AuditEntry(at=f"2026-11-22T01:{n // 60 % 60:02d}:{n % 60:02d}.000Z", kind=kind,
                      outcome=outcome, address="192.0.2.7", **fields)  # type: ignore[arg-type]


async def execute(store: SqlStore, sql: str, **params: object) -> None:
    assert store.engine is not None
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(sql), params)


async def test_appends_chain_each_record_to_the_one_before(store: SqlStore) -> None:
    first = await store.append_audit([entry(1, actor_id=7, detail={"client": "device"})])
    more = await store.append_audit([entry(2, "signout", actor_id=7),
                                     entry(3, "signin", "bad_credentials", actor_key="ab" * 32)])
    assert [r.seq for r in first + more] == [1, 2, 3]
    prev = GENESIS
    for record in first + more:
        assert record.prev_hash == prev
        assert record.hash == chain_hash(prev, record.seq, record.entry)
        prev = record.hash
    stored = await store.audit_records(AuditQuery(ascending=True))
    assert stored == first + more  # read back byte for byte: Vietnamese, detail and all
    assert (await store.verify_audit()).ok
    assert await store.append_audit([]) == []


async def test_the_canonical_encoding_is_documented_bytes() -> None:
    e = AuditEntry(at="2026-11-22T01:02:03.456Z", kind="document.page_view", outcome="ok",
                   actor_id=5, meeting_id=3, address="10.0.0.1",
                   detail={"page": 2, "document": 4, "classification": "confidential"})
    from phonghop.store.audit import canonical

    assert canonical(1, e) == (
        b'{"actor_id":5,"actor_key":null,"address":"10.0.0.1","at":"2026-11-22T01:02:03.456Z",'
        b'"detail":{"classification":"confidential","document":4,"page":2},'
        b'"kind":"document.page_view","meeting_id":3,"outcome":"ok","seq":1,"target_id":null}')
    import hashlib

    assert chain_hash(GENESIS, 1, e) == hashlib.sha256(
        b"phonghop-audit-v1\n" + GENESIS.encode() + b"\n" + canonical(1, e)).hexdigest()


async def test_nodes_appending_at_once_keep_one_unbroken_chain(open_store: Opener) -> None:
    a, b = await open_store(), await open_store()

    async def writer(store: SqlStore, tag: str) -> None:
        for i in range(15):
            await store.append_audit([entry(i, detail={"node": tag, "i": i, "j": j})
                                      for j in range(3)])

    await asyncio.gather(writer(a, "a"), writer(b, "b"))
    report = await a.verify_audit()
    assert report.ok and report.records == 90 and report.head_seq == 90
    seqs = [r.seq for r in await b.audit_records(AuditQuery(ascending=True, limit=200))]
    assert seqs == list(range(1, 91))


async def test_filters_and_pages(store: SqlStore) -> None:
    await store.append_audit([
        entry(1, "signin", actor_id=1),
        entry(2, "signin", "bad_credentials", actor_id=2),
        entry(3, "signin", "bad_credentials", actor_key="k" * 64),
        entry(4, "account.disable", actor_id=1, target_id=2),
        entry(5, "document.page_view", actor_id=3, meeting_id=9, detail={"document": 1}),
        entry(6, "export", actor_id=3, meeting_id=8),
    ])

    async def seqs(**query: object) -> list[int]:
        return [r.seq for r in await store.audit_records(AuditQuery(**query))]  # type: ignore[arg-type]

    assert await seqs() == [6, 5, 4, 3, 2, 1]  # newest first
    assert await seqs(limit=2) == [6, 5]
    assert await seqs(limit=2, before=5) == [4, 3]  # the next page
    assert await seqs(ascending=True, after=4) == [5, 6]
    assert await seqs(kinds=("signin",)) == [3, 2, 1]
    assert await seqs(kinds=("signin", "export")) == [6, 3, 2, 1]
    assert await seqs(outcome="refused") == [3, 2]
    assert await seqs(outcome="ok") == [6, 5, 4, 1]
    assert await seqs(user_id=2) == [4, 2]  # what they did, and what was done to them
    assert await seqs(actor_key="k" * 64) == [3]
    assert await seqs(meeting_id=9) == [5]
    assert await seqs(since="2026-11-22T01:00:03.000Z", until="2026-11-22T01:00:05.000Z") \
        == [4, 3]
    assert await seqs(kinds=("signin",), outcome="refused", user_id=2) == [2]


@pytest.mark.parametrize(("sql", "broken", "problem"), [
    # a field changed in place (who signed in, from where)
    ("UPDATE audit_log SET address = '203.0.113.9' WHERE seq = 3", 3, "altered"),
    ("UPDATE audit_log SET outcome = 'ok' WHERE seq = 3", 3, "altered"),
    ("UPDATE audit_log SET detail = '{\"client\":\"browser\"}' WHERE seq = 3", 3, "altered"),
    ("UPDATE audit_log SET detail = 'not json' WHERE seq = 3", 3, "altered"),
    # a record removed from the middle, or from the end
    ("DELETE FROM audit_log WHERE seq = 3", 3, "missing"),
    ("DELETE FROM audit_log WHERE seq = 5", 5, "missing"),
    # a record written around the store, after the head
    ("INSERT INTO audit_log SELECT seq + 10, at, kind, outcome, actor_id, actor_key, "
     "target_id, meeting_id, address, detail, prev_hash, hash FROM audit_log WHERE seq = 5",
     6, "beyond_head"),
])
async def test_tampering_is_named_at_the_first_broken_record(
        store: SqlStore, sql: str, broken: int, problem: str) -> None:
    await store.append_audit([entry(i, "signin", "bad_credentials", actor_id=i,
                                    detail={"client": "device"}) for i in range(1, 6)])
    assert (await store.verify_audit()).ok
    await execute(store, sql)
    report = await store.verify_audit()
    assert not report.ok
    assert (report.broken_seq, report.problem) == (broken, problem)


async def test_a_record_replaced_with_its_hash_recomputed_breaks_the_next_link(
        store: SqlStore) -> None:
    records = await store.append_audit([entry(i, actor_id=i) for i in range(1, 5)])
    forged = AuditEntry(**{**records[1].entry.__dict__, "actor_id": 99})
    digest = chain_hash(records[1].prev_hash, 2, forged)
    await execute(store, "UPDATE audit_log SET actor_id = 99, hash = :h WHERE seq = 2", h=digest)
    report = await store.verify_audit()
    assert (report.ok, report.broken_seq, report.problem) == (False, 3, "unchained")
    # and the last record rewritten the same way: the head no longer matches it
    await execute(store, "UPDATE audit_log SET actor_id = 2, hash = :h WHERE seq = 2",
                  h=records[1].hash)
    forged = AuditEntry(**{**records[3].entry.__dict__, "outcome": "forbidden"})
    await execute(store, "UPDATE audit_log SET outcome = 'forbidden', hash = :h WHERE seq = 4",
                  h=chain_hash(records[3].prev_hash, 4, forged))
    report = await store.verify_audit()
    assert (report.ok, report.broken_seq, report.problem) == (False, 4, "head")


async def test_pruning_keeps_the_rest_verifiable(store: SqlStore) -> None:
    await store.append_audit([entry(i, actor_id=i) for i in range(1, 11)])
    assert await store.prune_audit("2026-11-22T01:00:04.000Z") == 3
    assert await store.prune_audit("2026-11-22T01:00:04.000Z") == 0  # nothing older left
    report = await store.verify_audit()
    assert report.ok and report.base_seq == 3 and report.records == 7
    await store.append_audit([entry(11)])
    assert (await store.verify_audit()).ok
    assert [r.seq for r in await store.audit_records(AuditQuery(ascending=True))] == \
        list(range(4, 12))
    # the first record after the base removed too: that is a gap, not a prune
    await execute(store, "DELETE FROM audit_log WHERE seq = 4")
    report = await store.verify_audit()
    assert (report.broken_seq, report.problem) == (4, "missing")


async def test_a_failed_append_moves_nothing(store: SqlStore) -> None:
    await store.append_audit([entry(1)])
    bad = AuditEntry(at="2026-11-22T01:00:02.000Z", kind="signin", outcome="ok",
                     address=None)  # type: ignore[arg-type]  (NOT NULL: the insert fails)
    with pytest.raises(AuditRefused):
        await store.append_audit([entry(2), bad])
    report = await store.verify_audit()
    assert report.ok and report.head_seq == 1
    assert [r.seq for r in await store.append_audit([entry(3)])] == [2]
    assert (await store.verify_audit()).ok


async def test_user_ids_resolve_only_existing_names(store: SqlStore) -> None:
    made = await store.create_user("chutri", "argon2-hash", "Nguyễn Văn A")
    assert await store.user_ids(["chutri", "khong-co", "x" * 10_000]) == {"chutri": made.id}
    assert await store.user_ids([]) == {}
