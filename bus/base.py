"""The bus port: fan-out of committed events and volatile messages between nodes.

A bus may drop or delay messages (Redis pub/sub does); receivers detect gaps by seq and
fill them from the store, so the bus never carries the only copy of anything durable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Handler = Callable[[bytes], None]
Unsubscribe = Callable[[], None]


class Bus(Protocol):
    name: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, channel: str, payload: bytes) -> None: ...
    def subscribe(self, channel: str, handler: Handler) -> Unsubscribe: ...
    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Register `callback` for after a lost connection is back (messages may be lost)."""
        ...
