"""The floor: requests queue in order, the chair grants, extends and ends turns."""

from __future__ import annotations

from phonghop.rooms.plugin import iso
from tests.rooms.world import CHAIR, D1, D2, D3, NAMES, Room, standard_room


def queue(room: Room) -> list[int]:
    return [r.user_id for r in room.state.queue]


def test_requests_queue_in_arrival_order_and_the_chair_grants_any_of_them() -> None:
    room = standard_room()
    for uid in (D1, D2, D3):
        room.ok(uid, "floor.request", note=f"Ý kiến của {uid}")
        room.tick(5)
    assert queue(room) == [D1, D2, D3]
    assert room.state.queue[0].full_name == NAMES[D1]
    room.ok(D2, "floor.withdraw")
    assert queue(room) == [D1, D3]
    room.ok(D2, "floor.request")  # asking again goes to the back
    assert queue(room) == [D1, D3, D2]
    (granted,) = room.ok(CHAIR, "floor.grant", user_id=D3)  # not necessarily the first
    speaker = granted.data["speaker"]
    assert speaker == {"user_id": D3, "full_name": NAMES[D3], "site_id": None,
                       "since": iso(room.now), "seconds": 180}
    assert queue(room) == [D1, D2]


def test_granting_someone_else_ends_the_current_turn_first() -> None:
    room = standard_room()
    room.ok(D1, "floor.request")
    room.ok(CHAIR, "floor.grant", user_id=D1, seconds=120)
    room.tick(75)
    ended, granted = room.ok(CHAIR, "floor.grant", user_id=D2)
    assert ended.kind == "floor.ended"
    assert ended.data == {"user_id": D1, "spoke_seconds": 75}
    assert granted.kind == "floor.granted" and granted.data["speaker"]["user_id"] == D2
    assert room.refused(CHAIR, "floor.grant", user_id=D2) == "invalid_state"
    assert room.refused(D2, "floor.request") == "invalid_state"  # already speaking


def test_extend_adds_time_and_end_reports_how_long_they_spoke() -> None:
    room = standard_room()
    assert room.refused(CHAIR, "floor.extend", seconds=60) == "no_speaker"
    assert room.refused(CHAIR, "floor.end") == "no_speaker"
    room.ok(CHAIR, "floor.grant", user_id=D1, seconds=60)
    room.tick(50)
    room.ok(CHAIR, "floor.extend", seconds=30)
    room.ok(CHAIR, "floor.extend", seconds=10)
    assert room.state.speaker is not None and room.state.speaker.seconds == 100
    room.tick(45)
    (ended,) = room.ok(D1, "floor.end")
    assert ended.data == {"user_id": D1, "spoke_seconds": 95}
    assert room.state.speaker is None
    assert room.refused(CHAIR, "floor.end") == "no_speaker"


def test_one_request_per_person() -> None:
    room = standard_room()
    room.ok(D1, "floor.request")
    assert room.refused(D1, "floor.request", note="Lần nữa") == "already_requested"
    assert room.refused(D2, "floor.withdraw") == "not_requested"
    assert room.refused(CHAIR, "floor.withdraw", user_id=D2) == "not_requested"
    room.ok(CHAIR, "floor.withdraw", user_id=D1)
    assert queue(room) == []


def test_grant_limits_and_targets() -> None:
    room = standard_room()
    assert room.refused(CHAIR, "floor.grant", user_id=D1, seconds=9) == "invalid"
    assert room.refused(CHAIR, "floor.grant", user_id=D1, seconds=7201) == "invalid"
    assert room.refused(CHAIR, "floor.extend", seconds=0) == "invalid"
    assert room.refused(CHAIR, "floor.grant", user_id=12345) == "not_found"
    room.ok(CHAIR, "floor.grant", user_id=D1, seconds=7200)


def test_removing_a_participant_takes_them_off_the_floor() -> None:
    room = standard_room()
    room.ok(D1, "floor.request")
    room.ok(D2, "floor.request")
    room.ok(CHAIR, "floor.grant", user_id=D3)
    room.ok(CHAIR, "participant.remove", user_id=D1)  # in session: the chair's call
    assert queue(room) == [D2]
    room.ok(CHAIR, "participant.remove", user_id=D3)
    assert room.state.speaker is None


def test_the_floor_is_closed_outside_the_session() -> None:
    room = standard_room(start=False)
    assert room.refused(D1, "floor.request") == "invalid_state"
    assert room.refused(CHAIR, "floor.grant", user_id=D1) == "invalid_state"
    room.ok(CHAIR, "session.start")
    room.ok(D1, "floor.request")
    room.ok(CHAIR, "session.end")
    assert queue(room) == [] and room.state.speaker is None
    assert room.refused(D2, "floor.request") == "invalid_state"
