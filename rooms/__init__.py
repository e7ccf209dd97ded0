"""The meeting-room kernel: commands, rules, events and state, without any I/O, and the
plugin API through which features plug into it (`rooms/plugin.py`).

    room = Room(*plugins)                             # rooms/room.py; meeting_room.py
    events = room.decide(state, command, actor, now)  # list[Event] or Rejection
    state = room.apply(state, event)                  # for each committed event

Everything here is plain data and pure functions, replayable and the same on every node.
The kernel knows no feature: the meeting room with its features is `meeting_room.py`.
Importing this package registers nothing anywhere.
"""

from phonghop.rooms.commands import Command
from phonghop.rooms.events import EVERYONE, Actor, Audience, Event
from phonghop.rooms.rejections import Rejection
from phonghop.rooms.state import Profile, RoomState

__all__ = ["EVERYONE", "Actor", "Audience", "Command", "Event", "Profile", "Rejection",
           "RoomState"]
