"""One client's websocket connection as the rest of the server sees it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from phonghop.rooms.rejections import Rejection
from phonghop.server.wire import WireProtocol, text_frame

# A client whose unsent backlog passes this is disconnected instead of growing our memory.
MAX_BACKLOG = 4 * 1024 * 1024
# A snapshot (or replay) is what a client asked for to get in: its size is the room's, not a
# sign of a slow reader, so it is not counted as backlog; what is written after it is, from
# its end. What waits for a client is thus at most the backlog plus its latest catch-up.
CLOSE_SLOW = 4409
CLOSE_POLICY = 1008


@dataclass
class RateLimit:
    """Token bucket: `rate` messages a second, bursts up to `burst`."""

    rate: float = 20.0
    burst: float = 60.0
    tokens: float = 60.0
    stamp: float = field(default_factory=time.monotonic)

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Connection:
    """A joined (or joining) client: who it is and how to reach it."""

    __slots__ = ("_after", "_allowance", "alive", "is_admin", "meeting", "rate", "role",
                 "session", "user_id", "wire")

    def __init__(self, wire: WireProtocol, user_id: int, is_admin: bool, session: str) -> None:
        self.wire = wire
        self.user_id = user_id
        self.is_admin = is_admin
        self.session = session  # the token's hash, to close this when the session ends
        self.meeting: int | None = None
        self.role: str | None = None
        self.rate = RateLimit()
        self.alive = True
        # Bytes written after the last catch-up while it is still being delivered (None when
        # it has gone): the buffer is first in, first out, so none of them has left yet.
        self._after: int | None = None
        self._allowance = 0  # bytes of the latest catch-up, not counted as backlog

    def send_frame(self, frame: bytes, catch_up: bool = False) -> None:
        """Write a pre-built frame; a client too far behind is disconnected (4409).

        `catch_up`: a snapshot or a replay frame, which does not count as backlog (the
        frames written after it do, from its end): a slow client joining a large room gets
        in instead of being cut off while its snapshot is on the way."""
        if not self.alive:
            return
        buffered = self.wire.buffered()
        if self._after is not None and buffered <= self._after:
            self._after = None  # the catch-up has gone: count everything again
            self._allowance = 0
        backlog = buffered if self._after is None else self._after
        # The second test counts what waited before the catch-up too (an earlier catch-up
        # the client had not read, say): only the latest one is allowed for.
        if backlog > MAX_BACKLOG or buffered > MAX_BACKLOG + self._allowance:
            self.close(CLOSE_SLOW, "slow consumer")
            return
        if not self.wire.write_frame(frame):
            self.alive = False
        elif catch_up:
            if self._after:  # live frames since the last catch-up: a new one starts
                self._allowance = 0
            self._allowance += len(frame)
            self._after = 0
        elif self._after is not None:
            self._after += len(frame)

    def send(self, message: dict[str, Any]) -> None:
        self.send_frame(text_frame(orjson.dumps(message)))

    def send_error(self, rejection: Rejection, ref: Any = None) -> None:
        body: dict[str, Any] = {"type": "error", **rejection.to_json()}
        if ref is not None:
            body["ref"] = ref
        self.send(body)

    def close(self, code: int, reason: str) -> None:
        if self.alive:
            self.alive = False
            self.wire.fail(code, reason)
