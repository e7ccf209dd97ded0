"""The shared marks the room's writer stores beside its events, served per page.

The store must hold exactly what the events left (`tests/rooms/mark_table.py` folds the
same writes in memory), written in the same transaction as the events: a page's marks are
never ahead of or behind the log. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import sqlalchemy as sa

from phonghop.meeting_room import stored_with, summary
from phonghop.rooms import Event
from phonghop.store import SeqConflict, SqlStore
from tests.rooms.mark_table import key_of, page, table_after
from tests.rooms.world import CHAIR, PRESENTER, SECRETARY, Room, standard_room

Opener = Callable[[], Awaitable[SqlStore]]

A, C = "a" * 64, "c" * 64  # 5 and 12 pages (tests/rooms/world.py)


async def _commit(store: SqlStore, room_id: int, room: Room, events: list[Event]) -> None:
    await store.append(room_id, events[0].seq - 1, events, stored=stored_with(events))


async def _served(store: SqlStore, room_id: int, room: Room) -> None:
    """Every page of every document version serves what the events left, in order."""
    table = table_after(room.events)
    keys = {key_of(a) for a in table.values()} | {
        (d.id, d.version, n) for d in room.state.documents.values() for n in (1, 2, 3)}
    for key in sorted(keys):
        got = [orjson.loads(b) for b in await store.shared_marks(room_id, *key)]
        assert got == page(table, key), key
    for d in room.state.documents.values():
        whole = [orjson.loads(b) for b in await store.shared_marks(room_id, d.id, d.version)]
        assert whole == [a for i, a in sorted(table.items()) if key_of(a)[:2] == (d.id, d.version)]


def _stroke(room: Room, who: int, doc: int, page_number: int) -> list[Event]:
    return room.ok(who, "annotation.add", document_id=doc, page=page_number, kind="ink",
                   points=[0.1, 0.2, 0.3, 0.4], color="#1e88e5")


async def test_each_page_serves_the_marks_its_events_left(store: SqlStore) -> None:
    room = standard_room()
    first = room.ok(CHAIR, "document.attach", sha256=A)
    other = room.ok(CHAIR, "document.attach", sha256=C)
    doc = first[-1].data["document"]["id"]
    doc2 = other[-1].data["document"]["id"]
    room_id = await store.create_meeting(room.events, summary(room.state))
    steps = [
        lambda: _stroke(room, CHAIR, doc, 1), lambda: _stroke(room, PRESENTER, doc, 1),
        lambda: _stroke(room, SECRETARY, doc, 2), lambda: _stroke(room, CHAIR, doc2, 3),
        lambda: _stroke(room, PRESENTER, doc, 1),
        # the presenter erases their own marks on page 1, the chair's stay
        lambda: room.ok(PRESENTER, "annotation.clear", document_id=doc, page=1),
        lambda: room.ok(CHAIR, "annotation.remove", annotation_id=next(
            i for i, a in table_after(room.events).items() if a["page"] == 2)),
        lambda: _stroke(room, CHAIR, doc, 1),
        # a new version: the old one's marks stay with it, the new one starts clean
        lambda: room.ok(CHAIR, "document.version", document_id=doc, sha256=C),
        lambda: _stroke(room, CHAIR, doc, 7),
        lambda: room.ok(CHAIR, "annotation.clear", document_id=doc2, page=3, everyone=True),
        lambda: _stroke(room, CHAIR, doc2, 3),
        lambda: room.ok(CHAIR, "document.remove", document_id=doc2),
    ]
    for step in steps:
        events = step()
        assert events
        await _commit(store, room_id, room, events)
        await _served(store, room_id, room)
    assert len(table_after(room.events)) == 3  # chair's two on doc v1 p1, one on v2 p7


async def test_marks_are_written_with_their_events_or_not_at_all(store: SqlStore) -> None:
    room = standard_room()
    doc = room.ok(CHAIR, "document.attach", sha256=A)[-1].data["document"]["id"]
    room_id = await store.create_meeting(room.events, summary(room.state))
    taken = _stroke(room, CHAIR, doc, 1)
    await _commit(store, room_id, room, taken)
    # Another writer's commit at the same seq: refused whole, its mark is not stored.
    rival = _stroke(room, PRESENTER, doc, 1)
    try:
        await store.append(room_id, rival[0].seq - 2, rival, stored=stored_with(rival))
    except SeqConflict:
        pass
    else:
        raise AssertionError("the append at a taken seq was accepted")
    served = [orjson.loads(b) for b in await store.shared_marks(room_id, doc, 1, 1)]
    assert [a["id"] for a in served] == [taken[0].data["annotation"]["id"]]


async def test_a_mark_that_cannot_be_stored_takes_its_event_with_it(store: SqlStore) -> None:
    """The marks and their events are one transaction: a mark refused by the table (a row
    already there under its id) leaves no event in the log either."""
    room = standard_room()
    doc = room.ok(CHAIR, "document.attach", sha256=A)[-1].data["document"]["id"]
    room_id = await store.create_meeting(room.events, summary(room.state))
    before = room.state.seq
    stroke = _stroke(room, CHAIR, doc, 1)
    assert store.engine is not None
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(
            "INSERT INTO room_marks (room_id, id, document_id, version, page, owner, body) "
            "VALUES (:r, :i, 1, 1, 1, 1, '{}')"),
            {"r": room_id, "i": stroke[0].data["annotation"]["id"]})
    try:
        await _commit(store, room_id, room, stroke)
    except SeqConflict:
        pass
    else:
        raise AssertionError("the append was accepted")
    assert [e.seq for e in await store.events_after(room_id, 0)][-1] == before


async def test_a_database_before_the_marks_table_gets_it_filled_from_the_log(
        open_store: Opener) -> None:
    store = await open_store()
    room = standard_room()
    doc = room.ok(CHAIR, "document.attach", sha256=A)[-1].data["document"]["id"]
    room_id = await store.create_meeting(room.events, summary(room.state))
    attached = room.ok(CHAIR, "document.attach", sha256=C)
    gone = attached[-1].data["document"]["id"]
    await _commit(store, room_id, room, attached)
    for events in (_stroke(room, CHAIR, doc, 1), _stroke(room, PRESENTER, doc, 1),
                   _stroke(room, PRESENTER, doc, 2), _stroke(room, SECRETARY, doc, 3),
                   _stroke(room, CHAIR, gone, 4),
                   room.ok(PRESENTER, "annotation.clear", document_id=doc, page=1)):
        await _commit(store, room_id, room, events)
    mark = next(i for i, a in table_after(room.events).items() if a["page"] == 3)
    await _commit(store, room_id, room, room.ok(CHAIR, "annotation.remove", annotation_id=mark))
    await _commit(store, room_id, room, room.ok(CHAIR, "document.remove", document_id=gone))
    # A second room, its marks its own.
    other = standard_room()
    other_doc = other.ok(CHAIR, "document.attach", sha256=A)[-1].data["document"]["id"]
    other_id = await store.create_meeting(other.events, summary(other.state))
    await _commit(store, other_id, other, _stroke(other, CHAIR, other_doc, 1))
    await store.save_snapshot(room_id, room.state.seq, b'{"annotations": {}}')
    assert store.engine is not None
    async with store.engine.begin() as conn:  # as phonghop left it before migration 0010
        await conn.execute(sa.text("DROP TABLE room_marks"))
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
    await store.close()
    again = await open_store()
    await _served(again, room_id, room)
    await _served(again, other_id, other)
    assert len(table_after(room.events)) == 2 and len(table_after(other.events)) == 1
    # Snapshots of the old shape are gone: the room is rebuilt from its log.
    assert await again.load_snapshot(room_id) is None
