"""The Redis pub/sub bus: fan-out between nodes.

One pub/sub connection per node carries every room channel the node hosts (never one per
client). Pub/sub is allowed to lose messages (a node or Redis restarting); the rooms detect
gaps by seq and refill from the store, and every reconnection tells the node to catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bus.base import Handler, Unsubscribe

log = logging.getLogger(__name__)
# A channel every node subscribes to, so the listener always has something to wait on.
NODES_CHANNEL = "nodes"


class RedisBus:
    name = "redis"

    def __init__(self, url: str, namespace: str = "phonghop") -> None:
        self.url = url
        # Redis pub/sub channels are global to the server (database numbers do not apply),
        # so each deployment prefixes its channels; nodes of one deployment share the prefix.
        self.prefix = f"{namespace}:"
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._reconnected: list[Callable[[], None]] = []
        self._client: redis.Redis | None = None
        self._pubsub: redis.client.PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.reconnects = 0

    async def open(self) -> None:
        self._client = redis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=10,
            retry_on_timeout=False,
        )
        await self._client.ping()  # fail fast at start: a misconfigured URL is an error
        self._listener = asyncio.create_task(self._listen(), name="redis-bus")
        await asyncio.wait_for(self._connected.wait(), 10)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._client is not None:
            await self._client.aclose()
        self._handlers.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        assert self._client is not None, "bus not opened"
        try:
            await self._client.publish(self.prefix + channel, payload)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            # After Redis restarts, the pool still holds idle connections to the old server;
            # a publish lost on one of them reaches the other nodes only when a later event
            # reveals the gap (never, if the room then goes quiet). Drop them, retry once.
            with contextlib.suppress(Exception):
                await self._client.connection_pool.disconnect(inuse_connections=False)
            await self._client.publish(self.prefix + channel, payload)

    def subscribe(self, channel: str, handler: Handler) -> Unsubscribe:
        first = not self._handlers.get(channel)
        self._handlers[channel].append(handler)
        if first and self._pubsub is not None and self._connected.is_set():
            self._spawn(self._pubsub.subscribe(self.prefix + channel))

        def unsubscribe() -> None:
            handlers = self._handlers.get(channel)
            if handlers and handler in handlers:
                handlers.remove(handler)
                if not handlers:
                    del self._handlers[channel]
                    if self._pubsub is not None and self._connected.is_set():
                        self._spawn(self._pubsub.unsubscribe(self.prefix + channel))

        return unsubscribe

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every reconnection: messages may have been lost meanwhile."""
        self._reconnected.append(callback)

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(_log_failure)

    async def _listen(self) -> None:
        delay = 0.1
        first = True
        while True:
            assert self._client is not None
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.prefix + NODES_CHANNEL,
                                       *(self.prefix + c for c in self._handlers))
                self._pubsub = pubsub
                self._connected.set()
                delay = 0.1
                if not first:
                    self.reconnects += 1
                    log.warning("redis bus: reconnected; rooms catch up from the store")
                    for callback in list(self._reconnected):
                        callback()
                first = False
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    channel = message["channel"].decode().removeprefix(self.prefix)
                    for handler in list(self._handlers.get(channel, ())):
                        try:
                            handler(message["data"])
                        except Exception:
                            log.exception("bus handler failed on %s", channel)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("redis bus: connection lost (%s); retrying in %.1f s", exc, delay)
            finally:
                self._connected.clear()
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("redis bus: (un)subscribe failed: %s", task.exception())
