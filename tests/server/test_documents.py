"""Documents over HTTP and the websocket: uploads, pages, confidentiality, annotations."""

from __future__ import annotations

from typing import Any

import httpx
import pymupdf

from phonghop.documents import path as paths
from phonghop.documents.render import render_page
from tests.conftest import TLS, Api, Meeting, changed, make_meeting
from tests.documents.corpus import corpus, report
from tests.server.conftest import assert_refusal, bare_meeting, barrier, seq_of, uid

REPORT = report(3)


async def upload(api: Api, meeting: int, data: bytes, name: str = "Báo cáo.pdf") -> httpx.Response:
    async with api.client() as c:
        return await c.post(f"/api/meetings/{meeting}/files", params={"name": name},
                            content=data, headers={"Content-Type": "application/pdf"})


async def attach(api: Api, meeting: int, data: bytes = REPORT, **args: Any) -> dict[str, Any]:
    """Upload and attach a file; the document as the room shows it."""
    r = await upload(api, meeting, data)
    assert r.status_code == 201, r.text
    sha = r.json()["file"]["sha256"]
    r = await api.call("POST", f"/api/meetings/{meeting}/documents", {"sha256": sha, **args})
    assert r.status_code == 200, r.text
    # The last of its events: whole, or sealed when the attacher is not a confidential
    # one's viewer.
    doc = [e["data"]["document"] for e in r.json()["events"]
           if e["kind"] == "document.attached"][-1]
    assert doc.get("sha256", sha) == sha
    return doc


async def get(api: Api, path: str, **headers: str) -> httpx.Response:
    async with api.client() as c:
        return await c.get(path, headers=headers)


def docs_path(m: Meeting, doc: dict[str, Any]) -> str:
    return f"/api/meetings/{m.id}/documents/{doc['id']}"


