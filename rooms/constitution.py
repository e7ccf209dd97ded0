"""The meeting's constitution: who may give or take a role or a vote, and when.

Exactly one chair and one secretary once they are set. Giving the chair's or the
secretary's role to someone moves it: the previous holder becomes a delegate in the same
command, and the role can never be left empty. Only the chair (or an administrator before
the session starts) moves those two roles. In session, who sits in the room with which
role and vote is the chair's call; before it, the organisers prepare. Nobody changes their
own role or vote. While a poll is open, roles, votes and the electorate are frozen; after
the session ends, everything is.
"""

from __future__ import annotations

from phonghop.rooms.plugin import Context
from phonghop.rooms.rejections import Rejection, invalid_state
from phonghop.rooms.roles import ORGANISERS, Role
from phonghop.rooms.state import Participant, RoomState

OFFICES = (Role.CHAIR, Role.SECRETARY)
OFFICE_NAMES = {Role.CHAIR: ("chủ trì", "chair"), Role.SECRETARY: ("thư ký", "secretary")}


def vacant(role: Role) -> Rejection:
    """The refusal for leaving the chair or the secretary's role without a holder."""
    vi, en = OFFICE_NAMES[role]
    return Rejection("role_vacant", {"role_vi": vi, "role_en": en, "role": role.value})


def standing(p: Participant | None) -> tuple[Role, bool] | None:
    """What the constitution guards of a participant: their role and their vote."""
    return (p.role, p.voting) if p is not None else None


def may_change(ctx: Context, before: Participant | None,
               after: Participant | None) -> Rejection | None:
    """Whether the actor may turn participant `before` into `after` (None: not in the
    room). What freezes the electorate (an open poll) is a plugin's to say: `ctx.frozen`.

    Checked after the organiser check; a change of site only is not constitutional.
    """
    state, actor = ctx.state, ctx.actor
    assert state.meeting is not None
    if state.meeting.status == "ended":
        return invalid_state("ended")
    if standing(before) == standing(after):
        return None
    subject = (before or after)
    assert subject is not None
    if subject.user_id == actor.user_id:
        return Rejection("own_role")
    if ctx.frozen:
        return Rejection("roles_frozen")
    chair = state.role_of(actor.user_id) == Role.CHAIR
    in_session = state.meeting.status == "in_session"
    offices = {p.role for p in (before, after) if p is not None} & ORGANISERS
    if (in_session or offices) and not (chair or (actor.is_admin and not in_session)):
        return Rejection("forbidden")
    if before is not None and before.role in ORGANISERS and (
            after is None or after.role != before.role):
        return vacant(before.role)  # give the role to someone else: it moves
    if after is not None and after.role in ORGANISERS and (before is None
                                                           or before.role != after.role):
        if after.substitute_for is not None or after.substitute_user_id is not None \
                or after.user_id in state.substitute_requests:
            return Rejection("substituted")
    return None


def moved_from(state: RoomState, after: Participant) -> Participant | None:
    """The previous holder of the office `after` takes, as they become a delegate."""
    if after.role not in ORGANISERS:
        return None
    holder = state.holder(after.role)
    if holder is None or holder.user_id == after.user_id:
        return None
    return holder.model_copy(update={"role": Role.DELEGATE})
