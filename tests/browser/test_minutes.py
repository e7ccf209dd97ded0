"""The minutes in a real browser: the secretary's editor, an edit conflict merged without
losing a word, the preview of the file to sign, the signatures (the secretary, then the
chair) and the verified badge on a delegate's tablet."""

from __future__ import annotations

import re
from typing import Any

import pymupdf
import pytest
from playwright.async_api import Locator, Page, expect

from phonghop.signing.devca import DevCA
from tests.browser.conftest import PORTRAIT, open_room, sign_in
from tests.conftest import Meeting, credential, make_meeting

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGN_PASSWORD = "mật-khẩu-ký-số"
FILE = re.compile(r"^/api/meetings/\d+/minutes/files/[0-9a-f]{64}$")


async def command(m: Meeting, who: str, name: str, **args: Any) -> dict[str, Any]:
    r = await m[who].call("POST", f"/api/meetings/{m.id}/commands", {"name": name, "args": args})
    assert r.status_code == 200, r.text
    return r.json()


def p12_of(server: Any, m: Meeting, who: str) -> bytes:
    """A PKCS#12 credential for `who` from the demo server's development CA."""
    user = m[who].user
    cred = DevCA.load(server.data_dir / "dev-ca").issue_user(
        user_id=str(user["id"]), full_name=user["full_name"], position=user.get("position", ""))
    return cred.to_p12(SIGN_PASSWORD)


async def give_credential(server: Any, m: Meeting, who: str) -> None:
    async with m[who].client() as c:
        r = await c.post("/api/me/credential",
                         json=credential(p12_of(server, m, who), SIGN_PASSWORD))
    assert r.status_code == 201, r.text


class Pages:
    """Signed-in pages of one test, each watched for script errors."""

    def __init__(self, server: Any, new_context: Any, m: Meeting) -> None:
        self.server, self.new_context, self.m = server, new_context, m
        self.errors: list[str] = []

    async def open(self, who: str, viewport: Any = None) -> Page:
        page = await (await self.new_context(viewport)).new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{who}: {e}"))
        await sign_in(page, self.server.base_url, self.m[who].user["username"])
        await open_room(page, self.server.base_url, self.m.id)
        return page


def section(view: Locator, key: str) -> Locator:
    return view.locator(f'[data-testid="minutes-section"][data-section="{key}"]')


async def open_editor(page: Page) -> Locator:
    await page.get_by_test_id("minutes-panel").get_by_test_id("minutes-open").tap()
    view = page.get_by_test_id("minutes-view")
    await expect(view).to_be_visible()
    return view


async def expect_page_image(page: Page) -> None:
    """The first preview page is on screen and its image really loaded."""
    await expect(page.get_by_test_id("preview-page").first).to_be_visible()
    await page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=preview-page]');"
        " return Boolean(i && i.complete && i.naturalWidth > 0); }")


