"""The room log's hash chain, on SQLite and PostgreSQL: written with the events, checked
in full, and every kind of tampering with the stored rows caught at the right seq.

The attacks are what an operator with the database would do: plain SQL on `room_events`
(change a published result, delete, reorder, rewrite a stored hash), never a call the
server makes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import struct
import unicodedata
from collections.abc import Awaitable, Callable

import orjson
import pytest
import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy.ext.asyncio import create_async_engine

from phonghop.meeting_room import replay, summary
from phonghop.rooms import Event
from phonghop.server.log_audit import LogBroken, audit_rooms, check_chain, walk_chain
from phonghop.store import SqlStore
from phonghop.store.chain import (
    GENESIS,
    ChainBreak,
    LogRow,
    canonical_json,
    encode_event,
    event_hash,
    row_hash,
)
from phonghop.store.sql import MIGRATIONS
from tests.rooms.world import ADMIN, CHAIR, D1, D2, standard_room
from tests.store.test_contract import create, new_room

Opener = Callable[[], Awaitable[SqlStore]]

# ---- the encoding (pure) ----


def _spec_hash(room: int, seq: int, kind: str, actor: int | None, at: str,
               audience: object, data: object, prev: bytes) -> bytes:
    """The encoding as docs/ARCHITECTURE.md specifies it, written again from the text with
    the standard library only (json, struct): it must agree with store/chain.py."""
    def canonical(value: object) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode()

    def text(s: str) -> bytes:
        raw = unicodedata.normalize("NFC", s).encode()
        return struct.pack(">I", len(raw)) + raw

    def blob(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    who = b"\x00" if actor is None else b"\x01" + struct.pack(">q", actor)
    return hashlib.sha256(
        blob(b"phonghop/room-event/v1") + struct.pack(">QQ", room, seq) + text(kind) + who
        + text(at) + blob(canonical(audience)) + blob(canonical(data)) + prev).digest()


def test_the_encoding_is_the_specified_one() -> None:
    audience, data = {"all": True}, {"title": "Phiên họp thường kỳ", "n": 1, "zoom": 1.5}
    first = event_hash(7, 1, "meeting.created", 99, "2026-11-22T01:00:00+00:00",
                       canonical_json(audience), canonical_json(data), GENESIS)
    # The test vector printed in docs/ARCHITECTURE.md.
    assert first.hex() == "fda84baad5820841068931acf83a435d1b4c8dc8ab6bb4d4fb86812195674d90"
    assert first == _spec_hash(7, 1, "meeting.created", 99, "2026-11-22T01:00:00+00:00",
                               audience, data, GENESIS)
    audience2 = {"roles": ["chair", "secretary"], "users": [3]}
    second = event_hash(7, 2, "notice.posted", None, "2026-11-22T01:05:00+00:00",
                        canonical_json(audience2),
                        canonical_json({"text": "Họp tiếp lúc 14 giờ"}), first)
    assert second.hex() == "d5af77018a7e46d92330683c7bbe944c0357a1ef140649bf8091969055072b1f"
    assert second == _spec_hash(7, 2, "notice.posted", None, "2026-11-22T01:05:00+00:00",
                                audience2, {"text": "Họp tiếp lúc 14 giờ"}, first)
    # Every field counts: another room, seq, kind, actor, time, audience, data or prev.
    base = (7, 1, "meeting.created", 99, "2026-11-22T01:00:00+00:00",
            canonical_json(audience), canonical_json(data), GENESIS)
    for i, other in enumerate([8, 2, "meeting.updated", None, "2026-11-22T01:00:01+00:00",
                               canonical_json({"roles": [], "users": []}),
                               canonical_json({**data, "n": 2}), b"\x01" * 32]):
        changed = list(base)
        changed[i] = other
        assert event_hash(*changed) != first, i  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        encode_event(7, 1, "k", None, "t", b"{}", b"{}", b"\x00" * 31)


def test_canonical_json_sorts_keys_and_normalises_text() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hằng")
    assert decomposed != "Nguyễn Thị Hằng"
    assert canonical_json({"b": 1, "a": {"z": [decomposed], "ể": 2, "e": None}}) == (
        '{"a":{"e":null,"z":["Nguyễn Thị Hằng"],"ể":2},"b":1}'.encode())
    assert canonical_json({unicodedata.normalize("NFD", "ể"): True}) == '{"ể":true}'.encode()
    # Floats as orjson writes them: the shortest round trip, exponents outside 1e-5…1e16.
    assert canonical_json([1.0, 0.5, 1e-5, 1e-6, 1e16, 123.456, -0.0]) == (
        b"[1.0,0.5,0.00001,1e-6,1e+16,123.456,-0.0]")
    # Only the quote, the backslash and control characters are escaped.
    assert canonical_json(["a\"b\\c\n\x01\u2028é"]) == '["a\\"b\\\\c\\n\\u0001\u2028é"]'.encode()


# ---- the writer ----


async def _rows(store: SqlStore, room_id: int) -> list[LogRow]:
    return await store.log_rows(room_id, 0, 10_000)


async def _write_room(store: SqlStore) -> int:
    """A meeting of a few commits (the world's events, appended as the server does)."""
    room = standard_room()
    room.ok(D1, "attendance.check_in")
    room.ok(D1, "floor.request", note="Ý kiến về ngân sách")
    room.ok(CHAIR, "notice.post", text="Nghỉ giải lao 15 phút")
    created = [e for e in room.events if e.seq == 1]
    room_id = await store.create_meeting(created, summary(replay(created)))
    seq = 1
    for end in room.commits[1:]:
        await store.append(room_id, seq, [e for e in room.events if seq < e.seq <= end])
        seq = end
    return room_id


async def test_every_event_is_chained_to_the_one_before(store: SqlStore) -> None:
    room_id = await _write_room(store)
    rows = await _rows(store, room_id)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1)) and len(rows) > 10
    prev = GENESIS
    for r in rows:
        assert r.prev_hash == prev and r.hash == row_hash(room_id, r, prev)
        # What is stored is the canonical JSON the hash was taken over.
        assert r.data.encode() == canonical_json(orjson.loads(r.data))
        prev = r.hash
    check = await check_chain(store, room_id)
    assert (check.seq, check.head) == (rows[-1].seq, rows[-1].hash)


