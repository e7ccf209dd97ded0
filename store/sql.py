"""The SQL store adapter over SQLAlchemy's async engine: SQLite by default, PostgreSQL at scale.

One implementation serves both engines; the few differences (SQLite pragmas, how a unique
violation is spelled) are handled here, so the semantics are the same everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from phonghop.store.accounts_sql import AccountsSql
from phonghop.store.audit import GENESIS as AUDIT_GENESIS
from phonghop.store.audit_sql import AuditLogStore
from phonghop.store.ballot_box import BallotBoxStore
from phonghop.store.base import StoreUnavailable
from phonghop.store.credentials_sql import CredentialsSql
from phonghop.store.files_sql import FilesSql
from phonghop.store.log_store import LogStore
from phonghop.store.room_log_sql import RoomLogSql
from phonghop.store.schema import audit_head, metadata

T = TypeVar("T")
MIGRATIONS = str(Path(__file__).parent / "migrations")
# The newest migration (store/migrations/versions/): a start on a database already there
# skips Alembic altogether, whose import and script directory are a fifth of a start's
# CPU (docs/PERFORMANCE.md, "Start-up"). tests/store/test_contract.py checks that this is
# Alembic's head.
SCHEMA_HEAD = "0010"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'phonghop.db'}"


class SqlStore(AccountsSql, RoomLogSql, LogStore, FilesSql, BallotBoxStore, CredentialsSql,
               AuditLogStore):
    """A `store.base.Store` on any SQLAlchemy async URL."""

    def __init__(self, url: str) -> None:
        if url.startswith("postgresql://"):
            url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.name = "sqlite" if self.is_sqlite else "postgresql"
        self.engine: AsyncEngine | None = None
        self._kept: AsyncConnection | None = None  # see `_statement`
        self._kept_lock: asyncio.Lock | None = None
        self._box_thread: ThreadPoolExecutor | None = None  # see `_in_one_hop`
        # room -> (seq, hash) of an event known to be in the log (an event never changes
        # once written): an append at that seq chains to it without reading it back.
        self._heads: OrderedDict[int, tuple[int, bytes]] = OrderedDict()

    # ---- lifecycle ----

    async def open(self) -> None:
        """Connect and bring the schema up to date: created at this version on an empty
        database, migrated by Alembic when it is behind."""
        if self.is_sqlite:
            # One writer connection avoids SQLite lock contention; WAL lets readers go on.
            engine = create_async_engine(self.url, pool_size=1, max_overflow=0, pool_timeout=30,
                                         hide_parameters=True)
            sa_event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            engine = create_async_engine(
                self.url, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_timeout=10,
                hide_parameters=True,
            )
        self.engine = engine
        async with self._tx() as conn:
            await conn.run_sync(_upgrade)

    async def close(self) -> None:
        if self._kept is not None:
            with contextlib.suppress(Exception):
                await self._kept.close()
            self._kept = None
        if self._box_thread is not None:
            thread, self._box_thread = self._box_thread, None
            await asyncio.get_running_loop().run_in_executor(thread, _close_box_connection)
            thread.shutdown(wait=False)
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; engine failures become StoreUnavailable."""
        assert self.engine is not None, "store not opened"
        try:
            async with self.engine.begin() as conn:
                yield conn
        except Exception as exc:
            if _unreachable(exc):
                raise StoreUnavailable(str(exc)[:200]) from exc
            raise

    async def _in_one_hop(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite: `work(connection)` as one transaction (BEGIN IMMEDIATE … COMMIT) on the
        ballot box's own connection and thread, handed over once and back once.

        Through SQLAlchemy's async adapter a statement is three or four hand-overs between
        the driver's thread and the event loop, the pooled connection's return one more,
        and the pool of one connection is shared with the room's log: each a wait for a
        turn of the event loop, which in a burst of thousands of ballots takes tens to
        hundreds of milliseconds (docs/PERFORMANCE.md, "One hand-over a batch"). A second
        connection is a second writer: SQLite serialises the two (BEGIN IMMEDIATE waits
        on `busy_timeout`), and each transaction stays whole. `work` runs on that thread:
        plain `sqlite3` calls, nothing of the event loop's."""
        assert self.engine is not None and self.is_sqlite, "an opened SQLite store"
        if self._box_thread is None:
            self._box_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-box")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._box_thread, _one_transaction,
                                              self._sqlite_path(), work)
        except (sqlite3.OperationalError, sqlite3.InterfaceError, OSError) as exc:
            raise StoreUnavailable(str(exc)[:200]) from exc

    def _sqlite_path(self) -> str:
        return self.url.split(":///", 1)[1]

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncConnection]:
        """A kept connection in autocommit, where each statement is its own transaction:
        one round trip per statement, for the hot paths that fit a whole transaction in
        one statement (a batch of ballots). A pooled connection would add a ping on every
        checkout, and a transaction its BEGIN and COMMIT: each a wait for the server and
        then for a turn of a busy event loop. One statement at a time on the connection."""
        assert self.engine is not None, "store not opened"
        if self._kept_lock is None:
            self._kept_lock = asyncio.Lock()
        async with self._kept_lock:
            try:
                if self._kept is None or self._kept.invalidated or self._kept.closed:
                    conn = await self.engine.connect()
                    self._kept = await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield self._kept
                await self._kept.commit()  # ends SQLAlchemy's own autobegun state; no I/O
            except IntegrityError:
                await self._kept.rollback()  # the statement failed alone; the connection is fine
                raise
            except (DBAPIError, OSError, ConnectionError) as exc:
                await self._drop_kept()
                if _unreachable(exc):
                    raise StoreUnavailable(str(exc)[:200]) from exc
                raise

    async def _drop_kept(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            with contextlib.suppress(Exception):
                await kept.invalidate()


_box_db = threading.local()  # the ballot box's SQLite connection, on its own thread


def _one_transaction(path: str, work: Callable[[sqlite3.Connection], T]) -> T:
    """`work(db)` between BEGIN IMMEDIATE (the write lock from the start) and COMMIT, on
    this thread's connection to `path`; a rollback if it raises."""
    db: sqlite3.Connection | None = getattr(_box_db, "db", None)
    if db is None:
        # isolation_level=None: no implicit BEGIN; the transaction is the one below.
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _sqlite_pragmas(db, None)
        _box_db.db = db
    db.execute("BEGIN IMMEDIATE")
    try:
        out = work(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return out


def _close_box_connection() -> None:
    db = getattr(_box_db, "db", None)
    if db is not None:
        _box_db.db = None
        db.close()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit reported to a client survives a power cut, not only a crash.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _unreachable(exc: BaseException) -> bool:
    """Whether a failure means the database cannot be reached now (`StoreUnavailable`, to
    retry), rather than a refusal of the statement itself (a unique violation, …)."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, OperationalError | InterfaceError | OSError | ConnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


# PostgreSQL advisory lock taken while the schema is created or migrated ("phonghop").
SCHEMA_LOCK = 0x70686F6E67686F70


def _upgrade(sync_conn: sa.Connection) -> None:
    if _at_head(sync_conn):
        return
    if sync_conn.dialect.name == "postgresql":
        # Nodes starting together on one database: one creates or migrates the schema (the
        # lock lasts until this transaction ends), the others then find it done.
        sync_conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        if _at_head(sync_conn):
            return
    if not sa.inspect(sync_conn).get_table_names():
        _create_at_head(sync_conn)
        return
    from alembic import command as alembic_command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["connection"] = sync_conn
    alembic_command.upgrade(cfg, "head")


# Alembic's own bookkeeping table, as `alembic upgrade` creates it.
_alembic_version = sa.Table(
    "alembic_version", sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def _create_at_head(sync_conn: sa.Connection) -> None:
    """An empty database gets this version's schema in one step, stamped at `SCHEMA_HEAD`:
    what the migrations would build (tests/store/test_schema.py compares the two on both
    engines), without importing Alembic and replaying every migration on a first start."""
    metadata.create_all(sync_conn)
    # The rows the migrations put in: the audit log's head at its genesis (0009).
    sync_conn.execute(audit_head.insert().values(id=1, seq=0, hash=AUDIT_GENESIS, base_seq=0,
                                                 base_hash=AUDIT_GENESIS))
    _alembic_version.create(sync_conn)
    sync_conn.execute(_alembic_version.insert().values(version_num=SCHEMA_HEAD))


def _at_head(sync_conn: sa.Connection) -> bool:
    """Whether the database's schema is this version's (nothing to migrate)."""
    if not sa.inspect(sync_conn).has_table("alembic_version"):
        return False
    versions = sync_conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    return list(versions) == [SCHEMA_HEAD]