async def test_minutes_from_the_editor_to_the_verified_signatures(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    await command(m, "chair", "agenda.next")
    for who in ("chair", "d1"):
        await command(m, who, "attendance.check_in")
    await give_credential(server, m, "secretary")  # the chair brings theirs in the dialog
    pages = Pages(server, new_context, m)
    secretary = await pages.open("secretary")
    chair = await pages.open("chair")
    delegate = await pages.open("d1", viewport=PORTRAIT)

    # A delegate sees the status only: no editor, no draft.
    d_panel = delegate.get_by_test_id("minutes-panel")
    await expect(d_panel.get_by_test_id("minutes-status")).to_have_text("Bản nháp")
    await expect(d_panel.get_by_test_id("minutes-drafting")).to_have_text(
        "Biên bản đang được thư ký soạn thảo.")
    await expect(d_panel.get_by_test_id("minutes-open")).to_have_count(0)

    # The secretary sets the minutes' header and writes the general proceedings.
    view = await open_editor(secretary)
    await expect(view.get_by_test_id("minutes-template")).to_have_value("state")
    await expect(view.get_by_test_id("minutes-template").locator("option:checked")).to_have_text(
        "Cơ quan nhà nước — Nghị định 30/2020/NĐ-CP")
    await view.get_by_test_id("minutes-issuer").fill("ỦY BAN NHÂN DÂN PHƯỜNG KIỂM THỬ")
    await view.get_by_test_id("minutes-number").fill("15/BB-UBND")
    await view.get_by_test_id("minutes-place").fill("Hoàn Kiếm")
    await expect(view.get_by_test_id("minutes-settings-state")).to_have_text("Chưa lưu")
    await view.get_by_test_id("minutes-settings-save").tap()
    await expect(view.get_by_test_id("minutes-settings-state")).to_have_text("")
    await expect(view.get_by_test_id("minutes-settings-save")).to_be_disabled()
    titles = view.get_by_test_id("section-title")
    await expect(titles).to_have_text(
        ["Diễn biến chung", "1. Nội dung 1", "2. Nội dung 2", "Kết thúc cuộc họp"])

    first = "Đồng chí Chủ trì khai mạc cuộc họp, nêu mục đích và yêu cầu."
    general = section(view, "general")
    await general.get_by_test_id("section-text").fill(first)
    await expect(general.get_by_test_id("section-state")).to_contain_text("Đã lưu")
    await expect(view.get_by_test_id("minutes-save-state")).to_have_text("Đã lưu tất cả")

    # A conclusion with its owner and deadline ("5 rõ"), edited once; another one removed.
    conclusion_text = "Giao Phòng Kinh tế hoàn thiện dự thảo kế hoạch đầu tư công năm 2027"
    for text, owner in ((conclusion_text, "Phòng Kinh tế"), ("Kết luận nhập nhầm", "Không rõ")):
        await view.get_by_test_id("conclusion-add").tap()
        form = view.get_by_test_id("conclusion-form")
        await expect(form.get_by_test_id("conclusion-item")).to_have_value(re.compile(r"^\d+$"))
        await form.get_by_test_id("conclusion-text-input").fill(text)
        await form.get_by_test_id("conclusion-owner-input").fill(owner)
        await form.get_by_test_id("conclusion-deadline-input").fill("2026-12-20")
        await form.get_by_test_id("conclusion-save").tap()
        await expect(form).to_have_count(0)
    conclusions = view.get_by_test_id("conclusion")
    await expect(conclusions.get_by_test_id("conclusion-text")).to_have_text(
        [conclusion_text, "Kết luận nhập nhầm"])
    await conclusions.nth(1).get_by_test_id("conclusion-remove").tap()
    await secretary.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    await expect(conclusions).to_have_count(1)
    await conclusions.get_by_test_id("conclusion-edit").tap()
    form = view.get_by_test_id("conclusion-form")
    await expect(form.get_by_test_id("conclusion-text-input")).to_have_value(conclusion_text)
    await expect(conclusions.get_by_test_id("conclusion-item-title")).to_have_count(1)
    kept_id = await conclusions.get_attribute("data-conclusion-id")
    await form.get_by_test_id("conclusion-owner-input").fill("Phòng Kinh tế, Hạ tầng và Đô thị")
    await form.get_by_test_id("conclusion-item").select_option("")  # the meeting as a whole
    await form.get_by_test_id("conclusion-save").tap()
    await expect(form).to_have_count(0)
    await expect(conclusions).to_have_attribute("data-conclusion-id", kept_id or "")
    await expect(conclusions.get_by_test_id("conclusion-item-title")).to_have_count(0)
    await expect(conclusions.get_by_test_id("conclusion-owner")).to_have_text(
        "Phòng Kinh tế, Hạ tầng và Đô thị")
    await expect(conclusions.get_by_test_id("conclusion-deadline")).to_have_text("20/12/2026")

    # The chair opens the same section: the secretary's text is there.
    c_view = await open_editor(chair)
    c_general = section(c_view, "general")
    await expect(c_general.get_by_test_id("section-text")).to_have_value(first)
    await expect(c_general.get_by_test_id("section-state")).to_contain_text(
        m["secretary"].user["full_name"])

    # The chair's edit leaves the page but is lost on the wire (a dying link), while the
    # secretary saves a new text of the section.
    await chair.evaluate("window.__ws.dropCommands = true")
    mine = "Ý kiến của Chủ tọa: thống nhất chủ trương, đề nghị bổ sung số liệu."
    await c_general.get_by_test_id("section-text").fill(mine)
    await expect(c_general.get_by_test_id("section-state")).to_have_text("Đang lưu…")
    theirs = first + "\nĐại biểu thảo luận, thống nhất cao với dự thảo kế hoạch."
    await general.get_by_test_id("section-text").fill(theirs)
    await expect(general.get_by_test_id("section-state")).to_contain_text("Đã lưu")

    # The link comes back: the chair's edit goes again, on the version it started from, and is
    # refused. The chair's text stays; the secretary's is shown beside it.
    await chair.evaluate("window.__ws.dropCommands = false; window.__ws.sockets.at(-1).close()")
    await expect(c_general.get_by_test_id("section-conflict")).to_contain_text(
        f"{m['secretary'].user['full_name']} vừa sửa phần này")
    await expect(c_general.get_by_test_id("conflict-theirs")).to_have_text(theirs)
    await expect(c_general.get_by_test_id("section-text")).to_have_value(mine)
    await expect(c_general.get_by_test_id("section-state")).to_have_text("Cần gộp nội dung")
    await expect(c_view.get_by_test_id("minutes-save-state")).to_have_text(
        "Có phần cần gộp nội dung")
    await chair.screenshot(path=artifacts / "minutes-conflict-1280x800.png")
    received = await chair.evaluate("window.__ws.received")
    assert any(x["type"] == "rejected" and x["code"] == "edit_conflict" for x in received)

    # The chair merges: the secretary's text below theirs, then saves on the newer version.
    await c_general.get_by_test_id("conflict-append").tap()
    merged = f"{mine}\n\n{theirs}"
    await expect(c_general.get_by_test_id("section-text")).to_have_value(merged)
    await c_general.get_by_test_id("conflict-save").tap()
    await expect(c_general.get_by_test_id("section-conflict")).to_be_hidden()
    await expect(c_general.get_by_test_id("section-state")).to_contain_text("Đã lưu")
    await expect(general.get_by_test_id("section-text")).to_have_value(merged)
    sent = await chair.evaluate("window.__ws.sent")
    edits = [x["args"] for x in sent if x["type"] == "command" and x["name"] == "minutes.edit"]
    assert [e["base_version"] for e in edits] == [1, 1, 2], edits
    assert edits[-1]["text"] == merged

    # Before the secretary signs, the chair is told to wait; the chair ends the session.
    await c_view.get_by_test_id("minutes-close").tap()
    c_panel = chair.get_by_test_id("minutes-panel")
    await expect(c_panel.get_by_test_id("minutes-sign-note")).to_have_text(
        "Chủ tọa ký số sau khi thư ký đã ký.")
    await chair.get_by_test_id("end-session").tap()
    await chair.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    await expect(chair.get_by_test_id("meeting-status")).to_have_text("Đã kết thúc")

    # The secretary makes the file to sign and sees its pages.
    preview = view.get_by_test_id("minutes-preview")
    await view.get_by_test_id("minutes-prepare").tap()
    await expect(view.get_by_test_id("minutes-tab-preview")).to_have_attribute(
        "aria-selected", "true")
    await expect(preview.get_by_test_id("minutes-prepared")).to_contain_text("Bản để ký:")
    await expect_page_image(secretary)

    # An edit after that makes the preview outdated; the file is made again.
    await view.get_by_test_id("minutes-tab-edit").tap()
    closing = section(view, "closing")
    await closing.get_by_test_id("section-text").fill(
        "Cuộc họp kết thúc vào hồi 11 giờ 30 phút cùng ngày.")
    await expect(closing.get_by_test_id("section-state")).to_contain_text("Đã lưu")
    await view.get_by_test_id("minutes-tab-preview").tap()
    await expect(preview.get_by_test_id("minutes-outdated")).to_contain_text(
        "Bản xem trước đã cũ")
    await expect(preview.get_by_test_id("preview-page")).to_have_count(0)
    await expect(preview.get_by_test_id("minutes-sign-note")).to_contain_text(
        "Hãy tạo bản để ký")
    await view.get_by_test_id("minutes-prepare").tap()
    await expect(preview.get_by_test_id("minutes-prepared")).to_contain_text("Bản để ký:")
    await expect_page_image(secretary)
    href = await preview.get_by_test_id("minutes-prepared-download").get_attribute("href")
    assert href and FILE.match(href), href
    pdf = await (await secretary.request.get(server.base_url + href)).body()
    text = " ".join(p.get_text() for p in pymupdf.open(stream=pdf, filetype="pdf"))
    text = " ".join(text.split())
    for expected in ("BIÊN BẢN", "15/BB-UBND", "thống nhất chủ trương",
                     "Đại biểu thảo luận", "Phòng Kinh tế, Hạ tầng và Đô thị", "11 giờ 30 phút"):
        assert expected in text, expected
    await secretary.screenshot(path=artifacts / "minutes-preview-1280x800.png")

    # The secretary signs: a wrong password first, shown in the server's words.
    await preview.get_by_test_id("minutes-sign").tap()
    dialog = secretary.get_by_test_id("sign-dialog")
    await dialog.get_by_test_id("sign-password").fill("sai-mat-khau")
    await dialog.get_by_test_id("sign-submit").tap()
    error = dialog.get_by_test_id("sign-error")
    await expect(error).to_have_attribute("data-code", "wrong_password")
    await expect(error).to_have_text("Mật khẩu tệp chứng thư số (.p12) không đúng.")
    await dialog.get_by_test_id("sign-password").fill(SIGN_PASSWORD)
    await dialog.get_by_test_id("sign-submit").tap()
    await expect(dialog).to_have_count(0)
    await expect(view.get_by_test_id("minutes-status")).to_have_text("Đang ký")
    signature = preview.get_by_test_id("minutes-signature")
    await expect(signature.get_by_test_id("signature-name")).to_have_text(
        m["secretary"].user["full_name"])
    await expect(signature.get_by_test_id("signature-role")).to_have_text("Thư ký")
    await expect(signature.get_by_test_id("signature-time")).to_contain_text("ký lúc")
    await view.get_by_test_id("minutes-tab-edit").tap()
    await expect(view.get_by_test_id("minutes-locked")).to_be_visible()
    await expect(section(view, "general").get_by_test_id("section-text")).to_have_attribute(
        "readonly", "")

    # The chair signs next; the chair's certificate is not on the server yet: the dialog
    # says so and takes the .p12 file, opened with the same password.
    await expect(c_panel.get_by_test_id("minutes-status")).to_have_text("Đang ký")
    await c_panel.get_by_test_id("minutes-sign").tap()
    dialog = chair.get_by_test_id("sign-dialog")
    await expect(dialog.get_by_test_id("sign-form")).to_contain_text("Ký số biên bản — Chủ tọa")
    await dialog.get_by_test_id("sign-password").fill(SIGN_PASSWORD)
    await dialog.get_by_test_id("sign-submit").tap()
    error = dialog.get_by_test_id("sign-error")
    await expect(error).to_have_attribute("data-code", "no_credential")
    await expect(error).to_contain_text("chưa có chứng thư số")
    await dialog.screenshot(path=artifacts / "minutes-sign-no-credential.png")
    await dialog.get_by_test_id("credential-file").set_input_files(
        {"name": "chu-toa.p12", "mimeType": "application/x-pkcs12",
         "buffer": p12_of(server, m, "chair")})
    await expect(dialog.get_by_test_id("sign-submit")).to_have_text("Tải lên và ký số")
    await dialog.get_by_test_id("sign-submit").tap()
    await expect(dialog).to_have_count(0)
    await expect(c_panel.get_by_test_id("minutes-status")).to_have_text("Đã ký")
    await expect(c_panel.get_by_test_id("minutes-signature").get_by_test_id("signature-role")
                 ).to_have_text(["Thư ký", "Chủ tọa"])

    # Every tablet in the meeting: the signed minutes, their download, the verified badge.
    await expect(d_panel.get_by_test_id("minutes-status")).to_have_text("Đã ký")
    await expect(d_panel.get_by_test_id("minutes-signed-title")).to_have_text(
        "Biên bản đã ký số")
    await expect(d_panel.get_by_test_id("minutes-signature").get_by_test_id("signature-name")
                 ).to_have_text([m["secretary"].user["full_name"], m["chair"].user["full_name"]])
    badge = d_panel.get_by_test_id("minutes-verify-badge")
    await expect(badge).to_contain_text("Chữ ký hợp lệ")
    await expect(d_panel.get_by_test_id("minutes-verify")).to_have_attribute("data-valid", "true")
    await expect(d_panel.get_by_test_id("verify-signer")).to_have_count(2)
    room = (await m["d1"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    last = room["minutes"]["signatures"][-1]["sha256"]
    link = d_panel.get_by_test_id("minutes-download")
    await expect(link).to_have_attribute("href", f"/api/meetings/{m.id}/minutes/files/{last}")
    download = await delegate.request.get(server.base_url + (await link.get_attribute("href")))
    assert download.status == 200
    assert (await download.body()).startswith(b"%PDF")
    await d_panel.screenshot(path=artifacts / "minutes-signed-panel-768x1024.png")

    # The same in English.
    await delegate.get_by_test_id("lang-switch").tap()
    await expect(d_panel.get_by_test_id("minutes-status")).to_have_text("Signed")
    await expect(badge).to_contain_text("Signatures valid")
    await expect(d_panel.get_by_test_id("minutes-signature").get_by_test_id("signature-role")
                 ).to_have_text(["Secretary", "Chair"])
    assert pages.errors == []


async def test_text_typed_but_never_saved_survives_a_reload(
    server: Any, new_context: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=1)
    agenda = (await m["secretary"].call("GET", f"/api/meetings/{m.id}")).json()["room"]["agenda"]
    key = f"item:{agenda[0]['id']}"
    pages = Pages(server, new_context, m)
    secretary = await pages.open("secretary")
    view = await open_editor(secretary)
    item = section(view, key)
    await expect(item.get_by_test_id("section-title")).to_have_text("1. Nội dung 1")

    # Typed while the link is dying: the save never reaches the server; the page reloads.
    await secretary.evaluate("window.__ws.dropCommands = true")
    text = "Báo cáo viên trình bày tờ trình; các đại biểu góp ý về tiến độ giải ngân."
    await item.get_by_test_id("section-text").fill(text)
    await expect(item.get_by_test_id("section-state")).to_have_text("Đang lưu…")
    await secretary.reload()
    await expect(secretary.locator("body")).to_have_attribute("data-connection", "online")

    # The editor brings the text back and saves it.
    view = await open_editor(secretary)
    await expect(item.get_by_test_id("section-text")).to_have_value(text)
    await expect(item.get_by_test_id("section-state")).to_contain_text("Đã lưu")
    room = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    assert [(s["key"], s["text"]) for s in room["minutes"]["sections"]] == [(key, text)]
    assert pages.errors == []
