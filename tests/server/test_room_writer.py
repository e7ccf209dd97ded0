"""The room's writer on one node, with its real store: a forwarded command taken up after
its deadline is not decided (its sender decides it, under the same id), one in time is,
once; a forward still unanswered when its node stops, or a commit whose outcome the store
could not tell (it failed or was cancelled after the database wrote it), tells its sender
whether a retry is safe: never `store_unavailable` for a command without an id that may
have been applied."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from phonghop.bus.base import Bus
from phonghop.bus.local import LocalBus
from phonghop.bus.redis import RedisBus
from phonghop.meeting_room import parse_command, summary
from phonghop.rooms import Actor, Rejection
from phonghop.server import room_host
from phonghop.server.room_host import EXPIRED, Ack, RoomHost
from phonghop.store import SqlStore, sqlite_url
from phonghop.store.base import StoreError
from tests.conftest import REDIS
from tests.rooms.world import ADMIN, D1, D2, Room, standard_room


async def hosted(tmp_path: Path, bus: Bus | None = None, store: SqlStore | None = None,
                 node: str = "node-a", create: bool = True, room: Room | None = None,
                 ) -> tuple[SqlStore, RoomHost]:
    """A host of room 1 in the SQLite file under tmp_path (created first, unless another
    node already did): a bare meeting, or the log of `room` (tests/rooms/world.py)."""
    store = store or SqlStore(sqlite_url(tmp_path))
    await store.open()
    room_id = 1
    if create:
        if room is None:
            room = Room()
            room.ok(ADMIN, "meeting.create", title="Phiên họp thường kỳ",
                    starts_at="2026-12-07T08:00:00+07:00")
        room_id = await store.create_meeting(room.events, summary(room.state))
    host = RoomHost(room_id, store, bus or LocalBus(), lambda: datetime.now(UTC), node)
    await host.start()
    return store, host


def site(name: str) -> object:
    command = parse_command("site.add", {"name": name})
    assert not isinstance(command, Rejection)
    return command


async def test_a_forward_taken_up_after_its_deadline_is_left_to_its_sender(
    tmp_path: Path,
) -> None:
    store, host = await hosted(tmp_path)
    try:
        late = await host._decide_here(Actor(ADMIN, is_admin=True), site("Điểm cầu trễ"),
                                       "forwarded:late", until=time.time() - 0.1)
        assert late is EXPIRED
        assert [e.kind for e in await store.events_after(host.room_id, 0)] == [
            "meeting.created"]  # nothing decided, nothing written
        # The sender then decides it itself, under the same id: written once.
        mine = await host._decide_here(Actor(ADMIN, is_admin=True), site("Điểm cầu trễ"),
                                       "forwarded:late")
        assert isinstance(mine, Ack) and mine.seq == 2
        timely = await host._decide_here(Actor(ADMIN, is_admin=True), site("Điểm cầu 2"),
                                         "forwarded:timely", until=time.time() + 3)
        assert isinstance(timely, Ack) and timely.seq == 3
        again = await host._decide_here(Actor(ADMIN, is_admin=True), site("Điểm cầu 2"),
                                        "forwarded:timely", until=time.time() + 3)
        assert again == Ack(3, duplicate=True)
    finally:
        await host.stop()
        await store.close()


@pytest.fixture
async def led_elsewhere(tmp_path: Path) -> AsyncIterator[RoomHost]:
    """A room hosted on this node while another node, which never answers, holds its lease
    (on a real Redis bus): every command here is forwarded and waits."""
    bus = RedisBus(REDIS, f"test-writer-{secrets.token_hex(4)}", secret=b"s" * 32)
    await bus.open()
    store, host = None, None
    try:
        assert await bus.claim("room:1", "node-z", 60_000)  # a fresh store's first room
        store, host = await hosted(tmp_path, bus)
        assert host.channel == "room:1" and host.writes is False
        yield host
    finally:
        if host is not None:
            await host.stop()
        if store is not None:
            await store.close()
        await bus.close()


async def test_a_forward_unanswered_when_its_node_stops_is_retryable_only_with_an_id(
    led_elsewhere: RoomHost,
) -> None:
    """The writer may have applied both commands: the one sent with the client's id can be
    sent again (a duplicate is answered as such), the one without cannot be told from a
    new command, so its sender hears `outcome_unknown`, which is not retryable."""
    host = led_elsewhere
    actor = Actor(ADMIN, is_admin=True)
    named = asyncio.create_task(host.submit(actor, site("Điểm cầu A"), "c-named"))
    unnamed = asyncio.create_task(host.submit(actor, site("Điểm cầu B")))
    await asyncio.sleep(0.3)  # both forwarded, neither answered
    assert not named.done() and not unnamed.done()
    await host.stop()
    first, second = await named, await unnamed
    assert first == Rejection("store_unavailable") and first.retryable
    assert second == Rejection("outcome_unknown") and not second.retryable


async def test_a_forward_unanswered_and_undecidable_here_is_outcome_unknown_without_an_id(
    led_elsewhere: RoomHost, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writer never answers, so this node decides the commands itself under the same
    ids, and cannot store them either: the one with the client's id may be sent again, the
    one without may have been applied by the silent writer, and is `outcome_unknown`."""
    monkeypatch.setattr(room_host, "FORWARD_TIMEOUT", 0.3)
    host = led_elsewhere
    host._writer.stop()  # and this node's own writing is down
    actor = Actor(ADMIN, is_admin=True)
    named, unnamed = await asyncio.gather(
        host.submit(actor, site("Điểm cầu A"), "c-named"),
        host.submit(actor, site("Điểm cầu B")))
    assert named == Rejection("store_unavailable") and named.retryable
    assert unnamed == Rejection("outcome_unknown") and not unnamed.retryable


