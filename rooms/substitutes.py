"""Substitutes: a member asks (`rsvp` with answer "substitute"), an organiser decides.

A request changes nothing in the room: it is seen by the organisers and the member only.
Approval seats the substitute in the member's place with the member's role and vote (the
chair and the secretary are never substituted: their role is handed over instead), and
pauses the member's own rights (vote, check-in counting, floor) until the member answers
the invitation again. Part of the kernel (`rooms/kernel.py`): the invitations' rules
(`rooms/decide.py`) file and withdraw the requests.
"""

from __future__ import annotations

from typing import Any

from phonghop.rooms import commands as c
from phonghop.rooms.constitution import may_change
from phonghop.rooms.decide import announce, floor_ended, removal
from phonghop.rooms.events import Event, organisers_and
from phonghop.rooms.plugin import (
    Context,
    HandlerTable,
    Outcome,
    RuleTable,
    dump,
    with_key,
    without_key,
)
from phonghop.rooms.rejections import Rejection, duplicate, invalid_state, not_found
from phonghop.rooms.roles import ORGANISERS
from phonghop.rooms.state import Participant, RoomState, SubstituteRequest

RULES = RuleTable()
HANDLERS = HandlerTable()


def _deciding(ctx: Context, member_id: int) -> SubstituteRequest | Rejection:
    """The request an organiser may now approve or refuse, or why not."""
    if not ctx.organiser:
        return Rejection("forbidden")
    assert ctx.state.meeting is not None
    if ctx.state.meeting.status == "ended":
        return invalid_state("ended")
    request = ctx.state.substitute_requests.get(member_id)
    if request is None:
        return not_found("substitute_request")
    if member_id == ctx.actor.user_id:
        return Rejection("own_role")  # nobody approves their own substitute
    return request


@RULES.rule(c.SubstituteApprove)
def _approve(ctx: Context, cmd: c.SubstituteApprove) -> Outcome:
    request = _deciding(ctx, cmd.user_id)
    if isinstance(request, Rejection):
        return request
    state = ctx.state
    member = state.participants[cmd.user_id]
    if member.role in ORGANISERS:
        return Rejection("not_substitutable")
    profile = request.substitute
    if profile.user_id in state.participants:
        return duplicate("participant")
    uid = member.user_id
    # Seating the substitute gives them the member's vote: a constitutional change like any
    # other (rooms/constitution.py). Nobody seats themselves (an organiser who filed a
    # request naming themselves cannot approve it); in session it is the chair's call; and
    # never while a poll is open.
    seated = Participant(**profile.model_dump(), role=member.role, site_id=member.site_id,
                         voting=member.voting, rsvp="attend", substitute_for=uid)
    if refusal := may_change(ctx, None, seated):
        return refusal
    events: list[Event] = [ctx.event("substitute.approved", organisers_and(uid), user_id=uid,
                                     substitute_user_id=profile.user_id)]
    # The member's floor pauses with their other rights.
    if state.speaker is not None and state.speaker.user_id == uid:
        events.append(floor_ended(ctx, state.speaker))
    elif any(r.user_id == uid for r in state.queue):
        events.append(ctx.event("floor.withdrawn", user_id=uid))
    changed: list[tuple[Participant | None, Participant | None]] = []
    old = state.participants.get(member.substitute_user_id) if member.substitute_user_id \
        else None
    if old is not None:
        events += removal(ctx, old.user_id, uid)
        changed.append((old, None))
    # Never chair or secretary by inheritance: the member holds neither (checked above).
    events.append(ctx.roster_event("participant.added", seated.user_id, uid,
                                   participant=dump(seated)))
    answered = member.model_copy(update={"rsvp": "substitute",
                                         "substitute_user_id": seated.user_id})
    events.append(ctx.roster_event("rsvp.answered", uid, seated.user_id,
                                   participant=dump(answered)))
    changed.append((None, seated))
    return events + announce(ctx, *changed)


@RULES.rule(c.SubstituteRefuse)
def _refuse(ctx: Context, cmd: c.SubstituteRefuse) -> Outcome:
    request = _deciding(ctx, cmd.user_id)
    if isinstance(request, Rejection):
        return request
    return [ctx.event("substitute.refused", organisers_and(cmd.user_id), user_id=cmd.user_id,
                      reason=cmd.reason)]


# ---- effects ----


@HANDLERS.on("substitute.requested")
def _requested(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    request = SubstituteRequest.model_validate(data["request"])
    return {"substitute_requests": with_key(state.substitute_requests, request.member_id, request)}


@HANDLERS.on("substitute.approved", "substitute.refused", "substitute.withdrawn")
def _decided(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"substitute_requests": without_key(state.substitute_requests, data["user_id"])}


# ---- what users see ----


def requests_view(state: RoomState, user_id: int, organiser: bool) -> dict[str, Any]:
    """Pending requests: all of them for the organisers, their own for a member."""
    shown = {str(uid): r.model_dump(mode="json") for uid, r in state.substitute_requests.items()
             if organiser or uid == user_id}
    return {"substitute_requests": shown}