async def test_writers_on_two_stores_keep_one_chain(open_store: Opener) -> None:
    """Two nodes appending in turn, and racing: each append chains to the event actually
    before it, whoever wrote that one."""
    first, second = await open_store(), await open_store()
    room_id = await create(first, new_room())
    seq = 1
    for n in range(6):
        writer = (first, second)[n % 2]
        await writer.append(room_id, seq, [_notice(seq + 1, f"lượt {n}")])
        seq += 1
    for _ in range(4):
        results = await asyncio.gather(
            first.append(room_id, seq, [_notice(seq + 1, "A"), _notice(seq + 2, "A2")]),
            second.append(room_id, seq, [_notice(seq + 1, "B")]), return_exceptions=True)
        assert sorted(type(r).__name__ for r in results) == ["NoneType", "SeqConflict"]
        seq = len(await _rows(first, room_id))
    check = await check_chain(second, room_id)
    assert check.seq == seq and check.broken is None


async def test_an_append_after_a_removed_event_writes_nothing(store: SqlStore) -> None:
    from phonghop.store.base import LogGap

    room_id = await _write_room(store)
    last = (await _rows(store, room_id))[-1].seq
    other = SqlStore(store.url)  # a node that has not written here: it reads the link
    await other.open()
    try:
        await _sql(store, f"DELETE FROM room_events WHERE room_id = {room_id} AND seq = {last}")
        with pytest.raises(LogGap):
            await other.append(room_id, last, [_notice(last + 1, "sau")])
    finally:
        await other.close()
    assert (await _rows(store, room_id))[-1].seq == last - 1


# ---- the attacks ----


async def _sql(store: SqlStore, statement: str, **params: object) -> None:
    assert store.engine is not None
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(statement), params)


def _published(rows: list[LogRow], kind: str) -> LogRow:
    return next(r for r in rows if r.kind == kind)


async def _broken(store: SqlStore, room_id: int) -> ChainBreak:
    with pytest.raises(LogBroken) as caught:
        await check_chain(store, room_id)
    [audit] = await audit_rooms(store, room_id)
    assert audit.broken == caught.value.broken and not audit.ok
    assert caught.value.rejection.code == "log_broken"
    assert caught.value.rejection.details == {"seq": caught.value.broken.seq}
    return caught.value.broken


