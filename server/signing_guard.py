"""Wrong passwords and PINs at signing: a bounded number of guesses.

A stolen session must not become an online guessing machine for a signing password, and a
token's PIN must never be guessed into the token's own lockout (which an operator then has
to clear with the security officer's PIN, the whole token unusable meanwhile). Each attempt
is reserved before the secret is checked, so that concurrent requests cannot all slip
under the limit.

- per user: `USER_LIMIT` failures in `WINDOW` seconds, then `too_many_attempts`;
- per token (the server's PKCS#11 token has one user PIN, shared by every signer):
  `token_limit` failures in a row stop the server from trying until the window has passed
  or a signature succeeded; set it below the token's own limit. A token that says its
  next wrong PIN is the last (or that it is locked) is not tried at all.

The counts live in this node's memory: with N nodes a user gets at most N x USER_LIMIT
guesses per window, which still bounds guessing; the token's own flags are the last word.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

USER_LIMIT = 5
WINDOW = 15 * 60.0
TOKEN_LIMIT = 3


@dataclass
class _Attempts:
    failures: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class AttemptLimiter:
    """At most `limit` failures per key in a sliding window of `window` seconds."""

    def __init__(self, limit: int = USER_LIMIT, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._keys: dict[Hashable, _Attempts] = {}

    def reserve(self, key: Hashable) -> int | None:
        """Take one attempt for `key`; None if taken, else the seconds until one is free.

        A taken attempt ends with `failed` or `succeeded` (exactly one of them)."""
        now = self.clock()
        entry = self._keys.setdefault(key, _Attempts())
        while entry.failures and entry.failures[0] <= now - self.window:
            entry.failures.popleft()
        if len(entry.failures) + entry.in_flight >= self.limit:
            oldest = entry.failures[0] if entry.failures else now
            return max(1, math.ceil(oldest + self.window - now))
        entry.in_flight += 1
        return None

    def failed(self, key: Hashable) -> None:
        entry = self._keys.setdefault(key, _Attempts())
        entry.in_flight = max(0, entry.in_flight - 1)
        entry.failures.append(self.clock())

    def succeeded(self, key: Hashable) -> None:
        """The secret was right: the earlier failures no longer count."""
        self._keys.pop(key, None)

    def released(self, key: Hashable) -> None:
        """The attempt ended without checking the secret (another refusal)."""
        entry = self._keys.get(key)
        if entry is not None:
            entry.in_flight = max(0, entry.in_flight - 1)
            if not entry.in_flight and not entry.failures:
                del self._keys[key]


def token_near_lockout(module: str) -> bool:
    """Whether the PKCS#11 token says its next wrong user PIN locks it (or it is locked).

    Read from the token's flags without logging in, so it costs the token no attempt."""
    import pkcs11
    from pkcs11 import TokenFlag

    try:
        tokens = [t for t in pkcs11.lib(module).get_tokens()
                  if TokenFlag.TOKEN_INITIALIZED in t.flags]
    except Exception:  # the module cannot be loaded: opening the token will say why
        return False
    stop = TokenFlag.USER_PIN_FINAL_TRY | TokenFlag.USER_PIN_LOCKED
    return any(t.flags & stop for t in tokens)
