"""Accounts: password hashing, sessions and tokens, and sign-in rate limiting."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from store.base import Store
from store.records import User

SESSION_COOKIE = "phonghop_session"
SESSION_DAYS = 14
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("phonghop-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    """Tokens are stored only as their SHA-256: a leaked database holds no usable session."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class LoginLimiter:
    """At most `limit` failed sign-ins per username and per address in `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 60.0) -> None:
        self.limit = limit
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
            if len(q) >= self.limit:
                wait = max(wait, q[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures[key].append(now)

    def succeeded(self, username_key: str) -> None:
        self._failures.pop(username_key, None)


class Accounts:
    """Sign-in, sessions and token lookup over the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.limiter = LoginLimiter()

    async def verify(self, username: str, password: str) -> User | None:
        """The user if the password matches; argon2 runs off the event loop."""
        user = await self.store.user_by_name(username)
        stored = user.password_hash if user else _DUMMY_HASH
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
        if not token or len(token) > 200:
            return None
        return await self.store.session_user(token_hash(token), datetime.now(UTC))

    async def close_session(self, token: str) -> None:
        await self.store.delete_session(token_hash(token))
