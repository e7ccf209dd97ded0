"""The in-process bus: one node, handlers called directly. The embedded default."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from phonghop.bus.base import Handler, Unsubscribe

log = logging.getLogger(__name__)


class LocalBus:
    name = "local"

    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(payload)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("bus handler failed on %s", channel)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        return None  # in-process: never disconnected

    async def claim(self, lease: str, owner: str, ttl_ms: int) -> bool:
        return True  # one node: it is every room's writer

    async def release(self, lease: str, owner: str) -> None:
        return None

    def subscribe(self, channel: str, handler: Handler) -> Unsubscribe:
        self._handlers[channel].append(handler)

        def unsubscribe() -> None:
            handlers = self._handlers.get(channel)
            if handlers and handler in handlers:
                handlers.remove(handler)
                if not handlers:
                    del self._handlers[channel]

        return unsubscribe
