"""The room logs in SQL: events with their hash chain, command marks, snapshots and the
catalogue (mixed into `SqlStore`; the port: `store.ports.RoomLog`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from phonghop.documents.marks import MarkAdded, MarksRemoved, MarkWrite, PageCleared
from phonghop.rooms.events import Audience, Event
from phonghop.store import schema as t
from phonghop.store.base import LogGap, SeqConflict
from phonghop.store.chain import GENESIS, canonical_json, event_hash
from phonghop.store.records import CommandMark

KNOWN_HEADS = 10_000  # rooms whose last written hash this store remembers


class RoomLogSql:
    """The room-log part of the SQL store. Its methods run on `SqlStore`, which owns the
    engine (`store.transactional.Transactional`: `_tx`, `is_sqlite`, …)."""

    async def create_meeting(self, events: Sequence[Event], summary: dict[str, Any]) -> int:
        """Allocate a meeting id and write its first events, atomically."""
        async with self._tx() as conn:
            result = await conn.execute(t.meetings.insert().values(**summary))
            room_id = int(result.inserted_primary_key[0])
            rows, head = _rows(room_id, 0, GENESIS, events)
            await conn.execute(t.room_events.insert(), rows)
        self._know_head(room_id, len(events), head)
        return room_id

    async def append(
        self, room_id: int, expected_seq: int, events: Sequence[Event],
        marks: Sequence[CommandMark] = (), summary: dict[str, Any] | None = None,
        members: Sequence[tuple[int, str]] | None = None, stored: Sequence[MarkWrite] = (),
    ) -> None:
        """Write events at expected_seq+1… with their projections, or raise SeqConflict.

        `stored`: the shared marks those events add or remove (`documents/marks.py`).

        Each event is chained to the one before it (`prev_hash`, `hash`: store/chain.py)
        in the same transaction; LogGap if the event at expected_seq is not in the log."""
        rows: list[dict[str, Any]] | None = None
        known = self._heads.get(room_id)
        if expected_seq == 0:
            rows, head = _rows(room_id, 0, GENESIS, events)
        elif known is not None and known[0] == expected_seq:
            rows, head = _rows(room_id, expected_seq, known[1], events)
        try:
            async with self._tx() as conn:
                if rows is None:
                    e = t.room_events
                    prev = (await conn.execute(sa.select(e.c.hash).where(
                        e.c.room_id == room_id, e.c.seq == expected_seq))).scalar()
                    if prev is None:
                        raise LogGap(f"room {room_id}: event {expected_seq} is not in the log")
                    rows, head = _rows(room_id, expected_seq, bytes(prev), events)
                await conn.execute(t.room_events.insert(), rows)
                if marks:
                    await conn.execute(t.room_commands.insert(), [
                        {"room_id": room_id, "user_id": m.user_id, "command_id": m.command_id,
                         "seq": m.seq} for m in marks
                    ])
                if stored:
                    await _write_marks(conn, room_id, stored)
                if summary is not None:
                    await conn.execute(
                        t.meetings.update().where(t.meetings.c.id == room_id).values(**summary)
                    )
                if members is not None:
                    mm = t.meeting_members
                    await conn.execute(mm.delete().where(mm.c.meeting_id == room_id))
                    if members:
                        await conn.execute(mm.insert(), [
                            {"meeting_id": room_id, "user_id": u, "role": r} for u, r in members
                        ])
        except IntegrityError as exc:
            raise SeqConflict(f"room {room_id} seq {expected_seq + 1} taken") from exc
        self._know_head(room_id, expected_seq + len(events), head)

    def _know_head(self, room_id: int, seq: int, digest: bytes) -> None:
        """Remember the hash of event `seq` of the room (the newest known)."""
        known = self._heads.get(room_id)
        if known is None or known[0] <= seq:
            self._heads[room_id] = (seq, digest)
            self._heads.move_to_end(room_id)
            if len(self._heads) > KNOWN_HEADS:
                self._heads.popitem(last=False)

    async def events_after(self, room_id: int, seq: int, limit: int | None = None) -> list[Event]:
        e = t.room_events
        query = sa.select(e).where(e.c.room_id == room_id, e.c.seq > seq).order_by(e.c.seq)
        if limit:
            query = query.limit(limit)
        async with self._tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        if rows:  # another node's events: the next append here chains to the last of them
            self._know_head(room_id, rows[-1]["seq"], bytes(rows[-1]["hash"]))
        return [
            Event(kind=r["kind"], data=orjson.loads(r["data"]), at=r["at"], actor=r["actor"],
                  audience=Audience.from_json(orjson.loads(r["audience"])), seq=r["seq"])
            for r in rows
        ]

    async def find_commands(
        self, room_id: int, keys: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], int]:
        """The seqs at which these (user, command id) pairs were applied, where they were."""
        rc = t.room_commands
        found: dict[tuple[int, str], int] = {}
        async with self._tx() as conn:
            for start in range(0, len(keys), 400):  # stay under bound-parameter limits
                chunk = keys[start:start + 400]
                rows = await conn.execute(sa.select(rc.c.user_id, rc.c.command_id, rc.c.seq).where(
                    rc.c.room_id == room_id,
                    sa.tuple_(rc.c.user_id, rc.c.command_id).in_(chunk),
                ))
                found.update({(u, c): s for u, c, s in rows})
        return found

    async def save_snapshot(self, room_id: int, seq: int, state_json: bytes) -> None:
        """Keep the newest snapshot of a room; a concurrent save of another node is fine."""
        s = t.room_snapshots
        try:
            await self._save_snapshot(s, room_id, seq, state_json)
        except IntegrityError:
            return  # another node saved one at the same moment: either will do

    async def _save_snapshot(
        self, s: sa.Table, room_id: int, seq: int, state_json: bytes
    ) -> None:
        async with self._tx() as conn:
            # Delete-then-insert is portable; a newer snapshot never goes backwards.
            current = (await conn.execute(
                sa.select(s.c.seq).where(s.c.room_id == room_id)
            )).scalar()
            if current is not None and current >= seq:
                return
            await conn.execute(s.delete().where(s.c.room_id == room_id))
            await conn.execute(s.insert().values(room_id=room_id, seq=seq, state=state_json))

    async def load_snapshot(self, room_id: int) -> tuple[int, bytes] | None:
        s = t.room_snapshots
        async with self._tx() as conn:
            row = (await conn.execute(
                sa.select(s.c.seq, s.c.state).where(s.c.room_id == room_id)
            )).first()
        return (row[0], bytes(row[1])) if row else None

    async def shared_marks(self, room_id: int, document_id: int, version: int,
                           page: int | None = None) -> list[bytes]:
        """The shared marks of a document version (of one page), each as its event carried
        it (JSON), in the order they were drawn."""
        m = t.room_marks
        query = sa.select(m.c.body).where(m.c.room_id == room_id, m.c.document_id == document_id,
                                          m.c.version == version)
        if page is not None:
            query = query.where(m.c.page == page)
        async with self._tx() as conn:
            rows = (await conn.execute(query.order_by(m.c.id))).scalars().all()
        return [r.encode() for r in rows]

    async def list_meetings(self, user_id: int | None, day: str | None) -> list[dict[str, Any]]:
        """Meetings `user_id` takes part in (all when None), optionally on one day."""
        m, mm = t.meetings, t.meeting_members
        query = sa.select(m).order_by(m.c.starts_at, m.c.id)
        if user_id is not None:
            query = query.add_columns(mm.c.role).join(
                mm, sa.and_(mm.c.meeting_id == m.c.id, mm.c.user_id == user_id)
            )
        if day is not None:
            query = query.where(m.c.starts_at.like(f"{day}%"))
        async with self._tx() as conn:
            # Column names come back as str subclasses, which JSON encoders refuse as keys.
            return [{str(k): v for k, v in r.items()}
                    for r in (await conn.execute(query)).mappings()]


async def _write_marks(conn: Any, room_id: int, writes: Sequence[MarkWrite]) -> None:
    """Apply the shared marks' writes of one append, in order."""
    m = t.room_marks
    added: list[dict[str, Any]] = []  # consecutive adds go in one statement
    for w in writes:
        if isinstance(w, MarkAdded):
            added.append({"room_id": room_id, "id": w.mark_id, "document_id": w.key[0],
                          "version": w.key[1], "page": w.key[2], "owner": w.owner,
                          "body": w.body.decode()})
            continue
        if added:
            await conn.execute(m.insert(), added)
            added = []
        if isinstance(w, MarksRemoved):
            await conn.execute(m.delete().where(m.c.room_id == room_id, m.c.id.in_(w.mark_ids)))
        elif isinstance(w, PageCleared):
            query = m.delete().where(m.c.room_id == room_id, m.c.document_id == w.key[0],
                                     m.c.version == w.key[1], m.c.page == w.key[2])
            if w.owner is not None:
                query = query.where(m.c.owner == w.owner)
            await conn.execute(query)
        else:
            await conn.execute(m.delete().where(m.c.room_id == room_id,
                                                m.c.document_id == w.document_id))
    if added:
        await conn.execute(m.insert(), added)


_EVERYONE = canonical_json({"all": True})


def _rows(room_id: int, after: int, prev: bytes, events: Sequence[Event]
          ) -> tuple[list[dict[str, Any]], bytes]:
    """The rows of `events` placed after seq `after`, each chained to the one before
    (`prev`: the hash of event `after`); and the last one's hash. The JSON columns hold
    the canonical JSON the hash is taken over."""
    rows = []
    for seq, ev in enumerate(events, start=after + 1):
        audience = _EVERYONE if ev.audience.everyone else canonical_json(ev.audience.to_json())
        data = canonical_json(ev.data)
        digest = event_hash(room_id, seq, ev.kind, ev.actor, ev.at, audience, data, prev)
        rows.append({"room_id": room_id, "seq": seq, "kind": ev.kind, "at": ev.at,
                     "actor": ev.actor, "audience": audience.decode(), "data": data.decode(),
                     "prev_hash": prev, "hash": digest})
        prev = digest
    return rows, prev
