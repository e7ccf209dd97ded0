"""Voting in a real browser: the chair's console, the delegates' ballots, the projector."""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, Route, expect

from tests.browser.conftest import PORTRAIT, open_room, sign_in
from tests.conftest import Meeting, changed, make_meeting

pytestmark = pytest.mark.asyncio(loop_scope="session")

RECEIPT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")
TRACKER = re.compile(r"^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$")  # shown: 16 of 64
MOTION_LABELS = ["Tán thành", "Không tán thành", "Không biểu quyết"]


def unidecode_vi(text: str) -> str:
    """Vietnamese as typed without diacritics ("Người dùng" → "Nguoi dung")."""
    bare = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in bare if not unicodedata.combining(ch)).replace(
        "đ", "d").replace("Đ", "D")


async def command(m: Meeting, who: str, name: str, **args: Any) -> httpx.Response:
    r = await m[who].call("POST", f"/api/meetings/{m.id}/commands", {"name": name, "args": args})
    assert r.status_code == 200, r.text
    return r


async def room_view(m: Meeting, who: str) -> dict[str, Any]:
    r = await m[who].call("GET", f"/api/meetings/{m.id}")
    assert r.status_code == 200, r.text
    return r.json()["room"]


class Pages:
    """Signed-in pages of one test, each watched for script errors."""

    def __init__(self, server: Any, new_context: Any, m: Meeting) -> None:
        self.server, self.new_context, self.m = server, new_context, m
        self.errors: list[str] = []

    async def open(self, who: str, projector: bool = False, viewport: Any = None) -> Page:
        page = await (await self.new_context(viewport)).new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{who}: {e}"))
        await sign_in(page, self.server.base_url, self.m[who].user["username"])
        if projector:
            await page.goto(f"{self.server.base_url}/#/meeting/{self.m.id}/projector")
            await expect(page.locator("body")).to_have_attribute("data-connection", "online")
        else:
            await open_room(page, self.server.base_url, self.m.id)
        return page


async def create_poll(chair: Page, title: str, kind: str = "motion", secret: bool = False,
                      eligibility: str | None = None, auto_publish: bool = True,
                      allow_change: bool = False) -> Locator:
    """Fill the console's form for the active item; the draft's card."""
    await chair.get_by_test_id("poll-new").tap()
    form = chair.get_by_test_id("poll-form")
    await expect(form.get_by_test_id("poll-item")).to_have_value(re.compile(r"\d+"))
    await form.get_by_test_id("poll-title").fill(title)
    await expect(form.get_by_test_id("poll-kind")).to_have_value("motion")
    if kind != "motion":
        await form.get_by_test_id("poll-kind").select_option(kind)
    if secret:
        # A secret poll is counted by a board: by default the chair, the secretary and the
        # first delegate, two of whom are needed to count.
        await expect(form.get_by_test_id("board-fields")).to_be_hidden()
        await form.get_by_test_id("poll-secret").check()
        await expect(form.get_by_test_id("board-fields")).to_be_visible()
        await expect(form.locator("[data-testid=board-member] input:checked")).to_have_count(3)
        for role in ("Chủ trì", "Thư ký", "Đại biểu"):
            await expect(form.locator("[data-testid=board-member]").filter(
                has=chair.locator("input:checked")).filter(has_text=role)).to_have_count(1)
        await expect(form.get_by_test_id("board-threshold")).to_have_value("2")
    if eligibility:
        await form.get_by_test_id("poll-eligibility").select_option(eligibility)
    if not auto_publish:
        await form.get_by_test_id("poll-auto-publish").uncheck()
    if allow_change:
        await form.get_by_test_id("poll-allow-change").check()
    await expect(form.get_by_test_id("poll-rule-preview")).to_have_text(
        "Quá 1/2 tổng số thành viên")
    await form.get_by_test_id("poll-save").tap()
    await expect(form).to_be_hidden()
    card = chair.get_by_test_id("poll-card").filter(has_text=title)
    await expect(card).to_have_attribute("data-status", "draft")
    await expect(card).to_contain_text("Nội dung: Nội dung 1")
    return card


