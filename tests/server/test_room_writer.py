"""The room's writer on one node, with its real store: a forwarded command taken up after
its deadline is not decided (its sender decides it, under the same id), one in time is,
once; a forward still unanswered when its node stops tells its sender whether a retry is
safe."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from phonghop.bus.base import Bus
from phonghop.bus.local import LocalBus
from phonghop.bus.redis import RedisBus
from phonghop.meeting_room import parse_command, summary
from phonghop.rooms import Actor, Rejection
from phonghop.server import room_host
from phonghop.server.room_host import EXPIRED, Ack, RoomHost
from phonghop.store import SqlStore, sqlite_url
from tests.conftest import REDIS
from tests.rooms.world import ADMIN, Room


async def hosted(tmp_path: Path, bus: Bus | None = None) -> tuple[SqlStore, RoomHost]:
    store = SqlStore(sqlite_url(tmp_path))
    await store.open()
    room = Room()
    room.ok(ADMIN, "meeting.create", title="Phiên họp thường kỳ",
            starts_at="2026-12-07T08:00:00+07:00")
    room_id = await store.create_meeting(room.events, summary(room.state))
    host = RoomHost(room_id, store, bus or LocalBus(), lambda: datetime.now(UTC), "node-a")
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
