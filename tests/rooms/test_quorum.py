"""Quorum: exact integer arithmetic, and who counts towards it."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phonghop.meeting_room import room_view
from phonghop.rooms.state import QuorumRule
from tests.rooms.world import (
    ADMIN,
    CHAIR,
    D1,
    D2,
    D3,
    INVITEE,
    OUTSIDER,
    PRESENTER,
    SECRETARY,
    Room,
    standard_room,
    substitute,
)


@pytest.mark.parametrize(("num", "den", "strict", "present", "total", "reached"), [
    # the default: more than half
    (1, 2, True, 3, 5, True),
    (1, 2, True, 2, 4, False),  # a tie is not more than half
    (1, 2, True, 3, 4, True),
    (1, 2, True, 1, 2, False),
    (1, 2, True, 1, 1, True),
    (1, 2, True, 0, 0, False),  # nobody to count: never reached
    (1, 2, True, 500_000, 1_000_000, False),
    (1, 2, True, 500_001, 1_000_000, True),
    # at least two thirds
    (2, 3, False, 2, 3, True),
    (2, 3, False, 4, 6, True),
    (2, 3, False, 3, 5, False),
    (2, 3, False, 666_666, 1_000_000, False),  # 0.666666 < 2/3, where floats would round
    (2, 3, False, 666_667, 1_000_000, True),
    (2, 3, False, 0, 0, False),
    # more than two thirds
    (2, 3, True, 2, 3, False),
    (2, 3, True, 3, 4, True),
    # everyone, and nobody at all
    (1, 1, False, 5, 5, True),
    (1, 1, True, 5, 5, False),
    (0, 1, False, 0, 3, True),
    (0, 1, True, 0, 3, False),
])
def test_quorum_rule_is_exact(num: int, den: int, strict: bool, present: int, total: int,
                              reached: bool) -> None:
    assert QuorumRule(num=num, den=den, strict=strict).reached(present, total) is reached


@given(st.integers(0, 100), st.integers(1, 100), st.booleans(), st.integers(0, 10_000),
       st.integers(0, 10_000))
def test_quorum_rule_agrees_with_fractions(num: int, den: int, strict: bool, present: int,
                                           total: int) -> None:
    present = min(present, total)
    expected = total > 0 and (
        Fraction(present, total) > Fraction(num, den) if strict
        else Fraction(present, total) >= Fraction(num, den))
    assert QuorumRule(num=num, den=den, strict=strict).reached(present, total) == expected


def quorum(room: Room) -> dict[str, object]:
    return room_view(room.state, D1)["quorum"]


def test_checked_in_voting_members_count_and_a_tie_does_not_pass() -> None:
    room = standard_room()
    # voting by default: the chair and the three delegates
    assert quorum(room) == {"present": 0, "total": 4, "reached": False}
    room.ok(CHAIR, "attendance.check_in")
    room.ok(SECRETARY, "attendance.check_in")  # no vote: does not count
    room.ok(INVITEE, "attendance.check_in")
    room.ok(PRESENTER, "attendance.check_in")
    room.ok(SECRETARY, "attendance.absent", user_id=D3, reason="Ốm")
    room.ok(D1, "attendance.check_in")
    assert quorum(room) == {"present": 2, "total": 4, "reached": False}
    room.ok(SECRETARY, "attendance.check_in", user_id=D2)  # the secretary checks D2 in
    assert quorum(room) == {"present": 3, "total": 4, "reached": True}


def test_quorum_rule_change_takes_effect_at_once() -> None:
    room = standard_room()
    for uid in (CHAIR, D1):
        room.ok(uid, "attendance.check_in")
    assert quorum(room)["reached"] is False
    room.ok(ADMIN, "meeting.update", quorum={"num": 1, "den": 2, "strict": False})
    assert quorum(room) == {"present": 2, "total": 4, "reached": True}
    room.ok(SECRETARY, "meeting.update", quorum={"num": 2, "den": 3, "strict": False})
    assert quorum(room)["reached"] is False
    room.ok(D2, "attendance.check_in")
    assert quorum(room)["reached"] is True  # 3 of 4 is at least two thirds


def test_a_member_without_a_vote_is_not_counted() -> None:
    room = standard_room()
    room.ok(CHAIR, "participant.update", user_id=D3, voting=False)  # in session: the chair
    room.ok(CHAIR, "participant.update", user_id=INVITEE, voting=True)
    assert quorum(room)["total"] == 4
    room.ok(INVITEE, "attendance.check_in")
    room.ok(D3, "attendance.check_in")
    assert quorum(room) == {"present": 1, "total": 4, "reached": False}


def test_no_voting_members_means_no_quorum() -> None:
    room = Room()
    room.ok(ADMIN, "meeting.create", title="Họp giao ban", starts_at="2026-11-22T08:00Z")
    room.ok(ADMIN, "participant.add", user_id=CHAIR, role="chair", voting=False)
    room.ok(ADMIN, "participant.add", user_id=SECRETARY, role="secretary")
    room.ok(ADMIN, "participant.add", user_id=INVITEE, role="invitee")
    room.ok(ADMIN, "meeting.invite")
    room.ok(CHAIR, "session.start")
    room.ok(CHAIR, "attendance.check_in")
    room.ok(INVITEE, "attendance.check_in")
    assert room_view(room.state, CHAIR)["quorum"] == {"present": 0, "total": 0, "reached": False}


def test_a_substitute_counts_for_their_member_once() -> None:
    room = standard_room()
    room.ok(D1, "rsvp", answer="substitute", substitute_user_id=OUTSIDER, reason="Đi công tác")
    assert OUTSIDER not in room.state.participants  # a request: nothing changes yet
    room.ok(CHAIR, "substitute.approve", user_id=D1)
    sub = room.state.participants[OUTSIDER]
    assert sub.substitute_for == D1 and sub.voting is True and sub.role == "delegate"
    assert quorum(room)["total"] == 4  # the substitute does not add a seat
    room.ok(OUTSIDER, "attendance.check_in")
    assert quorum(room) == {"present": 1, "total": 4, "reached": False}
    # the member's own rights pause: their check-in would count the seat twice
    assert room.refused(D1, "attendance.check_in") == "substituted"
    room.ok(CHAIR, "attendance.check_in")
    assert quorum(room) == {"present": 2, "total": 4, "reached": False}
    room.ok(D2, "attendance.check_in")
    assert quorum(room) == {"present": 3, "total": 4, "reached": True}


def test_a_member_checked_in_before_the_approval_counts_through_the_substitute() -> None:
    room = standard_room()
    room.ok(D1, "attendance.check_in")
    assert quorum(room)["present"] == 1
    substitute(room, D1, OUTSIDER)
    assert quorum(room)["present"] == 0  # paused: the seat is the substitute's now
    room.ok(OUTSIDER, "attendance.check_in")
    assert quorum(room)["present"] == 1
    room.ok(D1, "rsvp", answer="attend")  # the member is back: the substitute leaves
    assert OUTSIDER not in room.state.participants and quorum(room)["present"] == 1


def test_removing_a_substitute_stops_it_counting_and_reopens_the_answer() -> None:
    room = standard_room()
    substitute(room, D1, OUTSIDER)
    room.ok(OUTSIDER, "attendance.check_in")
    assert quorum(room)["present"] == 1
    room.ok(CHAIR, "participant.remove", user_id=OUTSIDER)
    assert quorum(room)["present"] == 0
    member = room.state.participants[D1]
    assert member.substitute_user_id is None and member.rsvp == "pending"
    # the member can name the same person again, who is back once approved
    substitute(room, D1, OUTSIDER)
    assert room.state.participants[OUTSIDER].substitute_for == D1


def test_removing_a_member_takes_their_substitute_along() -> None:
    room = standard_room()
    substitute(room, D1, OUTSIDER)
    events = room.ok(CHAIR, "participant.remove", user_id=D1)
    assert [e.data["user_id"] for e in events if e.kind == "participant.removed"] == [
        D1, OUTSIDER]
    assert OUTSIDER not in room.state.participants
    assert room.refused(OUTSIDER, "attendance.check_in") == "not_participant"


def test_quorum_changed_is_sent_only_when_the_figures_move() -> None:
    room = standard_room()
    events = room.ok(SECRETARY, "attendance.check_in")  # no vote: the quorum stays
    assert [e.kind for e in events] == ["attendance.checked_in"]
    events = room.ok(D1, "attendance.check_in")
    assert [e.kind for e in events] == ["attendance.checked_in", "quorum.changed"]
    assert events[-1].data["quorum"] == {"present": 1, "total": 4, "reached": False}
    assert events[-1].audience.everyone
    events = room.ok(CHAIR, "participant.add", user_id=OUTSIDER, role="delegate")
    assert "role.changed" in [e.kind for e in events]  # in session, everyone hears of it
    assert events[-1].data["quorum"] == {"present": 1, "total": 5, "reached": False}
    events = room.ok(ADMIN, "meeting.update", title="Phiên họp bất thường")
    assert [e.kind for e in events] == ["meeting.updated"]


def test_a_burst_of_check_ins_is_announced_once_and_rules_read_the_live_count() -> None:
    room = standard_room()
    room.announce = False  # the writer announced less than ANNOUNCE_EVERY ago
    for uid in (CHAIR, D1, D2):
        assert [e.kind for e in room.ok(uid, "attendance.check_in")] == [
            "attendance.checked_in"]
    assert room.state.figures.model_dump() == {"present": 3, "total": 4, "reached": True}
    assert quorum(room) == {"present": 0, "total": 4, "reached": False}  # not yet told
    # a poll for those present, opened before the announcement, counts the three
    created = room.ok(CHAIR, "poll.create", title="Biểu quyết", eligibility="present")
    poll_id = created[0].data["poll"]["id"]
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    assert room.state.polls[poll_id].progress.eligible == 3
    # the writer's next turn tells everyone, once, with the live figures
    announced = room.announce_now()
    assert [(e.kind, e.actor, e.audience.everyone) for e in announced] == [
        ("quorum.changed", None, True)]
    assert announced[0].data["quorum"] == {"present": 3, "total": 4, "reached": True}
    assert quorum(room) == {"present": 3, "total": 4, "reached": True}
    assert room.announce_now() == []  # nothing moved since


def test_private_roster_still_tells_everyone_the_quorum() -> None:
    room = standard_room(roster="organisers")
    events = room.ok(D1, "attendance.check_in")
    checked_in, changed = events
    assert not checked_in.audience.admits(D2, "delegate")
    assert checked_in.audience.admits(D1, "delegate")
    assert checked_in.audience.admits(SECRETARY, "secretary")
    assert changed.kind == "quorum.changed" and changed.audience.everyone
    view = room_view(room.state, D2)
    assert view["participants"] == [] or [p["user_id"] for p in view["participants"]] == [D2]
    assert view["attendance"] == []
    assert view["quorum"] == {"present": 1, "total": 4, "reached": False}
    assert len(room_view(room.state, SECRETARY)["participants"]) == len(room.state.participants)