async def vote(page: Page, label: str, secret: bool = False) -> str:
    """Choose on the sheet, confirm, and return the receipt shown (a secret ballot: its
    tracker's display form)."""
    sheet = page.get_by_test_id("vote-sheet")
    await sheet.get_by_role("button", name=label, exact=True).tap()
    await expect(sheet.get_by_test_id("vote-picked")).to_have_text(label)
    await expect(sheet.get_by_test_id("vote-confirm")).to_have_text("Xác nhận biểu quyết")
    await sheet.get_by_test_id("vote-confirm").tap()
    await expect(sheet.get_by_test_id("vote-done")).to_contain_text("Đã biểu quyết")
    receipt = (await sheet.get_by_test_id("vote-receipt").text_content() or "").strip()
    assert (TRACKER if secret else RECEIPT).match(receipt), receipt
    return receipt


async def expect_result(scope: Locator, counts: list[str], verdict: str) -> None:
    result = scope.get_by_test_id("poll-result")
    await expect(result.get_by_test_id("poll-verdict")).to_have_text(verdict)
    await expect(result.get_by_test_id("result-label")).to_have_text(MOTION_LABELS)
    await expect(result.get_by_test_id("result-count")).to_have_text(counts)
    await expect(result.get_by_test_id("poll-rule")).to_contain_text("Quá 1/2 tổng số thành viên")


