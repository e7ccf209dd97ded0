"""The meeting-room kernel: commands, rules, events and state, without any I/O, and the
plugin API through which features plug into it (`rooms/plugin.py`).

    room = Room(*plugins)                             # rooms/room.py; meeting_room.py
    events = room.decide(state, command, actor, now)  # list[Event] or Rejection
    state = room.apply(state, event)                  # for each committed event

Everything here is plain data and pure functions, replayable and the same on every node.
The kernel knows no feature: the meeting room with its features is `meeting_room.py`.
Importing this package registers nothing anywhere.
"""

from rooms.commands import Command
from rooms.events import EVERYONE, Actor, Audience, Event
from rooms.rejections import Rejection
from rooms.state import Profile, RoomState

__all__ = ["EVERYONE", "Actor", "Audience", "Command", "Event", "Profile", "Rejection",
           "RoomState"]
