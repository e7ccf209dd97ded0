"""Sign-in attempts: reserved before the password is checked, limited per account and address.

Two token buckets guard every password check (sign-in, and the old password of a change):

- per username: `PER_USER` attempts, refilled over `WINDOW` seconds. A right password
  refills it, so a user's own typos never outlast their next success;
- per client address: `PER_ADDRESS` attempts refilled over the same window. A whole
  meeting hall often signs in from one NAT address, so running dry never locks the address
  out: it only spaces attempts to one every WINDOW / PER_ADDRESS seconds (a back-off), and
  a right password gives its attempt back.

An attempt is taken *before* the hash is checked, so twenty wrong passwords sent at once
get five checks and fifteen refusals, not twenty checks. An attempt that checked nothing
(the hashing pool was full) is given back.

`MemoryLimits` holds the buckets in this process (one node). `RedisLimits` holds them in
Redis, updated by one Lua script per attempt, so that every node of a deployment shares
them; if Redis cannot be reached it falls back to this node's memory (still bounded per
node) until it can. Keys are hashed: Redis never holds the usernames or addresses tried.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("phonghop.login")

PER_USER = 5
PER_ADDRESS = 30
WINDOW = 60.0
MAX_KEYS = 100_000  # a spray of made-up usernames must not grow memory without bound


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: hand it back to `succeeded`, `failed` or `released`."""

    user_key: str
    address_key: str


def attempt_for(username: str, address: str) -> Attempt:
    """The bucket keys for a sign-in as `username` from `address` (hashed, case-folded)."""

    def h(kind: str, value: str) -> str:
        return kind + ":" + hashlib.sha256(value.encode()).hexdigest()[:32]

    return Attempt(h("u", username.casefold()), h("ip", address))