async def test_motion_from_console_to_ballots_to_projector(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url)
    await command(m, "chair", "agenda.next")
    for who in ("d1", "d2"):  # the default poll is for the members present
        await command(m, who, "attendance.check_in")
    pages = Pages(server, new_context, m)
    chair = await pages.open("chair")
    d1 = await pages.open("d1")
    d2 = await pages.open("d2", viewport=PORTRAIT)
    projector = await pages.open("secretary", projector=True)

    # The chair prepares the motion in the console and opens it.
    title = "Thông qua Nghị quyết về kế hoạch đầu tư công năm 2027"
    card = await create_poll(chair, title)
    await expect(d1.get_by_test_id("vote-sheet")).to_be_hidden()  # drafts are the organisers'
    await card.get_by_test_id("poll-open").tap()
    await expect(card).to_have_attribute("data-status", "open")
    await expect(card.get_by_test_id("poll-progress")).to_have_text("0/2 đã biểu quyết")

    # Both delegates' tablets show the ballot at once; the projector shows the poll.
    for page in (d1, d2):
        sheet = page.get_by_test_id("vote-sheet")
        await expect(sheet.get_by_test_id("vote-sheet-title")).to_have_text(title)
        await expect(sheet.get_by_test_id("vote-option")).to_have_text(MOTION_LABELS)
    screen = projector.get_by_test_id("poll-screen")
    await expect(screen.get_by_test_id("poll-screen-title")).to_have_text(title)
    await d2.screenshot(path=artifacts / "voting-ballot-768x1024.png")

    # d1 votes for, through the confirm step; the receipt is shown.
    receipt = await vote(d1, "Tán thành")
    await expect(d1.get_by_test_id("vote-my-choice")).to_have_text("Lựa chọn của bạn: Tán thành")
    await expect(card.get_by_test_id("poll-progress")).to_have_text("1/2 đã biểu quyết")
    await expect(screen.get_by_test_id("poll-progress")).to_have_text("1/2 đã biểu quyết")
    await d1.screenshot(path=artifacts / "voting-voted-1280x800.png")

    # After a reload the tablet still shows the vote and its receipt.
    await d1.reload()
    await expect(d1.locator("body")).to_have_attribute("data-connection", "online")
    sheet1 = d1.get_by_test_id("vote-sheet")
    await expect(sheet1.get_by_test_id("vote-done")).to_contain_text("Đã biểu quyết")
    await expect(sheet1.get_by_test_id("vote-receipt")).to_have_text(receipt)
    await expect(sheet1.get_by_test_id("vote-option")).to_have_count(0)

    # "Chọn lại" goes back from the confirm step; then d2 votes against.
    sheet2 = d2.get_by_test_id("vote-sheet")
    await sheet2.get_by_role("button", name="Tán thành", exact=True).tap()
    await sheet2.get_by_test_id("vote-back").tap()
    await vote(d2, "Không tán thành")
    await expect(card.get_by_test_id("poll-progress")).to_have_text("2/2 đã biểu quyết")
    await chair.screenshot(path=artifacts / "voting-console-1280x800.png")

    # The chair closes (after confirming); the result is published at once everywhere:
    # 1 for, 1 against, a tie, which never passes.
    await card.get_by_test_id("poll-close").tap()
    await chair.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    await expect(card).to_have_attribute("data-status", "published")
    for scope in (d1.get_by_test_id("vote-sheet"), d2.get_by_test_id("vote-sheet"), screen, card):
        await expect_result(scope, ["1", "1", "0"], "Không thông qua")
    await expect(screen.get_by_test_id("poll-tie")).to_have_text(
        "Số phiếu tán thành bằng số phiếu không tán thành: không thông qua.")
    await projector.screenshot(path=artifacts / "voting-projector-result-1280x800.png")
    await d2.screenshot(path=artifacts / "voting-result-768x1024.png")

    # A named poll: the console lists who voted what.
    await card.get_by_test_id("show-ballots").tap()
    rows = card.get_by_test_id("ballot-row")
    await expect(rows).to_have_count(2)
    for who, choice in (("d1", "Tán thành"), ("d2", "Không tán thành")):
        row = rows.filter(has_text=m[who].user["full_name"])
        await expect(row.get_by_test_id("ballot-choice")).to_have_text(choice)
    # Its own search (only the rows in view are in the page): a name without diacritics.
    await card.get_by_test_id("ballot-filter").fill(
        unidecode_vi(m["d2"].user["full_name"]).upper())
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(m["d2"].user["full_name"])
    await card.get_by_test_id("ballot-filter").fill("")
    await expect(rows).to_have_count(2)
    await expect(card.get_by_test_id("result-csv")).to_have_attribute(
        "href", re.compile(r"/polls/\d+/result\.csv$"))

    # The delegate closes the result; it stays in the room's voting panel. In English the
    # verdict reads in English.
    await d1.get_by_test_id("vote-sheet-close").tap()
    await expect(d1.get_by_test_id("vote-sheet")).to_be_hidden()
    panel_card = d1.get_by_test_id("polls-panel").get_by_test_id("poll-card")
    await expect(panel_card.get_by_test_id("poll-verdict")).to_have_text("Không thông qua")
    await d1.get_by_test_id("lang-switch").tap()
    await expect(panel_card.get_by_test_id("poll-verdict")).to_have_text("Not adopted")
    await expect(panel_card.get_by_test_id("result-label")).to_have_text(
        ["For", "Against", "Abstain"])
    assert not pages.errors, pages.errors


