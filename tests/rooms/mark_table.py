"""The shared marks a room's events leave, folded from the writes its writer stores beside
them (`stored_with`): what the store holds and serves per page, in memory.

The SQL store's contract test (tests/store/test_room_marks.py) holds `SqlStore` to the same
answers; the property tests fetch pages from here as a browser fetches them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from phonghop.documents.marks import (
    DocumentMarksRemoved,
    MarkAdded,
    MarksRemoved,
    MarkWrite,
    PageCleared,
    PageKey,
)
from phonghop.meeting_room import stored_with
from phonghop.rooms import Event

Table = dict[int, dict[str, Any]]  # mark id -> the mark


def fold(table: Table, writes: Iterable[MarkWrite]) -> Table:
    """The table after `writes` (a new dict; `table` is not changed)."""
    table = dict(table)
    for w in writes:
        if isinstance(w, MarkAdded):
            table[w.mark_id] = orjson.loads(w.body)
        elif isinstance(w, MarksRemoved):
            for i in w.mark_ids:
                table.pop(i, None)
        elif isinstance(w, PageCleared):
            table = {i: a for i, a in table.items() if not (
                key_of(a) == w.key and w.owner in (None, a["owner"]))}
        elif isinstance(w, DocumentMarksRemoved):
            table = {i: a for i, a in table.items() if a["document_id"] != w.document_id}
    return table


def table_after(events: Iterable[Event]) -> Table:
    return fold({}, stored_with(events))


def key_of(a: dict[str, Any]) -> PageKey:
    return (a["document_id"], a["version"], a["page"])


def page(table: Table, key: PageKey) -> list[dict[str, Any]]:
    """One page's marks, in the order they were drawn (by id), as the store serves them."""
    return [table[i] for i in sorted(table) if key_of(table[i]) == key]
