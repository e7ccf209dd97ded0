"""The Redis pub/sub bus: fan-out between nodes.

One pub/sub connection per node carries every room channel the node hosts (never one per
client). Pub/sub is allowed to lose messages (a node or Redis restarting); the rooms detect
gaps by seq and refill from the store, and every reconnection tells the node to catch up.

Redis is not trusted: anyone who can publish on it (a compromised host, a wrong ACL) could
otherwise inject room events. Every message carries an HMAC-SHA256 over its channel and
payload, keyed with the deployment's bus secret; a message whose tag does not match is
dropped before any handler sees it, and counted (`dropped`, logged with the count only).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections import defaultdict
from collections.abc import Callable

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from phonghop.bus.base import Handler, Unsubscribe

log = logging.getLogger(__name__)
# A channel every node subscribes to, so the listener always has something to wait on.
NODES_CHANNEL = "nodes"
TAG_BYTES = 32  # HMAC-SHA256, sent in front of the payload
_DOMAIN = b"phonghop-bus-v1\0"  # what the tag is for: never valid as another protocol's MAC
DROP_LOG_EVERY = 10.0  # seconds between log lines about dropped messages, after the first few


def seal(secret: bytes, channel: bytes, payload: bytes) -> bytes:
    """The message as published on `channel` (the full Redis channel name): tag + payload."""
    tag = hmac.new(secret, _DOMAIN + channel + b"\0" + payload, hashlib.sha256).digest()
    return tag + payload


def unseal(secret: bytes, channel: bytes, message: bytes) -> bytes | None:
    """The payload of an authentic message on `channel`, or None (forged, altered, moved)."""
    if len(message) < TAG_BYTES:
        return None
    tag, payload = message[:TAG_BYTES], message[TAG_BYTES:]
    want = hmac.new(secret, _DOMAIN + channel + b"\0" + payload, hashlib.sha256).digest()
    return payload if hmac.compare_digest(tag, want) else None


# A lease is a key holding its owner, with an expiry: taken when free, extended only by its
# owner (one script, so the check and the write are one step on the Redis server).
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisBus:
    name = "redis"

    def __init__(self, url: str, namespace: str = "phonghop", *, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the bus secret must be at least 16 bytes")
        self.url = url
        self._secret = secret
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
        self.dropped = 0  # messages refused: no valid tag for their channel
        # Lease claims waiting for this turn's pipeline, and the pipelines in flight.
        self._claims: list[tuple[str, str, int, asyncio.Future[bool]]] = []
        self._claiming: set[asyncio.Task[None]] = set()
        self.claim_batches = 0
        self._drop_logged = 0.0

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
        full = self.prefix + channel
        payload = seal(self._secret, full.encode(), payload)
        try:
            await self._client.publish(full, payload)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            # After Redis restarts, the pool still holds idle connections to the old server;
            # a publish lost on one of them reaches the other nodes only when a later event
            # reveals the gap (never, if the room then goes quiet). Drop them, retry once.
            with contextlib.suppress(Exception):
                await self._client.connection_pool.disconnect(inuse_connections=False)
            await self._client.publish(full, payload)

    async def claim(self, lease: str, owner: str, ttl_ms: int) -> bool:
        """Take or keep `lease` for `owner`. The claims of one turn of the event loop go to
        Redis in one pipeline: a node's rooms renew their leases together, in one round
        trip a second, not one call each."""
        assert self._client is not None, "bus not opened"
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append((f"{self.prefix}lease:{lease}", owner, ttl_ms, future))
        if len(self._claims) == 1:
            asyncio.get_running_loop().call_soon(self._send_claims)
        return await future

    def _send_claims(self) -> None:
        batch = [c for c in self._claims if not c[3].done()]  # a cancelled claim: not sent
        self._claims = []
        if batch:
            task = asyncio.create_task(self._claim_batch(batch))
            self._claiming.add(task)
            task.add_done_callback(self._claiming.discard)

    async def _claim_batch(self, batch: list[tuple[str, str, int, asyncio.Future[bool]]]
                           ) -> None:
        assert self._client is not None
        self.claim_batches += 1
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, owner, ttl_ms, _future in batch:
                    pipe.eval(_CLAIM, 1, key, owner, str(ttl_ms))
                taken = await pipe.execute()
        except Exception as exc:
            for *_claim, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (*_claim, future), held in zip(batch, taken, strict=True):
            if not future.done():
                future.set_result(bool(held))

    async def release(self, lease: str, owner: str) -> None:
        assert self._client is not None, "bus not opened"
        if self._claiming:  # a claim already sent lands first: the release is the last word
            await asyncio.wait(set(self._claiming))
        await self._client.eval(  # type: ignore[misc]
            _RELEASE, 1, f"{self.prefix}lease:{lease}", owner)

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
                    data = unseal(self._secret, message["channel"], message["data"])
                    if data is None:
                        self._drop()
                        continue
                    channel = message["channel"].decode().removeprefix(self.prefix)
                    for handler in list(self._handlers.get(channel, ())):
                        try:
                            handler(data)
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


    def _drop(self) -> None:
        """Count a message without a valid tag; say so in the log, never what it held."""
        self.dropped += 1
        now = time.monotonic()
        if self.dropped <= 10 or now - self._drop_logged >= DROP_LOG_EVERY:
            self._drop_logged = now
            log.warning("redis bus: dropped an unauthenticated message (bus_dropped=%d)",
                        self.dropped)


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("redis bus: (un)subscribe failed: %s", task.exception())