async def test_secret_ballot_receipt_is_in_the_published_list(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url)
    await command(m, "chair", "agenda.next")
    pages = Pages(server, new_context, m)
    chair = await pages.open("chair")
    d1 = await pages.open("d1")
    secretary = await pages.open("secretary")  # on the counting board with the chair and d1

    # A secret ballot open to every member, checked in or not, where a voter may change
    # their mind until the close; the chair publishes the result after checking it.
    title = "Bầu bổ sung Ủy viên Ủy ban nhân dân (bỏ phiếu kín)"
    card = await create_poll(chair, title, secret=True, eligibility="members",
                             auto_publish=False, allow_change=True)
    await expect(card).to_contain_text("Bỏ phiếu kín")
    # The board's tablets make the key by themselves; then the poll may open.
    for page in (chair, d1, secretary):
        await expect(page.get_by_test_id("board-panel").get_by_test_id(
            "board-device-status")).to_contain_text("Sẵn sàng")
    await expect(card.get_by_test_id("board-status")).to_have_text("Ban kiểm phiếu: Sẵn sàng")
    await expect(card.get_by_test_id("poll-open")).to_be_enabled()
    await card.get_by_test_id("poll-open").tap()
    sheet = d1.get_by_test_id("vote-sheet")
    await expect(sheet).to_contain_text("Bỏ phiếu kín")
    first = await vote(d1, "Tán thành", secret=True)
    await expect(sheet.get_by_test_id("vote-done")).to_contain_text("Mã kiểm tra phiếu")
    await expect(card.get_by_test_id("poll-progress")).to_have_text("1/4 đã biểu quyết")

    # "Thay đổi": the new ballot replaces the first one (a new tracker, still one voter).
    await sheet.get_by_test_id("vote-change").tap()
    await sheet.get_by_role("button", name="Không biểu quyết", exact=True).tap()
    await expect(sheet.get_by_test_id("vote-confirm-step")).to_contain_text(
        "Lựa chọn mới của bạn:")
    await sheet.get_by_test_id("vote-confirm").tap()
    await expect(sheet.get_by_test_id("vote-receipt")).not_to_have_text(first)
    receipt = (await sheet.get_by_test_id("vote-receipt").text_content() or "").strip()
    assert TRACKER.match(receipt), receipt
    # Both ballots went encrypted, for d1, with no choice in clear; each acknowledged by
    # its tracker, whose first 16 digits are what the tablet shows.
    sent = [x for x in await d1.evaluate("window.__ws.sent")
            if x["type"] == "command" and x["name"] == "vote.cast"]
    assert [sorted(x["args"]) for x in sent] == [["ballot", "poll_id"]] * 2, sent
    assert {x["args"]["ballot"]["voter"] for x in sent} == {str(m["d1"].user["id"])}
    acks = {x["id"]: x for x in await d1.evaluate("window.__ws.received") if x["type"] == "ack"}
    trackers = [acks[x["id"]]["receipt"] for x in sent]
    shown = ["-".join(tr[i:i + 4] for i in range(0, 16, 4)) for tr in trackers]
    assert shown == [first, receipt], (shown, first, receipt)
    await expect(card.get_by_test_id("poll-progress")).to_have_text("1/4 đã biểu quyết")

    # The device keeps the tracker, not what a secret ballot chose.
    stored = await d1.evaluate(
        "Object.entries(localStorage).filter(([k]) => k.startsWith('phonghop.vote.'))")
    assert [json.loads(v) for _, v in stored] == [{"receipt": trackers[1]}], stored

    await card.get_by_test_id("poll-close").tap()
    await chair.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    await expect(card).to_have_attribute("data-status", "closed")
    await expect(card.get_by_test_id("board-counting")).to_have_text(
        "Đang kiểm phiếu… 0/2 thành viên ban kiểm phiếu đã giải mã")
    await expect(sheet).to_have_attribute("data-mode", "closed")
    await expect(sheet.get_by_test_id("vote-receipt")).to_have_text(receipt)
    # Two of the three board members decrypt the sum: d1 on the sheet, the chair in the card.
    await sheet.get_by_test_id("board-decrypt").tap()
    await expect(sheet.get_by_test_id("board-decrypted")).to_be_visible()
    await expect(card.get_by_test_id("board-counting")).to_have_text(
        "Đang kiểm phiếu… 1/2 thành viên ban kiểm phiếu đã giải mã")
    await card.get_by_test_id("board-decrypt").tap()
    await expect_result(card, ["0", "0", "1"], "Không thông qua")
    await expect(card.get_by_test_id("poll-verified")).to_have_text("✓Đã kiểm chứng")
    await expect(sheet.get_by_test_id("poll-result")).to_have_count(0)  # not published yet
    await card.get_by_test_id("poll-publish").tap()
    await expect(card).to_have_attribute("data-status", "published")
    await expect_result(sheet, ["0", "0", "1"], "Không thông qua")
    await expect(sheet.get_by_test_id("poll-receipt-count")).to_have_text("1")

    # After publication the delegate finds their receipt in the list of receipts counted.
    await sheet.get_by_test_id("vote-sheet-close").tap()
    panel_card = d1.get_by_test_id("polls-panel").get_by_test_id("poll-card").filter(has_text=title)
    await expect(panel_card.get_by_test_id("show-ballots")).to_have_count(0)  # secret
    await panel_card.get_by_test_id("show-receipts").tap()
    await expect(panel_card.get_by_test_id("my-receipt-check")).to_have_text(
        f"Mã kiểm tra phiếu của bạn {receipt} có trong danh sách: phiếu của bạn đã được kiểm.")
    mine = panel_card.locator("[data-testid=receipt-item].is-mine")
    await expect(mine).to_have_text(receipt)
    await expect(panel_card.get_by_test_id("receipt-item")).to_have_count(1)  # not `first`
    await panel_card.get_by_test_id("receipt-filter").fill(receipt[:5].lower())
    await expect(panel_card.get_by_test_id("receipt-item")).to_have_text([receipt])
    await d1.screenshot(path=artifacts / "voting-receipts-1280x800.png")
    assert not pages.errors, pages.errors


