"""The `Files` port, the same on SQLite and PostgreSQL: the library's files by content, the
files of each meeting, page texts, and each reader's private annotations."""

from __future__ import annotations

from phonghop.store import SqlStore

SHA = "a" * 64
INFO = {"sizes": [[595, 842], [595, 842]], "title": "Báo cáo tình hình kinh tế – xã hội"}


async def test_the_same_bytes_are_one_file_whichever_meeting_sends_them(store: SqlStore) -> None:
    assert await store.save_file(SHA, 1234, INFO) is True
    assert await store.save_file(SHA, 1234, INFO) is False  # known: nothing written again
    assert await store.file_info(SHA) == {"sha256": SHA, "size": 1234, **INFO}
    assert await store.file_info("b" * 64) is None
    await store.add_room_file(1, SHA, "bao-cao.pdf", 7)
    await store.add_room_file(2, SHA, "tai-lieu-hop.pdf", 8)
    assert (await store.room_file(1, SHA) or {})["filename"] == "bao-cao.pdf"
    assert await store.room_file(2, SHA) == {"sha256": SHA, "filename": "tai-lieu-hop.pdf",
                                             "size": 1234, **INFO, "uploaded_by": 8}
    # Sent again under another name: the latest name and sender win, still one entry.
    await store.add_room_file(1, SHA, "bao-cao-sua.pdf", 9)
    assert (await store.room_file(1, SHA) or {})["filename"] == "bao-cao-sua.pdf"
    assert (await store.room_file(1, SHA) or {})["uploaded_by"] == 9
    # A file never sent to a meeting is not that meeting's, whoever knows its hash.
    assert await store.room_file(3, SHA) is None


async def test_page_texts_are_kept_once_and_read_by_page(store: SqlStore) -> None:
    await store.save_file(SHA, 10, INFO)
    await store.save_texts(SHA, ["Trang một", "Trang hai"])
    await store.save_texts(SHA, ["ghi đè", "không được"])  # the texts of a file never change
    assert await store.file_texts(SHA) == [(1, "Trang một"), (2, "Trang hai")]
    assert await store.file_texts(SHA, page=2) == [(2, "Trang hai")]
    assert await store.file_texts("c" * 64) == []


async def test_private_annotations_are_each_owners_own(store: SqlStore) -> None:
    note = {"page": 1, "version": 1, "kind": "note", "text": "Cần làm rõ số liệu"}
    first, again = await store.add_private_annotation(1, 5, 7, "c-1", note)
    assert again is False and first == {"id": first["id"], **note}
    # The same client id again (a retry): the first annotation, nothing new.
    retry, again = await store.add_private_annotation(1, 5, 7, "c-1", {**note, "text": "khác"})
    assert again is True and retry == first
    other, _ = await store.add_private_annotation(1, 5, 8, "c-1", note)  # another reader
    elsewhere, _ = await store.add_private_annotation(2, 5, 7, "c-2", note)  # another meeting
    assert await store.private_annotations(1, 5, 7) == [first]
    assert await store.private_annotations(1, 5, 8) == [other]
    assert await store.private_annotations(2, 5, 7) == [elsewhere]
    # Nobody erases another's: the ids of reader 8's annotation, asked by reader 7.
    assert await store.delete_private_annotations(1, 5, 7, [other["id"]]) == 0
    assert await store.private_annotations(1, 5, 8) == [other]
    assert await store.delete_private_annotations(1, 5, 7, []) == 0
    assert await store.delete_private_annotations(1, 5, 7, [first["id"]]) == 1
    assert await store.private_annotations(1, 5, 7) == []


async def test_clearing_a_page_erases_only_that_page_of_that_version(store: SqlStore) -> None:
    def on(page: int, version: int) -> dict[str, object]:
        return {"page": page, "version": version, "kind": "ink", "points": [[0, 0], [1, 1]]}

    kept = [(await store.add_private_annotation(1, 5, 7, cid, data))[0] for cid, data in
            (("p2", on(2, 1)), ("v2", on(1, 2)))]
    for n in range(3):
        await store.add_private_annotation(1, 5, 7, f"p1-{n}", on(1, 1))
    theirs, _ = await store.add_private_annotation(1, 5, 8, "p1", on(1, 1))
    assert await store.clear_private_page(1, 5, 7, page=1, version=1) == 3
    assert await store.private_annotations(1, 5, 7) == kept
    assert await store.private_annotations(1, 5, 8) == [theirs]
    assert await store.clear_private_page(1, 5, 7, page=1, version=1) == 0

