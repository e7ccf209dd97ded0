"""Reading the room logs' hash chains, and the time-stamps of their heads (mixed into
`SqlStore`). The chain itself is written with the events (`SqlStore.append`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from phonghop.store import schema as t
from phonghop.store.chain import LogRow
from phonghop.store.transactional import Transactional


@dataclass(frozen=True)
class LogStamp:
    """An RFC 3161 time-stamp of the hash of a room's event `seq` (DER token)."""

    room_id: int
    seq: int
    hash: bytes
    token: bytes
    stamped_at: datetime
    tsa: str


class LogStore:
    """The room-log half of the SQL store that concerns the chain."""

    async def log_rows(self: Transactional, room_id: int, after: int, limit: int
                       ) -> list[LogRow]:
        """Up to `limit` stored events of the room after seq `after`, as stored."""
        e = t.room_events
        async with self._tx() as conn:
            rows = await conn.execute(
                sa.select(e.c.seq, e.c.kind, e.c.at, e.c.actor, e.c.audience, e.c.data,
                          e.c.prev_hash, e.c.hash)
                .where(e.c.room_id == room_id, e.c.seq > after).order_by(e.c.seq).limit(limit))
            return [LogRow(r[0], r[1], r[2], r[3], r[4], r[5],
                           None if r[6] is None else bytes(r[6]),
                           None if r[7] is None else bytes(r[7])) for r in rows]

    async def log_rooms(self: Transactional) -> list[int]:
        """Every room that has a log or a catalogue entry, by id."""
        async with self._tx() as conn:
            ids = (await conn.execute(sa.union(
                sa.select(t.meetings.c.id), sa.select(t.room_events.c.room_id)))).scalars()
            return sorted(int(i) for i in ids)

    async def last_event_of(self: Transactional, room_id: int, kind: str
                            ) -> tuple[int, bytes] | None:
        """The seq and hash of the room's last event of this kind, if any."""
        e = t.room_events
        async with self._tx() as conn:
            row = (await conn.execute(
                sa.select(e.c.seq, e.c.hash).where(e.c.room_id == room_id, e.c.kind == kind)
                .order_by(e.c.seq.desc()).limit(1))).first()
        return None if row is None else (int(row[0]), bytes(row[1]))

    async def save_log_stamp(self: Transactional, stamp: LogStamp) -> LogStamp:
        """Keep a time-stamp of a log head; the one stored first wins (returned)."""
        ls = t.log_stamps
        try:
            async with self._tx() as conn:
                await conn.execute(ls.insert().values(
                    room_id=stamp.room_id, seq=stamp.seq, hash=stamp.hash, token=stamp.token,
                    stamped_at=stamp.stamped_at.astimezone(UTC), tsa=stamp.tsa))
        except IntegrityError:
            pass  # another node stamped this head first
        kept = await LogStore.log_stamp(self, stamp.room_id, stamp.seq)
        assert kept is not None
        return kept

    async def log_stamp(self: Transactional, room_id: int, seq: int) -> LogStamp | None:
        """The stored time-stamp of the room's event `seq`, if any."""
        stamps = await LogStore.log_stamps(self, room_id, seq)
        return stamps[0] if stamps else None

    async def log_stamps(self: Transactional, room_id: int, seq: int | None = None
                         ) -> list[LogStamp]:
        """The room's stored time-stamps (of event `seq` only, if given), by seq."""
        ls = t.log_stamps
        query = sa.select(ls).where(ls.c.room_id == room_id).order_by(ls.c.seq)
        if seq is not None:
            query = query.where(ls.c.seq == seq)
        async with self._tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [LogStamp(room_id=int(r["room_id"]), seq=int(r["seq"]), hash=bytes(r["hash"]),
                         token=bytes(r["token"]), stamped_at=_utc(r["stamped_at"]),
                         tsa=r["tsa"]) for r in rows]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite: naive, UTC
