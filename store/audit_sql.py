"""The access log in SQL (the `store.audit.AuditLog` port), the same on SQLite and PostgreSQL.

Appends queue on the head row: each transaction first moves `audit_head.seq` on by the
size of its batch (a row lock on PostgreSQL, the write lock on SQLite, held until
commit), reads the hash it chains from, and writes its records and the new head hash.
Writers of every node therefore append one after another, and a failed transaction leaves
neither records nor a moved head. No engine-specific SQL is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError

from phonghop.store import schema as t
from phonghop.store.audit import (
    AuditEntry,
    AuditQuery,
    AuditRecord,
    AuditRefused,
    ChainReport,
    chain,
    chain_hash,
)
from phonghop.store.transactional import Transactional

VERIFY_CHUNK = 5000  # records read at once while verifying


class AuditLogStore:
    """The access-log half of the SQL store (mixed into `SqlStore`)."""

    async def append_audit(self: Transactional,
                           entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        if not entries:
            return []
        head = t.audit_head
        try:
            async with self._tx() as conn:
                # Taking the head first: every other appender waits here until it commits.
                await conn.execute(head.update().where(head.c.id == 1)
                                   .values(seq=head.c.seq + len(entries)))
                seq, prev = (await conn.execute(
                    sa.select(head.c.seq, head.c.hash).where(head.c.id == 1))).one()
                records = chain(prev, int(seq) - len(entries) + 1, entries)
                await conn.execute(t.audit_log.insert(), [_row(r) for r in records])
                await conn.execute(head.update().where(head.c.id == 1)
                                   .values(hash=records[-1].hash))
        except (IntegrityError, DataError) as exc:
            # The records themselves were refused (a seq taken around the store, a value
            # out of bounds): trying them again cannot help.
            raise AuditRefused(type(exc).__name__) from exc
        return records

    async def audit_records(self: Transactional, query: AuditQuery) -> list[AuditRecord]:
        a = t.audit_log
        where: list[Any] = []
        if query.since is not None:
            where.append(a.c.at >= query.since)
        if query.until is not None:
            where.append(a.c.at < query.until)
        if query.kinds:
            where.append(a.c.kind.in_(list(query.kinds)))
        if query.outcome == "ok":
            where.append(a.c.outcome == "ok")
        elif query.outcome == "refused":
            where.append(a.c.outcome != "ok")
        who = []
        if query.user_id is not None:
            who += [a.c.actor_id == query.user_id, a.c.target_id == query.user_id]
        if query.actor_key is not None:
            who.append(a.c.actor_key == query.actor_key)
        if who:
            where.append(sa.or_(*who))
        if query.meeting_id is not None:
            where.append(a.c.meeting_id == query.meeting_id)
        if query.before is not None:
            where.append(a.c.seq < query.before)
        if query.after is not None:
            where.append(a.c.seq > query.after)
        order = a.c.seq.asc() if query.ascending else a.c.seq.desc()
        select = sa.select(a).where(*where).order_by(order).limit(query.limit)
        async with self._tx() as conn:
            rows = (await conn.execute(select)).mappings().all()
        return [_record(r) for r in rows]

    async def verify_audit(self: Transactional) -> ChainReport:
        a, head = t.audit_log, t.audit_head
        async with self._tx() as conn:
            # The highest seq before the head: appends that commit between the two reads
            # only move the head further, so a row beyond the head was not appended.
            top = (await conn.execute(sa.select(sa.func.max(a.c.seq)))).scalar() or 0
            h = (await conn.execute(sa.select(head).where(head.c.id == 1))).mappings().one()
        head_seq, head_hash = int(h["seq"]), str(h["hash"])
        base_seq = int(h["base_seq"])
        prev, expected, checked = str(h["base_hash"]), base_seq + 1, 0

        def report(broken: int | None = None, problem: str | None = None) -> ChainReport:
            return ChainReport(ok=problem is None, records=checked, head_seq=head_seq,
                               head_hash=head_hash, base_seq=base_seq, broken_seq=broken,
                               problem=problem)

        while expected <= head_seq:
            async with self._tx() as conn:
                rows = (await conn.execute(
                    sa.select(a).where(a.c.seq >= expected, a.c.seq <= head_seq)
                    .order_by(a.c.seq).limit(VERIFY_CHUNK))).mappings().all()
            if not rows:
                return report(expected, "missing")
            for row in rows:
                try:
                    record = _record(row)
                    digest = chain_hash(prev, record.seq, record.entry)
                except (ValueError, TypeError):  # a detail that is no JSON object
                    return report(int(row["seq"]), "altered")
                if record.seq != expected:
                    return report(expected, "missing")  # removed: the seqs have a gap
                if record.prev_hash != prev:
                    return report(record.seq, "unchained")  # the one before was replaced
                if digest != record.hash:
                    return report(record.seq, "altered")
                prev, expected, checked = record.hash, expected + 1, checked + 1
        if prev != head_hash:
            return report(head_seq, "head")  # the last records removed or replaced
        if top > head_seq:
            return report(head_seq + 1, "beyond_head")  # written around the appender
        return report()

    async def prune_audit(self: Transactional, before: str) -> int:
        a, head = t.audit_log, t.audit_head
        async with self._tx() as conn:
            await conn.execute(head.update().where(head.c.id == 1).values(seq=head.c.seq))
            h = (await conn.execute(sa.select(head).where(head.c.id == 1))).mappings().one()
            # Everything before the first record at or after `before` goes: times from
            # several nodes may interleave slightly, the seqs may not.
            keep = (await conn.execute(sa.select(sa.func.min(a.c.seq))
                                       .where(a.c.at >= before))).scalar()
            last = int(h["seq"]) if keep is None else int(keep) - 1
            if last <= int(h["base_seq"]):
                return 0
            base_hash = (await conn.execute(
                sa.select(a.c.hash).where(a.c.seq == last))).scalar_one()
            gone = (await conn.execute(a.delete().where(a.c.seq <= last))).rowcount
            await conn.execute(head.update().where(head.c.id == 1)
                               .values(base_seq=last, base_hash=base_hash))
        return int(gone or 0)


def _row(record: AuditRecord) -> dict[str, Any]:
    e = record.entry
    return {"seq": record.seq, "at": e.at, "kind": e.kind, "outcome": e.outcome,
            "actor_id": e.actor_id, "actor_key": e.actor_key, "target_id": e.target_id,
            "meeting_id": e.meeting_id, "address": e.address,
            "detail": orjson.dumps(dict(e.detail), option=orjson.OPT_SORT_KEYS).decode(),
            "prev_hash": record.prev_hash, "hash": record.hash}


def _record(row: Any) -> AuditRecord:
    entry = AuditEntry(
        at=row["at"], kind=row["kind"], outcome=row["outcome"], actor_id=row["actor_id"],
        actor_key=row["actor_key"], target_id=row["target_id"], meeting_id=row["meeting_id"],
        address=row["address"], detail=orjson.loads(row["detail"]))
    return AuditRecord(int(row["seq"]), entry, row["prev_hash"], row["hash"])
