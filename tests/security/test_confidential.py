"""Confidential (Mật) documents against insiders who are not their named viewers.

Each test is an attack by the secretary, the chair or an administrator of the meeting
(and, where it matters, a delegate or an invitee) who is not a viewer: the request they
send, the typed refusal, and that nothing changed; and, throughout, that the document's
hash, file name, title, text and page count never appear in any byte they receive, over
HTTP or the websocket. Runs on both backends (the `server` fixture).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pymupdf
import pytest

from phonghop.meeting_room import room_view
from phonghop.rooms import Rejection
from tests.conftest import Api, Meeting, ServerProcess, make_meeting
from tests.server.conftest import assert_refusal, barrier, joined, seq_of, uid

__all__ = ["joined"]  # a fixture, used by name

TITLE = "Phương án kiện toàn nhân sự Sở Nội vụ"
FILENAME = "Nhân sự đợt hai.pdf"
SECRET_TEXT = "Ông Trần Văn Khải dự kiến được bổ nhiệm"
PAGES = 4


def secret_pdf(tag: str) -> bytes:
    """A distinctive confidential file: text, a title in its metadata, PAGES pages."""
    doc = pymupdf.open()
    for n in range(1, PAGES + 1):
        page = doc.new_page()
        page.insert_text((72, 100), f"{tag} trang {n}", fontsize=14)
        page.insert_text((72, 140), "TAI LIEU MAT " + tag, fontsize=20)
    doc.set_metadata({"title": f"{TITLE} {tag}"})
    return doc.tobytes(garbage=3, deflate=True)


def public_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 100), "Thông báo công khai", fontsize=14)
    return doc.tobytes()


class Secret:
    """A confidential document of the meeting, and everything that identifies it."""

    def __init__(self, data: bytes, doc_id: int, tag: str) -> None:
        self.data = data
        self.sha = hashlib.sha256(data).hexdigest()
        self.id = doc_id
        self.tag = tag

    def leaks_in(self, blob: str) -> list[str]:
        """The identifying strings of this document found in `blob`."""
        marks = [self.sha, self.sha[:20], FILENAME.rsplit(".", 1)[0], TITLE, self.tag]
        return [m for m in marks if m in blob]


async def upload(api: Api, meeting: int, data: bytes, name: str = FILENAME) -> str:
    async with api.client() as c:
        r = await c.post(f"/api/meetings/{meeting}/files", params={"name": name},
                         content=data, headers={"Content-Type": "application/pdf"})
    assert r.status_code == 201, r.text
    return str(r.json()["file"]["sha256"])


async def attach(api: Api, m: Meeting, sha: str, **args: Any) -> httpx.Response:
    return await api.call("POST", f"/api/meetings/{m.id}/documents", {"sha256": sha, **args})


async def newest(api: Api, m: Meeting) -> dict[str, Any]:
    room = (await api.call("GET", f"/api/meetings/{m.id}")).json()["room"]
    return max(room["documents"], key=lambda d: d["id"])


class World:
    def __init__(self, m: Meeting, a: Secret, b: Secret, server: ServerProcess) -> None:
        self.m, self.a, self.b, self.server = m, a, b, server

    def attackers(self) -> dict[str, Api]:
        """The organisers who are not viewers: the secretary, the chair, an administrator."""
        return {"secretary": self.m["secretary"], "chair": self.m["chair"],
                "admin": self.m.admin}

    def path(self, doc: Secret) -> str:
        return f"/api/meetings/{self.m.id}/documents/{doc.id}"


@pytest.fixture(scope="module")
async def world(server: ServerProcess) -> World:
    """A meeting in session with two confidential documents for d1 and p1 (a presenter):
    A uploaded and attached by the secretary, B by the chair. Neither organiser (nor the
    administrator) is a viewer of either."""
    m = await make_meeting(server.base_url, delegates=2, extra={"p1": "presenter"})
    viewers = [uid(m, "d1"), uid(m, "p1")]
    made = []
    for who, tag in (("secretary", "A7Q"), ("chair", "B9Z")):
        data = secret_pdf(tag)
        sha = await upload(m[who], m.id, data)
        r = await attach(m[who], m, sha, classification="confidential", viewers=viewers,
                         title=f"{TITLE} {tag}")
        assert r.status_code == 200, r.text
        made.append(Secret(data, (await newest(m[who], m))["id"], tag))
    return World(m, made[0], made[1], server)


async def test_organisers_see_a_sealed_entry_and_nothing_identifying(
    world: World, joined: Any, open_ws: Any,
) -> None:
    """Attack: read the room view and every event as the secretary, the chair, an
    administrator, a delegate and an invitee who are not viewers."""
    m = world.m
    watchers = {who: await joined(m, who) for who in ("secretary", "chair", "d2", "i1")}
    admin_ws = await open_ws(m.admin)
    assert (await admin_ws.join(m.id))["type"] == "snapshot"
    watchers["admin"] = admin_ws
    viewer = await joined(m, "d1")
    # A third confidential document attached while they watch (by the secretary, who is
    # not one of its viewers either).
    data = secret_pdf("C3X")
    sha = await upload(m["secretary"], m.id, data)
    r = await attach(m["secretary"], m, sha, classification="confidential",
                     viewers=[uid(m, "d1")], title=f"{TITLE} C3X")
    assert r.status_code == 200, r.text
    fresh = Secret(data, (await newest(m["secretary"], m))["id"], "C3X")
    whole = await viewer.until(lambda e: e.get("kind") == "document.attached"
                               and not e["data"]["document"].get("sealed"))
    assert whole["data"]["document"]["sha256"] == sha
    for who, client in watchers.items():
        await barrier(client)
        seen = json.dumps(client.frames, ensure_ascii=False)
        api = m.admin if who == "admin" else m[who]
        view = (await api.call("GET", f"/api/meetings/{m.id}")).text
        for secret in (world.a, world.b, fresh):
            assert secret.leaks_in(seen) == [] and secret.leaks_in(view) == [], who
        entries = {d["id"]: d for d in json.loads(view)["room"]["documents"]}
        if who in ("d2", "i1"):
            assert not {world.a.id, world.b.id, fresh.id} & set(entries)
            assert '"document.attached"' not in seen
        else:
            entry = entries[fresh.id]
            assert entry == {"id": fresh.id, "classification": "confidential",
                             "viewers": [uid(m, "d1")], "item_id": None, "sealed": True,
                             "added_by": uid(m, "secretary"), "added_at": entry["added_at"]}
            assert not {"sizes", "pages", "size", "history", "version"} & set(entry)


async def test_reattaching_a_known_hash_is_refused_as_if_never_uploaded(
    world: World, joined: Any,
) -> None:
    """Attack: attach the file of a confidential document by its hash (learned elsewhere),
    as public, or as confidential naming oneself, or as a new version of a public one."""
    m = world.m
    before = await seq_of(m["chair"], m.id)
    pub = await upload(m["chair"], m.id, public_pdf(), "Thông báo.pdf")
    assert (await attach(m["chair"], m, pub, classification="public")).status_code == 200
    public_id = (await newest(m["chair"], m))["id"]
    before = await seq_of(m["chair"], m.id)
    never = (await attach(m["chair"], m, "0" * 64)).json()  # a file never uploaded here
    # The secretary uploaded A, so B is the one they only know by hash (and the reverse).
    for who, api in world.attackers().items():
        targets = [world.a, world.b] if who == "admin" else \
            [world.b] if who == "secretary" else [world.a]
        for secret in targets:
            tries = [
                attach(api, m, secret.sha, classification="public"),
                attach(api, m, secret.sha, classification="internal", title="Bản sao"),
                attach(api, m, secret.sha, classification="confidential",
                       viewers=[int(api.user["id"])] if who != "admin" else [uid(m, "d2")]),
                api.call("POST", f"/api/meetings/{m.id}/documents/{public_id}/versions",
                         {"sha256": secret.sha}),
            ]
            for attempt in tries:
                r = await attempt
                assert r.status_code == 404, (who, r.text)
                assert_refusal(r.json(), "not_found")
                # the very refusal a never-uploaded file gets: it confirms nothing
                assert r.json() == never, who
    # The same over the websocket.
    secretary = await joined(m, "secretary")
    for args in ({"classification": "public"},
                 {"classification": "confidential", "viewers": [uid(m, "secretary")]}):
        r = await secretary.command(m.id, "document.attach", sha256=world.b.sha, **args)
        assert r["type"] == "rejected" and r["code"] == "not_found", r
        assert {k: r[k] for k in ("code", "message")} == \
            {k: never[k] for k in ("code", "message")}
    assert await seq_of(m["chair"], m.id) == before


async def test_reclassifying_or_renaming_by_a_non_viewer_is_refused(
    world: World, joined: Any,
) -> None:
    """Attack: declassify, add oneself to the viewers, rename, or version a confidential
    document as an organiser who does not read it."""
    m = world.m
    before = await seq_of(m["chair"], m.id)
    for who, api in world.attackers().items():
        me = int(api.user["id"])
        for change in ({"classification": "public"}, {"classification": "internal"},
                       {"viewers": [uid(m, "d1"), me]}, {"viewers": [me]},
                       {"classification": "confidential", "viewers": [me]},
                       {"title": "Tên mới"}):
            r = await api.call("PATCH", world.path(world.a), change)
            assert r.status_code == 403, (who, change, r.text)
            assert_refusal(r.json(), "confidential_viewers_only")
    assert await seq_of(m["chair"], m.id) == before
    # Filing it under an agenda item is theirs to do, and shows them nothing more.
    secretary = await joined(m, "secretary")
    item = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]["agenda"][0]
    r = await m["secretary"].call("PATCH", world.path(world.a), {"item_id": item["id"]})
    assert r.status_code == 200, r.text
    event = await secretary.until(lambda e: e.get("kind") == "document.updated")
    assert event["data"]["document"]["sealed"] is True
    await barrier(secretary)
    assert world.a.leaks_in(json.dumps(secretary.frames, ensure_ascii=False)) == []


async def test_a_presented_confidential_document_reaches_its_viewers_only(
    world: World, joined: Any, open_ws: Any,
) -> None:
    """Attack: present it as the chair; then, while a viewer presents it, follow it, turn
    its pages and read the presenter's pointer as everyone else."""
    m = world.m
    chair = await joined(m, "chair")
    r = await chair.command(m.id, "present.start", document_id=world.a.id)
    assert r["type"] == "rejected" and r["code"] == "confidential_viewers_only"
    others = {who: await joined(m, who) for who in ("secretary", "d2", "i1")}
    others["chair"] = chair
    admin_ws = await open_ws(m.admin)
    await admin_ws.join(m.id)
    others["admin"] = admin_ws
    d1, p1 = await joined(m, "d1"), await joined(m, "p1")
    for client in [*others.values(), d1, p1]:
        await barrier(client)
    marks = {who: len(c.frames) for who, c in others.items()}
    assert (await p1.command(m.id, "present.start", document_id=world.a.id,
                             page=2))["type"] == "ack"
    started = await d1.until(lambda e: e.get("kind") == "presentation.started")
    assert started["data"]["presentation"]["document_id"] == world.a.id
    assert (await p1.command(m.id, "present.move", page=3))["type"] == "ack"
    await d1.until(lambda e: e.get("kind") == "presentation.moved")
    await p1.send({"type": "volatile", "meeting": m.id, "kind": "pointer",
                   "data": {"x": 0.4, "y": 0.6}})
    assert (await d1.until(lambda e: e["type"] == "volatile"))["kind"] == "pointer"
    # The chair cannot steer what it may not see, nor learn its page count by trying.
    for page in (2, 99):
        moved = await chair.command(m.id, "present.move", page=page)
        assert moved["type"] == "rejected" and moved["code"] == "not_presenting"
    for who, client in others.items():
        got = await barrier(client)
        received = client.frames[marks[who]:]
        assert not [e for e in got if e.get("type") == "volatile"], who
        assert not [e for e in got if e.get("kind") in ("presentation.started",
                                                        "presentation.moved")], who
        assert f'"document_id": {world.a.id}' not in json.dumps(received), who
        api = m.admin if who == "admin" else m[who]
        room = (await api.call("GET", f"/api/meetings/{m.id}")).json()["room"]
        assert room["presentation"] is None, who
    room = (await m["d1"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    assert room["presentation"]["page"] == 3
    # The chair keeps the room's screen: stopping reveals nothing.
    assert (await chair.command(m.id, "present.stop"))["type"] == "ack"
    await d1.until(lambda e: e.get("kind") == "presentation.stopped")


async def test_pages_text_file_and_exports_are_refused_to_non_viewers(world: World) -> None:
    """Attack: fetch its pages (any page number: the answer must not give the page count
    away), text, file, annotated export, shared marks of a page and annotations as an
    organiser; as a delegate."""
    m = world.m
    outsiders = {**world.attackers(), "d2": m["d2"], "i1": m["i1"]}
    for who, api in outsiders.items():
        bodies = set()
        async with api.client() as c:
            for tail in ("/pages/1", "/pages/2?v=1&format=png", f"/pages/{PAGES + 1}",
                         "/pages/999", "/text", "/text?page=1", "/file",
                         "/export?with=all", "/export?with=shared", "/my-annotations",
                         "/pages/1/marks", "/pages/999/marks", "/pages/1/marks?v=1"):
                r = await c.get(world.path(world.a) + tail)
                expected = 404 if who in ("d2", "i1") else 403
                assert r.status_code == expected, (who, tail, r.text)
                assert world.a.leaks_in(r.text) == []
                bodies.add(r.content)
            r = await c.post(world.path(world.a) + "/my-annotations", json={
                "client_id": "x", "page": 1, "kind": "ink", "points": [0.1, 0.1]})
            assert r.status_code in (403, 404) and r.content in bodies
        assert len(bodies) == 1, who  # one and the same refusal, whatever was asked
        assert_refusal(json.loads(bodies.pop()),
                       "not_found" if who in ("d2", "i1") else "confidential_viewers_only")


async def test_a_viewer_gets_stamped_pictures_only_and_nothing_cacheable(world: World) -> None:
    """Attack, as a viewer on a shared tablet: keep an unstamped copy (text, a PDF whose
    stamp can be deleted, a page cached for the next user of the tablet)."""
    m, base = world.m, world.path(world.a)
    async with m["d1"].client() as c:
        page = await c.get(base + "/pages/1?size=tablet&format=png&v=1")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "private, no-store"
        assert "etag" not in page.headers and "immutable" not in page.headers["cache-control"]
        marks = await c.get(base + "/pages/1/marks")  # its shared marks: not kept either
        assert marks.status_code == 200 and marks.headers["cache-control"] == "private, no-store"
        text = await c.get(base + "/text")
        assert text.status_code == 403
        assert_refusal(text.json(), "confidential_text")
        assert SECRET_TEXT not in text.text and world.a.tag not in text.text
        for tail in ("/file", "/export?with=all"):
            r = await c.get(base + tail)
            assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
            with pymupdf.open(stream=r.content) as copy:
                assert copy.page_count == PAGES
                assert copy.metadata["title"] == ""
                for p in copy:
                    assert p.get_text() == "" and p.get_fonts() == [], tail
                    assert len(p.get_images()) == 1 and not list(p.annots())
            assert world.a.tag.encode() not in r.content
        other = await m["p1"].call("GET", base + "/pages/1?size=tablet&format=png&v=1")
        assert other.content != page.content  # each viewer's own stamp


async def test_no_unstamped_page_of_a_confidential_file_stays_on_disk(
    world: World, joined: Any,
) -> None:
    """Attack, with the data directory: find unstamped page images of a confidential file,
    including one first attached (and read, so cached) as public, then as confidential."""
    m, server = world.m, world.server
    root = server.data_dir / "documents"
    for secret in (world.a, world.b):
        for n in range(1, PAGES + 1):  # viewers read every page
            assert (await m["d1"].call("GET", world.path(secret) + f"/pages/{n}")).status_code \
                == 200
        assert not (root / "pages" / secret.sha[:2] / secret.sha).exists()
        assert (root / "sealed" / secret.sha).exists()
    data = secret_pdf("D4W")
    sha = await upload(m["chair"], m.id, data)
    assert (await attach(m["chair"], m, sha, classification="public")).status_code == 200
    public = await newest(m["chair"], m)
    assert (await m["d2"].call("GET", f"/api/meetings/{m.id}/documents/{public['id']}"
                                     "/pages/1?v=1")).status_code == 200
    cached = root / "pages" / sha[:2] / sha
    assert cached.exists()  # a public page is cached
    r = await attach(m["chair"], m, sha, classification="confidential", viewers=[uid(m, "d1")])
    assert r.status_code == 200, r.text
    assert not cached.exists() and (root / "sealed" / sha).exists()
    # The public copy still reads, afresh each time, and is never cached again.
    again = await m["d2"].call("GET", f"/api/meetings/{m.id}/documents/{public['id']}"
                                      "/pages/2?v=1")
    assert again.status_code == 200 and not cached.exists()


async def test_internal_documents_are_cached_briefly_and_privately(world: World) -> None:
    """Attack, on a shared tablet: the next user opens an internal page from the cache."""
    m = world.m
    sha = await upload(m["chair"], m.id, public_pdf(), "Nội bộ.pdf")
    assert (await attach(m["chair"], m, sha, classification="internal")).status_code == 200
    doc = await newest(m["chair"], m)
    base = f"/api/meetings/{m.id}/documents/{doc['id']}"
    async with m["d1"].client() as c:
        for tail in ("/pages/1?v=1", "/pages/1", "/file", "/text"):
            r = await c.get(base + tail)
            assert r.status_code == 200, r.text
            assert r.headers["cache-control"] == "private, max-age=300", tail
    invitee = await m["i1"].call("GET", base + "/pages/1")
    assert invitee.status_code == 404


# ---- the rules themselves, in the room core (no server: decide/apply and a client view) ----


def _client_of(room: Any, user: int, start: tuple[Any, int]) -> dict[str, Any]:
    """What `user`'s client holds: a snapshot of `start` (a state and how many events
    the room had then), then the events it was sent since."""
    from tests.rooms.client_view import ClientView

    state, events_from = start
    client = ClientView(json.loads(json.dumps(room_view(state, user))))
    for event in room.events[events_from:]:
        if event.audience.admits(user, room.state.role_of(user)):
            client.on_event(event.kind, json.loads(json.dumps(event.data)))
    return client.view()


def test_core_only_viewer_organisers_reclassify_and_new_readers_get_the_marks() -> None:
    """Attack in the core: the secretary (not a viewer) declassifies or joins the viewers;
    then the chair (a viewer) declassifies, and the secretary must now see everything a
    reader sees, built from the events alone."""
    from tests.rooms.world import CHAIR, D1, D2, SECRETARY, standard_room

    room = standard_room()
    sha = "a" * 64
    room.ok(CHAIR, "document.attach", sha256=sha, classification="confidential",
            viewers=[CHAIR, D1], title="Kế hoạch mật")
    doc = max(room.state.documents)
    room.ok(CHAIR, "annotation.add", document_id=doc, page=1, kind="ink", points=[0.1, 0.1])
    mark = room.state, len(room.events)
    for change in ({"classification": "public"}, {"viewers": [CHAIR, D1, SECRETARY]},
                   {"title": "Khác"}):
        assert room.refused(SECRETARY, "document.update", document_id=doc,
                            **change) == "confidential_viewers_only"
    assert room.refused(SECRETARY, "document.attach", sha256=sha,
                        classification="public") == "not_found"
    # A new version by a viewer: nothing at all reaches the organisers who do not read it.
    versioned = room.ok(CHAIR, "document.version", document_id=doc, sha256="c" * 64)
    assert not [e for e in versioned if e.audience.admits(SECRETARY, "secretary")]
    # The chair makes it internal: the secretary and D2 now read it, marks included.
    room.ok(CHAIR, "document.update", document_id=doc, classification="internal")
    for user in (SECRETARY, D2, D1):
        assert _client_of(room, user, mark) == \
            json.loads(json.dumps(room_view(room.state, user))), user
    assert _client_of(room, SECRETARY, mark)["marks"]
    # And back to confidential for D1 only: the secretary keeps a sealed entry, D2 nothing.
    mark = room.state, len(room.events)
    room.ok(CHAIR, "document.update", document_id=doc, classification="confidential",
            viewers=[D1])
    for user in (SECRETARY, D2, D1, CHAIR):
        assert _client_of(room, user, mark) == \
            json.loads(json.dumps(room_view(room.state, user))), user
    secretary = _client_of(room, SECRETARY, mark)
    assert [d.get("sealed") for d in secretary["documents"]] == [True]
    assert secretary["marks"] == []
    assert _client_of(room, D2, mark)["documents"] == []
    # The chair is no longer a viewer: it cannot undo that.
    assert room.refused(CHAIR, "document.update", document_id=doc,
                        viewers=[D1, CHAIR]) == "confidential_viewers_only"


def test_core_declassifying_needs_every_confidential_use_of_the_file() -> None:
    """Attack in the core: the chair reads one confidential copy of a file and declassifies
    it, which would publish another confidential document (same file) it does not read."""
    from tests.rooms.world import CHAIR, D1, D2, SECRETARY, standard_room

    room = standard_room()
    sha = "b" * 64
    room.ok(CHAIR, "document.attach", sha256=sha, classification="confidential",
            viewers=[D1, D2])
    hidden = max(room.state.documents)
    # The chair uploaded the bytes (the edge fills `uploaded_by`): possession lets it
    # attach the file again, for itself, but not publish the other document's copy.
    from phonghop.documents import commands as c
    from tests.rooms.world import FILES

    mine = c.DocumentAttach(sha256=sha, classification="confidential", viewers=[CHAIR],
                            file=FILES[sha].model_copy(update={"uploaded_by": CHAIR}))
    assert not isinstance(room.decide(CHAIR, mine), Rejection)
    own = max(room.state.documents)
    assert room.refused(CHAIR, "document.update", document_id=own,
                        classification="public") == "confidential_viewers_only"
    # Without the upload, the same hash is refused to the secretary like an unknown file.
    assert room.refused(SECRETARY, "document.attach", sha256=sha) == "not_found"
    assert room.state.documents[hidden].classification == "confidential"
