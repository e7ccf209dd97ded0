"""The SqlStore contract, the same on SQLite and PostgreSQL.

What the rest of the server relies on: a room's log only ever grows by whole commits at the
next seqs, conflicting writers are told so and leave no trace, and the catalogue, sessions
and snapshots say what was last written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from phonghop.meeting_room import replay, summary
from phonghop.rooms import Event
from phonghop.rooms.events import EVERYONE, Audience
from phonghop.store import CommandMark, Duplicate, SeqConflict, SqlStore, StoreUnavailable
from phonghop.store.sql import MIGRATIONS, SCHEMA_HEAD
from tests.rooms.world import ADMIN, CHAIR, D1, D2, SECRETARY, Room

Opener = Callable[[], Awaitable[SqlStore]]


def new_room(title: str = "Phiên họp thường kỳ", starts_at: str = "2026-11-22T08:00:00+07:00",
             ) -> Room:
    room = Room()
    room.ok(ADMIN, "meeting.create", title=title, starts_at=starts_at)
    return room


async def create(store: SqlStore, room: Room) -> int:
    return await store.create_meeting(room.events, summary(room.state))


async def user(store: SqlStore, name: str, admin: bool = False) -> int:
    created = await store.create_user(name, "argon2-hash", f"Người dùng {name}", "Chuyên viên",
                                      "UBND", admin)
    return created.id


async def test_append_places_events_at_the_next_seqs(store: SqlStore) -> None:
    room = new_room()
    room_id = await create(store, room)
    room.ok(ADMIN, "site.add", name="Điểm cầu số 1")
    room.ok(ADMIN, "agenda.add", title="Báo cáo tình hình kinh tế - xã hội")
    await store.append(room_id, 1, room.events[1:])
    stored = await store.events_after(room_id, 0)
    assert [e.seq for e in stored] == [1, 2, 3]
    assert [e.kind for e in stored] == ["meeting.created", "site.added", "agenda.added"]
    # the stored log replays to the same room, audiences and Vietnamese text intact
    assert replay(stored) == room.state
    assert stored[2].data["item"]["title"] == "Báo cáo tình hình kinh tế - xã hội"
    assert stored[0].actor == ADMIN and stored[0].audience == EVERYONE


async def test_a_stale_append_conflicts_and_writes_nothing(store: SqlStore) -> None:
    room = new_room()
    room_id = await create(store, room)
    await store.append(room_id, 1, [_notice(2, "một")], [CommandMark(CHAIR, "c-1", 2)],
                       members=[(CHAIR, "chair")])
    # A second writer decided against seq 1 too: its seq 2 is taken, its seq 3 is not.
    with pytest.raises(SeqConflict):
        await store.append(
            room_id, 1, [_notice(2, "hai"), _notice(3, "ba")],
            [CommandMark(SECRETARY, "c-9", 3)], summary={**summary(room.state), "title": "Đổi"},
            members=[(SECRETARY, "secretary")],
        )
    stored = await store.events_after(room_id, 0)
    assert [(e.seq, _text(e)) for e in stored] == [(1, None), (2, "một")]
    assert await store.find_commands(room_id, [(SECRETARY, "c-9")]) == {}
    assert [m["title"] for m in await store.list_meetings(None, None)] == [room.state.meeting.title]
    assert await store.list_meetings(SECRETARY, None) == []
    assert [m["id"] for m in await store.list_meetings(CHAIR, None)] == [room_id]
    # the right expectation goes through
    await store.append(room_id, 2, [_notice(3, "ba")])
    assert [e.seq for e in await store.events_after(room_id, 0)] == [1, 2, 3]


async def test_a_reused_command_id_conflicts_and_writes_nothing(store: SqlStore) -> None:
    room_id = await create(store, new_room())
    await store.append(room_id, 1, [_notice(2, "một")], [CommandMark(D1, "retry", 2)])
    with pytest.raises(SeqConflict):
        await store.append(room_id, 2, [_notice(3, "hai")], [CommandMark(D1, "retry", 3)])
    assert [e.seq for e in await store.events_after(room_id, 0)] == [1, 2]
    assert await store.find_commands(room_id, [(D1, "retry")]) == {(D1, "retry"): 2}


async def test_racing_writers_one_wins_the_other_conflicts(open_store: Opener) -> None:
    first, second = await open_store(), await open_store()
    room_id = await create(first, new_room())
    for round_ in range(5):
        seq = 1 + round_
        results = await asyncio.gather(
            first.append(room_id, seq, [_notice(seq + 1, f"A{round_}")]),
            second.append(room_id, seq, [_notice(seq + 1, f"B{round_}")]),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["NoneType", "SeqConflict"]
    stored = await second.events_after(room_id, 0)
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5, 6]


async def test_events_after_is_ordered_limited_and_per_room(store: SqlStore) -> None:
    a = await create(store, new_room("Họp A"))
    b = await create(store, new_room("Họp B"))
    for n in range(2, 12):
        await store.append(a, n - 1, [_notice(n, f"A{n}")])
    await store.append(b, 1, [_notice(2, "B2"), _notice(3, "B3")])
    assert [e.seq for e in await store.events_after(a, 0)] == list(range(1, 12))
    assert [e.seq for e in await store.events_after(a, 4, limit=3)] == [5, 6, 7]
    assert [e.seq for e in await store.events_after(a, 10, limit=3)] == [11]
    assert await store.events_after(a, 11) == []
    assert [_text(e) for e in await store.events_after(b, 1)] == ["B2", "B3"]
    assert await store.events_after(9999, 0) == []


async def test_audiences_and_actors_survive_storage(store: SqlStore) -> None:
    room_id = await create(store, new_room())
    private = Audience(False, frozenset({"chair", "secretary", "administrator"}),
                       frozenset({D1, D2}))
    events = [
        Event("rsvp.reason", {"user_id": D1, "reason": "Đi công tác"}, "2026-11-22T01:00:00.000Z",
              D1, private),
        Event("quorum.changed", {"quorum": {"present": 1, "total": 4, "reached": False}},
              "2026-11-22T01:00:00.000Z", None),
    ]
    await store.append(room_id, 1, events)
    stored = await store.events_after(room_id, 1)
    assert [(e.kind, e.actor, e.audience, e.data) for e in stored] == [
        (e.kind, e.actor, e.audience, e.data) for e in events]


async def test_find_commands(store: SqlStore) -> None:
    a = await create(store, new_room("Họp A"))
    b = await create(store, new_room("Họp B"))
    await store.append(a, 1, [_notice(2, "x"), _notice(3, "y")],
                       [CommandMark(D1, "c1", 2), CommandMark(D2, "c1", 3)])
    await store.append(b, 1, [_notice(2, "z")], [CommandMark(D1, "c2", 2)])
    found = await store.find_commands(a, [(D1, "c1"), (D2, "c1"), (D1, "c2"), (D1, "nope")])
    assert found == {(D1, "c1"): 2, (D2, "c1"): 3}
    assert await store.find_commands(b, [(D1, "c2"), (D1, "c1")]) == {(D1, "c2"): 2}
    assert await store.find_commands(a, []) == {}
    # more keys than one query may bind: looked up in chunks
    marks = [CommandMark(D1, f"bulk-{n}", 4) for n in range(1000)]
    await store.append(a, 3, [_notice(4, "bulk")], marks)
    keys = [(D1, f"bulk-{n}") for n in range(1200)]
    found = await store.find_commands(a, keys)
    assert len(found) == 1000 and set(found.values()) == {4}


async def test_snapshots_never_go_backwards(store: SqlStore) -> None:
    room_id = await create(store, new_room())
    assert await store.load_snapshot(room_id) is None
    first = '{"seq": 500, "t": "Tiếng Việt"}'.encode()
    await store.save_snapshot(room_id, 500, first)
    await store.save_snapshot(room_id, 400, b'{"seq": 400}')
    await store.save_snapshot(room_id, 500, b'{"seq": 500, "again": true}')
    assert await store.load_snapshot(room_id) == (500, first)
    await store.save_snapshot(room_id, 1000, b"\x00\xff binary is fine")
    assert await store.load_snapshot(room_id) == (1000, b"\x00\xff binary is fine")
    assert await store.load_snapshot(room_id + 1) is None


async def test_list_meetings_by_user_and_day(store: SqlStore) -> None:
    chair, delegate, other = [await user(store, n) for n in ("chutri", "daibieu", "khac")]
    morning = await create(store, new_room("Họp sáng", "2026-11-22T08:00:00+07:00"))
    afternoon = await create(store, new_room("Họp chiều", "2026-11-22T14:00:00+07:00"))
    tomorrow = await create(store, new_room("Họp ngày mai", "2026-11-23T08:00:00+07:00"))
    early = await create(store, new_room("Họp sớm", "2026-11-22T07:00:00+07:00"))
    await store.append(morning, 1, [_notice(2, "x")],
                       members=[(chair, "chair"), (delegate, "delegate")])
    await store.append(afternoon, 1, [_notice(2, "x")], members=[(delegate, "secretary")])
    await store.append(tomorrow, 1, [_notice(2, "x")], members=[(chair, "chair")])

    everything = await store.list_meetings(None, None)
    # rows go straight into JSON answers: plain str keys, JSON-encodable values
    assert orjson.loads(orjson.dumps(everything)) == everything
    assert orjson.dumps(await store.list_meetings(chair, None))
    assert [m["id"] for m in everything] == [early, morning, afternoon, tomorrow]
    assert {m["title"] for m in everything} == {"Họp sáng", "Họp chiều", "Họp ngày mai",
                                                "Họp sớm"}
    mine = await store.list_meetings(delegate, None)
    assert [(m["id"], m["role"]) for m in mine] == [(morning, "delegate"),
                                                    (afternoon, "secretary")]
    assert [m["id"] for m in await store.list_meetings(chair, "2026-11-23")] == [tomorrow]
    assert [m["id"] for m in await store.list_meetings(None, "2026-11-22")] == [
        early, morning, afternoon]
    assert await store.list_meetings(other, None) == []
    assert await store.list_meetings(None, "2026-12-01") == []
    # the member list is replaced as a whole: a removed participant no longer sees it
    await store.append(morning, 2, [_notice(3, "y")], members=[(chair, "chair")])
    assert [m["id"] for m in await store.list_meetings(delegate, None)] == [afternoon]
    # a summary update changes what the catalogue shows
    room = new_room("Họp sáng (đổi giờ)", "2026-11-22T09:30:00+07:00")
    await store.append(morning, 3, [_notice(4, "z")], summary=summary(room.state))
    row = next(m for m in await store.list_meetings(chair, None) if m["id"] == morning)
    assert (row["title"], row["starts_at"]) == ("Họp sáng (đổi giờ)", "2026-11-22T09:30:00+07:00")


async def test_accounts(store: SqlStore) -> None:
    admin = await store.create_user("admin", "h1", "Nguyễn Thị Quản Trị", is_admin=True)
    chair = await store.create_user("chutri", "h2", "Trần Quốc Hưng", "Chủ tịch", "UBND phường")
    with pytest.raises(Duplicate):
        await store.create_user("chutri", "h3", "Người khác")
    assert await store.user_by_name("chutri") == chair
    assert await store.user_by_name("nobody") is None
    assert await store.users_by_id([chair.id, 9999]) == {chair.id: chair}
    assert await store.users_by_id([]) == {}
    assert [u.username for u in await store.list_users()] == ["admin", "chutri"]
    assert (await store.user_by_name("admin")).is_admin is True  # type: ignore[union-attr]
    assert await store.set_password(chair.id, "h2-new", datetime.now(UTC)) is True
    assert (await store.user_by_name("chutri")).password_hash == "h2-new"  # type: ignore[union-attr]
    assert await store.set_password(9999, "h", datetime.now(UTC)) is False
    ids = await store.create_users([
        {"username": f"u{n}", "password_hash": "h", "full_name": f"Đại biểu {n}",
         "position": "", "unit": "", "is_admin": False} for n in range(3)])
    assert len(set(ids)) == 3 and admin.id not in ids


async def test_sessions_expire_and_end(store: SqlStore) -> None:
    chair = await store.create_user("chutri", "h", "Trần Quốc Hưng")
    now = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    await store.create_session("a" * 64, chair.id, now + timedelta(hours=1))
    await store.create_sessions([("b" * 64, chair.id, now + timedelta(seconds=1)),
                                 ("c" * 64, chair.id, now - timedelta(seconds=1))])
    assert await store.session_user("a" * 64, now) == chair
    assert await store.session_user("b" * 64, now) == chair
    assert await store.session_user("b" * 64, now + timedelta(seconds=1)) is None  # at expiry
    assert await store.session_user("c" * 64, now) is None
    assert await store.session_user("a" * 64, now + timedelta(hours=2)) is None
    assert await store.session_user("d" * 64, now) is None
    # an aware time in another zone means the same instant
    hanoi = now.astimezone(timezone(timedelta(hours=7)))
    assert await store.session_user("a" * 64, hanoi + timedelta(minutes=59)) == chair
    await store.create_session("e" * 64, chair.id, hanoi + timedelta(hours=1))
    assert await store.session_user("e" * 64, now + timedelta(minutes=59)) == chair
    assert await store.session_user("e" * 64, now + timedelta(minutes=61)) is None
    await store.delete_session("a" * 64)
    assert await store.session_user("a" * 64, now) is None


async def test_accounts_are_edited_disabled_and_enabled(store: SqlStore) -> None:
    admin = await store.create_user("admin", "h1", "Nguyễn Thị Quản Trị", is_admin=True)
    clerk = await store.create_user("vanthu", "h2", "Lê Văn Thư")
    assert clerk.created_at is not None and not clerk.disabled
    edited = await store.update_user(clerk.id, "Lê Văn Thư (mới)", "Văn thư", "Văn phòng", True)
    assert edited is not None and edited.is_admin and edited.unit == "Văn phòng"
    assert await store.user_by_name("vanthu") == edited
    assert await store.update_user(9999, "x", "", "", False) is None
    now = datetime.now(UTC)
    await store.create_session("a" * 64, clerk.id, now + timedelta(hours=1))
    await store.create_session("b" * 64, admin.id, now + timedelta(hours=1))
    disabled = await store.set_disabled(clerk.id, now)
    assert disabled is not None and disabled.disabled and disabled.disabled_at == now
    # disabling ends the account's sessions, and only its own
    assert await store.session_user("a" * 64, now) is None
    assert await store.session_user("b" * 64, now) is not None
    await store.create_session("c" * 64, clerk.id, now + timedelta(hours=1))
    assert await store.session_user("c" * 64, now) is None  # a disabled account has none
    enabled = await store.set_disabled(clerk.id, None)
    assert enabled is not None and not enabled.disabled
    assert await store.session_user("c" * 64, now) == enabled
    assert await store.set_disabled(9999, now) is None


async def test_a_password_change_ends_the_other_sessions(store: SqlStore) -> None:
    chair = await store.create_user("chutri", "h", "Trần Quốc Hưng")
    other = await store.create_user("thuky", "h", "Phạm Thu Ký")
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    for key in ("a", "b", "c"):
        await store.create_session(key * 64, chair.id, t0 + timedelta(days=1), now=t0)
    await store.create_session("d" * 64, other.id, t0 + timedelta(days=1), now=t0)
    at = t0 + timedelta(minutes=1)
    assert await store.set_password(chair.id, "h-new", at, keep="a" * 64)
    now = t0 + timedelta(minutes=2)
    assert await store.session_user("a" * 64, now) is not None  # the one that changed it
    assert await store.session_user("b" * 64, now) is None
    assert await store.session_user("c" * 64, now) is None
    assert await store.session_user("d" * 64, now) is not None
    # a session created before the change (a sign-in that raced it) is refused
    await store.create_session("e" * 64, chair.id, t0 + timedelta(days=1), now=t0)
    assert await store.session_user("e" * 64, now) is None
    assert await store.end_sessions(chair.id, keep="a" * 64) == 1  # e
    assert await store.end_sessions(chair.id) == 1  # a
    assert await store.session_user("a" * 64, now) is None


async def test_idle_sessions_are_refused_touched_and_purged(store: SqlStore) -> None:
    chair = await store.create_user("chutri", "h", "Trần Quốc Hưng")
    t0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    await store.create_sessions([("a" * 64, chair.id, t0 + timedelta(days=14)),
                                 ("b" * 64, chair.id, t0 + timedelta(days=14)),
                                 ("c" * 64, chair.id, t0 + timedelta(hours=1))], now=t0)
    idle = timedelta(hours=8)
    later = t0 + timedelta(hours=9)
    assert await store.session_user("a" * 64, later, later - idle) is None  # idle for 9 h
    assert await store.session_user("a" * 64, later) == chair  # no idle limit asked
    await store.touch_sessions(["a" * 64], t0 + timedelta(hours=2))
    await store.touch_sessions(["a" * 64], t0 + timedelta(hours=1))  # never moves back
    assert await store.session_user("a" * 64, later, later - idle) == chair
    assert await store.session_user("a" * 64, t0 + timedelta(hours=10, minutes=1),
                                    t0 + timedelta(hours=2, minutes=1)) is None
    # purge: c expired, b idle; a lives on
    assert await store.purge_sessions(later, later - idle) == 2
    assert await store.session_user("a" * 64, later, later - idle) == chair
    assert await store.session_users(["b" * 64, "c" * 64], t0) == {}


async def test_session_users_looks_many_sessions_up_at_once(store: SqlStore) -> None:
    chair = await store.create_user("chutri", "h", "Trần Quốc Hưng")
    delegate = await store.create_user("daibieu", "h", "Nguyễn Văn An")
    now = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    rows = [(f"{n:064x}", chair.id if n % 2 else delegate.id,
             now + timedelta(minutes=1 if n % 3 else -1)) for n in range(1200)]
    await store.create_sessions(rows)
    keys = [h for h, _, _ in rows] + ["f" * 64]
    found = await store.session_users(keys, now)
    assert set(found) == {h for h, _, e in rows if e > now}
    assert found[f"{1:064x}"] == chair and found[f"{2:064x}"] == delegate
    assert await store.session_users([], now) == {}


async def test_reopening_runs_migrations_again_harmlessly(open_store: Opener) -> None:
    store = await open_store()
    room_id = await create(store, new_room())
    await store.create_user("chutri", "h", "Trần Quốc Hưng")
    await store.close()
    again = await open_store()
    third = await open_store()  # two stores opened on the same database, one after the other
    assert [e.seq for e in await again.events_after(room_id, 0)] == [1]
    assert await third.user_by_name("chutri") is not None
    assert again.engine is not None
    async with again.engine.connect() as conn:
        versions = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
    assert [v[0] for v in versions] == [SCHEMA_HEAD]
    # The version a start takes as "nothing to migrate" is Alembic's head.
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS)
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


async def test_a_database_migrations_behind_is_migrated_at_start(open_store: Opener) -> None:
    store = await open_store()
    room_id = await create(store, new_room())
    assert store.engine is not None
    async with store.engine.begin() as conn:  # as phonghop left it before migration 0009
        await conn.execute(sa.text("DROP TABLE room_marks"))  # 0010
        await conn.execute(sa.text("DROP TABLE audit_head"))
        await conn.execute(sa.text("DROP TABLE audit_log"))
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0008'"))
    await store.close()
    again = await open_store()
    assert [e.seq for e in await again.events_after(room_id, 0)] == [1]
    assert (await again.verify_audit()).ok
    assert again.engine is not None
    async with again.engine.connect() as conn:
        versions = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
    assert [v[0] for v in versions] == [SCHEMA_HEAD]


async def test_an_unreachable_database_is_store_unavailable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for url in ("postgresql://postgres@127.0.0.1:1/phonghop",
                f"sqlite+aiosqlite:///{tmp_path}/missing-dir/phonghop.db"):
        store = SqlStore(url)
        with pytest.raises(StoreUnavailable):
            await store.open()
        await store.close()


def _notice(seq: int, text: str) -> Event:
    return Event("notice.posted", {"notice": {"id": 100 + seq, "text": text,
                                              "at": "2026-11-22T01:00:00.000Z", "by": CHAIR,
                                              "roles": None}},
                 "2026-11-22T01:00:00.000Z", CHAIR, seq=seq)


def _text(event: Event) -> str | None:
    return event.data["notice"]["text"] if event.kind == "notice.posted" else None
