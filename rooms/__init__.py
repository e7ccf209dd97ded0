"""The meeting-room core: commands, rules, events and state, without any I/O.

    events = decide(state, command, actor, now)   # list[Event] or Rejection
    state = apply(state, event)                  # for each committed event

Everything here is plain data and pure functions, replayable and the same on every node.
"""

from rooms import (
    documents,  # noqa: F401  (registers the document rules and events)
    substitutes,  # noqa: F401  (registers the substitute rules and events)
)
from rooms.apply import apply, replay
from rooms.commands import Command, parse_command, parse_create
from rooms.decide import decide, iso
from rooms.events import EVERYONE, Actor, Audience, Event
from rooms.rejections import Rejection
from rooms.state import Profile, RoomState
from rooms.view import room_view, summary
from voting import room as _polls  # noqa: F401  (registers the poll rules and events)

__all__ = [
    "EVERYONE", "Actor", "Audience", "Command", "Event", "Profile", "Rejection", "RoomState",
    "apply", "decide", "iso", "parse_command", "parse_create", "replay", "room_view", "summary",
]
