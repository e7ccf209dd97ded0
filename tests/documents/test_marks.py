"""The room's index of shared marks (documents/marks.py): what the rules decide from."""

from __future__ import annotations

import orjson

from phonghop.documents.marks import SharedMarks
from phonghop.rooms import RoomState
from tests.rooms.mark_table import key_of, table_after
from tests.rooms.world import CHAIR, PRESENTER, SECRETARY, standard_room


def _drawn_room():  # type: ignore[no-untyped-def]
    room = standard_room()
    doc = room.ok(CHAIR, "document.attach", sha256="c" * 64)[-1].data["document"]["id"]
    for who, page in ((CHAIR, 1), (PRESENTER, 1), (SECRETARY, 2), (CHAIR, 7), (PRESENTER, 7)):
        room.ok(who, "annotation.add", document_id=doc, page=page, kind="ink",
                points=[0.1, 0.2, 0.3, 0.4])
    room.ok(PRESENTER, "annotation.clear", document_id=doc, page=7)
    return room, doc


def test_the_index_answers_owner_page_and_counts_as_the_marks_stand() -> None:
    room, doc = _drawn_room()
    marks, table = room.state.marks, table_after(room.events)
    assert len(marks) == len(table) == 4
    assert marks.on_document(doc) == 4
    for mark_id, a in table.items():
        assert marks.find(mark_id) == (key_of(a), a["owner"])
    assert [(key, page.count) for key, page in marks.pages()] == [
        ((doc, 1, 1), 2), ((doc, 1, 2), 1), ((doc, 1, 7), 1)]
    # The page's revision is the seq of its last change: the clear on page 7.
    assert marks.page((doc, 1, 7)).rev == room.events[-1].seq  # type: ignore[union-attr]
    assert marks.page((doc, 1, 7)).of(PRESENTER) == []  # type: ignore[union-attr]


def test_a_change_shares_the_rest_and_leaves_the_old_index_as_it_was() -> None:
    room, doc = _drawn_room()
    before = room.state.marks
    after = before.removed([next(iter(before.page((doc, 1, 1)).owners))], 99)  # type: ignore[union-attr]
    assert len(before) == 4 and len(after) == 3
    assert after.page((doc, 1, 2)) is before.page((doc, 1, 2))  # untouched pages shared


def test_a_snapshot_stored_with_the_marks_whole_loads_as_their_index() -> None:
    """A snapshot from before the marks left the state (its `annotations`, id -> mark)
    loads as the same index; each page's revision is the snapshot's seq."""
    room, _doc = _drawn_room()
    stored = orjson.loads(room.state.model_dump_json())
    del stored["marks"]
    stored["annotations"] = {str(i): a for i, a in table_after(room.events).items()}
    loaded = RoomState.model_validate_json(orjson.dumps(stored))
    assert [(k, p.owners) for k, p in loaded.marks.pages()] == [
        (k, p.owners) for k, p in room.state.marks.pages()]
    assert {p.rev for _, p in loaded.marks.pages()} == {room.state.seq}
    assert loaded.model_copy(update={"marks": room.state.marks}) == room.state
    # and the index's own stored form round-trips exactly
    assert SharedMarks.from_json(room.state.marks.to_json()) == room.state.marks
