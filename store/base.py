"""The store port: durable truth for accounts, the catalogue and every room's event log.

An adapter implements `Store`. The contract that matters most is `append`: events get the
seqs expected_seq+1, expected_seq+2, … in one transaction, or nothing is written and
`SeqConflict` is raised because another writer took one of those seqs first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from rooms.events import Event
from store.records import CommandMark, User


class StoreError(Exception):
    """Base of the store's own errors."""


class SeqConflict(StoreError):
    """Another writer appended to the room first; refresh and decide again."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or failed; nothing was written. Retryable."""


class Duplicate(StoreError):
    """A unique key (username, …) is already taken."""


class Store(Protocol):
    name: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # accounts and sessions
    async def create_user(
        self, username: str, password_hash: str, full_name: str, position: str = "",
        unit: str = "", is_admin: bool = False,
    ) -> User: ...
    async def create_users(self, rows: Sequence[dict[str, Any]]) -> list[int]: ...
    async def user_by_name(self, username: str) -> User | None: ...
    async def users_by_id(self, ids: Sequence[int]) -> dict[int, User]: ...
    async def list_users(self) -> list[User]: ...
    async def set_password_hash(self, user_id: int, password_hash: str) -> None: ...
    async def create_session(self, token_hash: str, user_id: int, expires_at: datetime) -> None: ...
    async def create_sessions(self, rows: Sequence[tuple[str, int, datetime]]) -> None: ...
    async def session_user(self, token_hash: str, now: datetime) -> User | None: ...
    async def session_users(
        self, token_hashes: Sequence[str], now: datetime
    ) -> dict[str, User]: ...
    async def delete_session(self, token_hash: str) -> None: ...

    # rooms
    async def create_meeting(self, events: Sequence[Event], summary: dict[str, Any]) -> int: ...
    async def append(
        self, room_id: int, expected_seq: int, events: Sequence[Event],
        marks: Sequence[CommandMark] = (), summary: dict[str, Any] | None = None,
        members: Sequence[tuple[int, str]] | None = None,
    ) -> None: ...
    async def events_after(
        self, room_id: int, seq: int, limit: int | None = None
    ) -> list[Event]: ...
    async def find_commands(
        self, room_id: int, keys: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], int]: ...
    async def save_snapshot(self, room_id: int, seq: int, state_json: bytes) -> None: ...
    async def load_snapshot(self, room_id: int) -> tuple[int, bytes] | None: ...
    async def list_meetings(
        self, user_id: int | None, day: str | None
    ) -> list[dict[str, Any]]: ...
