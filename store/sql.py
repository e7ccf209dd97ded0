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
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from phonghop.rooms.events import Audience, Event
from phonghop.store import schema as t
from phonghop.store.audit_sql import AuditLogStore
from phonghop.store.ballot_box import BallotBoxStore
from phonghop.store.base import Duplicate, LogGap, SeqConflict, StoreUnavailable
from phonghop.store.chain import GENESIS, canonical_json, event_hash
from phonghop.store.log_store import LogStore
from phonghop.store.records import CommandMark, User

T = TypeVar("T")
MIGRATIONS = str(Path(__file__).parent / "migrations")
KNOWN_HEADS = 10_000  # rooms whose last written hash this store remembers


def _user(row: Any) -> User:
    """A user record from a row; SQLite hands times back naive, in UTC."""
    fields = dict(row)
    for name in ("disabled_at", "password_changed_at", "created_at"):
        at = fields.get(name)
        if at is not None and at.tzinfo is None:
            fields[name] = at.replace(tzinfo=UTC)
    return User(**fields)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'phonghop.db'}"


class SqlStore(BallotBoxStore, LogStore, AuditLogStore):
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
        """Connect and bring the schema up to date (migrations run on every start)."""
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

    # ---- accounts ----

    async def create_user(
        self, username: str, password_hash: str, full_name: str, position: str = "",
        unit: str = "", is_admin: bool = False, now: datetime | None = None,
    ) -> User:
        row = dict(username=username, password_hash=password_hash, full_name=full_name,
                   position=position, unit=unit, is_admin=is_admin,
                   created_at=(now or datetime.now(UTC)).astimezone(UTC))
        try:
            async with self._tx() as conn:
                result = await conn.execute(t.users.insert().values(**row))
                uid = int(result.inserted_primary_key[0])
        except IntegrityError as exc:
            raise Duplicate("username") from exc
        return User(id=uid, **row)  # type: ignore[arg-type]

    async def create_users(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert many accounts at once (seeding); returns their ids in order."""
        async with self._tx() as conn:
            ids = []
            for row in rows:
                result = await conn.execute(t.users.insert().values(**row))
                ids.append(int(result.inserted_primary_key[0]))
            return ids

    async def user_by_name(self, username: str) -> User | None:
        async with self._tx() as conn:
            row = (await conn.execute(
                sa.select(t.users).where(t.users.c.username == username)
            )).mappings().first()
        return _user(row) if row else None

    async def user_ids(self, usernames: Sequence[str]) -> dict[str, int]:
        """The ids of the accounts with these usernames (those that exist)."""
        names = [n for n in usernames if len(n) <= 64]  # longer is no username
        found: dict[str, int] = {}
        async with self._tx() as conn:
            for start in range(0, len(names), 500):
                rows = await conn.execute(sa.select(t.users.c.username, t.users.c.id).where(
                    t.users.c.username.in_(names[start:start + 500])))
                found.update({str(r[0]): int(r[1]) for r in rows})
        return found

    async def users_by_id(self, ids: Sequence[int]) -> dict[int, User]:
        if not ids:
            return {}
        async with self._tx() as conn:
            rows = (await conn.execute(
                sa.select(t.users).where(t.users.c.id.in_(list(ids)))
            )).mappings().all()
        return {row["id"]: _user(row) for row in rows}

    async def list_users(self) -> list[User]:
        async with self._tx() as conn:
            rows = (await conn.execute(sa.select(t.users).order_by(t.users.c.id))).mappings()
            return [_user(row) for row in rows]

    async def update_user(
        self, user_id: int, full_name: str, position: str, unit: str, is_admin: bool
    ) -> User | None:
        """Change an account's profile and administrator flag; None if there is no such user."""
        async with self._tx() as conn:
            result = await conn.execute(t.users.update().where(t.users.c.id == user_id).values(
                full_name=full_name, position=position, unit=unit, is_admin=is_admin))
            if result.rowcount == 0:
                return None
            row = (await conn.execute(
                sa.select(t.users).where(t.users.c.id == user_id))).mappings().one()
        return _user(row)

    async def set_password(self, user_id: int, password_hash: str, at: datetime,
                           keep: str | None = None) -> bool:
        """Set a new password hash and end every session of the account but `keep`, at once.

        Sessions created before `at` are refused from now on (`session_users`), so a sign-in
        with the old password that raced this change yields no usable session; `keep` (the
        session that changed its own password) is re-stamped to stay valid.
        """
        s = t.auth_sessions
        at = at.astimezone(UTC)
        async with self._tx() as conn:
            result = await conn.execute(t.users.update().where(t.users.c.id == user_id).values(
                password_hash=password_hash, password_changed_at=at))
            if result.rowcount == 0:
                return False
            ended = s.delete().where(s.c.user_id == user_id)
            if keep is not None:
                ended = ended.where(s.c.token_hash != keep)
                await conn.execute(s.update().where(
                    s.c.token_hash == keep, s.c.user_id == user_id).values(created_at=at))
            await conn.execute(ended)
        return True

    async def set_disabled(self, user_id: int, at: datetime | None) -> User | None:
        """Disable the account at `at` (ending all its sessions) or, with None, enable it."""
        async with self._tx() as conn:
            result = await conn.execute(t.users.update().where(t.users.c.id == user_id).values(
                disabled_at=at.astimezone(UTC) if at else None))
            if result.rowcount == 0:
                return None
            if at is not None:
                await conn.execute(
                    t.auth_sessions.delete().where(t.auth_sessions.c.user_id == user_id))
            row = (await conn.execute(
                sa.select(t.users).where(t.users.c.id == user_id))).mappings().one()
        return _user(row)

    async def create_session(self, token_hash: str, user_id: int, expires_at: datetime,
                             now: datetime | None = None) -> None:
        await self.create_sessions([(token_hash, user_id, expires_at)], now)

    async def create_sessions(self, rows: Sequence[tuple[str, int, datetime]],
                              now: datetime | None = None) -> None:
        # SQLite keeps no zone: store UTC so that every reader agrees on the instant
        at = (now or datetime.now(UTC)).astimezone(UTC)
        async with self._tx() as conn:
            await conn.execute(t.auth_sessions.insert(), [
                {"token_hash": h, "user_id": u, "expires_at": e.astimezone(UTC),
                 "created_at": at, "last_seen_at": at}
                for h, u, e in rows
            ])

    async def session_user(self, token_hash: str, now: datetime,
                           idle_since: datetime | None = None) -> User | None:
        return (await self.session_users([token_hash], now, idle_since)).get(token_hash)

    async def session_users(self, token_hashes: Sequence[str], now: datetime,
                            idle_since: datetime | None = None) -> dict[str, User]:
        """The users of the given sessions that are live, by token hash: not expired at
        `now`, seen after `idle_since` (when given), of an enabled account, and created
        no earlier than the account's last password change."""
        s, u = t.auth_sessions, t.users
        found: dict[str, User] = {}
        now = now.astimezone(UTC)
        query = (sa.select(u, s.c.token_hash).join(s, s.c.user_id == u.c.id)
                 .where(s.c.expires_at > now, u.c.disabled_at.is_(None),
                        sa.or_(u.c.password_changed_at.is_(None),
                               s.c.created_at >= u.c.password_changed_at)))
        if idle_since is not None:
            query = query.where(s.c.last_seen_at > idle_since.astimezone(UTC))
        async with self._tx() as conn:
            for start in range(0, len(token_hashes), 500):  # bound-parameter limits
                rows = (await conn.execute(query.where(
                    s.c.token_hash.in_(list(token_hashes[start:start + 500])))
                )).mappings().all()
                for row in rows:
                    found[row["token_hash"]] = _user(
                        {k: v for k, v in row.items() if k != "token_hash"})
        return found

    async def touch_sessions(self, token_hashes: Sequence[str], seen_at: datetime) -> None:
        """Record that these sessions were used at `seen_at` (never moves a time back)."""
        s = t.auth_sessions
        seen_at = seen_at.astimezone(UTC)
        async with self._tx() as conn:
            for start in range(0, len(token_hashes), 500):
                await conn.execute(s.update().where(
                    s.c.token_hash.in_(list(token_hashes[start:start + 500])),
                    s.c.last_seen_at < seen_at).values(last_seen_at=seen_at))

    async def delete_session(self, token_hash: str) -> None:
        async with self._tx() as conn:
            await conn.execute(
                t.auth_sessions.delete().where(t.auth_sessions.c.token_hash == token_hash)
            )

    async def end_sessions(self, user_id: int, keep: str | None = None) -> int:
        """End every session of the account (but `keep`); how many ended."""
        s = t.auth_sessions
        ended = s.delete().where(s.c.user_id == user_id)
        if keep is not None:
            ended = ended.where(s.c.token_hash != keep)
        async with self._tx() as conn:
            return (await conn.execute(ended)).rowcount

    async def purge_sessions(self, now: datetime, idle_since: datetime) -> int:
        """Delete sessions expired at `now` or not seen since `idle_since`; how many."""
        s = t.auth_sessions
        async with self._tx() as conn:
            return (await conn.execute(s.delete().where(sa.or_(
                s.c.expires_at <= now.astimezone(UTC),
                s.c.last_seen_at <= idle_since.astimezone(UTC))))).rowcount

    # ---- rooms ----

    async def create_meeting(self, events: Sequence[Event], summary: dict[str, Any]) -> int:
        """Allocate a meeting id and write its first events, atomically."""
        async with self._tx() as conn:
            result = await conn.execute(t.meetings.insert().values(**summary))
            room_id = int(result.inserted_primary_key[0])
            rows, head = _rows(room_id, 0, GENESIS, events)
            await conn.execute(t.room_events.insert(), rows)
        self._know_head(room_id, len(events), head)
        return room_id

    async def append(
        self, room_id: int, expected_seq: int, events: Sequence[Event],
        marks: Sequence[CommandMark] = (), summary: dict[str, Any] | None = None,
        members: Sequence[tuple[int, str]] | None = None,
    ) -> None:
        """Write events at expected_seq+1… with their projections, or raise SeqConflict.

        Each event is chained to the one before it (`prev_hash`, `hash`: store/chain.py)
        in the same transaction; LogGap if the event at expected_seq is not in the log."""
        rows: list[dict[str, Any]] | None = None
        known = self._heads.get(room_id)
        if expected_seq == 0:
            rows, head = _rows(room_id, 0, GENESIS, events)
        elif known is not None and known[0] == expected_seq:
            rows, head = _rows(room_id, expected_seq, known[1], events)
        try:
            async with self._tx() as conn:
                if rows is None:
                    e = t.room_events
                    prev = (await conn.execute(sa.select(e.c.hash).where(
                        e.c.room_id == room_id, e.c.seq == expected_seq))).scalar()
                    if prev is None:
                        raise LogGap(f"room {room_id}: event {expected_seq} is not in the log")
                    rows, head = _rows(room_id, expected_seq, bytes(prev), events)
                await conn.execute(t.room_events.insert(), rows)
                if marks:
                    await conn.execute(t.room_commands.insert(), [
                        {"room_id": room_id, "user_id": m.user_id, "command_id": m.command_id,
                         "seq": m.seq} for m in marks
                    ])
                if summary is not None:
                    await conn.execute(
                        t.meetings.update().where(t.meetings.c.id == room_id).values(**summary)
                    )
                if members is not None:
                    mm = t.meeting_members
                    await conn.execute(mm.delete().where(mm.c.meeting_id == room_id))
                    if members:
                        await conn.execute(mm.insert(), [
                            {"meeting_id": room_id, "user_id": u, "role": r} for u, r in members
                        ])
        except IntegrityError as exc:
            raise SeqConflict(f"room {room_id} seq {expected_seq + 1} taken") from exc
        self._know_head(room_id, expected_seq + len(events), head)

    def _know_head(self, room_id: int, seq: int, digest: bytes) -> None:
        """Remember the hash of event `seq` of the room (the newest known)."""
        known = self._heads.get(room_id)
        if known is None or known[0] <= seq:
            self._heads[room_id] = (seq, digest)
            self._heads.move_to_end(room_id)
            if len(self._heads) > KNOWN_HEADS:
                self._heads.popitem(last=False)

    async def events_after(self, room_id: int, seq: int, limit: int | None = None) -> list[Event]:
        e = t.room_events
        query = sa.select(e).where(e.c.room_id == room_id, e.c.seq > seq).order_by(e.c.seq)
        if limit:
            query = query.limit(limit)
        async with self._tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        if rows:  # another node's events: the next append here chains to the last of them
            self._know_head(room_id, rows[-1]["seq"], bytes(rows[-1]["hash"]))
        return [
            Event(kind=r["kind"], data=orjson.loads(r["data"]), at=r["at"], actor=r["actor"],
                  audience=Audience.from_json(orjson.loads(r["audience"])), seq=r["seq"])
            for r in rows
        ]

    async def find_commands(
        self, room_id: int, keys: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], int]:
        """The seqs at which these (user, command id) pairs were applied, where they were."""
        rc = t.room_commands
        found: dict[tuple[int, str], int] = {}
        async with self._tx() as conn:
            for start in range(0, len(keys), 400):  # stay under bound-parameter limits
                chunk = keys[start:start + 400]
                rows = await conn.execute(sa.select(rc.c.user_id, rc.c.command_id, rc.c.seq).where(
                    rc.c.room_id == room_id,
                    sa.tuple_(rc.c.user_id, rc.c.command_id).in_(chunk),
                ))
                found.update({(u, c): s for u, c, s in rows})
        return found

    async def save_snapshot(self, room_id: int, seq: int, state_json: bytes) -> None:
        """Keep the newest snapshot of a room; a concurrent save of another node is fine."""
        s = t.room_snapshots
        try:
            await self._save_snapshot(s, room_id, seq, state_json)
        except IntegrityError:
            return  # another node saved one at the same moment: either will do

    async def _save_snapshot(
        self, s: sa.Table, room_id: int, seq: int, state_json: bytes
    ) -> None:
        async with self._tx() as conn:
            # Delete-then-insert is portable; a newer snapshot never goes backwards.
            current = (await conn.execute(
                sa.select(s.c.seq).where(s.c.room_id == room_id)
            )).scalar()
            if current is not None and current >= seq:
                return
            await conn.execute(s.delete().where(s.c.room_id == room_id))
            await conn.execute(s.insert().values(room_id=room_id, seq=seq, state=state_json))

    async def load_snapshot(self, room_id: int) -> tuple[int, bytes] | None:
        s = t.room_snapshots
        async with self._tx() as conn:
            row = (await conn.execute(
                sa.select(s.c.seq, s.c.state).where(s.c.room_id == room_id)
            )).first()
        return (row[0], bytes(row[1])) if row else None

    async def list_meetings(self, user_id: int | None, day: str | None) -> list[dict[str, Any]]:
        """Meetings `user_id` takes part in (all when None), optionally on one day."""
        m, mm = t.meetings, t.meeting_members
        query = sa.select(m).order_by(m.c.starts_at, m.c.id)
        if user_id is not None:
            query = query.add_columns(mm.c.role).join(
                mm, sa.and_(mm.c.meeting_id == m.c.id, mm.c.user_id == user_id)
            )
        if day is not None:
            query = query.where(m.c.starts_at.like(f"{day}%"))
        async with self._tx() as conn:
            # Column names come back as str subclasses, which JSON encoders refuse as keys.
            return [{str(k): v for k, v in r.items()}
                    for r in (await conn.execute(query)).mappings()]

    # ---- documents ----

    async def save_file(self, sha256: str, size: int, info: dict[str, Any]) -> bool:
        """Record a stored PDF once (the same bytes are the same file); True if it is new."""
        try:
            async with self._tx() as conn:
                await conn.execute(t.files.insert().values(
                    sha256=sha256, size=size, pages=len(info["sizes"]),
                    info=orjson.dumps(info).decode(), created_at=datetime.now(UTC)))
        except IntegrityError:
            return False  # already known: uploaded before, here or in another meeting
        return True

    async def save_texts(self, sha256: str, texts: Sequence[str]) -> None:
        """Keep the text of a file's pages (once)."""
        try:
            async with self._tx() as conn:
                await conn.execute(t.file_texts.insert(), [
                    {"sha256": sha256, "page": n, "text": text}
                    for n, text in enumerate(texts, 1)])
        except IntegrityError:
            return

    async def file_info(self, sha256: str) -> dict[str, Any] | None:
        async with self._tx() as conn:
            row = (await conn.execute(
                sa.select(t.files.c.size, t.files.c.info).where(t.files.c.sha256 == sha256)
            )).first()
        return {"sha256": sha256, "size": row[0], **orjson.loads(row[1])} if row else None

    async def add_room_file(self, room_id: int, sha256: str, filename: str,
                            user_id: int) -> None:
        """Note that `sha256` was sent to meeting `room_id` (the latest name wins)."""
        rf = t.room_files
        async with self._tx() as conn:
            await conn.execute(rf.delete().where(
                sa.and_(rf.c.room_id == room_id, rf.c.sha256 == sha256)))
            await conn.execute(rf.insert().values(
                room_id=room_id, sha256=sha256, filename=filename, uploaded_by=user_id,
                uploaded_at=datetime.now(UTC)))

    async def room_file(self, room_id: int, sha256: str) -> dict[str, Any] | None:
        """A file sent to this meeting, with its name there and who sent it last; None if it
        never was."""
        rf, f = t.room_files, t.files
        async with self._tx() as conn:
            row = (await conn.execute(
                sa.select(rf.c.filename, f.c.size, f.c.info, rf.c.uploaded_by)
                .join(f, f.c.sha256 == rf.c.sha256)
                .where(sa.and_(rf.c.room_id == room_id, rf.c.sha256 == sha256))
            )).first()
        if row is None:
            return None
        return {"sha256": sha256, "filename": row[0], "size": row[1], **orjson.loads(row[2]),
                "uploaded_by": row[3]}

    async def file_texts(self, sha256: str, page: int | None = None) -> list[tuple[int, str]]:
        ft = t.file_texts
        query = sa.select(ft.c.page, ft.c.text).where(ft.c.sha256 == sha256).order_by(ft.c.page)
        if page is not None:
            query = query.where(ft.c.page == page)
        async with self._tx() as conn:
            return [(r[0], r[1]) for r in await conn.execute(query)]

    async def add_private_annotation(
        self, room_id: int, document_id: int, owner_id: int, client_id: str,
        data: dict[str, Any],
    ) -> tuple[dict[str, Any], bool]:
        """Keep a private annotation; the same client id again returns the first (True)."""
        pa = t.private_annotations
        try:
            async with self._tx() as conn:
                result = await conn.execute(pa.insert().values(
                    room_id=room_id, document_id=document_id, owner_id=owner_id,
                    client_id=client_id, data=orjson.dumps(data).decode()))
                return {"id": int(result.inserted_primary_key[0]), **data}, False
        except IntegrityError:
            pass
        async with self._tx() as conn:
            row = (await conn.execute(sa.select(pa.c.id, pa.c.data).where(sa.and_(
                pa.c.owner_id == owner_id, pa.c.room_id == room_id,
                pa.c.client_id == client_id)))).first()
        if row is None:  # erased between the two statements: the id is spent
            raise Duplicate("client_id")
        return {"id": int(row[0]), **orjson.loads(row[1])}, True

    async def private_annotations(
        self, room_id: int, document_id: int, owner_id: int
    ) -> list[dict[str, Any]]:
        pa = t.private_annotations
        async with self._tx() as conn:
            rows = await conn.execute(sa.select(pa.c.id, pa.c.data).where(sa.and_(
                pa.c.room_id == room_id, pa.c.document_id == document_id,
                pa.c.owner_id == owner_id)).order_by(pa.c.id))
            return [{"id": int(r[0]), **orjson.loads(r[1])} for r in rows]

    async def delete_private_annotations(
        self, room_id: int, document_id: int, owner_id: int, ids: Sequence[int]
    ) -> int:
        """Erase some of the owner's private annotations; returns how many went."""
        if not ids:
            return 0
        pa = t.private_annotations
        async with self._tx() as conn:
            result = await conn.execute(pa.delete().where(sa.and_(
                pa.c.room_id == room_id, pa.c.document_id == document_id,
                pa.c.owner_id == owner_id, pa.c.id.in_(list(ids)))))
            return int(result.rowcount or 0)

    async def clear_private_page(
        self, room_id: int, document_id: int, owner_id: int, page: int, version: int
    ) -> int:
        """Erase the owner's private annotations on one page of one version, in one
        transaction (a note saved meanwhile is either erased or kept whole)."""
        pa = t.private_annotations
        owned = sa.and_(pa.c.room_id == room_id, pa.c.document_id == document_id,
                        pa.c.owner_id == owner_id)
        async with self._tx() as conn:
            # page and version live in the JSON body: filter here rather than in SQL,
            # which would need a JSON dialect per backend for a handful of rows.
            rows = await conn.execute(sa.select(pa.c.id, pa.c.data).where(owned))
            ids = [int(r[0]) for r in rows if _on_page(orjson.loads(r[1]), page, version)]
            if not ids:
                return 0
            result = await conn.execute(pa.delete().where(sa.and_(owned, pa.c.id.in_(ids))))
            return int(result.rowcount or 0)


    # ---- signing credentials ----

    async def save_credential(self, user_id: int, p12: bytes, subject: str,
                              not_after: datetime) -> None:
        """Keep (or replace) a user's PKCS#12 credential."""
        uc = t.user_credentials
        async with self._tx() as conn:
            await conn.execute(uc.delete().where(uc.c.user_id == user_id))
            await conn.execute(uc.insert().values(user_id=user_id, p12=p12, subject=subject,
                                                  not_after=not_after,
                                                  created_at=datetime.now(UTC)))

    async def credential(self, user_id: int) -> dict[str, Any] | None:
        """A user's credential: {p12, subject, not_after}, or None."""
        uc = t.user_credentials
        async with self._tx() as conn:
            row = (await conn.execute(sa.select(uc.c.p12, uc.c.subject, uc.c.not_after)
                                      .where(uc.c.user_id == user_id))).first()
        if row is None:
            return None
        return {"p12": bytes(row[0]), "subject": row[1], "not_after": row[2]}

    async def credential_blobs(self) -> list[tuple[int, bytes]]:
        """Every stored credential as (user id, stored bytes): for sealing them at start."""
        uc = t.user_credentials
        async with self._tx() as conn:
            rows = await conn.execute(sa.select(uc.c.user_id, uc.c.p12))
            return [(int(r[0]), bytes(r[1])) for r in rows]

    async def replace_credential_blob(self, user_id: int, old: bytes, new: bytes) -> bool:
        """Replace a credential's bytes if they are still `old` (not replaced meanwhile)."""
        uc = t.user_credentials
        async with self._tx() as conn:
            result = await conn.execute(uc.update().where(
                sa.and_(uc.c.user_id == user_id, uc.c.p12 == old)).values(p12=new))
            return bool(result.rowcount)


    async def save_signing_session(self, session_id: str, room_id: int, user_id: int,
                                   state: str) -> None:
        ss = t.signing_sessions
        async with self._tx() as conn:
            await conn.execute(ss.insert().values(id=session_id, room_id=room_id,
                                                  user_id=user_id, state=state,
                                                  created_at=datetime.now(UTC)))

    async def take_signing_session(self, session_id: str, room_id: int, user_id: int
                                   ) -> str | None:
        """The waiting signature's state, removed (it is finished once), or None."""
        ss = t.signing_sessions
        mine = sa.and_(ss.c.id == session_id, ss.c.room_id == room_id, ss.c.user_id == user_id)
        async with self._tx() as conn:
            row = (await conn.execute(sa.select(ss.c.state).where(mine))).first()
            if row is None:
                return None
            await conn.execute(ss.delete().where(mine))
            return str(row[0])


def _on_page(data: dict[str, Any], page: int, version: int) -> bool:
    return data.get("page") == page and data.get("version") == version


_EVERYONE = canonical_json({"all": True})


def _rows(room_id: int, after: int, prev: bytes, events: Sequence[Event]
          ) -> tuple[list[dict[str, Any]], bytes]:
    """The rows of `events` placed after seq `after`, each chained to the one before
    (`prev`: the hash of event `after`); and the last one's hash. The JSON columns hold
    the canonical JSON the hash is taken over."""
    rows = []
    for seq, ev in enumerate(events, start=after + 1):
        audience = _EVERYONE if ev.audience.everyone else canonical_json(ev.audience.to_json())
        data = canonical_json(ev.data)
        digest = event_hash(room_id, seq, ev.kind, ev.actor, ev.at, audience, data, prev)
        rows.append({"room_id": room_id, "seq": seq, "kind": ev.kind, "at": ev.at,
                     "actor": ev.actor, "audience": audience.decode(), "data": data.decode(),
                     "prev_hash": prev, "hash": digest})
        prev = digest
    return rows, prev


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


def _upgrade(sync_conn: sa.Connection) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["connection"] = sync_conn
    alembic_command.upgrade(cfg, "head")