async def test_changing_an_event_is_caught_at_that_event(
        store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    room_id = await _write_room(store)
    rows = await _rows(store, room_id)
    notice = _published(rows, "notice.posted")
    changed = notice.data.replace("Nghỉ giải lao 15 phút", "Giải tán cuộc họp")
    await _sql(store, "UPDATE room_events SET data = :d WHERE room_id = :r AND seq = :s",
               d=changed, r=room_id, s=notice.seq)
    with caplog.at_level(logging.ERROR, logger="phonghop.server.log_audit"):
        assert await _broken(store, room_id) == ChainBreak(notice.seq, "hash")
    # The log line names the room and the seq, never the event's content.
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"seq {notice.seq}" in logged and "Giải tán" not in logged
    assert "giải lao" not in logged.lower()
    # Put back byte for byte, the chain holds again: the check is about the content.
    await _sql(store, "UPDATE room_events SET data = :d WHERE room_id = :r AND seq = :s",
               d=notice.data, r=room_id, s=notice.seq)
    assert (await check_chain(store, room_id)).seq == rows[-1].seq


async def test_a_change_with_its_hash_recomputed_breaks_the_next_link(store: SqlStore) -> None:
    room_id = await _write_room(store)
    rows = await _rows(store, room_id)
    target = _published(rows, "site.added")
    forged = LogRow(*target[:5], target.data.replace("Điểm cầu", "Diem cau"),
                    target.prev_hash, None)
    assert forged.data != target.data
    digest = row_hash(room_id, forged, target.prev_hash or GENESIS)
    await _sql(store, "UPDATE room_events SET data = :d, hash = :h WHERE room_id = :r AND "
               "seq = :s", d=forged.data, h=digest, r=room_id, s=target.seq)
    assert await _broken(store, room_id) == ChainBreak(target.seq + 1, "link")


async def test_editing_a_stored_hash_is_caught(store: SqlStore) -> None:
    room_id = await _write_room(store)
    rows = await _rows(store, room_id)
    await _sql(store, "UPDATE room_events SET hash = :h WHERE room_id = :r AND seq = :s",
               h=b"\x42" * 32, r=room_id, s=rows[3].seq)
    assert await _broken(store, room_id) == ChainBreak(rows[3].seq, "hash")
    await _sql(store, "UPDATE room_events SET hash = :h WHERE room_id = :r AND seq = :s",
               h=rows[3].hash, r=room_id, s=rows[3].seq)
    await _sql(store, "UPDATE room_events SET prev_hash = :h WHERE room_id = :r AND seq = :s",
               h=rows[5].hash, r=room_id, s=rows[7].seq)
    assert await _broken(store, room_id) == ChainBreak(rows[7].seq, "link")


async def test_deleting_an_event_is_caught(store: SqlStore) -> None:
    room_id = await _write_room(store)
    rows = await _rows(store, room_id)
    await _sql(store, "DELETE FROM room_events WHERE room_id = :r AND seq = :s",
               r=room_id, s=rows[6].seq)
    assert await _broken(store, room_id) == ChainBreak(rows[6].seq, "missing")
    # Renumbering the rest to close the gap does not help: the seq is in the hash.
    await _sql(store, "UPDATE room_events SET seq = seq - 1 WHERE room_id = :r AND seq > :s",
               r=room_id, s=rows[6].seq)
    assert await _broken(store, room_id) == ChainBreak(rows[6].seq, "link")


async def test_reordering_events_is_caught(store: SqlStore) -> None:
    room_id = await _write_room(store)
    rows = await _rows(store, room_id)
    a, b = rows[8].seq, rows[9].seq
    await _sql(store, "UPDATE room_events SET seq = -1 WHERE room_id = :r AND seq = :s",
               r=room_id, s=a)
    await _sql(store, "UPDATE room_events SET seq = :a WHERE room_id = :r AND seq = :b",
               a=a, b=b, r=room_id)
    await _sql(store, "UPDATE room_events SET seq = :b WHERE room_id = :r AND seq = -1",
               b=b, r=room_id)
    assert await _broken(store, room_id) == ChainBreak(a, "link")


async def test_a_rewritten_chain_contradicts_its_time_stamped_head(store: SqlStore) -> None:
    """Whoever holds the database can rewrite a whole chain; once its head was
    time-stamped (the stored stamp, and the token outside the server), a rewrite up to
    there, or a log cut short before it, no longer goes unnoticed."""
    from datetime import UTC, datetime

    from phonghop.store.log_store import LogStamp

    room_id = await _write_room(store)
    rows = await _rows(store, room_id)
    head = rows[-3]
    await store.save_log_stamp(LogStamp(room_id, head.seq, head.hash or b"", b"token",
                                        datetime.now(UTC), "TSA"))
    assert (await check_chain(store, room_id)).seq == rows[-1].seq
    early = _published(rows, "agenda.added").seq
    prev = GENESIS
    for r in rows:  # the whole chain recomputed after changing one early event
        data = r.data.replace("Nội dung 1", "Nội dung khác") if r.seq == early else r.data
        digest = row_hash(room_id, LogRow(*r[:5], data, prev, None), prev)
        await _sql(store, "UPDATE room_events SET data = :d, prev_hash = :p, hash = :h "
                   "WHERE room_id = :r AND seq = :s", d=data, p=prev, h=digest, r=room_id,
                   s=r.seq)
        prev = digest
    assert (await walk_chain(store, room_id)).broken is None  # the chain alone holds
    assert await _broken(store, room_id) == ChainBreak(head.seq, "stamp")
    await _sql(store, "DELETE FROM room_events WHERE room_id = :r AND seq >= :s",
               r=room_id, s=head.seq - 1)
    assert await _broken(store, room_id) == ChainBreak(head.seq - 1, "missing")


# ---- the migration ----


def _upgrade_to(sync_conn: sa.Connection, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["connection"] = sync_conn
    alembic_command.upgrade(cfg, revision)


async def test_migration_0008_chains_the_rooms_already_stored(
        open_store: Opener, store_url: str) -> None:
    """A database at 0007 with rooms written the old way (JSON as it came, keys unsorted,
    text in any normal form): the migration chains every room in seq order with the
    writer's own encoding, and the writer goes on from there."""
    url = store_url if "+" in store_url or store_url.startswith("sqlite") else (
        "postgresql+asyncpg://" + store_url.removeprefix("postgresql://"))
    if url.startswith("postgresql"):
        from tests.store.conftest import _admin

        await _admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public", url.rsplit("/", 1)[-1])
    engine = create_async_engine(url)
    rooms = {1: standard_room().events, 2: new_room("Họp B").events}
    nfd = unicodedata.normalize("NFD", "Nghỉ giải lao")
    rooms[2].append(Event("notice.posted", {"notice": {"text": nfd, "id": 1}},
                          "2026-11-22T01:00:00Z", CHAIR, seq=2))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0007")
            for room_id, events in rooms.items():
                await conn.execute(sa.text(
                    "INSERT INTO room_events (room_id, seq, kind, at, actor, audience, data) "
                    "VALUES (:r, :s, :k, :a, :actor, :au, :d)"), [
                    {"r": room_id, "s": e.seq, "k": e.kind, "a": e.at, "actor": e.actor,
                     "au": orjson.dumps(e.audience.to_json()).decode(),
                     "d": json.dumps(e.data, ensure_ascii=False)}  # unsorted, as it came
                    for e in events])
    finally:
        await engine.dispose()
    store = await open_store()  # migrates to the head
    for room_id, events in rooms.items():
        check = await check_chain(store, room_id)
        assert check.seq == len(events)
        rows = await _rows(store, room_id)
        assert [r.kind for r in rows] == [e.kind for e in events]
        assert rows[-1].hash == event_hash(
            room_id, rows[-1].seq, rows[-1].kind, rows[-1].actor, rows[-1].at,
            canonical_json(events[-1].audience.to_json()), canonical_json(events[-1].data),
            rows[-2].hash or b"")
    # The stored text is left as it was; the writer chains new events to the backfill.
    assert _published(await _rows(store, 2), "notice.posted").data == json.dumps(
        rooms[2][-1].data, ensure_ascii=False)
    await store.append(2, 2, [_notice(3, "sau khi nâng cấp")])
    assert (await check_chain(store, 2)).seq == 3
    assert (await check_chain(store, 1)).seq == len(rooms[1])


def _notice(seq: int, text: str) -> Event:
    return Event("notice.posted", {"notice": {"id": 100 + seq, "text": text, "by": ADMIN,
                                              "roles": None, "to": [D2]}},
                 "2026-11-22T01:00:00.000Z", CHAIR, seq=seq)