class CommitsThenFails(SqlStore):
    """A store whose next appends are written, then reported failed (the connection lost
    as the database answered the commit): `fail` many, or held open for ever after the
    commit with `hang` (a node stopping then cancels them mid-append)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.fail = 0
        self.hang = False

    async def append(self, *args: Any, **kwargs: Any) -> None:
        await super().append(*args, **kwargs)
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            self.fail -= 1
            raise StoreError("connection lost during COMMIT")


async def sites(store: SqlStore) -> list[str]:
    return [e.data["site"]["name"] for e in await store.events_after(1, 0)
            if e.kind == "site.added"]


async def test_a_commit_that_fails_after_the_database_wrote_it_is_retryable_only_with_an_id(
    tmp_path: Path,
) -> None:
    """The database wrote both commands and the node heard a failure: the one sent without
    an id cannot be retried safely (`outcome_unknown`); the one with an id can, and its
    retry is answered as the duplicate it is, the site added once."""
    store, host = await hosted(tmp_path, store=CommitsThenFails(sqlite_url(tmp_path)))
    assert isinstance(store, CommitsThenFails)
    actor = Actor(ADMIN, is_admin=True)
    try:
        store.fail = 1
        unnamed = await host.submit(actor, site("Điểm cầu A"))
        assert unnamed == Rejection("outcome_unknown") and not unnamed.retryable
        store.fail = 1
        named = await host.submit(actor, site("Điểm cầu B"), "c-1")
        assert named == Rejection("store_unavailable") and named.retryable
        retry = await host.submit(actor, site("Điểm cầu B"), "c-1")
        assert retry == Ack(3, duplicate=True)
        assert await sites(store) == ["Điểm cầu A", "Điểm cầu B"]
        # The next command without an id, written and heard, is acknowledged as usual.
        assert await host.submit(actor, site("Điểm cầu C")) == Ack(4)
    finally:
        await host.stop()
        await store.close()


async def test_a_commit_in_flight_when_the_room_stops_is_retryable_only_with_an_id(
    tmp_path: Path,
) -> None:
    """The node stops while the database has written a batch but not yet answered: the
    command without an id hears `outcome_unknown`; the one with an id is retried with it on
    the room loaded again and answered as a duplicate, applied once. A command still
    queued behind the batch was never written: `store_unavailable`, retryable even
    without an id."""
    store, host = await hosted(tmp_path, store=CommitsThenFails(sqlite_url(tmp_path)))
    assert isinstance(store, CommitsThenFails)
    actor = Actor(ADMIN, is_admin=True)
    store.hang = True
    named = asyncio.create_task(host.submit(actor, site("Điểm cầu A"), "c-1"))
    unnamed = asyncio.create_task(host.submit(actor, site("Điểm cầu B")))
    for _ in range(100):  # both in one batch, its append written and held
        await asyncio.sleep(0.02)
        if len(await sites(store)) == 2:
            break
    queued = asyncio.create_task(host.submit(actor, site("Điểm cầu C")))
    await asyncio.sleep(0.05)
    await host.stop()
    assert await named == Rejection("store_unavailable")
    assert await unnamed == Rejection("outcome_unknown")
    late = await queued
    assert late == Rejection("store_unavailable") and late.retryable
    store.hang = False
    again = RoomHost(1, store, LocalBus(), lambda: datetime.now(UTC), "node-a")
    await again.start()
    try:
        assert await again.submit(actor, site("Điểm cầu A"), "c-1") == Ack(2, duplicate=True)
        assert await again.submit(actor, site("Điểm cầu C")) == Ack(4)
        assert await sites(store) == ["Điểm cầu A", "Điểm cầu B", "Điểm cầu C"]
    finally:
        await again.stop()
        await store.close()


async def test_a_forward_the_writer_wrote_then_heard_fail_is_settled_by_its_sender(
    tmp_path: Path,
) -> None:
    """Two nodes on one database and a real Redis bus; the writer's database writes each
    forwarded command and reports a failure. The writer answers `store_unavailable`, which
    relayed as such would let a client without an id send it again, applied twice: its
    sender decides it under the forward's id instead, finds it written, and acknowledges
    it. A client with an id hears `store_unavailable` and its retry is the duplicate."""
    prefix = f"test-writer-{secrets.token_hex(4)}"
    buses = [RedisBus(REDIS, prefix, secret=b"s" * 32) for _ in range(2)]
    for bus in buses:
        await bus.open()
    writer_store, writer = await hosted(
        tmp_path, buses[0], store=CommitsThenFails(sqlite_url(tmp_path)), node="node-w")
    store, sender = await hosted(tmp_path, buses[1], node="node-s", create=False)
    assert isinstance(writer_store, CommitsThenFails)
    actor = Actor(ADMIN, is_admin=True)
    try:
        assert writer.writes and not sender.writes
        writer_store.fail = 1
        unnamed = await sender.submit(actor, site("Điểm cầu A"))
        assert unnamed == Ack(2, duplicate=True)  # it was applied: the sender says so
        writer_store.fail = 1
        named = await sender.submit(actor, site("Điểm cầu B"), "c-1")
        assert named == Rejection("store_unavailable") and named.retryable
        assert await sender.submit(actor, site("Điểm cầu B"), "c-1") == Ack(3, duplicate=True)
        assert await sites(store) == ["Điểm cầu A", "Điểm cầu B"]
    finally:
        await sender.stop()
        await writer.stop()
        await store.close()
        await writer_store.close()
        for bus in buses:
            await bus.close()


async def announced_in_time(host: RoomHost, within: float = 5.0) -> bool:
    """Whether the room announces its live quorum within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if host.state.announced == host.state.figures:
            return True
        await asyncio.sleep(0.05)
    return False


