"""The kernel as a plugin: what every meeting room is made of before any feature.

The meeting and its sites, participants (roles, the constitution, substitutes), agenda,
invitations, session, attendance and quorum, floor and notices. `rooms.room.Room` always
puts it first; the features come after it (`meeting_room.py`).
"""

from __future__ import annotations

from phonghop.rooms import apply, decide, substitutes, view
from phonghop.rooms.commands import KERNEL_COMMANDS, ParticipantAdd, Rsvp
from phonghop.rooms.plugin import Lookup, Plugin, joined

KERNEL = Plugin(
    name="kernel",
    commands=KERNEL_COMMANDS,
    rules=joined(decide.RULES, substitutes.RULES),
    handlers=joined(apply.HANDLERS, substitutes.HANDLERS),
    public_view=view.public_view,
    personal_view=view.personal_view,
    me=view.me_view,
    # Names and units come from the user directory, never from the client.
    lookups={
        ParticipantAdd: (Lookup("user", key="user_id", into="profile"),),
        Rsvp: (Lookup("user", key="substitute_user_id", into="substitute_profile"),),
    },
)