async def test_an_attached_document_appears_live_and_its_pages_are_served(
    shared_meeting: Meeting, joined: Any,
) -> None:
    m = shared_meeting
    d1 = await joined(m, "d1")
    item = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]["agenda"][0]
    doc = await attach(m["secretary"], m.id, title="Báo cáo kinh tế - xã hội",
                       item_id=item["id"], classification="public")
    event = await d1.until(lambda e: e.get("kind") == "document.attached")
    assert event["data"]["document"] == doc
    assert doc["item_id"] == item["id"] and doc["version"] == 1
    assert [tuple(s) for s in doc["sizes"]] == [(595.0, 842.0)] * 3
    r = await get(m["d1"], docs_path(m, doc) + "/pages/2?v=1")
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
    etag = r.headers["etag"]
    again = await get(m["d2"], docs_path(m, doc) + "/pages/2?v=1", **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    text = (await get(m["d1"], docs_path(m, doc) + "/text?page=2")).json()
    assert text["pages"][0]["page"] == 2
    pdf = await get(m["i1"], docs_path(m, doc) + "/file")
    assert pdf.status_code == 200 and pdf.content == REPORT


async def test_bad_files_are_refused_with_a_reason_and_change_nothing(
    shared_meeting: Meeting, joined: Any,
) -> None:
    m = shared_meeting
    d1 = await joined(m, "d1")
    before = await seq_of(m["chair"], m.id)
    for case in corpus():
        if case.outcome in ("ok", "office"):
            continue
        r = await upload(m["secretary"], m.id, case.data, case.name)
        assert r.status_code in (413, 415, 422), (case.name, r.status_code)
        assert_refusal(r.json(), case.outcome)
    r = await upload(m["d1"], m.id, REPORT)  # delegates do not upload
    assert_refusal(r.json(), "forbidden")
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/documents", {"sha256": "e" * 64})
    assert_refusal(r.json(), "not_found")
    # A file sent to another meeting cannot be attached here by its hash.
    other = await bare_meeting(m.admin)
    r = await upload(m.admin, other, report(1))
    sha = r.json()["file"]["sha256"]
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/documents", {"sha256": sha})
    assert_refusal(r.json(), "not_found")
    for bad in ({"sha256": "xyz"}, {"sha256": sha, "classification": "secret"},
                {"sha256": sha, "file": {"sha256": sha}}, {"sha256": sha, "viewers": "all"}):
        r = await m["chair"].call("POST", f"/api/meetings/{m.id}/documents", bad)
        assert_refusal(r.json(), "invalid")
    assert await seq_of(m["chair"], m.id) == before
    assert await barrier(d1) == []


async def test_page_requests_are_checked(shared_meeting: Meeting) -> None:
    m = shared_meeting
    doc = await attach(m["chair"], m.id)
    base = docs_path(m, doc)
    for path, code in ((base + "/pages/4", "not_found"), (base + "/pages/0", "not_found"),
                       (base + "/pages/1?size=huge", "invalid"),
                       (base + "/pages/1?format=gif", "invalid"),
                       (base + "/pages/1?v=7", "not_found"),
                       (f"/api/meetings/{m.id}/documents/999999/pages/1", "not_found")):
        r = await get(m["d1"], path)
        assert_refusal(r.json(), code)
    # internal (the default): invitees do not even learn of it
    r = await get(m["i1"], base + "/pages/1")
    assert_refusal(r.json(), "not_found")
    async with httpx.AsyncClient(verify=TLS, base_url=m.admin.base_url) as anonymous:
        assert_refusal((await anonymous.get(base + "/pages/1")).json(), "unauthenticated")


async def test_confidential_pages_are_for_named_viewers_each_with_their_own_mark(
    shared_meeting: Meeting, joined: Any,
) -> None:
    m = shared_meeting
    d1, d2, sec = [await joined(m, who) for who in ("d1", "d2", "secretary")]
    doc = await attach(m["chair"], m.id, classification="confidential",
                       viewers=[uid(m, "d1"), uid(m, "d3")], title="Phương án nhân sự")
    await d1.until(lambda e: e.get("kind") == "document.attached")
    await sec.until(lambda e: e.get("kind") == "document.attached")  # organisers see the entry
    assert [e for e in await barrier(d2) if e.get("kind") == "document.attached"] == []
    base = docs_path(m, doc)
    assert_refusal((await get(m["d2"], base + "/pages/1")).json(), "not_found")
    assert_refusal((await get(m["secretary"], base + "/pages/1")).json(),
                   "confidential_viewers_only")
    mine = await get(m["d1"], base + "/pages/1?size=tablet&format=png&v=1")
    theirs = await get(m["d3"], base + "/pages/1?size=tablet&format=png&v=1")
    assert mine.status_code == theirs.status_code == 200
    assert mine.headers["cache-control"] == "private, no-store" and "etag" not in mine.headers
    assert mine.content != theirs.content
    assert mine.content != render_page_of(REPORT, 1)  # never the unmarked page
    # The downloaded copy is pictures of the stamped pages (a text stamp could be deleted):
    # no text, one image per page, and each reader's copy differs (their own stamp).
    pdf, other = await get(m["d1"], base + "/file"), await get(m["d3"], base + "/file")
    assert pdf.headers["cache-control"] == "private, no-store"
    with pymupdf.open(stream=pdf.content) as copy:
        assert copy.page_count == 3
        assert all(p.get_text() == "" and len(p.get_images()) == 1 for p in copy)
    assert pdf.content != other.content


def render_page_of(data: bytes, page: int) -> bytes:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return render_page(f.name, page, 1280, "png")


async def test_private_annotations_never_reach_another_user(
    shared_meeting: Meeting, joined: Any,
) -> None:
    m = shared_meeting
    doc = await attach(m["chair"], m.id, classification="public")
    d1, d2, chair = [await joined(m, who) for who in ("d1", "d2", "chair")]
    before = await seq_of(m["chair"], m.id)
    base = docs_path(m, doc) + "/my-annotations"
    note = {"client_id": "n-1", "page": 2, "kind": "ink", "points": [0.1, 0.2, 0.4, 0.3],
            "color": "#1E88E5", "width": 0.004}
    r = await m["d1"].call("POST", base, note)
    assert r.status_code == 201, r.text
    saved = r.json()["annotation"]
    assert saved["scope"] == "private" and saved["owner"] == uid(m, "d1")
    assert saved["color"] == "#1e88e5" and saved["version"] == 1
    # kept as a path (documents/path.py), whichever form the stroke came in
    assert "points" not in saved and paths.decode(saved["path"]) == [0.1, 0.2, 0.4, 0.3]
    retry = await m["d1"].call("POST", base, note)  # a retry after a lost answer
    assert retry.status_code == 200 and retry.json() == {"annotation": saved, "duplicate": True}
    text_note = {"client_id": "n-2", "page": 1, "kind": "note",
                 "path": paths.encode([0.5, 0.5]), "text": "Cần làm rõ nguồn vốn"}
    assert (await m["d1"].call("POST", base, text_note)).status_code == 201
    # nobody else hears of it, on any channel; the room log did not move
    for client in (d1, d2, chair):
        assert [msg for msg in await barrier(client) if msg["type"] != "pong"] == []
    assert await seq_of(m["chair"], m.id) == before
    assert (await m["d2"].call("GET", base)).json() == {"annotations": []}
    assert (await m["chair"].call("GET", base)).json() == {"annotations": []}
    room = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    assert room["marks"] == []
    assert_refusal((await m["d2"].call("DELETE", f"{base}/{saved['id']}")).json(), "not_found")
    # kept for the owner, and in the owner's annotated copy only
    mine = (await m["d1"].call("GET", base)).json()["annotations"]
    assert [(a["id"] == saved["id"], a["kind"]) for a in mine] == [(True, "ink"),
                                                                    (False, "note")]
    exported = await get(m["d1"], docs_path(m, doc) + "/export?with=mine")
    with pymupdf.open(stream=exported.content) as copy:
        assert [a.type[1] for a in copy[1].annots()] == ["Ink"]
        assert [a.info["content"] for a in copy[0].annots()] == ["Cần làm rõ nguồn vốn"]
    other = await get(m["d2"], docs_path(m, doc) + "/export?with=all")
    with pymupdf.open(stream=other.content) as copy:
        assert all(not list(page.annots()) for page in copy)
    # erase and clear
    r = await m["d1"].call("POST", base + "/clear", {"page": 2})
    assert r.json() == {"removed": 1}
    assert [a["page"] for a in (await m["d1"].call("GET", base)).json()["annotations"]] == [1]


async def test_bad_private_annotations_are_refused(shared_meeting: Meeting) -> None:
    m = shared_meeting
    doc = await attach(m["chair"], m.id, classification="public")
    base = docs_path(m, doc) + "/my-annotations"
    good = {"client_id": "x", "page": 1, "kind": "ink", "points": [0.1, 0.1]}
    for bad, code in (({**good, "points": [0.1]}, "invalid"),
                      ({**good, "points": [0.1, 2.0]}, "invalid"),
                      ({**good, "points": [0.1, 0.2, 0.3]}, "invalid"),
                      ({**good, "kind": "laser"}, "invalid"),
                      ({**good, "color": "red"}, "invalid"),
                      ({**good, "kind": "note"}, "invalid"),
                      ({**good, "page": 9}, "not_found"),
                      ({**good, "page": "1"}, "invalid"),
                      ({**good, "points": [0.5] * 4002}, "invalid"),
                      ({**good, "owner": 1}, "invalid"),
                      ({**good, "client_id": ""}, "invalid"),
                      # the path form: malformed, off the page, both forms, neither, not text
                      ({**good, "path": "~~~~?"}, "invalid"),
                      ({**good, "path": "@?"}, "invalid"),
                      ({**good, "path": paths.encode([0.1, 0.1])}, "invalid"),
                      ({k: v for k, v in good.items() if k != "points"}, "invalid"),
                      ({"client_id": "x", "page": 1, "kind": "ink", "path": 7}, "invalid"),
                      ({"client_id": "x", "page": 1, "kind": "ink", "path": "?" * 20_000},
                       "invalid")):
        r = await m["d1"].call("POST", base, bad)
        assert_refusal(r.json(), code)
    assert (await m["d1"].call("GET", base)).json() == {"annotations": []}


async def test_the_presenter_drives_and_followers_see_page_zoom_pointer_and_ink(
    server: Any, joined: Any,
) -> None:
    m = await make_meeting(server.base_url, extra={"p1": "presenter"})
    doc = await attach(m["chair"], m.id)  # internal: not for invitees
    pres, d1, inv = [await joined(m, who) for who in ("p1", "d1", "i1")]
    ack = await pres.command(m.id, "present.start", document_id=doc["id"], page=1)
    assert ack["type"] == "ack", ack
    ack = await pres.command(m.id, "present.move", page=3, zoom=2.0, x=0.25, y=0.75)
    assert ack["type"] == "ack", ack
    moved = await d1.until(lambda e: e.get("kind") == "presentation.moved")
    assert moved["data"]["presentation"] | {"since": None} == {
        "document_id": doc["id"], "version": 1, "page": 3, "zoom": 2.0, "x": 0.25, "y": 0.75,
        "by": uid(m, "p1"), "since": None}
    # others cannot drive, nor draw shared marks
    assert (await d1.command(m.id, "present.move", page=2))["code"] == "forbidden"
    chair = await joined(m, "chair")
    assert (await chair.command(m.id, "present.move", page=9))["code"] == "not_found"
    assert (await d1.command(m.id, "annotation.add", document_id=doc["id"], page=1,
                             kind="ink", points=[0.1, 0.1, 0.2, 0.2]))["code"] == "forbidden"
    # a stroke in progress reaches the document's audience only, and is never stored
    seq = await seq_of(m["chair"], m.id)
    ink = {"document_id": doc["id"], "page": 3, "stroke": "s1", "kind": "ink",
           "color": "#d32f2f", "width": 0.003, "points": [0.1, 0.1, 0.12, 0.11]}
    await pres.send({"type": "volatile", "meeting": m.id, "kind": "ink", "data": ink})
    got = await d1.until(lambda e: e["type"] == "volatile")
    assert got["data"] == ink and got["from"] == uid(m, "p1")
    await d1.send({"type": "volatile", "meeting": m.id, "kind": "ink", "data": ink})
    assert (await d1.until(lambda e: e["type"] == "error"))["code"] == "forbidden"
    assert [e for e in await barrier(inv) if e["type"] == "volatile"] == []
    assert await seq_of(m["chair"], m.id) == seq
    # the finished stroke is an event for the document's audience
    ack = await pres.command(m.id, "annotation.add", document_id=doc["id"], page=3,
                             kind="ink", points=ink["points"])
    added = await d1.until(lambda e: e.get("kind") == "annotation.added")
    assert added["seq"] == ack["seq"] and added["data"]["annotation"]["owner"] == uid(m, "p1")
    assert [e for e in await barrier(inv) if e.get("kind") == "annotation.added"] == []
    # a late follower starts from the same page and marks; the chair may take over
    late = await joined(m, "d2")
    room = late.seen[-1]["room"]
    assert room["presentation"]["page"] == 3
    # The snapshot says which pages have marks; the page's marks come when it is shown.
    assert room["marks"] == [{"document_id": doc["id"], "version": 1, "page": 3, "count": 1,
                              "rev": ack["seq"]}]
    page3 = f"{docs_path(m, doc)}/pages/3/marks"
    r = await m["d2"].call("GET", page3)
    assert r.status_code == 200 and r.json()["seq"] >= ack["seq"]
    assert r.json()["marks"] == [added["data"]["annotation"]]
    async with m["d2"].client() as c:  # unchanged since: neither the store nor a body
        again = await c.get(page3, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert (await m["d2"].call("GET", f"{docs_path(m, doc)}/pages/2/marks")).json()["marks"] == []
    assert (await chair.command(m.id, "present.start", document_id=doc["id"]))["type"] == "ack"
    assert (await pres.command(m.id, "present.move", page=2))["code"] == "forbidden"
    assert (await chair.command(m.id, "present.stop"))["type"] == "ack"
    await late.until(lambda e: e.get("kind") == "presentation.stopped")


async def test_a_new_version_keeps_the_document_and_old_pages_stay_reachable(
    shared_meeting: Meeting, joined: Any,
) -> None:
    m = shared_meeting
    doc = await attach(m["chair"], m.id, classification="public")
    r = await upload(m["chair"], m.id, report(5), "Báo cáo (sửa).pdf")
    sha = r.json()["file"]["sha256"]
    r = await m["chair"].call("POST", docs_path(m, doc) + "/versions", {"sha256": sha})
    assert r.status_code == 200, r.text
    new = changed(r, "document.updated")["document"]
    assert new["id"] == doc["id"]
    assert new["version"] == 2 and len(new["sizes"]) == 5
    assert new["filename"] == "Báo cáo (sửa).pdf" and new["history"][0]["sha256"] == doc["sha256"]
    assert (await get(m["d1"], docs_path(m, doc) + "/pages/5?v=2")).status_code == 200
    assert (await get(m["d1"], docs_path(m, doc) + "/pages/5?v=1")).status_code == 404
    assert (await get(m["d1"], docs_path(m, doc) + "/pages/3?v=1")).status_code == 200
    r = await m["chair"].call("POST", docs_path(m, doc) + "/versions", {"sha256": sha})
    assert_refusal(r.json(), "same_version")
