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

    __slots__ = ("alive", "is_admin", "meeting", "rate", "role", "session", "user_id", "wire")

    def __init__(self, wire: WireProtocol, user_id: int, is_admin: bool, session: str) -> None:
        self.wire = wire
        self.user_id = user_id
        self.is_admin = is_admin
        self.session = session  # the token's hash, to close this when the session ends
        self.meeting: int | None = None
        self.role: str | None = None
        self.rate = RateLimit()
        self.alive = True

    def send_frame(self, frame: bytes) -> None:
        """Write a pre-built frame; a client too far behind is disconnected (4409)."""
        if not self.alive:
            return
        if self.wire.buffered() > MAX_BACKLOG:
            self.close(CLOSE_SLOW, "slow consumer")
            return
        if not self.wire.write_frame(frame):
            self.alive = False

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
