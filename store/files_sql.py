"""Library files, their texts and private annotations in SQL (mixed into `SqlStore`; the
port: `store.ports.Files`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from phonghop.store import schema as t
from phonghop.store.base import Duplicate


class FilesSql:
    """The files part of the SQL store. Its methods run on `SqlStore`, which owns the
    engine (`store.transactional.Transactional`: `_tx`, `is_sqlite`, …)."""

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


def _on_page(data: dict[str, Any], page: int, version: int) -> bool:
    return data.get("page") == page and data.get("version") == version
