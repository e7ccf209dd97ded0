"""Private rosters (large conferences): who hears of what, and that nothing public goes stale."""

from __future__ import annotations

from phonghop.meeting_room import apply, room_view
from phonghop.rooms import Event, RoomState
from tests.rooms.world import CHAIR, D1, D2, D3, OUTSIDER, SECRETARY, Room, standard_room


def heard_by(events: list[Event], room: Room, uid: int) -> list[str]:
    role = room.state.role_of(uid)
    return [e.kind for e in events if e.audience.admits(uid, role)]


def test_leaving_the_meeting_leaves_the_public_queue_for_everyone() -> None:
    room = standard_room(roster="organisers")
    room.ok(D1, "floor.request")
    room.ok(D2, "floor.request")
    room.ok(CHAIR, "floor.grant", user_id=D3)
    events = room.ok(CHAIR, "participant.remove", user_id=D1)
    # D2 does not see the roster, but does see the queue: D1 must leave it for D2 too
    assert "floor.withdrawn" in heard_by(events, room, D2)
    assert "participant.removed" not in heard_by(events, room, D2)
    events = room.ok(CHAIR, "participant.remove", user_id=D3)
    assert "floor.ended" in heard_by(events, room, D2)
    assert room_view(room.state, D2)["queue"] == [
        {**r.model_dump(mode="json")} for r in room.state.queue]
    assert [r.user_id for r in room.state.queue] == [D2] and room.state.speaker is None


def test_member_and_substitute_hear_of_each_other() -> None:
    room = standard_room(roster="organisers")
    events = room.ok(D1, "rsvp", answer="substitute", substitute_user_id=OUTSIDER)
    assert heard_by(events, room, D1) == ["substitute.requested"]
    assert heard_by(events, room, D2) == []
    events = room.ok(CHAIR, "substitute.approve", user_id=D1)
    assert {"participant.added", "rsvp.answered"} <= set(heard_by(events, room, OUTSIDER))
    assert "role.changed" in heard_by(events, room, D2)  # in session: a new voter is public
    assert [p["user_id"] for p in room_view(room.state, D1)["participants"]] == [D1, OUTSIDER]
    assert [p["user_id"] for p in room_view(room.state, D2)["participants"]] == [D2]
    events = room.ok(CHAIR, "participant.update", user_id=D1, role="presenter")
    assert heard_by(events, room, OUTSIDER)[:2] == ["participant.updated"] * 2
    assert heard_by(events, room, D2) == ["role.changed", "role.changed"]
    assert room.state.participants[OUTSIDER].role == "presenter"  # the seat's role
    events = room.ok(CHAIR, "participant.remove", user_id=OUTSIDER)
    assert heard_by(events, room, D1)[:2] == ["participant.removed", "participant.updated"]


def test_everyone_hears_the_quorum_but_not_who_checked_in() -> None:
    room = standard_room(roster="organisers")
    events = room.ok(D1, "attendance.check_in")
    assert heard_by(events, room, D2) == ["quorum.changed"]
    assert heard_by(events, room, D1) == ["attendance.checked_in", "quorum.changed"]
    assert heard_by(events, room, SECRETARY) == ["attendance.checked_in", "quorum.changed"]
    assert room_view(room.state, D2)["quorum"]["present"] == 1


def test_reasons_in_a_log_or_snapshot_written_before_stay_private() -> None:
    """Logs and snapshots from before reasons became personal carried them in the shared
    attendance: replayed or loaded, the reason moves to the private map."""
    room = standard_room()
    legacy = Event("attendance.absent", {"attendance": {
        "user_id": D2, "status": "absent", "at": "2026-11-22T01:00:00.000Z", "by": SECRETARY,
        "reason": "Ốm nặng"}}, at="2026-11-22T01:00:00.000Z")
    state = apply(room.state, legacy)
    assert state.attendance[D2].reason is None and state.absence_reasons == {D2: "Ốm nặng"}
    dumped = state.model_dump(mode="json")
    dumped["attendance"][str(D2)]["reason"] = "Ốm nặng"
    dumped["absence_reasons"] = {}
    loaded = RoomState.model_validate(dumped)
    assert loaded.attendance[D2].reason is None and loaded.absence_reasons == {D2: "Ốm nặng"}
    assert "Ốm nặng" not in str(room_view(loaded, D1))
    assert "Ốm nặng" in str(room_view(loaded, D2))
