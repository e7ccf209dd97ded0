"""Signing credentials and signing sessions in SQL (mixed into `SqlStore`; the port:
`store.ports.Credentials`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from phonghop.store import schema as t


class CredentialsSql:
    """The signing-credentials part of the SQL store. Its methods run on `SqlStore`, which owns the
    engine (`store.transactional.Transactional`: `_tx`, `is_sqlite`, …)."""

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
