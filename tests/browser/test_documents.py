"""Meeting documents in a real browser: presenting, following, shared and private marks."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pymupdf
import pytest
from playwright.async_api import Page, Route, expect

from phonghop.documents import path as paths
from tests.browser.conftest import PORTRAIT, open_room, sign_in
from tests.conftest import Meeting, ServerProcess, WsClient, make_meeting

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Counts the red pixels a canvas shows (the default pen colour is #d32f2f).
RED_PIXELS = """
(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 128 && data[i] > 150 && data[i + 1] < 110 && data[i + 2] < 110) n += 1;
  }
  return n;
}
"""

# Rebuilds the documents part of the room from the page's recorded snapshot and events with
# static/reducer.js, in the shape of the server's room view.
REPLAY_DOCUMENTS = """
async () => {
  const r = await import("/static/reducer.js");
  const received = window.__ws.received;
  const snapshot = received.filter((m) => m.type === "snapshot").at(-1);
  const s = r.fromView(snapshot.room, snapshot.seq);
  for (const m of received) {
    const events = m.type === "event" ? [m] : m.type === "events" ? m.events : [];
    for (const e of events) if (e.seq > s.seq) r.applyEvent(s, e);
  }
  return {
    documents: [...s.documents.values()].sort((a, b) => a.id - b.id),
    marks: [...s.marks].map(([k, p]) => {
      const [document_id, version, page] = k.split(":").map(Number);
      return { document_id, version, page, ...p };
    }).sort((a, b) => a.document_id - b.document_id || a.version - b.version || a.page - b.page),
    presentation: s.presentation,
  };
}
"""


def make_pdf(pages: int = 3, title: str = "Báo cáo tình hình kinh tế – xã hội") -> bytes:
    """A small A4 PDF with Vietnamese text on every page."""
    font = pymupdf.Font("notos")
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_font(fontname="notos", fontbuffer=font.buffer)
        page.insert_text((60, 90), title, fontname="notos", fontsize=18)
        page.insert_textbox(
            pymupdf.Rect(60, 130, 535, 400),
            f"Trang {n}. Ủy ban nhân dân phường đề nghị các đại biểu nghiên cứu, cho ý kiến "
            "về chỉ tiêu thu ngân sách, chỉnh trang đô thị và cải cách hành chính.",
            fontname="notos", fontsize=13)
        page.insert_text((280, 810), f"Trang {n}/{pages}", fontname="notos", fontsize=10)
    data = doc.tobytes()
    doc.close()
    return data


async def upload(m: Meeting, data: bytes, name: str) -> str:
    async with m.admin.client() as c:
        r = await c.post(f"/api/meetings/{m.id}/files", params={"name": name}, content=data)
    assert r.status_code == 201, r.text
    return r.json()["file"]["sha256"]


async def attach(m: Meeting, sha256: str, **args: Any) -> int:
    r = await m.admin.call("POST", f"/api/meetings/{m.id}/documents", {"sha256": sha256, **args})
    assert r.status_code == 200, r.text
    # The last of its events (a confidential one's sealed entry, without its hash, to a
    # non-viewer).
    return int([e["data"]["document"] for e in r.json()["events"]
                if e["kind"] == "document.attached"][-1]["id"])


async def room_view(m: Meeting, who: str) -> dict[str, Any]:
    r = await m[who].call("GET", f"/api/meetings/{m.id}")
    assert r.status_code == 200, r.text
    return r.json()["room"]


async def draw(page: Page, points: list[tuple[float, float]], release: bool = True) -> None:
    """Draw with the mouse through stage-relative fractions (0..1 of the stage)."""
    box = await page.get_by_test_id("page-stage").bounding_box()
    assert box
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    await page.mouse.move(*at[0])
    await page.mouse.down()
    for x, y in at[1:]:
        await page.mouse.move(x, y, steps=4)
    if release:
        await page.mouse.up()


# Fires a pointer stroke of one kind ("pen", "touch") across the stage, as a device would.
POINTER_STROKE = """
(stage, [kind, id, points]) => {
  const r = stage.getBoundingClientRect();
  const fire = (type, [fx, fy]) => stage.dispatchEvent(new PointerEvent(type, {
    pointerId: id, pointerType: kind, isPrimary: true, bubbles: true, cancelable: true,
    clientX: r.left + fx * r.width, clientY: r.top + fy * r.height, button: 0,
    buttons: type === "pointerup" ? 0 : 1, pressure: 0.5, width: 20, height: 20,
  }));
  fire("pointerdown", points[0]);
  for (const p of points.slice(1)) fire("pointermove", p);
  fire("pointerup", points.at(-1));
}
"""


def watch_errors(*pages: Page) -> list[str]:
    """Collects uncaught script errors of the pages (the test ends asserting none)."""
    errors: list[str] = []
    for page in pages:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def doc_row(page: Page, doc_id: int) -> Any:
    return page.locator(f"[data-testid=doc-row][data-document-id='{doc_id}']")


async def test_presenter_leads_and_the_delegate_follows(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url, extra={"p1": "presenter"})
    room = await room_view(m, "chair")
    item1 = room["agenda"][0]["id"]
    sha = await upload(m, make_pdf(3), "Báo cáo kinh tế.pdf")
    doc_id = await attach(m, sha, title="Báo cáo kinh tế – xã hội", item_id=item1)
    secret_sha = await upload(m, make_pdf(2, "Phương án nhân sự (mật)"), "Nhân sự.pdf")
    secret_id = await attach(m, secret_sha, title="Phương án nhân sự",
                             classification="confidential", viewers=[m["chair"].user["id"]])

    presenter = await (await new_context()).new_page()
    follower = await (await new_context()).new_page()
    errors = watch_errors(presenter, follower)
    await sign_in(presenter, server.base_url, m["p1"].user["username"])
    await sign_in(follower, server.base_url, m["d1"].user["username"])
    await open_room(presenter, server.base_url, m.id)
    await open_room(follower, server.base_url, m.id)

    # Both see the document under its agenda item; the confidential one is not listed.
    for page in (presenter, follower):
        await expect(doc_row(page, doc_id)).to_contain_text("Báo cáo kinh tế – xã hội")
        await expect(doc_row(page, doc_id)).to_contain_text("3 trang")
        await expect(doc_row(page, secret_id)).to_have_count(0)
    await expect(follower.get_by_test_id("doc-present")).to_have_count(0)

    # The presenter presents; the delegate's viewer opens by itself, following.
    await doc_row(presenter, doc_id).get_by_test_id("doc-present").click()
    viewer = follower.get_by_test_id("viewer")
    await expect(viewer).to_be_visible()
    await expect(viewer).to_have_attribute("data-following", "true")
    await expect(follower.get_by_test_id("page-image")).to_have_attribute(
        "src", re.compile(rf"/documents/{doc_id}/pages/1\?"))
    await expect(presenter.get_by_test_id("viewer")).to_have_attribute("data-presenting", "true")
    await expect(presenter.get_by_test_id("stage-badge")).to_have_text("Bạn đang trình chiếu")

    # A page turn reaches the follower.
    await presenter.get_by_test_id("page-next").click()
    await expect(follower.get_by_test_id("page-image")).to_have_attribute(
        "src", re.compile(rf"/documents/{doc_id}/pages/2\?size=(tablet|hd)&v=1"))
    await expect(follower.get_by_test_id("page-number")).to_have_text("Trang 2/3")
    await expect(follower.get_by_test_id("page-image")).to_have_class(re.compile("is-loaded"))

    # A shared stroke: live while drawn (volatile ink), then the stored annotation.
    await expect(presenter.get_by_test_id("scope-shared")).to_have_attribute(
        "aria-pressed", "true")
    await presenter.get_by_test_id("tool-pen").click()
    await draw(presenter, [(0.3, 0.3), (0.4, 0.35), (0.5, 0.4), (0.6, 0.45)], release=False)
    await expect(follower.get_by_test_id("ink-live")).to_have_attribute("data-live", "1")
    await presenter.mouse.up()
    canvas = follower.get_by_test_id("ink-canvas")
    await expect(canvas).to_have_attribute("data-shared", "1")
    await expect(follower.get_by_test_id("ink-live")).to_have_attribute("data-live", "0")
    assert await canvas.evaluate(RED_PIXELS) > 50
    await expect(presenter.get_by_test_id("ink-canvas")).to_have_attribute("data-shared", "1")
    assert [(p["page"], p["count"]) for p in (await room_view(m, "d1"))["marks"]
            if p["document_id"] == doc_id] == [(2, 1)]
    r = await m["d1"].call("GET", f"/api/meetings/{m.id}/documents/{doc_id}/pages/2/marks")
    shared = r.json()["marks"]
    assert len(shared) == 1 and shared[0]["page"] == 2 and shared[0]["kind"] == "ink"
    # the tablet sent the stroke as a path (documents/path.py), and it is kept so
    adds = [x for x in await presenter.evaluate("window.__ws.sent")
            if x.get("name") == "annotation.add"]
    assert adds and all("path" in x["args"] and "points" not in x["args"] for x in adds)
    assert adds[-1]["args"]["path"] == shared[0]["path"]
    assert "points" not in shared[0]
    points = paths.decode(shared[0]["path"])
    assert len(points) >= 4 and all(0 <= v <= 1 for v in points)

    # The laser pointer shows on the follower's page and goes away with the presenter's.
    await presenter.get_by_test_id("tool-laser").click()
    box = await presenter.get_by_test_id("page-stage").bounding_box()
    assert box
    await presenter.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await presenter.mouse.move(box["x"] + box["width"] / 2 + 20, box["y"] + box["height"] / 2)
    await expect(follower.get_by_test_id("laser")).to_be_visible()
    await presenter.mouse.move(box["x"] - 60, box["y"] + 10)
    await expect(follower.get_by_test_id("laser")).to_be_hidden()
    await presenter.get_by_test_id("tool-laser").click()

    # Zoom follows too.
    await presenter.get_by_test_id("zoom-in").click()
    await expect(follower.get_by_test_id("zoom-reset")).to_have_text("125%")

    await presenter.screenshot(path=artifacts / "documents-presenter-1280x800.png")
    await follower.screenshot(path=artifacts / "documents-follower-1280x800.png")

    # The follower browses away: following stops until "Theo người trình bày".
    await follower.locator("[data-testid=thumb][data-page='1']").click()
    await expect(viewer).to_have_attribute("data-following", "false")
    follow = follower.get_by_test_id("follow-presenter")
    await expect(follow).to_have_text("Theo người trình bày")
    await presenter.get_by_test_id("page-next").click()
    await expect(presenter.get_by_test_id("page-number")).to_have_text("Trang 3/3")
    await follower.wait_for_timeout(500)
    await expect(follower.get_by_test_id("page-image")).to_have_attribute(
        "src", re.compile(r"/pages/1\?"))
    await follow.click()
    await expect(follower.get_by_test_id("page-image")).to_have_attribute(
        "src", re.compile(r"/pages/3\?"))
    await expect(viewer).to_have_attribute("data-following", "true")

    # Undo takes the presenter's stroke away for everyone.
    await presenter.get_by_test_id("page-prev").click()
    await expect(follower.get_by_test_id("page-number")).to_have_text("Trang 2/3")
    await presenter.get_by_test_id("ink-undo").click()
    await expect(canvas).to_have_attribute("data-shared", "0")
    await expect(presenter.get_by_test_id("ink-canvas")).to_have_attribute("data-shared", "0")

    # Full screen for a follower (a projector, a remote site): only the page.
    await follower.get_by_test_id("viewer-fullscreen").click()
    await expect(viewer).to_have_class(re.compile("is-fullscreen"))
    await expect(follower.get_by_test_id("ink-tools")).to_be_hidden()
    await expect(follower.get_by_test_id("thumbs")).to_be_hidden()
    await expect(follower.get_by_test_id("viewer-title")).to_be_hidden()
    await expect(follower.get_by_test_id("page-image")).to_be_visible()
    await follower.screenshot(path=artifacts / "documents-follower-fullscreen-1280x800.png")
    await presenter.get_by_test_id("page-next").click()
    await expect(follower.get_by_test_id("page-image")).to_have_attribute(
        "src", re.compile(r"/pages/3\?"))
    await follower.keyboard.press("Escape")
    await expect(viewer).not_to_have_class(re.compile("is-fullscreen"))

    await follower.set_viewport_size(PORTRAIT)
    await expect(follower.get_by_test_id("page-image")).to_be_visible()
    await follower.screenshot(path=artifacts / "documents-follower-768x1024.png")

    # The chair takes over with a confidential document the delegate may not read: to the
    # delegate the presentation simply ends (nothing of the document reaches them).
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/commands",
                              {"name": "present.start", "args": {"document_id": secret_id}})
    assert r.status_code == 200, r.text
    await expect(viewer).to_have_attribute("data-following", "false")
    await expect(follower.get_by_test_id("viewer-title")).to_have_text("Báo cáo kinh tế – xã hội")
    await expect(follower.get_by_test_id("viewer-message")).to_be_hidden()
    await expect(follower.get_by_text("Tài liệu mật")).to_have_count(0)
    await expect(presenter.get_by_test_id("viewer")).to_have_attribute("data-presenting", "false")
    await follower.screenshot(path=artifacts / "documents-follower-confidential-768x1024.png")

    # The client's reducer rebuilds the server's view of documents from what it received:
    # shared marks added and cleared, a rename, a new version, the end of the presentation.
    async def chair_does(name: str, **args: Any) -> None:
        r = await m["chair"].call("POST", f"/api/meetings/{m.id}/commands",
                                  {"name": name, "args": args})
        assert r.status_code == 200, r.text

    for y in (0.2, 0.3):
        await chair_does("annotation.add", document_id=doc_id, page=1, kind="highlight",
                         points=[0.1, y, 0.5, y], color="#FFD400", width=0.014)
    await chair_does("annotation.add", document_id=doc_id, page=3, kind="note",
                     points=[0.5, 0.5], text="Ghi chú của chủ trì")
    await chair_does("annotation.clear", document_id=doc_id, page=1, everyone=True)
    await chair_does("present.stop")
    r = await m.admin.call("PATCH", f"/api/meetings/{m.id}/documents/{doc_id}",
                           {"title": "Báo cáo kinh tế – xã hội (bản sửa)"})
    assert r.status_code == 200, r.text
    await expect(doc_row(follower, doc_id)).to_contain_text("(bản sửa)")
    new_sha = await upload(m, make_pdf(2, "Báo cáo (bản sửa)"), "Báo cáo kinh tế v2.pdf")
    r = await m.admin.call("POST", f"/api/meetings/{m.id}/documents/{doc_id}/versions",
                           {"sha256": new_sha})
    assert r.status_code == 200, r.text
    await expect(doc_row(follower, doc_id)).to_contain_text("Phiên bản 2")
    await expect(doc_row(follower, doc_id)).to_contain_text("2 trang")
    rebuilt = await follower.evaluate(REPLAY_DOCUMENTS)
    view = await room_view(m, "d1")
    assert rebuilt == {
        "documents": sorted(view["documents"], key=lambda d: d["id"]),
        "marks": view["marks"],
        "presentation": view["presentation"],
    }
    assert errors == []


async def test_private_notes_stay_private(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url)
    sha = await upload(m, make_pdf(2), "Tờ trình.pdf")
    doc_id = await attach(m, sha, title="Tờ trình dự toán", classification="public")

    delegate = await (await new_context()).new_page()
    chair = await (await new_context()).new_page()
    errors = watch_errors(delegate, chair)
    saved: list[Any] = []  # what the tablet sends to keep a note
    delegate.on("request", lambda r: saved.append(r.post_data_json) if r.method == "POST"
                and r.url.endswith("/my-annotations") else None)
    await sign_in(delegate, server.base_url, m["d1"].user["username"])
    await sign_in(chair, server.base_url, m["chair"].user["username"])
    await open_room(delegate, server.base_url, m.id)
    await open_room(chair, server.base_url, m.id)

    # A delegate writes private notes only: no shared switch.
    await doc_row(delegate, doc_id).get_by_test_id("doc-open").click()
    await expect(delegate.get_by_test_id("scope-private-only")).to_have_text("Ghi chú riêng")
    await expect(delegate.get_by_test_id("scope-shared")).to_have_count(0)
    await delegate.get_by_test_id("tool-pen").click()
    await draw(delegate, [(0.2, 0.5), (0.35, 0.55), (0.5, 0.5)])
    canvas = delegate.get_by_test_id("ink-canvas")
    await expect(canvas).to_have_attribute("data-private", "1")
    await expect(canvas).to_have_attribute("data-pending", "0")  # saved on the server
    assert await canvas.evaluate(RED_PIXELS) > 30
    assert saved and all("path" in b and "points" not in b for b in saved), saved
    assert len(paths.decode(saved[0]["path"])) >= 4

    # A text note, then the eraser, then undo of the erase.
    await delegate.get_by_test_id("tool-note").click()
    box = await delegate.get_by_test_id("page-stage").bounding_box()
    assert box
    await delegate.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.3)
    await delegate.get_by_test_id("prompt-input").fill("Đề nghị làm rõ số liệu thu ngân sách")
    await delegate.get_by_test_id("dialog-confirm").click()
    await expect(canvas).to_have_attribute("data-private", "2")
    await delegate.get_by_test_id("tool-eraser").click()
    await delegate.mouse.click(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.55)
    await expect(canvas).to_have_attribute("data-private", "1")
    await delegate.get_by_test_id("ink-undo").click()
    await expect(canvas).to_have_attribute("data-private", "2")
    await expect(canvas).to_have_attribute("data-pending", "0")
    await delegate.screenshot(path=artifacts / "documents-private-notes-1280x800.png")

    # They outlive a reload …
    await delegate.reload()
    await expect(delegate.get_by_test_id("meeting-title")).to_be_visible()
    await doc_row(delegate, doc_id).get_by_test_id("doc-open").click()
    await expect(delegate.get_by_test_id("ink-canvas")).to_have_attribute("data-private", "2")
    r = await m["d1"].call("GET", f"/api/meetings/{m.id}/documents/{doc_id}/my-annotations")
    assert r.status_code == 200, r.text
    mine = r.json()["annotations"]
    assert sorted(a["kind"] for a in mine) == ["ink", "note"]
    assert all(a["scope"] == "private" and a["owner"] == m["d1"].user["id"] for a in mine)

    # … and nobody else ever sees them: not the chair's page, not the room.
    await doc_row(chair, doc_id).get_by_test_id("doc-open").click()
    chair_canvas = chair.get_by_test_id("ink-canvas")
    await expect(chair.get_by_test_id("page-image")).to_have_class(re.compile("is-loaded"))
    await expect(chair_canvas).to_have_attribute("data-notes-loaded", "true")
    await expect(chair_canvas).to_have_attribute("data-annotations", "0")
    assert await chair_canvas.evaluate(RED_PIXELS) == 0
    r = await m["chair"].call("GET", f"/api/meetings/{m.id}/documents/{doc_id}/my-annotations")
    assert r.json()["annotations"] == []
    assert (await room_view(m, "chair"))["marks"] == []
    received = await chair.evaluate("JSON.stringify(window.__ws.received)")
    assert "Đề nghị làm rõ" not in received

    # "Clear my page" erases them (after a confirmation).
    await delegate.get_by_test_id("ink-clear").click()
    await delegate.get_by_test_id("dialog-confirm").click()
    await expect(delegate.get_by_test_id("ink-canvas")).to_have_attribute("data-private", "0")
    async def left() -> int:
        r = await m["d1"].call("GET", f"/api/meetings/{m.id}/documents/{doc_id}/my-annotations")
        return len(r.json()["annotations"])
    for _ in range(50):
        if await left() == 0:
            break
        await delegate.wait_for_timeout(100)
    assert await left() == 0

    # Palm rejection: a finger draws until a pen has been used on this device; from then on
    # fingers pan, and a palm resting on the glass leaves no mark.
    stage = delegate.get_by_test_id("page-stage")
    await delegate.get_by_test_id("tool-pen").click()
    finger = [[0.2, 0.7], [0.3, 0.72], [0.4, 0.7]]
    await stage.evaluate(POINTER_STROKE, ["touch", 11, finger])
    await expect(canvas).to_have_attribute("data-private", "1")
    await stage.evaluate(POINTER_STROKE, ["pen", 12, [[0.5, 0.6], [0.6, 0.62], [0.7, 0.6]]])
    await expect(canvas).to_have_attribute("data-private", "2")
    await stage.evaluate(POINTER_STROKE, ["touch", 13, [[0.2, 0.8], [0.3, 0.82], [0.4, 0.8]]])
    await delegate.wait_for_timeout(300)
    await expect(canvas).to_have_attribute("data-private", "2")
    await expect(canvas).to_have_attribute("data-pending", "0")

    # Downloads: the original and the annotated copies.
    links = {t: await delegate.get_by_test_id(t).get_attribute("href")
             for t in ("download-mine", "download-shared", "download-original")}
    base = f"/api/meetings/{m.id}/documents/{doc_id}"
    assert links == {"download-mine": f"{base}/export?with=mine",
                     "download-shared": f"{base}/export?with=shared",
                     "download-original": f"{base}/file"}
    assert errors == []


async def test_secretary_uploads_a_confidential_document(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url)
    d1, d2 = m["d1"].user, m["d2"].user
    secretary = await (await new_context()).new_page()
    reader = await (await new_context()).new_page()
    other = await (await new_context()).new_page()
    errors = watch_errors(secretary, reader, other)
    await sign_in(secretary, server.base_url, m["secretary"].user["username"])
    await sign_in(reader, server.base_url, d1["username"])
    await sign_in(other, server.base_url, d2["username"])
    for page in (secretary, reader, other):
        await open_room(page, server.base_url, m.id)

    # A file that is not a document is refused with the server's own words.
    await secretary.get_by_test_id("doc-add").click()
    dialog = secretary.get_by_test_id("upload-dialog")
    await dialog.get_by_test_id("upload-file").set_input_files(files=[{
        "name": "ghi-chu.txt", "mimeType": "text/plain",
        "buffer": "Đây không phải tài liệu PDF".encode()}])
    await dialog.get_by_test_id("upload-submit").click()
    error = dialog.get_by_test_id("upload-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-code", "unsupported_type")

    # A confidential PDF for d1 only, under the second agenda item.
    await dialog.get_by_test_id("upload-file").set_input_files(files=[{
        "name": "Phương án.pdf", "mimeType": "application/pdf", "buffer": make_pdf(2)}])
    await dialog.get_by_test_id("upload-title").fill("Phương án sắp xếp tổ chức")
    await dialog.get_by_test_id("upload-item").select_option(index=2)
    await dialog.get_by_test_id("upload-class-confidential").click()
    await dialog.locator(f"[data-testid=upload-viewer][data-user-id='{d1['id']}']").click()
    await secretary.screenshot(path=artifacts / "documents-upload-dialog-1280x800.png")
    await dialog.get_by_test_id("upload-submit").click()
    await expect(dialog).to_have_count(0)

    # The secretary is not a reader: a sealed entry, its readers named, nothing of the file.
    row = secretary.get_by_test_id("doc-row")
    await expect(row).to_have_attribute("data-classification", "confidential")
    await expect(row.get_by_test_id("doc-title")).to_have_text("Tài liệu mật")
    await expect(row.get_by_test_id("doc-sealed-viewers")).to_have_text(
        f"Người được xem: {d1['full_name']}")
    await expect(row).not_to_contain_text("Phương án")
    await expect(row).not_to_contain_text("trang")
    await expect(reader.get_by_test_id("doc-row")).to_contain_text("Phương án sắp xếp tổ chức")
    await expect(other.get_by_test_id("documents-empty")).to_be_visible()

    # The secretary knows of it but may not read it; the named reader may.
    await row.get_by_test_id("doc-open").click()
    await expect(secretary.get_by_test_id("viewer-message-text")).to_have_text("Tài liệu mật")
    await expect(secretary.get_by_test_id("page-image")).to_be_hidden()
    await reader.get_by_test_id("doc-open").click()
    await expect(reader.get_by_test_id("page-image")).to_have_class(re.compile("is-loaded"))
    await expect(reader.get_by_test_id("viewer-class")).to_have_text("Mật")
    await reader.screenshot(path=artifacts / "documents-confidential-reader-1280x800.png")

    # Its menu offers the secretary removal only: renaming, versions and readers are the
    # viewers' (and the server refuses them anyway).
    await secretary.get_by_test_id("viewer-close").click()
    await row.get_by_test_id("doc-menu-toggle").click()
    await expect(row.get_by_test_id("doc-remove")).to_be_visible()
    for testid in ("doc-rename", "doc-new-version", "doc-reclassify"):
        await expect(row.get_by_test_id(testid)).to_have_count(0)
    await row.get_by_test_id("doc-menu-toggle").click()

    # An internal document the secretary makes confidential for d1: d2 loses it at once.
    notice = await attach(m, await upload(m, make_pdf(1, "Tờ trình"), "Tờ trình.pdf"),
                          title="Tờ trình bổ sung", classification="internal")
    await expect(doc_row(other, notice)).to_contain_text("Tờ trình bổ sung")
    await doc_row(secretary, notice).get_by_test_id("doc-menu-toggle").click()
    await doc_row(secretary, notice).get_by_test_id("doc-reclassify").click()
    dialog = secretary.get_by_test_id("classify-dialog")
    await dialog.get_by_test_id("classify-class-confidential").click()
    await dialog.locator(f"[data-testid=classify-viewer][data-user-id='{d1['id']}']").click()
    await dialog.get_by_test_id("classify-submit").click()
    await expect(dialog).to_have_count(0)
    await expect(doc_row(other, notice)).to_have_count(0)
    await expect(doc_row(reader, notice)).to_contain_text("Tờ trình bổ sung")
    await expect(doc_row(secretary, notice).get_by_test_id("doc-title")).to_have_text(
        "Tài liệu mật")
    assert errors == []


async def test_a_room_with_thousands_of_marks_opens_light_and_shows_each_page_its_own(
    new_context: Any, tmp_path: Any
) -> None:
    """Hour three of a long meeting: 1,100 shared strokes on a 10-page document. The room
    opens on a snapshot that carries none of them; paging through, the delegate's viewer
    shows on each page exactly that page's marks, fetched as it shows the page."""
    # A server of its own, whose presenters may draw as fast as the test sends.
    fast = {"PHONGHOP_COMMANDS_PER_SECOND": "5000", "PHONGHOP_COMMAND_BURST": "5000"}
    server = ServerProcess(tmp_path / "long", "demo", env=fast)
    try:
        m = await make_meeting(server.base_url)
        doc_id = await attach(m, await upload(m, make_pdf(10), "Báo cáo.pdf"), title="Báo cáo")
        per_page = {n: 20 * n for n in range(1, 11)}
        strokes = [(n, k, count) for n, count in per_page.items() for k in range(count)]
        # A connection may send 20 messages a second after a burst of 60: the strokes go
        # over the chair's and the secretary's tablets, 8 each, within that.
        pens = [await WsClient.open(server.ws_url, m[who].token)
                for who in ("chair", "secretary") for _ in range(8)]
        for pen in pens:
            await pen.join(m.id)

        async def draw_share(pen: WsClient, share: list[tuple[int, int, int]]) -> None:
            for sent, (n, k, count) in enumerate(share):
                if sent >= 50 and sent % 15 == 0:
                    await asyncio.sleep(1)
                y = (k + 1) / (count + 1)
                await pen.send({"type": "command", "id": f"s{n}-{k}", "meeting": m.id,
                                "name": "annotation.add", "args": {
                                    "document_id": doc_id, "page": n, "kind": "ink",
                                    "points": [v for i in range(10) for v in (0.1 + i * 0.08, y)],
                                    "color": "#d32f2f"}})
            acks = 0
            while acks < len(share):
                message = await pen.next(timeout=60)
                assert message["type"] != "rejected", message
                acks += message["type"] == "ack"
            await pen.close()

        await asyncio.gather(*(draw_share(pen, strokes[i::len(pens)])
                               for i, pen in enumerate(pens)))

        delegate = await (await new_context()).new_page()
        errors = watch_errors(delegate)
        fetched: list[Any] = []
        delegate.on("response", lambda r: fetched.append(r) if "/marks?" in r.url else None)
        await sign_in(delegate, server.base_url, m["d1"].user["username"])
        await open_room(delegate, server.base_url, m.id)
        snapshot = await delegate.evaluate(
            "JSON.stringify(window.__ws.received.filter((m) => m.type === 'snapshot').at(-1))")
        assert len(snapshot) < 20_000  # the strokes' points are not in it (~500 KB of them)
        await doc_row(delegate, doc_id).get_by_test_id("doc-open").click()
        canvas = delegate.get_by_test_id("ink-canvas")
        for n, count in per_page.items():
            await expect(delegate.get_by_test_id("page-number")).to_have_text(f"Trang {n}/10")
            await expect(canvas).to_have_attribute("data-shared-loaded", "true")
            await expect(canvas).to_have_attribute("data-shared", str(count))
            if n < 10:
                await delegate.get_by_test_id("page-next").click()
        # Each page's marks came once, with that page's strokes and no other's.
        served: dict[int, list[int]] = {}
        for r in list(fetched):
            body = await r.json()
            assert body["page"] not in served, body["page"]
            served[body["page"]] = [a["id"] for a in body["marks"] if a["page"] == body["page"]]
            assert len(served[body["page"]]) == len(body["marks"])
        assert {n: len(ids) for n, ids in served.items()} == per_page
        # Reloaded, the tablet revalidates what it has (its ETag: the page has not changed,
        # so the server answers 304 without the store) and shows the same marks.
        seen = len(fetched)
        await delegate.reload()
        await expect(delegate.locator("body")).to_have_attribute("data-connection", "online")
        await doc_row(delegate, doc_id).get_by_test_id("doc-open").click()
        await expect(canvas).to_have_attribute("data-shared-loaded", "true")
        await expect(canvas).to_have_attribute("data-shared", str(per_page[1]))
        again = fetched[seen:]
        assert again and all([(await r.request.all_headers()).get("if-none-match", "").startswith(
            'W/"marks-') for r in again])
        assert errors == []

        # Another tablet's first fetch of the page fails (a busy server, a dropped link):
        # the page asks again by itself while it is shown.
        other = await (await new_context()).new_page()
        failed: list[str] = []

        async def fail_once(route: Route) -> None:
            if failed:
                await route.continue_()
            else:  # late, after the page's image came: nothing else repaints the page
                failed.append(route.request.url)
                await asyncio.sleep(2)
                await route.abort("connectionreset")

        await other.route(re.compile(r"/pages/1/marks\?"), fail_once)
        await sign_in(other, server.base_url, m["d2"].user["username"])
        await open_room(other, server.base_url, m.id)
        await doc_row(other, doc_id).get_by_test_id("doc-open").click()
        canvas = other.get_by_test_id("ink-canvas")
        await expect(canvas).to_have_attribute("data-shared-loaded", "true")
        await expect(canvas).to_have_attribute("data-shared", str(per_page[1]))
        assert len(failed) == 1
    finally:
        server.stop()
