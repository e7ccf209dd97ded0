"""Who may run which command: the permission table, role by role.

Each command is tried by every kind of actor in a room where it would otherwise succeed,
so a refusal can only come from who is asking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.rooms.world import (
    ADMIN,
    CHAIR,
    D1,
    D2,
    D3,
    INVITEE,
    OPERATOR,
    OUTSIDER,
    OUTSIDER2,
    PRESENTER,
    SECRETARY,
    Room,
    standard_room,
    substitute,
)

ACTORS = {
    "chair": CHAIR, "secretary": SECRETARY, "delegate": D1, "invitee": INVITEE,
    "presenter": PRESENTER, "site_operator": OPERATOR, "administrator": ADMIN,
    "outsider": OUTSIDER,
}
ORGANISERS = {"chair", "secretary", "administrator"}
CHAIR_ONLY = {"chair"}
PARTICIPANTS = set(ACTORS) - {"administrator", "outsider"}
# Self-service: every participant for themselves; an administrator who is not in the
# meeting has no invitation, attendance or seat to act on.
SELF = PARTICIPANTS | {"self"}
NOT_IN_MEETING = {
    "rsvp": "not_found", "attendance.check_in": "not_found", "floor.request": "not_participant",
}


def site(room: Room) -> int:
    return next(iter(room.state.sites))


def first_item(room: Room) -> int:
    return room.state.order[0]


def in_queue(room: Room) -> None:
    room.ok(D2, "floor.request", note="Xin phát biểu")


def speaking(room: Room) -> None:
    room.ok(CHAIR, "floor.grant", user_id=D2)


def active(room: Room) -> None:
    room.ok(CHAIR, "agenda.activate", item_id=first_item(room))


# command, room phase, preparation, arguments, who may
Case = tuple[str, str, Callable[[Room], Any] | None, Callable[[Room], dict[str, Any]], set[str]]
CASES: list[Case] = [
    ("meeting.update", "in_session", None, lambda r: {"title": "Họp bổ sung"}, ORGANISERS),
    ("meeting.invite", "draft", None, lambda r: {}, ORGANISERS),
    ("site.add", "invited", None, lambda r: {"name": "Điểm cầu mới"}, ORGANISERS),
    ("participant.add", "invited", None,
     lambda r: {"user_id": OUTSIDER2, "role": "delegate"}, ORGANISERS),
    ("participant.update", "invited", None, lambda r: {"user_id": D3, "voting": False},
     ORGANISERS),
    ("participant.remove", "invited", None, lambda r: {"user_id": D3}, ORGANISERS),
    # In session, who sits in the room with which role and vote is the chair's call.
    ("participant.add", "in_session", None,
     lambda r: {"user_id": OUTSIDER2, "role": "invitee"}, CHAIR_ONLY),
    ("participant.update", "in_session", None, lambda r: {"user_id": INVITEE, "voting": True},
     CHAIR_ONLY),
    ("participant.remove", "in_session", None, lambda r: {"user_id": D3}, CHAIR_ONLY),
    # A change of site only is not constitutional: the organisers, in session too.
    ("participant.update", "in_session", None, lambda r: {"user_id": D3, "site_id": site(r)},
     ORGANISERS),
    # The chair's and the secretary's roles: the chair, or an administrator before the session.
    ("participant.update", "invited", None, lambda r: {"user_id": D3, "role": "secretary"},
     {"chair", "administrator"}),
    ("participant.update", "in_session", None, lambda r: {"user_id": D3, "role": "chair"},
     CHAIR_ONLY),
    ("substitute.approve", "invited", lambda r: r.ok(D3, "rsvp", answer="substitute",
                                                     substitute_user_id=OUTSIDER2),
     lambda r: {"user_id": D3}, ORGANISERS),
    ("substitute.refuse", "in_session", lambda r: r.ok(D3, "rsvp", answer="substitute",
                                                       substitute_user_id=OUTSIDER2),
     lambda r: {"user_id": D3, "reason": "Không đúng thẩm quyền"}, ORGANISERS),
    ("agenda.add", "in_session", None, lambda r: {"title": "Nội dung phát sinh"}, ORGANISERS),
    ("agenda.update", "in_session", None,
     lambda r: {"item_id": first_item(r), "planned_minutes": 25}, ORGANISERS),
    ("agenda.remove", "in_session", None, lambda r: {"item_id": r.state.order[-1]}, ORGANISERS),
    ("agenda.reorder", "in_session", None, lambda r: {"order": list(reversed(r.state.order))},
     ORGANISERS),
    ("rsvp", "invited", None, lambda r: {"answer": "attend"}, SELF),
    ("rsvp", "invited", None, lambda r: {"answer": "absent", "reason": "Ốm", "user_id": D3},
     ORGANISERS),
    ("session.start", "invited", None, lambda r: {}, CHAIR_ONLY),
    ("session.end", "in_session", None, lambda r: {}, CHAIR_ONLY),
    ("agenda.activate", "in_session", None, lambda r: {"item_id": first_item(r)}, CHAIR_ONLY),
    ("agenda.next", "in_session", None, lambda r: {}, CHAIR_ONLY),
    ("agenda.done", "in_session", active, lambda r: {"item_id": first_item(r)}, CHAIR_ONLY),
    ("agenda.defer", "in_session", active, lambda r: {"item_id": first_item(r)}, CHAIR_ONLY),
    ("attendance.check_in", "in_session", None, lambda r: {}, SELF),
    ("attendance.check_in", "in_session", None, lambda r: {"user_id": D3}, ORGANISERS),
    ("attendance.absent", "in_session", None, lambda r: {"user_id": D3, "reason": "Ốm"},
     ORGANISERS),
    ("floor.request", "in_session", None, lambda r: {"note": "Xin ý kiến"}, SELF),
    ("floor.request", "in_session", None, lambda r: {"site_id": site(r)}, {"site_operator"}),
    ("floor.withdraw", "in_session", in_queue, lambda r: {"user_id": D2}, CHAIR_ONLY),
    ("floor.grant", "in_session", in_queue, lambda r: {"user_id": D2, "seconds": 120},
     CHAIR_ONLY),
    ("floor.extend", "in_session", speaking, lambda r: {"seconds": 60}, CHAIR_ONLY),
    ("floor.end", "in_session", speaking, lambda r: {}, CHAIR_ONLY),
    ("notice.post", "in_session", None, lambda r: {"text": "Nghỉ giải lao 10 phút"},
     ORGANISERS),
]


def room_in(phase: str) -> Room:
    return standard_room(invite=phase != "draft", start=phase == "in_session")


@pytest.mark.parametrize("who", list(ACTORS))
@pytest.mark.parametrize(
    ("name", "phase", "prepare", "args", "allowed"), CASES,
    ids=[f"{c[0]}:{'+'.join(sorted(c[3](room_in(c[1])))) or '-'}" for c in CASES])
def test_permission_table(name: str, phase: str, prepare: Callable[[Room], Any] | None,
                          args: Callable[[Room], dict[str, Any]], allowed: set[str],
                          who: str) -> None:
    room = room_in(phase)
    if prepare:
        prepare(room)
    actor = ACTORS[who]
    if who in allowed:
        room.ok(actor, name, **args(room))
    elif who == "outsider":
        assert room.refused(actor, name, **args(room)) == "not_participant"
    elif who == "administrator" and ("self" in allowed or name == "floor.request"):
        assert room.refused(actor, name, **args(room)) == NOT_IN_MEETING[name]
    else:
        assert room.refused(actor, name, **args(room)) == "forbidden"


def test_administrator_who_is_not_a_participant_cannot_self_serve() -> None:
    room = standard_room()
    assert room.refused(ADMIN, "floor.request") == "not_participant"
    assert room.refused(ADMIN, "attendance.check_in") == "not_found"
    assert room.refused(ADMIN, "rsvp", answer="attend") == "not_found"


def test_site_operator_requests_the_floor_only_for_its_own_site() -> None:
    room = standard_room()
    own = site(room)
    room.ok(ADMIN, "site.add", name="Điểm cầu Trường THCS")
    other = max(room.state.sites)
    assert room.refused(OPERATOR, "floor.request", site_id=other) == "forbidden"
    assert room.refused(OPERATOR, "floor.request", site_id=9999) == "forbidden"
    assert room.refused(D1, "floor.request", site_id=own) == "forbidden"
    (event,) = room.ok(OPERATOR, "floor.request", site_id=own)
    assert event.data["request"]["site_id"] == own
    room.ok(CHAIR, "floor.grant", user_id=OPERATOR)
    assert room.state.speaker is not None and room.state.speaker.site_id == own


def test_the_speaker_may_end_their_own_turn_and_withdraw_their_own_request() -> None:
    room = standard_room()
    room.ok(D1, "floor.request")
    assert room.refused(D2, "floor.withdraw", user_id=D1) == "forbidden"
    assert room.refused(D2, "floor.withdraw") == "not_requested"
    room.ok(D1, "floor.withdraw")
    room.ok(CHAIR, "floor.grant", user_id=D2)
    assert room.refused(D1, "floor.end") == "forbidden"
    room.ok(D2, "floor.end")
    assert room.state.speaker is None


def test_a_substitute_cannot_answer_the_invitation() -> None:
    room = standard_room(start=False)
    substitute(room, D1, OUTSIDER)
    assert room.refused(OUTSIDER, "rsvp", answer="attend") == "forbidden"
    assert room.refused(D2, "rsvp", answer="absent", reason="Ốm", user_id=D1) == "forbidden"