async def test_show_of_hands_counts_entered_by_the_secretary(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url)
    await command(m, "chair", "agenda.next")
    pages = Pages(server, new_context, m)
    chair = await pages.open("chair")
    secretary = await pages.open("secretary")
    d1 = await pages.open("d1")
    projector = await pages.open("i1", projector=True)

    title = "Thông qua biên bản phiên họp trước"
    card = await create_poll(chair, title, kind="hands")
    await card.get_by_test_id("poll-open").tap()
    screen = projector.get_by_test_id("poll-screen")
    await expect(screen.get_by_test_id("poll-screen-title")).to_have_text(title)
    # No ballot for a show of hands: the delegate's tablet shows no sheet.
    panel_card = d1.get_by_test_id("polls-panel").get_by_test_id("poll-card")
    await expect(panel_card).to_have_attribute("data-status", "open")
    await expect(d1.get_by_test_id("vote-sheet")).to_be_hidden()

    # The secretary enters the counts; the result is published at once (3 of 4 members).
    form = secretary.get_by_test_id("poll-card").filter(has_text=title).get_by_test_id(
        "record-form")
    await form.get_by_test_id("record-for").fill("3")
    await form.get_by_test_id("record-against").fill("1")
    await form.get_by_test_id("record-abstain").fill("0")
    await form.get_by_test_id("record-submit").tap()
    dialog = secretary.get_by_test_id("confirm-dialog")
    await expect(dialog).to_contain_text("Tán thành 3, không tán thành 1, không biểu quyết 0")
    await dialog.get_by_test_id("dialog-confirm").tap()
    for scope in (screen, card, d1.get_by_test_id("vote-sheet")):
        await expect_result(scope, ["3", "1", "0"], "Thông qua")
    await projector.screenshot(path=artifacts / "voting-projector-hands-1280x800.png")
    assert not pages.errors, pages.errors


