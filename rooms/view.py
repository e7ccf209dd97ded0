"""What one user sees of the kernel's part of a room: the snapshot a client starts from.

The view is the state in JSON form, filtered by the same audience rules as events, so that
a snapshot at seq N equals the empty view plus every event up to N this user may see.
`rooms.room.Room` adds each plugin's part to these.
"""

from __future__ import annotations

from typing import Any

from phonghop.rooms.roles import ORGANISERS
from phonghop.rooms.state import RoomState
from phonghop.rooms.substitutes import requests_view


def personal_view(state: RoomState, user_id: int, is_admin: bool = False) -> dict[str, Any]:
    """The parts of the view that depend on who looks: a private roster, substitute
    requests, reasons and targeted notices."""
    role = state.role_of(user_id)
    organiser = is_admin or role in ORGANISERS
    personal: dict[str, Any] = {}
    if state.meeting is not None and state.meeting.roster == "organisers":
        # The roster is not public: organisers see all of it, others their own entries.
        if organiser:
            people = list(state.participants.values())
            present = list(state.attendance.values())
        else:
            # Only me, and the member I stand in for or who stands in for me: O(1), because
            # thousands of delegates join a large room at once.
            me = state.participants.get(user_id)
            related = (me.substitute_for, me.substitute_user_id) if me else ()
            people = [p for uid in (user_id, *related) if uid is not None
                      and (p := state.participants.get(uid)) is not None]
            present = [a for a in (state.attendance.get(user_id),) if a is not None]
        personal["participants"] = [p.model_dump(mode="json") for p in people]
        personal["attendance"] = [a.model_dump(mode="json") for a in present]
    return personal | requests_view(state, user_id, organiser) | {
        # Reasons (often medical) are personal: the organisers and the member only.
        "rsvp_reasons": {
            str(uid): reason
            for uid, reason in state.rsvp_reasons.items()
            if organiser or uid == user_id
        },
        "absence_reasons": {
            str(uid): reason
            for uid, reason in state.absence_reasons.items()
            if organiser or uid == user_id
        },
        "notices": [
            n.model_dump(mode="json")
            for n in state.notices
            if n.roles is None or organiser or role in n.roles or n.by == user_id
        ],
    }


def public_view(state: RoomState) -> dict[str, Any]:
    """The parts of the view every participant sees alike (cached per seq by the server)."""
    meeting = state.meeting.model_dump(mode="json") if state.meeting else None
    public_roster = state.meeting is None or state.meeting.roster == "all"
    return {
        "meeting": meeting,
        "sites": [s.model_dump(mode="json") for s in state.sites.values()],
        "participants": [p.model_dump(mode="json") for p in state.participants.values()]
        if public_roster else [],
        "attendance": [a.model_dump(mode="json") for a in state.attendance.values()]
        if public_roster else [],
        "agenda": [state.items[i].model_dump(mode="json") for i in state.order],
        "active_item": state.active_item,
        "queue": [r.model_dump(mode="json") for r in state.queue],
        "speaker": state.speaker.model_dump(mode="json") if state.speaker else None,
        "quorum": state.announced.model_dump(mode="json"),
    }


def me_view(state: RoomState, user_id: int, is_admin: bool = False) -> dict[str, Any]:
    """Who the viewer is in this room: role, vote, and the administrator flag."""
    p = state.participants.get(user_id)
    return {"user_id": user_id, "role": p.role if p else None, "voting": bool(p and p.voting),
            "is_admin": is_admin}


def catalogue_row(state: RoomState) -> dict[str, Any]:
    """The catalogue row of a meeting: what lists and searches show (a plugin may give
    another status: `Room.summary`)."""
    assert state.meeting is not None
    m = state.meeting
    return {
        "title": m.title, "starts_at": m.starts_at, "ends_at": m.ends_at,
        "location": m.location, "status": m.status,
    }