class LoginLimits(Protocol):
    async def reserve(self, attempt: Attempt) -> int:
        """Take an attempt: 0 if taken, else the whole seconds to wait before trying again."""
        ...

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the address's attempt comes back, the account's refills."""
        ...

    async def failed(self, attempt: Attempt) -> None:
        """The password was wrong: the attempt stays spent."""
        ...

    async def released(self, attempt: Attempt) -> None:
        """Nothing was checked (e.g. `busy`): the attempt comes back to both buckets."""
        ...


@dataclass(frozen=True)
class Buckets:
    """The capacities and the refill rates (attempts per second) of the two buckets."""

    per_user: int = PER_USER
    per_address: int = PER_ADDRESS
    window: float = WINDOW

    def capacity(self, key: str) -> float:
        return float(self.per_user if key.startswith("u:") else self.per_address)

    def rate(self, key: str) -> float:
        return self.capacity(key) / self.window


class MemoryLimits:
    """The buckets in this process's memory."""

    def __init__(self, buckets: Buckets = Buckets(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.buckets = buckets
        self.clock = clock
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def _tokens(self, key: str, now: float) -> float:
        cap = self.buckets.capacity(key)
        tokens, when = self._state.get(key, (cap, now))
        return min(cap, tokens + (now - when) * self.buckets.rate(key))

    def reserve_now(self, attempt: Attempt) -> int:
        now = self.clock()
        keys = (attempt.user_key, attempt.address_key)
        levels = [self._tokens(k, now) for k in keys]
        wait = max((1 - t) / self.buckets.rate(k) for k, t in zip(keys, levels, strict=True))
        if wait > 0:
            return max(1, math.ceil(wait))
        if len(self._state) >= MAX_KEYS:
            self._forget_full(now)
        for key, tokens in zip(keys, levels, strict=True):
            self._state[key] = (tokens - 1, now)
        return 0

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they hold nothing a fresh one would not)."""
        self._state = {k: (t, w) for k, (t, w) in self._state.items()
                       if t + (now - w) * self.buckets.rate(k) < self.buckets.capacity(k)}
        if len(self._state) >= MAX_KEYS:  # all are in use: keep the newest half
            newest = sorted(self._state.items(), key=lambda kv: kv[1][1])[MAX_KEYS // 2:]
            self._state = dict(newest)

    def give_back(self, key: str, refill: bool = False) -> None:
        now = self.clock()
        cap = self.buckets.capacity(key)
        tokens = cap if refill else min(cap, self._tokens(key, now) + 1)
        if tokens >= cap:
            self._state.pop(key, None)
        else:
            self._state[key] = (tokens, now)

    async def reserve(self, attempt: Attempt) -> int:
        return self.reserve_now(attempt)

    async def succeeded(self, attempt: Attempt) -> None:
        self.give_back(attempt.user_key, refill=True)
        self.give_back(attempt.address_key)

    async def failed(self, attempt: Attempt) -> None:
        return None

    async def released(self, attempt: Attempt) -> None:
        self.give_back(attempt.user_key)
        self.give_back(attempt.address_key)


# KEYS: the buckets. ARGV: [mode, then capacity and rate per key]. mode "take": take one
# token from every bucket or none, and answer the milliseconds to wait (0: taken); "give":
# one token back to each; "fill": fill them. Redis's own clock, so that nodes whose clocks
# differ share one time line; each bucket expires once it would be full again.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1]) / 1000
  local s = redis.call('HMGET', key, 'tokens', 'when')
  local tokens = tonumber(s[1]) or cap
  local when = tonumber(s[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - when) * rate)
  if mode == 'take' and tokens < 1 then
    wait = math.max(wait, math.ceil((1 - tokens) / rate))
  end
  levels[i] = tokens
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1]) / 1000
  local tokens = levels[i]
  if mode == 'take' then tokens = tokens - 1
  elseif mode == 'give' then tokens = math.min(cap, tokens + 1)
  else tokens = cap end
  if tokens >= cap then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'tokens', tostring(tokens), 'when', tostring(now))
    redis.call('PEXPIRE', key, math.ceil((cap - tokens) / rate) + 1000)
  end
end
return 0
"""


class RedisLimits:
    """The buckets in Redis, shared by every node; this node's memory while Redis is away."""

    def __init__(self, url: str, namespace: str, buckets: Buckets = Buckets()) -> None:
        self.buckets = buckets
        self.prefix = f"{namespace}:login:"
        self._client = redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._script = self._client.register_script(_SCRIPT)
        self.fallback = MemoryLimits(buckets)
        self._down = False

    async def close(self) -> None:
        await self._client.aclose()

    async def _run(self, mode: str, keys: tuple[str, ...]) -> int | None:
        argv: list[str | float] = [mode]
        for key in keys:
            argv += [self.buckets.capacity(key), self.buckets.rate(key)]
        try:
            answer = int(await self._script(keys=[self.prefix + k for k in keys], args=argv))
        except (RedisError, OSError) as exc:
            if not self._down:
                log.warning("sign-in limits: Redis unreachable (%s); limiting on this node "
                            "until it is back", type(exc).__name__)
            self._down = True
            return None
        if self._down:
            log.warning("sign-in limits: Redis is back; limits are shared again")
            self._down = False
        return answer

    async def reserve(self, attempt: Attempt) -> int:
        wait_ms = await self._run("take", (attempt.user_key, attempt.address_key))
        if wait_ms is None:
            return self.fallback.reserve_now(attempt)
        return 0 if wait_ms == 0 else max(1, math.ceil(wait_ms / 1000))

    async def succeeded(self, attempt: Attempt) -> None:
        if await self._run("fill", (attempt.user_key,)) is None:
            self.fallback.give_back(attempt.user_key, refill=True)
        if await self._run("give", (attempt.address_key,)) is None:
            self.fallback.give_back(attempt.address_key)

    async def failed(self, attempt: Attempt) -> None:
        return None

    async def released(self, attempt: Attempt) -> None:
        if await self._run("give", (attempt.user_key, attempt.address_key)) is None:
            await self.fallback.released(attempt)
