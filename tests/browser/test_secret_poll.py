"""An encrypted secret poll from the web client alone: the counting board's tablets make the
key, the voters' tablets encrypt their ballots, two of the three board members decrypt the
sum, and the public board downloaded from the page verifies on its own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from phonghop.voting.secret.board import BoardStatus, verify_board
from phonghop.voting.secret.ceremony import (
    Complaint,
    EncryptedShare,
    MemberSecrets,
    Round1,
    Verdict,
    ceremony_id,
    encrypt_share,
    judge_complaint,
    round2,
)
from phonghop.voting.secret.group import Point, Scalar
from tests.browser.conftest import PORTRAIT
from tests.browser.test_voting import TRACKER, Pages, command, create_poll, expect_result, vote
from tests.conftest import WsClient, make_meeting
from tests.server.conftest import uid
from tests.server.encrypted import create_secret, poll_as
from tests.voting.board_kit import BoardDevice, ceremony_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

VOTES = {"d1": "Tán thành", "d2": "Tán thành", "d3": "Tán thành", "d4": "Tán thành",
         "d5": "Không tán thành"}


async def board_status(page: Page) -> str:
    panel = page.get_by_test_id("polls-panel").get_by_test_id("board-panel")
    return (await panel.get_by_test_id("board-device-status").text_content() or "").strip()


async def board_ready(server: Any, new_context: Any, title: str, delegates: int = 1
                      ) -> tuple[Pages, dict[str, Page], Locator]:
    """A meeting in session with the default board's tablets open (the chair, the
    secretary, d1) and a secret poll `title` whose key they made: its pages, those three
    pages, and the poll's card on the chair's console (ready to open)."""
    m = await make_meeting(server.base_url, delegates=delegates)
    await command(m, "chair", "agenda.next")
    pages = Pages(server, new_context, m)
    board = {who: await pages.open(who) for who in ("chair", "d1", "secretary")}
    card = await create_poll(board["chair"], title, secret=True, eligibility="members")
    await expect(card.get_by_test_id("board-status")).to_have_text("Ban kiểm phiếu: Sẵn sàng")
    return pages, board, card


async def test_board_makes_the_key_voters_encrypt_two_members_count_and_the_board_verifies(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=5)
    await command(m, "chair", "agenda.next")
    pages = Pages(server, new_context, m)
    chair = await pages.open("chair")
    voters = {who: await pages.open(who) for who in VOTES}
    d1 = voters["d1"]

    # The chair names the poll; its board is the default one: the chair, the secretary and
    # d1, two of whom are needed to count. The secretary's tablet is not in the room yet,
    # so the key cannot be made and the poll cannot open.
    title = "Bầu Trưởng ban Kinh tế - Ngân sách (bỏ phiếu kín)"
    card = await create_poll(chair, title, secret=True, eligibility="members")
    names = [m[who].user["full_name"] for who in ("chair", "secretary", "d1")]
    await expect(card.get_by_test_id("board-members")).to_have_text(
        f"Ban kiểm phiếu: {', '.join(names)} (cần 2/3 thành viên để kiểm phiếu)")
    await expect(card.get_by_test_id("board-status")).to_have_text(
        "Ban kiểm phiếu: đang tạo khóa 2/3… (bước 1/3)")
    await expect(card.get_by_test_id("poll-open")).to_be_disabled()
    await expect(card.get_by_test_id("poll-open")).to_have_attribute(
        "title", "Ban kiểm phiếu chưa tạo xong khóa")
    panel = d1.get_by_test_id("polls-panel").get_by_test_id("board-panel")
    await expect(panel).to_contain_text("Ban kiểm phiếu")
    await expect(panel.get_by_test_id("board-step-key")).to_have_attribute("data-state", "done")
    await expect(panel.get_by_test_id("board-step-shares")).to_contain_text(
        "chờ các thành viên (2/3)")
    await expect(d1.get_by_test_id("poll-edit")).to_have_count(0)  # a member, not an organiser
    await d1.screenshot(path=artifacts / "secret-board-waiting-1280x800.png")

    # The secretary's tablet joins: the three devices finish the ceremony by themselves.
    secretary = await pages.open("secretary")
    await expect(card.get_by_test_id("board-status")).to_have_text("Ban kiểm phiếu: Sẵn sàng")
    for page in (chair, secretary, d1):
        panel = page.get_by_test_id("polls-panel").get_by_test_id("board-panel")
        for step in ("board-step-key", "board-step-shares", "board-step-check"):
            await expect(panel.get_by_test_id(step)).to_have_attribute("data-state", "done")
        assert (await board_status(page)).startswith("Sẵn sàng")
    # Each member's secret stays on its own device, in IndexedDB, never in localStorage.
    for page in (chair, secretary, d1):
        kept = await page.evaluate("""async () => {
          const db = await new Promise((ok) => {
            const r = indexedDB.open("phonghop-board"); r.onsuccess = () => ok(r.result); });
          const all = await new Promise((ok) => {
            const r = db.transaction("secrets").objectStore("secrets").getAll();
            r.onsuccess = () => ok(r.result); });
          return all.map((x) => [x.index, Boolean(x.x)]);
        }""")
        assert len(kept) == 1 and kept[0][1], kept
        local = await page.evaluate("JSON.stringify(Object.entries(localStorage))")
        assert "coefficients" not in local and "transport" not in local
    await card.get_by_test_id("poll-open").tap()
    await expect(card).to_have_attribute("data-status", "open")

    # Five voters encrypt their ballots on their tablets; each sees its tracker.
    trackers = {}
    for who, label in VOTES.items():
        trackers[who] = await vote(voters[who], label, secret=True)
        assert TRACKER.match(trackers[who])
    await expect(card.get_by_test_id("poll-progress")).to_have_text("5/6 đã biểu quyết")
    sent = [x["args"] for page in voters.values() for x in await page.evaluate("window.__ws.sent")
            if x["type"] == "command" and x["name"] == "vote.cast"]
    assert len(sent) == 5 and all(sorted(a) == ["ballot", "poll_id"] for a in sent), sent

    # Closed: the box is sealed, the board counts. The projector says so meanwhile.
    projector = await pages.open("i1", projector=True)
    await card.get_by_test_id("poll-close").tap()
    await chair.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    await expect(card).to_have_attribute("data-status", "closed")
    await expect(card.get_by_test_id("board-counting")).to_have_text(
        "Đang kiểm phiếu… 0/2 thành viên ban kiểm phiếu đã giải mã")
    screen = projector.get_by_test_id("poll-screen")
    await expect(screen.get_by_test_id("poll-counting")).to_have_text("Đang kiểm phiếu…")
    await expect(card.get_by_test_id("poll-void")).to_have_text(
        "Huỷ kết quả (không đủ thành viên ban kiểm phiếu)")

    # Two members decrypt: the secretary in the console, d1 on the sheet.
    await secretary.get_by_test_id("poll-card").filter(has_text=title).get_by_test_id(
        "board-decrypt").tap()
    await expect(card.get_by_test_id("board-counting")).to_have_text(
        "Đang kiểm phiếu… 1/2 thành viên ban kiểm phiếu đã giải mã")
    sheet = d1.get_by_test_id("vote-sheet")
    await sheet.get_by_test_id("board-decrypt").tap()

    # Published at once, verified: 4 for, 1 against, more than half of the 6 members.
    await expect(card).to_have_attribute("data-status", "published")
    for scope in (card, sheet, screen, voters["d5"].get_by_test_id("vote-sheet")):
        await expect_result(scope, ["4", "1", "0"], "Thông qua")
        await expect(scope.get_by_test_id("poll-verified")).to_contain_text("Đã kiểm chứng")
    await projector.screenshot(path=artifacts / "secret-result-projector-1280x800.png")

    # A voter downloads the public board from the page: it verifies, counts and all, and
    # holds every tracker the voters were shown.
    d5 = voters["d5"]
    await d5.get_by_test_id("vote-sheet-close").tap()
    link = d5.get_by_test_id("polls-panel").get_by_test_id("board-json")
    async with d5.expect_download() as info:
        await link.tap()
    download = await info.value
    doc = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
    report = verify_board(doc)
    assert report.status == BoardStatus.VERIFIED, report.problems
    assert report.counts == [4, 1, 0]
    shown = {"-".join(b["tracker"][i:i + 4] for i in range(0, 16, 4)) for b in doc["ballots"]}
    assert shown == set(trackers.values())
    assert not pages.errors, pages.errors


async def test_chair_voids_a_count_the_board_cannot_finish(
    server: Any, new_context: Any
) -> None:
    title = "Lấy phiếu tín nhiệm (bỏ phiếu kín)"
    pages, board, card = await board_ready(server, new_context, title)
    chair, d1, secretary = board["chair"], board["d1"], board["secretary"]
    await card.get_by_test_id("poll-open").tap()
    await vote(d1, "Tán thành", secret=True)
    await card.get_by_test_id("poll-close").tap()
    await chair.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()

    # Only the secretary decrypts; the other two members' tablets are lost. The chair ends
    # the poll without a result, after confirming.
    await secretary.get_by_test_id("poll-card").filter(has_text=title).get_by_test_id(
        "board-decrypt").tap()
    await expect(card.get_by_test_id("board-counting")).to_have_text(
        "Đang kiểm phiếu… 1/2 thành viên ban kiểm phiếu đã giải mã")
    await expect(secretary.get_by_test_id("poll-void")).to_have_count(0)  # the chair's
    await card.get_by_test_id("poll-void").tap()
    dialog = chair.get_by_test_id("confirm-dialog")
    await expect(dialog).to_contain_text("Chỉ dùng khi không đủ 2 thành viên ban kiểm phiếu")
    await dialog.get_by_test_id("dialog-confirm").tap()
    await expect(card).to_have_attribute("data-status", "void")
    await expect(card.get_by_test_id("poll-status")).to_have_text("Kết quả bị huỷ")
    await expect(card.get_by_test_id("poll-void-note")).to_have_text(
        "Kết quả bị huỷ: không đủ thành viên ban kiểm phiếu để giải mã.")
    await expect(d1.get_by_test_id("vote-sheet").get_by_test_id("poll-void-note")).to_be_visible()
    await expect(d1.get_by_test_id("board-decrypt")).to_have_count(0)
    assert not pages.errors, pages.errors


async def test_a_lost_ack_resends_the_same_encrypted_ballot(
    server: Any, new_context: Any
) -> None:
    title = "Thông qua chương trình họp (bỏ phiếu kín)"
    pages, _, card = await board_ready(server, new_context, title, delegates=3)
    await card.get_by_test_id("poll-open").tap()

    async def cast_losing_the_ack(page: Page, label: str) -> tuple[dict[str, Any], Any]:
        """Vote while acks are hidden from the app: the ack the server sent, the command."""
        await page.evaluate("window.__ws.dropAcks = true")
        sheet = page.get_by_test_id("vote-sheet")
        await sheet.get_by_role("button", name=label, exact=True).tap()
        await sheet.get_by_test_id("vote-confirm").tap()
        await page.wait_for_function(
            "() => window.__ws.received.some((x) => x.type === 'ack' && x.receipt)")
        await expect(sheet.get_by_test_id("vote-sending")).to_be_visible()
        ack = next(x for x in await page.evaluate("window.__ws.received")
                   if x["type"] == "ack" and x.get("receipt"))
        return ack, casts(await page.evaluate("window.__ws.sent"))[0]

    def casts(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [x for x in sent if x["type"] == "command" and x["name"] == "vote.cast"]

    def shown(tracker: str) -> str:
        return "-".join(tracker[i:i + 4] for i in range(0, 16, 4))

    # The link dies after the server answered: the reconnect repeats the same ballot, which
    # the box recognises by its tracker.
    d2 = await pages.open("d2")
    first, cast = await cast_losing_the_ack(d2, "Tán thành")
    await d2.evaluate("window.__ws.dropAcks = false; window.__ws.sockets.at(-1).close()")
    sheet = d2.get_by_test_id("vote-sheet")
    await expect(sheet.get_by_test_id("vote-done")).to_contain_text("Đã biểu quyết")
    await expect(sheet.get_by_test_id("vote-receipt")).to_have_text(shown(first["receipt"]))
    sent = casts(await d2.evaluate("window.__ws.sent"))
    assert len(sent) == 2 and sent[0] == sent[1] == cast, sent
    acks = [x for x in await d2.evaluate("window.__ws.received")
            if x["type"] == "ack" and x["id"] == first["id"]]
    assert [a.get("duplicate", False) for a in acks] == [False, True], acks

    # The page is reloaded before the ack: the new page sends the kept ballot again.
    d3 = await pages.open("d3")
    lost, cast = await cast_losing_the_ack(d3, "Không tán thành")
    await d3.reload()
    sheet = d3.get_by_test_id("vote-sheet")
    await expect(sheet.get_by_test_id("vote-done")).to_contain_text("Đã biểu quyết")
    await expect(sheet.get_by_test_id("vote-receipt")).to_have_text(shown(lost["receipt"]))
    assert casts(await d3.evaluate("window.__ws.sent")) == [cast]

    # Two ballots in the box, not four.
    await expect(card.get_by_test_id("poll-progress")).to_have_text("2/4 đã biểu quyết")
    assert pages.errors == [], pages.errors


async def test_a_member_saves_the_key_and_counts_from_another_tablet(
    server: Any, new_context: Any, tmp_path: Path
) -> None:
    """The secretary saves a backup of their key; their tablet is then lost. On another
    tablet the key file opens only with its passphrase, and the count goes on."""
    title = "Bầu Phó Trưởng ban (bỏ phiếu kín)"
    pages, board, card = await board_ready(server, new_context, title)
    chair, d1, secretary = board["chair"], board["d1"], board["secretary"]

    mine = secretary.get_by_test_id("poll-card").filter(has_text=title)
    await mine.get_by_test_id("board-export-key").tap()
    dialog = secretary.get_by_test_id("board-export")
    await dialog.get_by_test_id("board-export-passphrase").fill("Ngân sách 2027 kín")
    await dialog.get_by_test_id("board-export-again").fill("Ngân sách 2027 kin")
    await dialog.get_by_test_id("dialog-confirm").tap()
    await expect(dialog.get_by_test_id("board-export-error")).to_have_text(
        "Hai lần nhập mật khẩu không giống nhau.")
    await dialog.get_by_test_id("board-export-again").fill("Ngân sách 2027 kín")
    async with secretary.expect_download() as info:
        await dialog.get_by_test_id("dialog-confirm").tap()
    saved = tmp_path / "khoa.json"  # kept apart from the tablet (its downloads go with it)
    await (await info.value).save_as(saved)
    text = await asyncio.to_thread(saved.read_text)
    doc = json.loads(text)
    assert doc["version"] == "phonghop-board-key/1" and doc["index"] == 2
    assert "Ngân sách" not in text and "share" not in text  # sealed, not in clear

    await card.get_by_test_id("poll-open").tap()
    await vote(d1, "Tán thành", secret=True)
    await card.get_by_test_id("poll-close").tap()
    await chair.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    await expect(card).to_have_attribute("data-status", "closed")

    # The secretary's tablet is lost; another one holds no key until the file is opened.
    await secretary.context.close()
    spare = await pages.open("secretary")
    mine = spare.get_by_test_id("poll-card").filter(has_text=title)
    await mine.get_by_test_id("board-decrypt").tap()
    await expect(mine.get_by_test_id("board-error")).to_contain_text(
        "Thiết bị này không giữ khóa của bạn")
    await expect(mine.get_by_test_id("board-import-key")).to_be_visible()
    await mine.get_by_test_id("board-import-file").set_input_files(str(saved))
    dialog = spare.get_by_test_id("board-import")
    await dialog.get_by_test_id("board-import-passphrase").fill("đoán bừa một mật khẩu")
    await dialog.get_by_test_id("dialog-confirm").tap()
    await expect(dialog.get_by_test_id("board-import-error")).to_have_text(
        "Mật khẩu không đúng, hoặc tệp đã bị sửa.")
    await dialog.get_by_test_id("board-import-passphrase").fill("Ngân sách 2027 kín")
    await dialog.get_by_test_id("dialog-confirm").tap()
    await expect(mine.get_by_test_id("board-key-restored")).to_have_text(
        "Đã mở tệp khóa: thiết bị này giữ khóa của bạn.")
    await mine.get_by_test_id("board-decrypt").tap()
    await expect(card.get_by_test_id("board-counting")).to_have_text(
        "Đang kiểm phiếu… 1/2 thành viên ban kiểm phiếu đã giải mã")
    await d1.get_by_test_id("vote-sheet").get_by_test_id("board-decrypt").tap()
    await expect(card).to_have_attribute("data-status", "published")
    await expect(card.get_by_test_id("poll-verified")).to_contain_text("Đã kiểm chứng")
    assert not pages.errors, pages.errors


async def test_a_ballot_whose_proof_fails_is_refused_and_encrypted_again(
    server: Any, new_context: Any
) -> None:
    """A proof changed on the way (a device fault, or tampering) enters the box and is
    acknowledged, then taken out when its proofs are checked (`ballot_refused`,
    `invalid_ballot`); the voter's tablet encrypts the same choice again with fresh
    randomness, and that ballot is the one counted, under its own tracker."""
    pages, _, card = await board_ready(server, new_context, "Thông qua quy chế (bỏ phiếu kín)",
                                       delegates=2)
    d2 = await pages.open("d2")
    await card.get_by_test_id("poll-open").tap()

    await d2.evaluate("window.__ws.corruptNextBallot = true")
    await vote(d2, "Không tán thành", secret=True)
    for _ in range(200):  # the second ballot's ack (the page's CSP forbids wait_for_function)
        received = await d2.evaluate("window.__ws.received")
        acks = [x for x in received if x["type"] == "ack" and x.get("receipt")]
        if len(acks) >= 2:
            break
        await asyncio.sleep(0.05)
    sent = [x for x in await d2.evaluate("window.__ws.sent")
            if x["type"] == "command" and x["name"] == "vote.cast"]
    refused = [x for x in received if x["type"] in ("rejected", "ballot_refused")]
    assert [(x["type"], x["code"]) for x in refused] == [("ballot_refused", "invalid_ballot")]
    assert refused[0]["id"] == sent[0]["id"] and refused[0]["receipt"] == acks[0]["receipt"]
    assert len(sent) == 2 and sent[0]["args"]["ballot"] != sent[1]["args"]["ballot"]
    assert [a["id"] for a in acks] == [sent[0]["id"], sent[1]["id"]]
    receipt = acks[1]["receipt"]
    await expect(d2.get_by_test_id("vote-sheet").get_by_test_id("vote-receipt")).to_have_text(
        "-".join(receipt[i:i + 4] for i in range(0, 16, 4)))
    await expect(card.get_by_test_id("poll-progress")).to_have_text("1/3 đã biểu quyết")
    assert not pages.errors, pages.errors


# ---- a dishonest dealer in the key ceremony ----

def _mismatch(cer: bytes, dealer: MemberSecrets, good: EncryptedShare,
              transport_key: Point) -> EncryptedShare:
    """A share that opens but is not fᵢ(j): it does not match the dealer's commitments."""
    wrong = Scalar.reduce(dealer.share_for(good.recipient).value + 1)
    return encrypt_share(cer, dealer.index, good.recipient, wrong, transport_key)


