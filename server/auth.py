"""Accounts: password hashing, sessions and tokens, and sign-in attempts."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from phonghop.server.login_limits import LoginLimits, MemoryLimits
from phonghop.server.password_hashing import PasswordHashing
from phonghop.store import ports
from phonghop.store.records import User

SESSION_COOKIE = "phonghop_session"
SESSION_DAYS = 14
SESSION_IDLE_HOURS = 8
SESSION_CACHE_SECONDS = 30.0
SESSION_CACHE_MAX = 100_000
# A session's last-seen time is written at most this often (and at most an eighth of the
# idle timeout): the idle timeout must not cost a database write per request.
SESSION_TOUCH_SECONDS = 300.0
MIN_PASSWORD = 10
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


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


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


def session_cookie(secure: bool) -> str:
    """The session cookie's name: `__Host-` prefixed when secure, so that the browser takes
    it only from this origin over HTTPS, with Path=/ and no Domain (no sibling subdomain
    or plain-HTTP page can plant or overwrite it)."""
    return f"__Host-{SESSION_COOKIE}" if secure else SESSION_COOKIE


def password_problem(password: str, username: str) -> str | None:
    """Why `password` is too weak for the account `username` (English detail), or None.

    The minimum policy: at least MIN_PASSWORD characters, not built on the username, and
    not a single character repeated. Longer passphrases are welcome (up to 256).
    """
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if len(password) > 256:
        return "at most 256 characters"
    if username and username.casefold() in password.casefold():
        return "must not contain the username"
    if len(set(password)) < 4:
        return "too few different characters"
    return None


class SignInStore(ports.Sessions, Protocol):
    """What sign-in uses of the store: the sessions, and finding an account by its name."""

    async def user_by_name(self, username: str) -> User | None: ...


class Accounts:
    """Sign-in, sessions and token lookup over the store.

    Sessions have an absolute lifetime and a sliding idle timeout. Lookups are cached
    briefly; a session's last use is written back at most every SESSION_TOUCH_SECONDS.
    Revocations (server/sessions.py) evict cache entries on every node.
    """

    def __init__(self, store: SignInStore) -> None:
        self.store = store
        self.limits: LoginLimits = MemoryLimits()  # RedisLimits when nodes share a Redis
        self.hashing = PasswordHashing()
        self.lifetime = timedelta(days=SESSION_DAYS)
        self.idle = timedelta(hours=SESSION_IDLE_HOURS)
        self._cache: dict[str, tuple[User, float]] = {}
        self._waiting: dict[str, list[asyncio.Future[User | None]]] = {}
        self._looking: asyncio.Task[None] | None = None
        # Bumped by every eviction: a lookup that started before it must not be cached.
        self._epoch = 0
        self._touched: dict[str, float] = {}  # token hash -> when its last use was written
        self._touch_pending: set[str] = set()
        self._touching: asyncio.Task[None] | None = None

    async def close(self) -> None:
        """Stop the hashing threads and let go of the shared limits' connection."""
        self.hashing.shutdown()
        close = getattr(self.limits, "close", None)
        if close is not None:
            await close()

    @property
    def epoch(self) -> int:
        """Changes whenever a session is evicted (a revocation reached this node)."""
        return self._epoch

    def configure(self, lifetime: timedelta, idle: timedelta) -> None:
        """Set the sessions' absolute lifetime and idle timeout."""
        self.lifetime, self.idle = lifetime, idle

    @property
    def cache_seconds(self) -> float:
        """How long a looked-up session is trusted without the store (short idle: shorter)."""
        return min(SESSION_CACHE_SECONDS, self.idle.total_seconds() / 4)

    @property
    def touch_seconds(self) -> float:
        return min(SESSION_TOUCH_SECONDS, self.idle.total_seconds() / 8)

    async def verify(self, username: str, password: str) -> User | None:
        """The user if the password matches; argon2 runs on the hashing threads.

        Raises PasswordsBusy (nothing checked) when the hashing queue is full."""
        with self.hashing.slot():  # a full queue refuses before even the account's lookup
            user = await self.store.user_by_name(username)
            stored = (user.password_hash if user
                      else await self.hashing.run_in_slot(_timing_equaliser))
            if not await self.hashing.run_in_slot(_matches, stored, password):
                return None
        return user

    async def hash_password(self, password: str) -> str:
        """A new hash of `password`, on the hashing threads (PasswordsBusy if full)."""
        return await self.hashing.run(hash_password, password)

    async def open_session(self, user: User) -> str:
        token = new_token()
        now = datetime.now(UTC)
        await self.store.create_session(token_hash(token), user.id, now + self.lifetime, now)
        self._touched[token_hash(token)] = time.monotonic()
        return token

    def idle_since(self, now: datetime) -> datetime:
        """Sessions last seen at or before this instant are idle."""
        return now - self.idle

    async def user_for_token(self, token: str | None) -> User | None:
        """The session's user, from a short-lived cache or the store.

        The cache matters when thousands of tablets reconnect at once. An entry lives at
        most 30 s, so a session that simply expires is honoured up to 30 s late; a
        revocation (sign-out, password change, disabling) evicts its entries at once.
        """
        if not token or len(token) > 200:
            return None
        key = token_hash(token)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            self._seen(key, now)
            return cached[0]
        epoch = self._epoch
        user = await self._lookup(key)
        if user is not None:
            now = time.monotonic()
            if epoch == self._epoch:
                if len(self._cache) >= SESSION_CACHE_MAX:
                    self._cache.clear()
                self._cache[key] = (user, now + self.cache_seconds)
            self._seen(key, now)
        return user

    def _seen(self, key: str, now: float) -> None:
        """Note a use of the session; write it back if the last write is old enough."""
        last = self._touched.get(key)
        if last is not None and now - last < self.touch_seconds:
            return
        if len(self._touched) >= SESSION_CACHE_MAX:
            self._touched.clear()
        self._touched[key] = now
        self._touch_pending.add(key)
        if self._touching is None:
            self._touching = asyncio.get_running_loop().create_task(self._write_touches())

    def seen(self, keys: list[str]) -> None:
        """Note a use of these sessions (open websockets keep their sessions alive)."""
        now = time.monotonic()
        for key in keys:
            self._seen(key, now)

    async def _write_touches(self) -> None:
        """Write pending last-seen times in batches (one UPDATE for all that arrived)."""
        try:
            while self._touch_pending:
                batch, self._touch_pending = list(self._touch_pending), set()
                try:
                    await self.store.touch_sessions(batch, datetime.now(UTC))
                except Exception:  # the store is down: write again on the next use
                    for key in batch:
                        self._touched.pop(key, None)
                    return
        finally:
            self._touching = None

    async def live_sessions(self, keys: list[str]) -> set[str]:
        """Which of these sessions are still live in the store (not ended, expired, idle,
        of a disabled account, or older than the account's password)."""
        now = datetime.now(UTC)
        return set(await self.store.session_users(keys, now, self.idle_since(now)))

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
                    now = datetime.now(UTC)
                    users = await self.store.session_users(list(batch), now,
                                                           self.idle_since(now))
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

    def forget(self, key: str) -> None:
        """Drop a session from the cache (it ended here or elsewhere)."""
        self._epoch += 1
        self._cache.pop(key, None)
        self._touched.pop(key, None)

    def forget_user(self, user_id: int, keep: str | None = None) -> None:
        """Drop every cached session of an account but `keep` (its sessions were revoked)."""
        self._epoch += 1
        for key in [k for k, (u, _) in self._cache.items() if u.id == user_id and k != keep]:
            self._cache.pop(key, None)
            self._touched.pop(key, None)
        if keep is not None:
            self._cache.pop(keep, None)  # its user record (e.g. the admin flag) changed