async def test_a_lost_ack_never_casts_a_second_ballot(server: Any, new_context: Any) -> None:
    m = await make_meeting(server.base_url, delegates=4)
    created = await command(m, "chair", "poll.create", title="Thông qua chương trình họp",
                            eligibility="members")
    poll_id = changed(created, "poll.created")["poll"]["id"]
    await command(m, "chair", "poll.open", poll_id=poll_id)
    pages = Pages(server, new_context, m)

    async def cast_losing_the_ack(page: Page, label: str) -> dict[str, Any]:
        """Vote while acks are hidden from the app; the ack the server did send."""
        await page.evaluate("window.__ws.dropAcks = true")
        sheet = page.get_by_test_id("vote-sheet")
        await sheet.get_by_role("button", name=label, exact=True).tap()
        await sheet.get_by_test_id("vote-confirm").tap()
        # A function, not a bare expression: Playwright evals a bare expression anew at each
        # poll, which the page's CSP (no 'unsafe-eval') refuses once the ack is not there
        # at the first look; a function is evaluated once and then only called.
        await page.wait_for_function(
            "() => window.__ws.received.some((x) => x.type === 'ack' && x.receipt)")
        await expect(sheet.get_by_test_id("vote-sending")).to_be_visible()
        received = await page.evaluate("window.__ws.received")
        return next(x for x in received if x["type"] == "ack" and x.get("receipt"))

    def casts(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [x for x in sent if x["type"] == "command" and x["name"] == "vote.cast"]

    # The link dies after the server answered: the reconnect repeats the same command.
    d2 = await pages.open("d2")
    first = await cast_losing_the_ack(d2, "Tán thành")
    await d2.evaluate("window.__ws.dropAcks = false; window.__ws.sockets.at(-1).close()")
    sheet = d2.get_by_test_id("vote-sheet")
    await expect(sheet.get_by_test_id("vote-done")).to_contain_text("Đã biểu quyết")
    await expect(sheet.get_by_test_id("vote-receipt")).to_have_text(first["receipt"])
    sent = casts(await d2.evaluate("window.__ws.sent"))
    assert len(sent) == 2 and sent[0] == sent[1], sent
    assert sent[0]["id"] == first["id"]
    assert sent[0]["args"]["receipt"] == first["receipt"]
    acks = [x for x in await d2.evaluate("window.__ws.received")
            if x["type"] == "ack" and x["id"] == first["id"]]
    assert [a.get("duplicate", False) for a in acks] == [False, True], acks

    # The page is reloaded before the ack: the new page sends the kept command again.
    d3 = await pages.open("d3")
    lost = await cast_losing_the_ack(d3, "Không tán thành")
    await d3.reload()
    sheet = d3.get_by_test_id("vote-sheet")
    await expect(sheet.get_by_test_id("vote-done")).to_contain_text("Đã biểu quyết")
    await expect(sheet.get_by_test_id("vote-receipt")).to_have_text(lost["receipt"])
    await expect(sheet.get_by_test_id("vote-my-choice")).to_have_text(
        "Lựa chọn của bạn: Không tán thành")
    resent = casts(await d3.evaluate("window.__ws.sent"))
    assert [x["id"] for x in resent] == [lost["id"]], resent

    # The box's answer to "have I voted?" was read before the vote and arrives after its
    # ack: the stale "no" does not take the vote (and its receipt) off the sheet.
    d4 = await pages.open("d4")
    asked, release = asyncio.Event(), asyncio.Event()

    async def hold_the_answer(route: Route) -> None:
        response = await route.fetch()  # read now, before the vote: not voted
        asked.set()
        await release.wait()
        await route.fulfill(response=response)

    await d4.route(re.compile(r"/polls/\d+/me$"), hold_the_answer)
    await d4.evaluate("window.__ws.sockets.at(-1).close()")  # back online: the box is asked
    await asked.wait()
    await expect(d4.locator("body")).to_have_attribute("data-connection", "online")
    receipt = await vote(d4, "Tán thành")
    async with d4.expect_event("requestfinished",
                               lambda r: r.url.endswith(f"/polls/{poll_id}/me")):
        release.set()
    await d4.wait_for_timeout(300)  # the stale answer is applied within a task or two
    sheet = d4.get_by_test_id("vote-sheet")
    await expect(sheet.get_by_test_id("vote-done")).to_contain_text("Đã biểu quyết")
    await expect(sheet.get_by_test_id("vote-receipt")).to_have_text(receipt)

    # Three ballots in the box, not five.
    await command(m, "chair", "poll.close", poll_id=poll_id)
    poll = next(p for p in (await room_view(m, "d1"))["polls"] if p["id"] == poll_id)
    assert poll["result"]["cast"] == 3, poll
    assert pages.errors == [], pages.errors
