"""The constitution of a meeting: one chair, one secretary; who gives roles, votes and
substitutes, and when nothing may change (pure core, no server)."""

from __future__ import annotations

from datetime import UTC, datetime

from phonghop.meeting_room import apply
from phonghop.minutes.draft import assemble
from phonghop.minutes.room import may_sign, signer_role
from phonghop.rooms import Event
from phonghop.rooms.roles import Role
from tests.rooms.world import (
    ADMIN,
    CHAIR,
    D1,
    D2,
    D3,
    INVITEE,
    OUTSIDER,
    OUTSIDER2,
    SECRETARY,
    Room,
    standard_room,
    substitute,
)

REASON = "Điều trị tại bệnh viện, có giấy ra viện"


def roles(room: Room) -> dict[int, str]:
    return {uid: p.role for uid, p in room.state.participants.items()}


def open_poll(room: Room) -> int:
    room.ok(SECRETARY, "poll.create", title="Thông qua nghị quyết")
    poll = max(room.state.polls)
    room.ok(CHAIR, "poll.open", poll_id=poll)
    return poll


def test_the_secretary_cannot_make_themself_chair_demote_the_chair_or_give_a_vote() -> None:
    for start in (False, True):
        room = standard_room(start=start)
        before = room.state
        assert room.refused(SECRETARY, "participant.update", user_id=SECRETARY,
                            role="chair") == "own_role"
        assert room.refused(SECRETARY, "participant.update", user_id=CHAIR,
                            role="delegate") == "forbidden"
        assert room.refused(SECRETARY, "participant.update", user_id=D1,
                            role="chair") == "forbidden"
        if start:  # in session, votes are the chair's call
            assert room.refused(SECRETARY, "participant.update", user_id=INVITEE,
                                voting=True) == "forbidden"
        assert room.state is before


def test_giving_the_chair_moves_it_and_never_leaves_it_empty() -> None:
    room = standard_room()
    events = room.ok(CHAIR, "participant.update", user_id=D1, role="chair")
    assert roles(room)[D1] == "chair" and roles(room)[CHAIR] == "delegate"
    assert list(roles(room).values()).count("chair") == 1
    announced = [e for e in events if e.kind == "role.changed"]
    assert [(e.data["user_id"], e.data["previous_role"], e.data["role"]) for e in announced] == [
        (CHAIR, "chair", "delegate"), (D1, "delegate", "chair")]
    assert all(e.audience.everyone for e in announced)
    # the new chair hands the secretary's role on; the old secretary becomes a delegate
    room.ok(D1, "participant.update", user_id=D2, role="secretary")
    assert roles(room)[D2] == "secretary" and roles(room)[SECRETARY] == "delegate"
    # nobody leaves an office empty: demote or remove its holder, or move it onto the other
    assert room.refused(D1, "participant.update", user_id=D2, role="delegate") == "role_vacant"
    assert room.refused(D1, "participant.remove", user_id=D2) == "role_vacant"
    assert room.refused(D1, "participant.update", user_id=D2, role="chair") == "role_vacant"
    assert room.refused(D1, "participant.update", user_id=D1, voting=False) == "own_role"


def test_an_administrator_moves_the_chair_only_before_the_session() -> None:
    room = standard_room(start=False)
    room.ok(ADMIN, "participant.add", user_id=OUTSIDER, role="chair")
    assert roles(room)[OUTSIDER] == "chair" and roles(room)[CHAIR] == "delegate"
    room.ok(OUTSIDER, "session.start")
    assert room.refused(ADMIN, "participant.update", user_id=CHAIR, role="chair") == "forbidden"
    assert room.refused(ADMIN, "participant.update", user_id=D1, voting=False) == "forbidden"


