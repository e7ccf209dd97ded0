"""The room's index of shared marks: which marks are on which page, not what they look like.

A long meeting draws thousands of strokes; the room state must not grow with their points,
nor copy them on every event. So the state holds only this index (a mark's page and owner,
and per page a count and a revision), in persistent maps (`immutables.Map`, a HAMT: a
change is O(log n) and shares the rest), while the marks themselves are stored beside the
room's events, in the same transaction (`MarkWrite`s, the store's `page_marks`), and a
client fetches a page's marks when it shows that page.

The rules decide from this index alone: a mark's owner (who may remove it), whether a page
has marks of someone (a clear that changes nothing is no event), and a document's count
(its cap), each in O(1) or O(log n).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import immutables
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

PageKey = tuple[int, int, int]  # document id, version, page (1-based)


@dataclass(frozen=True, slots=True)
class Page:
    """The shared marks of one page: how many, the seq of its last change, each owner."""

    rev: int
    owners: immutables.Map[int, int]  # mark id -> owner

    @property
    def count(self) -> int:
        return len(self.owners)

    def of(self, owner: int | None) -> list[int]:
        """The ids of `owner`'s marks on this page (everyone's when None), O(page)."""
        return [i for i, o in self.owners.items() if owner is None or o == owner]


_EMPTY: immutables.Map[Any, Any] = immutables.Map()


class SharedMarks:
    """The index of a room's shared marks. Immutable: every change returns a new index
    sharing what did not change."""

    __slots__ = ("_pages", "_per_document", "_where")

    def __init__(self, pages: immutables.Map[PageKey, Page] = _EMPTY,
                 where: immutables.Map[int, PageKey] = _EMPTY,
                 per_document: immutables.Map[int, int] = _EMPTY) -> None:
        self._pages = pages
        self._where = where
        self._per_document = per_document

    # ---- reading ----

    def page(self, key: PageKey) -> Page | None:
        return self._pages.get(key)

    def find(self, mark_id: int) -> tuple[PageKey, int] | None:
        """Where mark `mark_id` is and who owns it."""
        key = self._where.get(mark_id)
        return None if key is None else (key, self._pages[key].owners[mark_id])

    def on_document(self, document_id: int) -> int:
        """How many shared marks a document has, every version included."""
        return self._per_document.get(document_id, 0)

    def pages(self, documents: Iterable[int] | None = None) -> Iterator[tuple[PageKey, Page]]:
        """The pages with marks (of `documents` only, when given), in key order."""
        wanted = None if documents is None else set(documents)
        for key in sorted(self._pages.keys()):
            if wanted is None or key[0] in wanted:
                yield key, self._pages[key]

    def __len__(self) -> int:
        return len(self._where)

    # ---- changing (each returns a new index) ----

    def added(self, mark_id: int, key: PageKey, owner: int, seq: int) -> SharedMarks:
        page = self._pages.get(key)
        owners = page.owners if page is not None else _EMPTY
        return SharedMarks(
            self._pages.set(key, Page(seq, owners.set(mark_id, owner))),
            self._where.set(mark_id, key),
            self._per_document.set(key[0], self.on_document(key[0]) + 1),
        )

    def removed(self, mark_ids: Sequence[int], seq: int) -> SharedMarks:
        """Without these marks (ids not in the index are ignored)."""
        pages = self._pages.mutate()
        where = self._where.mutate()
        per_document = self._per_document.mutate()
        for mark_id in mark_ids:
            key = where.get(mark_id)
            if key is None:
                continue
            del where[mark_id]
            owners = pages[key].owners.delete(mark_id)
            if owners:
                pages[key] = Page(seq, owners)
            else:
                del pages[key]
            left = per_document[key[0]] - 1
            if left:
                per_document[key[0]] = left
            else:
                del per_document[key[0]]
        return SharedMarks(pages.finish(), where.finish(), per_document.finish())

    def cleared(self, key: PageKey, owner: int | None, seq: int) -> SharedMarks:
        page = self._pages.get(key)
        return self.removed(page.of(owner), seq) if page is not None else self

    def without_document(self, document_id: int, seq: int) -> SharedMarks:
        gone = [i for key, page in self.pages([document_id]) for i in page.owners]
        return self.removed(gone, seq)

    # ---- stored snapshots: [[document, version, page, rev, [id, owner, id, owner, …]], …]

    def to_json(self) -> list[list[Any]]:
        return [[*key, page.rev, [n for pair in sorted(page.owners.items()) for n in pair]]
                for key, page in self.pages()]

    @classmethod
    def from_json(cls, rows: Any) -> SharedMarks:
        if isinstance(rows, SharedMarks):
            return rows
        if not isinstance(rows, list):
            raise ValueError("shared marks: a list of pages")
        pages: dict[PageKey, Page] = {}
        where: dict[int, PageKey] = {}
        per_document: dict[int, int] = {}
        for document_id, version, number, rev, flat in rows:
            key = (int(document_id), int(version), int(number))
            owners = {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}
            if not owners:
                continue
            pages[key] = Page(int(rev), immutables.Map(owners))
            where.update(dict.fromkeys(owners, key))
            per_document[key[0]] = per_document.get(key[0], 0) + len(owners)
        return cls(immutables.Map(pages), immutables.Map(where), immutables.Map(per_document))

    @classmethod
    def from_annotations(cls, annotations: dict[Any, Any], seq: int) -> SharedMarks:
        """The index of a snapshot stored before marks left the room state (its
        `annotations`: id -> the whole mark); each page's revision is the snapshot's seq."""
        marks = cls()
        for a in annotations.values():
            a = a if isinstance(a, dict) else a.model_dump()
            marks = marks.added(int(a["id"]), (a["document_id"], a["version"], a["page"]),
                                a["owner"], seq)
        return marks

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedMarks) and self._pages == other._pages

    def __hash__(self) -> int:
        return hash(self._pages)

    def __repr__(self) -> str:
        return f"SharedMarks({len(self)} marks on {len(self._pages)} pages)"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.from_json,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda marks: marks.to_json()),
        )


NO_MARKS = SharedMarks()


# ---- what the room's writer stores beside the events ----


@dataclass(frozen=True, slots=True)
class MarkAdded:
    """Store this mark (`body`: the annotation as the event carries it, JSON)."""

    mark_id: int
    key: PageKey
    owner: int
    body: bytes


@dataclass(frozen=True, slots=True)
class MarksRemoved:
    """Delete these marks."""

    mark_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PageCleared:
    """Delete the marks of one page (`owner`'s only, unless None)."""

    key: PageKey
    owner: int | None


@dataclass(frozen=True, slots=True)
class DocumentMarksRemoved:
    """Delete every mark of a document (it left the meeting)."""

    document_id: int


MarkWrite = MarkAdded | MarksRemoved | PageCleared | DocumentMarksRemoved


def page_view(key: PageKey, page: Page) -> dict[str, int]:
    """A page's entry in the room view: where, how many, and its revision (the ETag)."""
    return {"document_id": key[0], "version": key[1], "page": key[2], "count": page.count,
            "rev": page.rev}
