"""Accounts and sessions in SQL (mixed into `SqlStore`; the ports: `store.ports.Accounts` and
`store.ports.Sessions`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from phonghop.store import schema as t
from phonghop.store.base import Duplicate
from phonghop.store.records import User


def _user(row: Any) -> User:
    """A user record from a row; SQLite hands times back naive, in UTC."""
    fields = dict(row)
    for name in ("disabled_at", "password_changed_at", "created_at"):
        at = fields.get(name)
        if at is not None and at.tzinfo is None:
            fields[name] = at.replace(tzinfo=UTC)
    return User(**fields)


class AccountsSql:
    """The accounts-and-sessions part of the SQL store. Its methods run on `SqlStore`, which
    owns the engine (`store.transactional.Transactional`: `_tx`, `is_sqlite`, …)."""

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