def test_the_session_needs_a_chair_and_a_secretary() -> None:
    room = Room()
    room.ok(ADMIN, "meeting.create", title="Họp giao ban", starts_at="2026-11-22T08:00Z")
    room.ok(ADMIN, "participant.add", user_id=CHAIR, role="chair")
    room.ok(ADMIN, "meeting.invite")
    assert room.refused(CHAIR, "session.start") == "role_vacant"
    room.ok(ADMIN, "participant.add", user_id=SECRETARY, role="secretary")
    room.ok(CHAIR, "session.start")


def test_roles_votes_and_the_electorate_are_frozen_while_a_poll_is_open() -> None:
    room = standard_room()
    room.ok(D3, "rsvp", answer="substitute", substitute_user_id=OUTSIDER2)
    poll = open_poll(room)
    assert room.refused(CHAIR, "participant.update", user_id=INVITEE,
                        voting=True) == "roles_frozen"
    assert room.refused(CHAIR, "participant.update", user_id=D1, role="chair") == "roles_frozen"
    assert room.refused(CHAIR, "participant.add", user_id=OUTSIDER,
                        role="delegate") == "roles_frozen"
    assert room.refused(CHAIR, "participant.remove", user_id=D2) == "roles_frozen"
    assert room.refused(SECRETARY, "substitute.approve", user_id=D3) == "roles_frozen"
    room.ok(D1, "attendance.check_in")  # attendance is not the electorate
    # nor is a present voter's ballot taken away by marking them absent mid-poll
    assert room.refused(SECRETARY, "attendance.absent", user_id=D1,
                        reason="Về sớm") == "roles_frozen"
    room.ok(CHAIR, "poll.cancel", poll_id=poll)
    # in session, seating a substitute (with the member's vote) is the chair's call
    assert room.refused(SECRETARY, "substitute.approve", user_id=D3) == "forbidden"
    room.ok(CHAIR, "substitute.approve", user_id=D3)


def test_a_substitute_is_only_a_request_until_an_organiser_approves() -> None:
    room = standard_room()
    events = room.ok(D1, "rsvp", answer="substitute", substitute_user_id=OUTSIDER)
    assert [e.kind for e in events] == ["substitute.requested"]
    assert OUTSIDER not in room.state.participants
    assert room.state.participants[D1].substitute_user_id is None
    assert room.refused(OUTSIDER, "attendance.check_in") == "not_participant"
    assert room.refused(D2, "substitute.approve", user_id=D1) == "forbidden"
    room.ok(SECRETARY, "substitute.refuse", user_id=D1, reason="Không đúng thẩm quyền")
    assert room.state.substitute_requests == {}
    assert room.refused(SECRETARY, "substitute.approve", user_id=D1) == "not_found"
    substitute(room, D1, OUTSIDER, by=CHAIR)
    seat = room.state.participants[OUTSIDER]
    assert (seat.role, seat.voting, seat.substitute_for) == ("delegate", True, D1)


def test_the_chair_and_the_secretary_are_never_substituted() -> None:
    room = standard_room(start=False)
    for office in (CHAIR, SECRETARY):
        assert room.refused(office, "rsvp", answer="substitute",
                            substitute_user_id=OUTSIDER) == "not_substitutable"
    # nor does a substitute, or a member with one, inherit an office
    substitute(room, D1, OUTSIDER)
    room.ok(D2, "rsvp", answer="substitute", substitute_user_id=OUTSIDER2)
    for who in (OUTSIDER, D1, D2):
        assert room.refused(CHAIR, "participant.update", user_id=who,
                            role="chair") in ("substituted", "invalid")
    assert room.refused(ADMIN, "participant.update", user_id=D2,
                        role="secretary") == "substituted"


def test_an_organiser_does_not_approve_their_own_substitute() -> None:
    room = standard_room(start=False)
    assert room.refused(ADMIN, "participant.add", user_id=ADMIN, role="delegate") == "own_role"
    room.ok(CHAIR, "participant.add", user_id=ADMIN, role="delegate")
    room.ok(ADMIN, "rsvp", answer="substitute", substitute_user_id=OUTSIDER)
    assert room.refused(ADMIN, "substitute.approve", user_id=ADMIN) == "own_role"
    room.ok(SECRETARY, "substitute.approve", user_id=ADMIN)


