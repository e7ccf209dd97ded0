"""The store: durable truth for accounts, files, ballots, credentials, the access log and
every room's event log; and the errors every port raises.

`Store` is every port of store/ports.py (and the access log's, store/audit.py) in one;
an adapter (`SqlStore`) implements it. Parts of the server take the narrowest port.
"""

from __future__ import annotations

from typing import Protocol

from phonghop.store.audit import AuditLog
from phonghop.store.ports import Accounts, Ballots, Credentials, Files, RoomLog, Sessions


class StoreError(Exception):
    """Base of the store's own errors."""


class SeqConflict(StoreError):
    """Another writer appended to the room first; refresh and decide again."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or failed; nothing was written. Retryable."""


class Duplicate(StoreError):
    """A unique key (username, …) is already taken."""


class LogGap(StoreError):
    """The event an append would follow is not in the log (it was removed): the new
    events cannot be chained to it. Nothing was written."""


class Store(Accounts, Sessions, RoomLog, Files, Ballots, Credentials, AuditLog, Protocol):
    """Everything the server keeps: every port (store/ports.py, store/audit.py)."""

    name: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
