"""Accounts: password hashing, sessions and tokens, and sign-in rate limiting."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from store.base import Store
from store.records import User

SESSION_COOKIE = "phonghop_session"
SESSION_DAYS = 14
SESSION_CACHE_SECONDS = 30.0
SESSION_CACHE_MAX = 100_000
# argon2id parameter sets (RFC 9106), chosen with PHONGHOP_PASSWORD_PROFILE. Each stored
# hash carries its own parameters, so changing the profile never locks anyone out.
PASSWORD_PROFILES = {
    "rfc9106-low-memory": profiles.RFC_9106_LOW_MEMORY,  # 64 MiB, 3 passes: the default
    "rfc9106-high-memory": profiles.RFC_9106_HIGH_MEMORY,  # 2 GiB, 1 pass
    "test-only-cheapest": profiles.CHEAPEST,  # test suites and benchmarks, never production
}
_hasher = PasswordHasher.from_parameters(PASSWORD_PROFILES["rfc9106-low-memory"])
_dummy_hash: str | None = None


def use_password_profile(name: str) -> None:
    """Hash new passwords with this profile of `PASSWORD_PROFILES`."""
    global _hasher, _dummy_hash
    if name not in PASSWORD_PROFILES:
        raise ValueError(f"PHONGHOP_PASSWORD_PROFILE={name!r}: use one of "
                         + ", ".join(PASSWORD_PROFILES))
    _hasher = PasswordHasher.from_parameters(PASSWORD_PROFILES[name])
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _timing_equaliser() -> str:
    """A hash to verify for an unknown username, so it is as slow as a wrong password
    (made on first use: it costs as much as hashing a password)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("phonghop-timing-equaliser")
    return _dummy_hash


def token_hash(token: str) -> str:
    """Tokens are stored only as their SHA-256: a leaked database holds no usable session."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class LoginLimiter:
    """Failed sign-ins allowed per key in `window` seconds: few per username, more per address.

    Keys are "u:<username>" and "ip:<address>". A whole meeting hall often shares one NAT
    address, so a handful of typos must not lock out every tablet in the room.
    """

    def __init__(self, per_user: int = 5, per_address: int = 50, window: float = 60.0) -> None:
        self.limits = {"u": per_user, "ip": per_address}
        self.window = window
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt is allowed (0: go ahead)."""
        now = time.monotonic()
        wait = 0.0
        for key in keys:
            q = self._failures.get(key)
            if not q:
                continue
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limits[key.partition(":")[0]]:
                wait = max(wait, q[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self._failures) > 100_000:  # bounded memory under a spray of usernames
            self._failures = defaultdict(deque, {
                k: q for k, q in self._failures.items() if q and q[-1] > now - self.window
            })
        for key in keys:
            self._failures[key].append(now)

    def succeeded(self, username_key: str) -> None:
        self._failures.pop(username_key, None)


class Accounts:
    """Sign-in, sessions and token lookup over the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.limiter = LoginLimiter()
        self._cache: dict[str, tuple[User, float]] = {}
        self._waiting: dict[str, list[asyncio.Future[User | None]]] = {}
        self._looking: asyncio.Task[None] | None = None

    async def verify(self, username: str, password: str) -> User | None:
        """The user if the password matches; argon2 runs off the event loop."""
        user = await self.store.user_by_name(username)
        stored = user.password_hash if user else await asyncio.to_thread(_timing_equaliser)
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user

    async def open_session(self, user: User) -> str:
        token = new_token()
        expires = datetime.now(UTC) + timedelta(days=SESSION_DAYS)
        await self.store.create_session(token_hash(token), user.id, expires)
        return token

    async def user_for_token(self, token: str | None) -> User | None:
        """The session's user, from a short-lived cache or the store.

        The cache matters when thousands of tablets reconnect at once. An entry lives 30 s,
        so a session that simply expires is honoured up to 30 s late; signing out evicts
        its entry at once.
        """
        if not token or len(token) > 200:
            return None
        key = token_hash(token)
        cached = self._cache.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        user = await self._lookup(key)
        if user is not None:
            if len(self._cache) >= SESSION_CACHE_MAX:
                self._cache.clear()
            self._cache[key] = (user, time.monotonic() + SESSION_CACHE_SECONDS)
        return user

    async def _lookup(self, key: str) -> User | None:
        """Look a session up, sharing one query with every lookup that arrives meanwhile.

        A join storm of thousands of tablets becomes a handful of `IN (…)` queries.
        """
        future: asyncio.Future[User | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._looking is None:
            self._looking = asyncio.create_task(self._look_up_waiting())
        return await future

    async def _look_up_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    users = await self.store.session_users(list(batch), datetime.now(UTC))
                except Exception as exc:  # every waiter gets the failure, none hangs
                    for futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(users.get(key))
        finally:
            self._looking = None

    async def close_session(self, token: str) -> None:
        key = token_hash(token)
        self._cache.pop(key, None)
        await self.store.delete_session(key)

    def forget(self, key: str) -> None:
        """Drop a session from the cache (it ended elsewhere)."""
        self._cache.pop(key, None)