def test_nobody_seats_themselves_as_someone_elses_substitute() -> None:
    """An organiser outside the roster names themselves as a delegate's substitute: the
    request is theirs to file, never theirs to approve (it would give them a vote)."""
    room = standard_room(start=False)
    room.ok(ADMIN, "rsvp", user_id=D1, answer="substitute", substitute_user_id=ADMIN)
    assert room.refused(ADMIN, "substitute.approve", user_id=D1) == "own_role"
    assert ADMIN not in room.state.participants
    room.ok(CHAIR, "substitute.approve", user_id=D1)  # another organiser may
    assert room.state.participants[ADMIN].substitute_for == D1


def test_a_substituted_members_own_rights_pause() -> None:
    room = standard_room()
    room.ok(D1, "floor.request")
    events = substitute(room, D1, OUTSIDER)
    assert "floor.withdrawn" in [e.kind for e in events]
    assert room.refused(D1, "attendance.check_in") == "substituted"
    assert room.refused(D1, "floor.request") == "substituted"
    assert room.refused(CHAIR, "floor.grant", user_id=D1) == "substituted"
    room.ok(OUTSIDER, "floor.request")  # the substitute speaks in their place


def test_signing_belongs_to_the_roles_at_the_end_of_the_session() -> None:
    room = standard_room()
    room.ok(CHAIR, "participant.update", user_id=D1, role="chair")  # a legitimate handover
    room.ok(D1, "session.end")
    meeting = room.state.meeting
    assert meeting is not None
    assert (meeting.chair_at_end, meeting.secretary_at_end) == (D1, SECRETARY)
    # after the end nothing moves: not the admin, not the chair
    assert room.refused(ADMIN, "participant.update", user_id=D2, role="chair") == "invalid_state"
    assert room.refused(D1, "participant.update", user_id=D2, role="chair") == "invalid_state"
    # Even if the roster said otherwise afterwards (an event forced into the log), the
    # signature fields stay with the holders at the end.
    d2 = room.state.participants[D2].model_copy(update={"role": Role.CHAIR})
    forced = apply(room.state, Event("participant.updated", {
        "participant": d2.model_dump(mode="json")}, at="2026-11-22T03:00:00.000Z"))
    assert signer_role(forced, D2) is None and signer_role(forced, D1) == Role.CHAIR
    assert signer_role(forced, CHAIR) is None  # the chair before the handover
    assert may_sign(forced, Role.CHAIR, D2) is not None
    assert may_sign(forced, Role.CHAIR, D2).code == "forbidden"  # type: ignore[union-attr]
    draft = assemble(forced, datetime(2026, 11, 22, 4, tzinfo=UTC))
    assert draft.chair.name == forced.participants[D1].full_name


def test_absence_reasons_reach_the_organisers_and_the_member_only() -> None:
    from phonghop.meeting_room import room_view

    room = standard_room()
    events = room.ok(SECRETARY, "attendance.absent", user_id=D2, reason=REASON)
    absent = next(e for e in events if e.kind == "attendance.absent")
    assert absent.audience.everyone and absent.data["attendance"]["reason"] is None
    (private,) = [e for e in events if e.kind == "absence.reason"]
    assert not private.audience.everyone
    for viewer, sees in ((INVITEE, False), (D1, False), (D2, True), (SECRETARY, True),
                         (CHAIR, True)):
        assert private.audience.admits(viewer, room.state.role_of(viewer)) is sees
        view = room_view(room.state, viewer)
        assert (REASON in str(view)) is sees, viewer
    assert REASON in str(room_view(room.state, ADMIN, True))
    # the minutes record it, as the law requires
    draft = assemble(room.state, datetime(2026, 11, 22, 4, tzinfo=UTC))
    assert [a.reason for a in draft.absent if a.reason] == [REASON]
    room.ok(D2, "attendance.check_in")  # came after all: the reason no longer applies
    assert room.state.absence_reasons == {}