def _broken_box(cer: bytes, dealer: MemberSecrets, good: EncryptedShare,
                transport_key: Point) -> EncryptedShare:
    """The right share, its box changed after sealing: the tag fails."""
    return EncryptedShare(good.dealer, good.recipient, good.r,
                          good.box[:-1] + bytes([good.box[-1] ^ 1]))


def _no_point(cer: bytes, dealer: MemberSecrets, good: EncryptedShare,
              transport_key: Point) -> EncryptedShare:
    """An envelope whose R is not a point: nobody can open it, as anyone sees."""
    return EncryptedShare(good.dealer, good.recipient, Point(b"\xff" * 32), good.box)


async def _reached(ws: WsClient, poll_id: int, status: str, since: int) -> None:
    """Wait until this device has seen the ceremony begun at `ws.seen[since]` reach
    `status` (every ceremony event carries the board's new status)."""
    def reached(e: dict[str, Any]) -> bool:
        return (e["type"] == "event" and e["kind"].startswith("board.")
                and e["data"].get("poll_id") == poll_id and e["data"].get("status") == status)
    if not any(reached(e) for e in ws.seen[since:]):
        await ws.until(reached, timeout=30)


async def test_a_members_tablet_proves_a_dealers_bad_share_and_the_key_is_made_again(
    server: Any, new_context: Any, open_ws: Any, artifacts: Any
) -> None:
    """Member 2 of the board is a real tablet (board.js, the automatic ceremony); member 1
    is a dishonest dealer, played in Python over the real websocket: it deals with
    voting.secret.ceremony and tampers the share meant for the tablet. The tablet finds
    the bad share, files a complaint with the envelope's key and its proof, the room judges
    the dealer at fault (proven) and the ceremony fails; the chair makes the key again.
    Three kinds of bad share (a share that does not match, a box that does not open, an R
    that is no point), then an honest ceremony whose key counts the poll."""
    m = await make_meeting(server.base_url, delegates=3)
    await command(m, "chair", "agenda.next")
    pages = Pages(server, new_context, m)
    chair = await pages.open("chair")
    tablet = await pages.open("d2", viewport=PORTRAIT)
    sockets: dict[str, WsClient] = {}
    for who in ("d1", "d3"):
        sockets[who] = await open_ws(m[who])
        await sockets[who].join(m.id)
    dealer_ws, honest_ws = sockets["d1"], sockets["d3"]
    title = "Bầu Trưởng ban Pháp chế (bỏ phiếu kín)"
    draft = await create_secret(m, ("d1", "d2", "d3"), 2, title=title, eligibility="members")
    pid = draft["id"]
    card = chair.get_by_test_id("poll-card").filter(has_text=title)
    mine = tablet.get_by_test_id("poll-card").filter(has_text=title)
    names = {who: m[who].user["full_name"] for who in ("d1", "d2", "d3")}
    proven = f"{names['d2']} đã chứng minh phần khóa nhận từ {names['d1']} không đúng."

    async def deal(tamper: Any, since: dict[str, int]
                   ) -> tuple[BoardDevice, BoardDevice, dict[str, Any]]:
        """Members 1 and 3 run rounds 1 and 2 beside the tablet, member 1's share for the
        tablet tampered (when told): the devices and the envelope the tablet got. The
        tablet checks its shares as soon as the last one is dealt."""
        dealer, honest = BoardDevice(uid(m, "d1")), BoardDevice(uid(m, "d3"))
        for who, device in (("d1", dealer), ("d3", honest)):
            args = device.round1(await poll_as(m, who, pid))
            assert (await sockets[who].command(m.id, "board.round1", **args))["type"] == "ack"
        await _reached(dealer_ws, pid, "dealing", since["d1"])  # the tablet's round 1 too
        seen = await poll_as(m, "d1", pid)
        cer = ceremony_of(seen)
        assert dealer.secrets is not None
        accepted = [Round1.from_json(x, 2) for x in seen["board"]["round1"].values()]
        shares = round2(cer, dealer.secrets, accepted)
        if tamper is not None:
            tablet_key = next(r.transport_key for r in accepted if r.index == 2)
            shares = [tamper(cer, dealer.secrets, s, tablet_key) if s.recipient == 2 else s
                      for s in shares]
        dealt = await dealer_ws.command(m.id, "board.shares", poll_id=pid,
                                        shares=[s.to_json() for s in shares])
        assert dealt["type"] == "ack", dealt
        args = honest.round2(await poll_as(m, "d3", pid))
        assert (await honest_ws.command(m.id, "board.shares", **args))["type"] == "ack"
        return dealer, honest, next(s.to_json() for s in shares if s.recipient == 2)

    def complaints_sent() -> Any:
        return tablet.evaluate("""() => window.__ws.sent.filter((x) => x.type === "command"
            && x.name.startsWith("board.") && ["board.complaint", "board.confirm"]
              .includes(x.name)).map((x) => [x.name, x.args])""")

    since = {who: len(ws.seen) for who, ws in sockets.items()}
    bad_shares = [(_mismatch, "mismatch", True), (_broken_box, "undecryptable", True),
                  (_no_point, "undecryptable", False)]
    for attempt, (tamper, reason, keyed) in enumerate(bad_shares, start=1):
        before = await poll_as(m, "d3", pid)
        _, honest, envelope = await deal(tamper, since)
        await _reached(honest_ws, pid, "failed", since["d3"])

        # What each screen shows: the ceremony failed, and who proved what against whom.
        await expect(card.get_by_test_id("board-status")).to_have_text(
            "Ban kiểm phiếu: Thất bại")
        await expect(card.get_by_test_id("board-status")).to_have_attribute(
            "data-status", "failed")
        await expect(card.get_by_test_id("board-complaint")).to_have_text(proven)
        await expect(card.get_by_test_id("poll-open")).to_be_disabled()
        await expect(card.get_by_test_id("poll-open")).to_have_attribute(
            "title", "Ban kiểm phiếu chưa tạo xong khóa")
        panel = mine.get_by_test_id("board-panel")
        await expect(panel.get_by_test_id("board-device-status")).to_have_text(
            "Tạo khóa thất bại. Chờ người tổ chức tạo lại khóa.")
        await expect(mine.get_by_test_id("board-complaint")).to_have_text(proven)
        await expect(panel.get_by_test_id("board-error")).to_have_count(0)  # not refused
        for step in ("board-step-key", "board-step-shares"):
            await expect(panel.get_by_test_id(step)).to_have_attribute("data-state", "done")
        check = panel.get_by_test_id("board-step-check")  # ✕: this check found it
        await expect(check).to_have_attribute("data-state", "error")
        await expect(check.locator(".board-step-note")).to_have_text(
            f"phần khóa từ {names['d1']} không đúng")
        if attempt == 1:
            await mine.screenshot(path=artifacts / "secret-board-complaint-card.png")

        # The room's state: the dealer at fault, named with the complainer, key and proof.
        failed = (await poll_as(m, "d3", pid))["board"]
        assert failed["status"] == "failed" and failed["poll_uid"] == before["board"]["poll_uid"]
        assert failed["confirmed"] == [] and sorted(failed["dealt"]) == [1, 2, 3]
        complaint = failed["complaint"]
        assert (complaint["complainer"], complaint["dealer"], complaint["reason"]) == (
            2, 1, reason)
        assert (complaint["key"] is not None) is keyed
        assert (complaint["proof"] is not None) is keyed
        # Sent by the tablet's own device (board.js), exactly as the room recorded it.
        sent = await complaints_sent()
        assert [name for name, _ in sent] == ["board.complaint"] * attempt, sent
        assert sent[-1][1] == {"poll_id": pid, "dealer": 1, "reason": reason,
                               "key": complaint["key"], "proof": complaint["proof"]}
        # The chair, who never sees the shares, judges it again from what the room shows
        # (the round-1 messages, and the complaint with the one envelope it opens), here
        # in Python, the second implementation: the dealer is at fault.
        seen = (await poll_as(m, "chair", pid))["board"]
        assert seen["shares"] == {} and seen["complaint"] == complaint
        assert complaint["envelope"] == envelope
        verdict = judge_complaint(
            ceremony_id(seen["poll_uid"], 3, 2),
            Round1.from_json(seen["round1"]["2"], 2), Round1.from_json(seen["round1"]["1"], 2),
            EncryptedShare.from_json(complaint["envelope"]), Complaint.from_json(
                {"from": complaint["complainer"], **{k: complaint[k] for k in (
                    "dealer", "reason", "key", "proof")}}))
        assert verdict == Verdict.DEALER_AT_FAULT
        # The ceremony has stopped: member 3 found its own shares good, too late.
        name, args = honest.round3(await poll_as(m, "d3", pid))
        assert name == "board.confirm"  # member 1 dealt member 3 a good share
        late = await honest_ws.command(m.id, name, **args)
        assert late["type"] == "rejected" and late["code"] == "invalid_state", late
        assert late["message"]["en"] == (
            "Not possible while the counting board's key ceremony failed and must restart.")

        # The chair makes the key again: a new ceremony, fresh polynomials, a new poll_uid.
        # Each socket's events after `board.restarted` are the new ceremony's (the log is
        # ordered); those before it may still be unread (a frame holds several events), so
        # the count of events seen before the tap would not mark the boundary.
        await card.get_by_test_id("board-restart").tap()
        for ws in sockets.values():
            await ws.until(lambda e: e.get("kind") == "board.restarted"
                           and e["data"]["poll_id"] == pid)
        since = {who: len(ws.seen) for who, ws in sockets.items()}
        await expect(card.get_by_test_id("board-complaint")).to_have_count(0)
        again = (await poll_as(m, "d3", pid))["board"]
        assert again["poll_uid"] != failed["poll_uid"] and again["complaint"] is None

    # An honest ceremony: every member confirms, the tablet too; the key is made.
    devices = await deal(None, since)
    await _reached(honest_ws, pid, "checking", since["d3"])
    for who, device in zip(("d1", "d3"), devices[:2], strict=True):
        name, args = device.round3(await poll_as(m, who, pid))
        assert name == "board.confirm"
        assert (await sockets[who].command(m.id, name, **args))["type"] == "ack"
    honest = devices[1]
    await expect(card.get_by_test_id("board-status")).to_have_text("Ban kiểm phiếu: Sẵn sàng")
    panel = mine.get_by_test_id("board-panel")
    for step in ("board-step-key", "board-step-shares", "board-step-check"):
        await expect(panel.get_by_test_id(step)).to_have_attribute("data-state", "done")
    assert (await board_status(tablet)).startswith("Sẵn sàng")
    assert [name for name, _ in await complaints_sent()] == ["board.complaint"] * 3 + [
        "board.confirm"]

    # The key made after the restarts counts the poll: the tablet's share with member 3's.
    await card.get_by_test_id("poll-open").tap()
    await expect(card).to_have_attribute("data-status", "open")
    await vote(tablet, "Tán thành", secret=True)
    await card.get_by_test_id("poll-close").tap()
    await chair.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    await expect(card).to_have_attribute("data-status", "closed")
    sheet = tablet.get_by_test_id("vote-sheet")
    await sheet.get_by_test_id("board-decrypt").tap()
    await expect(card.get_by_test_id("board-counting")).to_have_text(
        "Đang kiểm phiếu… 1/2 thành viên ban kiểm phiếu đã giải mã")
    args = honest.partials(await poll_as(m, "d3", pid))
    assert (await honest_ws.command(m.id, "board.partial", **args))["type"] == "ack"
    await expect(card).to_have_attribute("data-status", "published")
    await expect(card.get_by_test_id("poll-verified")).to_contain_text("Đã kiểm chứng")
    r = await m["d3"].call("GET", f"/api/meetings/{m.id}/polls/{pid}/board.json")
    report = verify_board(r.json())
    assert report.status == BoardStatus.VERIFIED and report.counts == [1, 0, 0], report.problems
    assert not pages.errors, pages.errors
