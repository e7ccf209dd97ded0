"""The room's writer on one node, with its real store: a forwarded command taken up after
its deadline is not decided (its sender decides it, under the same id), one in time is,
once."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from phonghop.bus.local import LocalBus
from phonghop.meeting_room import parse_command, summary
from phonghop.rooms import Actor, Rejection
from phonghop.server.room_host import EXPIRED, Ack, RoomHost
from phonghop.store import SqlStore, sqlite_url
from tests.rooms.world import ADMIN, Room


async def hosted(tmp_path: Path) -> tuple[SqlStore, RoomHost]:
    store = SqlStore(sqlite_url(tmp_path))
    await store.open()
    room = Room()
    room.ok(ADMIN, "meeting.create", title="Phiên họp thường kỳ",
            starts_at="2026-12-07T08:00:00+07:00")
    room_id = await store.create_meeting(room.events, summary(room.state))
    host = RoomHost(room_id, store, LocalBus(), lambda: datetime.now(UTC), "node-a")
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
