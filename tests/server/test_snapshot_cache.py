"""The personal part of a join's snapshot is made once per user and seq, like the public
part: a second tablet or a reload at the same seq costs no second view, a new seq shows
what changed, and a join storm at one seq keeps a bounded number of them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from phonghop.meeting_room import personal_view
from phonghop.server import fanout
from phonghop.server.fanout import Fanout
from tests.rooms.world import D1, D2, D3, SECRETARY, standard_room


def device(user_id: int, is_admin: bool = False) -> Any:
    """What the snapshot reads of a connection: who is on it."""
    return SimpleNamespace(user_id=user_id, is_admin=is_admin)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The users whose personal view was made, in order (the real view, counted)."""
    calls: list[int] = []

    def counted(state: Any, user_id: int, is_admin: bool = False) -> dict[str, Any]:
        calls.append(user_id)
        return personal_view(state, user_id, is_admin)

    monkeypatch.setattr(fanout, "personal_view", counted)
    return calls


def room_of(snapshot: bytes) -> dict[str, Any]:
    return orjson.loads(snapshot)["room"]


def test_a_second_tablet_at_the_same_seq_gets_the_same_snapshot_made_once(
    made: list[int],
) -> None:
    room = standard_room()
    fan = Fanout(1)
    first = fan.snapshot(device(D1), room.state, [])
    again = fan.snapshot(device(D1), room.state, [])
    assert again == first and made == [D1]
    other = fan.snapshot(device(D2), room.state, [])
    assert made == [D1, D2] and orjson.loads(other)["me"]["user_id"] == D2
    # A change makes a new seq: the view is made again and shows it.
    room.ok(SECRETARY, "attendance.absent", user_id=D1, reason="Đi công tác")
    after = room_of(fan.snapshot(device(D1), room.state, []))
    assert after["absence_reasons"] == {str(D1): "Đi công tác"}
    assert made == [D1, D2, D1]
    # The reason is D1's and the organisers' only: D2's view at the new seq has none.
    assert room_of(fan.snapshot(device(D2), room.state, []))["absence_reasons"] == {}


def test_a_join_storm_at_one_seq_keeps_a_bounded_number_of_views(
    made: list[int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "PERSONAL_CACHED", 2)
    room = standard_room()
    fan = Fanout(1)
    for user in (D1, D2, D3, D3, D1):
        fan.snapshot(device(user), room.state, [])
    # D1 and D2 kept; D3 made each time, past the bound
    assert made == [D1, D2, D3, D3]
