"""One room's live state on this node, and the window of its recent events.

What the room host (server/room_host.py) folds committed events into, strictly in seq
order, and what resumes (`join` with `since`) and HTTP command answers are served from.
No I/O, no timers: the host decides when to load, integrate and catch up; this decides
what a batch of committed events changes.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from typing import Any

from phonghop.meeting_room import apply
from phonghop.rooms import Event, RoomState

REPLAY_WINDOW = 2000  # events kept in memory for `since` resumes


class LiveRoom:
    """The room's state at its last integrated seq and its last `REPLAY_WINDOW` events."""

    def __init__(self) -> None:
        self.state = RoomState()
        self.recent: deque[Event] = deque(maxlen=REPLAY_WINDOW)

    def load(self, state: RoomState, tail: Iterable[Event]) -> None:
        """Start from a loaded state and the events read before it (the window's part up
        to the state's seq)."""
        self.state = state
        self.recent.clear()
        self.recent.extend(e for e in tail if e.seq <= state.seq)

    def integrate(self, events: list[Event], result: RoomState | None = None
                  ) -> tuple[list[Event], bool]:
        """Fold committed events in seq order: the ones new here, and whether a gap was
        found (an event past the next seq: the rest waits for a catch-up from the store).

        `result` is the state after `events` when the caller already computed it from the
        current state (the writer's own commit), which saves applying every event twice.
        """
        if result is not None and events and events[0].seq == self.state.seq + 1:
            self.state = result
            self.recent.extend(events)
            return events, False
        fresh: list[Event] = []
        gap = False
        for event in events:
            if event.seq <= self.state.seq:
                continue
            if event.seq != self.state.seq + 1:
                gap = True
                break
            self.state = apply(self.state, event)
            fresh.append(event)
        self.recent.extend(fresh)
        return fresh, gap

    def can_replay(self, since: int) -> bool:
        """Whether a client at `since` can be brought up to date from the window alone."""
        if since == self.state.seq:
            return True
        return bool(self.recent) and self.recent[0].seq <= since + 1

    def events_between(self, first: int, last: int, room_id: int, user_id: int,
                       is_admin: bool) -> list[dict[str, Any]] | None:
        """The events first..last that `user_id` may see, as the websocket sends them;
        None when they are not all in the window any more."""
        recent = self.recent
        if not recent or recent[0].seq > first or recent[-1].seq < last:
            return None
        start = first - recent[0].seq  # the window holds consecutive seqs
        events = list(itertools.islice(recent, start, start + last - first + 1))
        if [e.seq for e in events] != list(range(first, last + 1)):
            return None
        role = self.state.role_of(user_id)
        return [e.to_message(room_id) for e in events
                if e.audience.admits(user_id, role, is_admin)]
