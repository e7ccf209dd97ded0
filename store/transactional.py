"""What the parts of the SQL store (one mixin per port) use of `SqlStore`'s engine.

Each part holds the SQL of one port (`store/ports.py`) and its engine differences
(SQLite or PostgreSQL); `SqlStore` (store/sql.py) owns the engine and its connections and
mixes the parts in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


class Transactional(Protocol):
    is_sqlite: bool

    def _tx(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """One transaction; engine failures become `StoreUnavailable`."""
        ...

    def _statement(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A kept autocommit connection: one round trip per statement."""
        ...

    async def _in_one_hop(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite: `work(connection)` as one transaction on the store's own thread."""
        ...
