"""The bus port: fan-out of committed events and volatile messages between nodes, and
the leases that make one node the writer of a room.

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

    async def claim(self, lease: str, owner: str, ttl_ms: int) -> bool:
        """Hold the lease `lease` for `owner` for the next `ttl_ms`: taken if free, extended
        if `owner` holds it; False if another owner does. Raises when the bus cannot say."""
        ...

    async def release(self, lease: str, owner: str) -> None:
        """Give the lease up, if `owner` holds it."""
        ...
