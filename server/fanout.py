"""A room's fan-out on this node: its live connections and the frames they are sent.

Committed events are encoded once for each distinct set of events that some connection
may see (with everyone's events, once for the whole room); a snapshot shares the public
part of the view, encoded once per seq, and splices each connection's personal part in;
a resume replays the missed events in chunks; volatile messages (pointer, ink) are framed
once and sent to their audience. What to send is decided by the room (server/room_host.py)
from its state; this module only frames and writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from phonghop.meeting_room import me_view, personal_view, public_view
from phonghop.rooms import Event, RoomState
from phonghop.rooms.events import Audience
from phonghop.server import metrics
from phonghop.server.connection import Connection
from phonghop.server.wire import text_frame

REPLAY_CHUNK = 200  # missed events sent per frame on resume
# Personal parts of the snapshot kept for the current seq: a user's second tablet, a
# reload, the organisers' roster of 6,300 asked again at the same seq. Bounded: a room
# that changes seq drops them all, and a join storm at one seq keeps the first ones only.
PERSONAL_CACHED = 2000


class Fanout:
    """The connections attached to one room on this node."""

    def __init__(self, room_id: int) -> None:
        self.room_id = room_id
        self.conns: set[Connection] = set()
        self._public_cache: tuple[int, bytes] | None = None  # (seq, public view's JSON)
        # The seq, and per (user, is_admin) the personal view's JSON at that seq.
        self._personal_seq = -1
        self._personal_cache: dict[tuple[int, bool], bytes] = {}

    def events(self, events: list[Event], state: RoomState) -> None:
        """Send one commit's events to the connections allowed to see them, in one frame
        each (`events`, or `event` when there is one)."""
        if not events or not self.conns:
            return
        started = time.perf_counter()
        if all(e.audience.everyone for e in events):
            frame = self.frame(events)
            for conn in self.conns:
                conn.send_frame(frame)
        else:
            frames: dict[tuple[int, ...], bytes | None] = {}
            role_of = state.role_of
            for conn in self.conns:
                role = role_of(conn.user_id)
                visible = tuple(
                    i for i, e in enumerate(events)
                    if e.audience.admits(conn.user_id, role, conn.is_admin)
                )
                if visible not in frames:
                    frames[visible] = (
                        self.frame([events[i] for i in visible]) if visible else None
                    )
                frame = frames[visible]
                if frame is not None:
                    conn.send_frame(frame)
        metrics.FANOUT.observe(time.perf_counter() - started)

    def frame(self, events: list[Event]) -> bytes:
        """The frame of these events: `event` for one, `events` for several."""
        if len(events) == 1:
            return text_frame(orjson.dumps(events[0].to_message(self.room_id)))
        return text_frame(orjson.dumps({
            "type": "events", "meeting": self.room_id,
            "events": [e.to_message(self.room_id) for e in events],
        }))

    def replay(self, conn: Connection, events: Iterable[Event], since: int, seq: int) -> None:
        """Send a resuming connection the events after `since` it may see, then `resumed`."""
        missed = [e for e in events
                  if e.seq > since and e.audience.admits(conn.user_id, conn.role, conn.is_admin)]
        for start in range(0, len(missed), REPLAY_CHUNK):
            conn.send_frame(self.frame(missed[start:start + REPLAY_CHUNK]), catch_up=True)
        conn.send({"type": "resumed", "meeting": self.room_id, "seq": seq,
                   "replayed": len(missed)})

    def snapshot(self, conn: Connection, state: RoomState, online: list[int]) -> bytes:
        """The `snapshot` message for this connection, sharing the per-seq public part."""
        if self._public_cache is None or self._public_cache[0] != state.seq:
            self._public_cache = (state.seq, orjson.dumps(public_view(state)))
        public = self._public_cache[1]
        personal = self._personal(state, conn.user_id, conn.is_admin)
        head = orjson.dumps({
            "type": "snapshot", "meeting": self.room_id, "seq": state.seq,
            "me": me_view(state, conn.user_id, conn.is_admin), "online": online,
        })
        # {"type":…,"online":[…]} + ,"room":{public…, personal…}}  (splice, no re-encoding)
        return head[:-1] + b',"room":' + public[:-1] + b"," + personal[1:] + b"}"

    def _personal(self, state: RoomState, user_id: int, is_admin: bool) -> bytes:
        """The personal part of the view at the state's seq, made once per user and seq."""
        if self._personal_seq != state.seq:
            self._personal_seq = state.seq
            self._personal_cache = {}
        key = (user_id, is_admin)
        made = self._personal_cache.get(key)
        if made is None:
            made = orjson.dumps(personal_view(state, user_id, is_admin))
            if len(self._personal_cache) < PERSONAL_CACHED:
                self._personal_cache[key] = made
        return made

    def send_to(self, message: dict[str, Any], who: Callable[[Connection], bool]) -> None:
        """One message, framed once, to the connections `who` admits."""
        frame = text_frame(orjson.dumps(message))
        for conn in self.conns:
            if who(conn):
                conn.send_frame(frame)

    def relay(self, message: dict[str, Any], audience: Audience, state: RoomState,
              sender: Connection | None = None) -> None:
        """A volatile message to its audience, never back to its sender."""
        frame = text_frame(orjson.dumps({"type": "volatile", **message}))
        role_of = state.role_of
        for conn in self.conns:
            if conn is not sender and (audience.everyone or audience.admits(
                    conn.user_id, role_of(conn.user_id), conn.is_admin)):
                conn.send_frame(frame)