CHECK_IN = parse_command("attendance.check_in", {})


async def test_a_check_in_whose_announcement_falls_due_during_its_commit_is_announced(
    tmp_path: Path,
) -> None:
    store, host = await hosted(tmp_path, room=standard_room())  # in session
    try:
        assert isinstance(await host.submit(Actor(D1), CHECK_IN), Ack)  # announced at once
        assert await announced_in_time(host)
        # The next check-in's announcement is held back, and falls due while its batch is
        # still being written (a slow store): the turn then must see that batch.
        await asyncio.sleep(room_host.ANNOUNCE_EVERY * 0.9)
        written = store.append

        async def slow(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(room_host.ANNOUNCE_EVERY * 0.4)
            return await written(*args, **kwargs)

        store.append = slow  # type: ignore[method-assign]
        assert isinstance(await host.submit(Actor(D2), CHECK_IN), Ack)
        assert host.state.figures.present == 2
        assert await announced_in_time(host), (host.state.figures, host.state.announced)
    finally:
        await host.stop()
        await store.close()


async def test_an_announcement_the_store_failed_to_write_is_written_on_the_next_turn(
    tmp_path: Path,
) -> None:
    store, host = await hosted(tmp_path, room=standard_room())  # in session
    try:
        assert isinstance(await host.submit(Actor(D1), CHECK_IN), Ack)
        assert isinstance(await host.submit(Actor(D2), CHECK_IN), Ack)  # held back
        written = store.append
        failed: list[int] = []

        async def once_down(room_id: int, base: int, placed: list[Any], *rest: Any) -> Any:
            if [e.kind for e in placed] == ["quorum.changed"] and not failed:
                failed.append(base)
                raise StoreError("the database went away for a moment")
            return await written(room_id, base, placed, *rest)

        store.append = once_down  # type: ignore[method-assign]
        assert await announced_in_time(host), (host.state.figures, host.state.announced)
        assert failed, "the announcement's first write was not tried"
        kinds = [e.kind for e in await store.events_after(host.room_id, 0)]
        assert kinds[-4:] == ["attendance.checked_in", "quorum.changed",  # at once
                              "attendance.checked_in", "quorum.changed"]  # once, not lost
    finally:
        await host.stop()
        await store.close()
