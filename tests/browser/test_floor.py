"""The web client in a real browser against a real server: the floor, reconnects, replay."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from phonghop.meeting_room import decide, replay, summary
from phonghop.rooms import Actor, Rejection, RoomState
from phonghop.rooms.commands import parse_create
from tests.browser.conftest import PORTRAIT, open_room, sign_in
from tests.conftest import ServerProcess, changed, login, make_meeting
from tests.server.encrypted import store_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def command(meeting: Any, who: str, name: str, **args: Any) -> None:
    r = await meeting[who].call("POST", f"/api/meetings/{meeting.id}/commands",
                                {"name": name, "args": args})
    assert r.status_code == 200, r.text


def events_in(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event a page received, whether alone (`event`) or batched (`events`)."""
    out: list[dict[str, Any]] = []
    for message in received:
        if message["type"] == "event":
            out.append(message)
        elif message["type"] == "events":
            out.extend(message["events"])
    return out


async def endless_animations(page: Page) -> list[str]:
    """The page's running animations that never end (each one repaints it every frame)."""
    return list(await page.evaluate("""() => document.getAnimations()
        .filter((a) => a.effect.getComputedTiming().endTime === Infinity)
        .map((a) => `${a.animationName || a.transitionProperty} on ${a.effect.target.className}`)
    """))


async def test_delegate_requests_and_chair_gives_the_floor(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url)
    delegate, chair = m["d1"].user, m["chair"].user
    chair_page = await (await new_context()).new_page()
    delegate_page = await (await new_context()).new_page()
    await sign_in(chair_page, server.base_url, chair["username"])
    await sign_in(delegate_page, server.base_url, delegate["username"])
    await open_room(chair_page, server.base_url, m.id)
    await open_room(delegate_page, server.base_url, m.id)

    # Both see the same live meeting; only the chair has the chair's controls.
    for page in (chair_page, delegate_page):
        await expect(page.get_by_test_id("meeting-title")).to_contain_text("Cuộc họp kiểm thử")
        await expect(page.get_by_test_id("meeting-status")).to_have_text("Đang họp")
    await expect(chair_page.get_by_test_id("next-item")).to_be_visible()
    await expect(delegate_page.get_by_test_id("chair-controls")).to_have_count(0)

    # The chair opens the first item; both pages highlight it with its running clock.
    await chair_page.get_by_test_id("next-item").tap()
    for page in (chair_page, delegate_page):
        await expect(page.get_by_test_id("active-item")).to_contain_text("Nội dung 1")
        await expect(page.get_by_test_id("item-timer")).to_contain_text("/ 10:00")

    # Live quorum: chair and d1 check in (2 of 4 voting members: not more than half),
    # then d2 (3 of 4: reached). d1 checks in with the page's own button.
    await command(m, "chair", "attendance.check_in")
    await delegate_page.get_by_test_id("check-in").tap()
    await expect(delegate_page.get_by_test_id("checked-in")).to_be_visible()
    quorum = chair_page.get_by_test_id("quorum")
    await expect(quorum).to_have_attribute("data-present", "2")
    await expect(quorum).to_have_attribute("data-reached", "false")
    await command(m, "d2", "attendance.check_in")
    await expect(quorum).to_have_attribute("data-present", "3")
    await expect(quorum).to_have_attribute("data-reached", "true")
    await expect(delegate_page.get_by_test_id("quorum-count")).to_have_text("3/4")

    # The delegate taps "Đăng ký phát biểu"; the chair sees them in the queue.
    request = delegate_page.get_by_test_id("request-floor")
    await expect(request).to_have_text("Đăng ký phát biểu")
    await request.tap()
    await expect(delegate_page.get_by_test_id("my-queue-position")).to_contain_text("thứ 1")
    await expect(delegate_page.get_by_test_id("withdraw-floor")).to_be_visible()
    queued = chair_page.get_by_test_id("queue-item").filter(has_text=delegate["full_name"])
    await expect(queued).to_be_visible()
    await command(m, "d3", "floor.request")
    await expect(chair_page.get_by_test_id("queue-item")).to_have_count(2)

    # The chair gives the floor; both pages show the delegate as the current speaker.
    await queued.get_by_test_id("grant-floor").tap()
    for page in (chair_page, delegate_page):
        speaker = page.get_by_test_id("current-speaker")
        await expect(speaker).to_contain_text(delegate["full_name"])
        await expect(speaker.get_by_test_id("speaker-timer")).to_contain_text(":")
        await expect(page.get_by_test_id("queue-item")).to_have_count(1)
    await expect(delegate_page.get_by_test_id("current-speaker")).to_contain_text(
        "Bạn đang phát biểu")
    await expect(chair_page.get_by_test_id("end-floor")).to_be_visible()
    await expect(delegate_page.get_by_test_id("request-floor")).to_have_count(0)

    # A tablet shows this page for hours: with both clocks running and the speaker's dot
    # lit, nothing on it animates forever, and the clocks' bars step without animating.
    for page in (chair_page, delegate_page):
        assert await endless_animations(page) == []
        assert await page.evaluate("""() => [...document.querySelectorAll(
            "[data-timer=item] .progress-bar, .progress-speaker .progress-bar")]
            .map((bar) => getComputedStyle(bar).transitionDuration)""") == ["0s", "0s"]

    await chair_page.screenshot(path=artifacts / "floor-chair-1280x800.png")
    await delegate_page.screenshot(path=artifacts / "floor-delegate-1280x800.png")
    await delegate_page.set_viewport_size(PORTRAIT)
    await expect(delegate_page.get_by_test_id("current-speaker")).to_be_visible()
    await delegate_page.screenshot(path=artifacts / "floor-delegate-768x1024.png")
    await chair_page.set_viewport_size(PORTRAIT)
    await chair_page.screenshot(path=artifacts / "floor-chair-768x1024.png")

    # The English switch relabels the page and is remembered across a reload.
    await delegate_page.get_by_test_id("lang-switch").tap()
    await expect(delegate_page.get_by_test_id("current-speaker")).to_contain_text(
        "You have the floor")
    await delegate_page.reload()
    await expect(delegate_page.get_by_test_id("current-speaker")).to_contain_text(
        "You have the floor")

    # Signing out ends the session: a reload stays on the sign-in page.
    await delegate_page.get_by_test_id("logout").tap()
    await expect(delegate_page.get_by_test_id("login-page")).to_be_visible()
    await delegate_page.reload()
    await expect(delegate_page.get_by_test_id("login-submit")).to_have_text("Sign in")


async def test_chair_opens_the_session_and_secretary_takes_attendance(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url, start=False)
    chair_page = await (await new_context()).new_page()
    secretary_page = await (await new_context()).new_page()
    await sign_in(chair_page, server.base_url, m["chair"].user["username"])
    await sign_in(secretary_page, server.base_url, m["secretary"].user["username"])
    await open_room(chair_page, server.base_url, m.id)
    await open_room(secretary_page, server.base_url, m.id)
    await expect(chair_page.get_by_test_id("meeting-status")).to_have_text("Chưa khai mạc")

    await chair_page.get_by_test_id("start-session").tap()
    for page in (chair_page, secretary_page):
        await expect(page.get_by_test_id("meeting-status")).to_have_text("Đang họp")

    def row(page: Any, who: str) -> Any:
        return page.locator(f"[data-testid=attendee][data-user-id='{m[who].user['id']}']")

    # The secretary checks d1 in and marks d2 absent with a reason; the chair sees both.
    await row(secretary_page, "d1").get_by_test_id("check-in-other").tap()
    await expect(row(chair_page, "d1").get_by_test_id("attendance-status")).to_contain_text(
        "Có mặt")
    await row(secretary_page, "d2").get_by_test_id("mark-absent").tap()
    dialog = secretary_page.get_by_test_id("prompt-dialog")
    await expect(dialog).to_contain_text(m["d2"].user["full_name"])
    await dialog.get_by_test_id("prompt-input").fill("Đi công tác theo kế hoạch")
    await dialog.get_by_test_id("dialog-confirm").tap()
    await expect(row(chair_page, "d2").get_by_test_id("attendance-status")).to_have_text(
        "Vắng mặt: Đi công tác theo kế hoạch")
    await expect(row(chair_page, "d2")).to_have_attribute("data-status", "absent")
    await expect(chair_page.get_by_test_id("quorum-count")).to_have_text("1/4")
    await expect(secretary_page.get_by_test_id("attendance-summary")).to_have_text(
        "Có mặt 1 · Vắng 1 · Chưa điểm danh 4")
    await secretary_page.screenshot(path=artifacts / "attendance-secretary-1280x800.png")

    # Closing the session asks first.
    await chair_page.get_by_test_id("end-session").tap()
    await chair_page.get_by_test_id("confirm-dialog").get_by_test_id("dialog-confirm").tap()
    for page in (chair_page, secretary_page):
        await expect(page.get_by_test_id("meeting-status")).to_have_text("Đã kết thúc")


async def test_offline_banner_then_replay_since_last_seq(
    server: Any, new_context: Any, artifacts: Any
) -> None:
    m = await make_meeting(server.base_url)
    delegate = m["d1"].user
    context = await new_context()
    page = await context.new_page()
    await sign_in(page, server.base_url, delegate["username"])
    await open_room(page, server.base_url, m.id)
    banner = page.get_by_test_id("offline-banner")
    await expect(banner).to_be_hidden()
    await expect(page.get_by_test_id("no-speaker")).to_be_visible()

    # The network goes away. The socket does not notice by itself; the page's heartbeat
    # (a ping at once on the browser's "offline" event, no pong within 10 s) does.
    await context.set_offline(True)
    await expect(banner).to_be_visible(timeout=25_000)
    await expect(banner).to_contain_text("Mất kết nối — đang kết nối lại…")
    await expect(page.locator("body")).to_have_attribute("data-connection", "offline")
    await expect(page.get_by_test_id("request-floor")).to_be_disabled()

    # Meanwhile the meeting goes on: the chair gives d1 the floor and posts a notice.
    await command(m, "chair", "floor.grant", user_id=delegate["id"])
    await command(m, "chair", "notice.post", text="Tạm nghỉ 10 phút sau phần phát biểu")
    await page.wait_for_timeout(500)
    await expect(page.get_by_test_id("no-speaker")).to_be_visible()
    await page.screenshot(path=artifacts / "offline-banner-1280x800.png")

    # The network returns: the page reconnects by itself and replays what it missed.
    await context.set_offline(False)
    await expect(banner).to_be_hidden(timeout=30_000)
    await expect(page.get_by_test_id("current-speaker")).to_contain_text(delegate["full_name"])
    await expect(page.get_by_test_id("notice-item")).to_contain_text("Tạm nghỉ 10 phút")

    sent = await page.evaluate("window.__ws.sent")
    received = await page.evaluate("window.__ws.received")
    joins = [x for x in sent if x["type"] == "join"]
    first_seq = next(x["seq"] for x in received if x["type"] == "snapshot")
    assert joins[0] == {"type": "join", "meeting": m.id}
    assert joins[-1]["since"] == first_seq, joins
    assert [x["type"] for x in received].count("snapshot") == 1, "resumed, not a new snapshot"
    resumed = [x for x in received if x["type"] == "resumed"]
    assert resumed and resumed[-1]["replayed"] >= 2, resumed
    replayed = [x["kind"] for x in events_in(received) if x["seq"] > first_seq]
    assert replayed == ["floor.granted", "notice.posted"], replayed


async def test_a_reloaded_tablet_resumes_from_its_last_seq(
    server: Any, new_context: Any
) -> None:
    """A delegate reloads the page (or the tablet's browser brings the tab back): the room
    comes back as the tab had it and joins with `since`, the server replays what happened
    meanwhile, and no whole snapshot is asked for. Signing out forgets it."""
    m = await make_meeting(server.base_url)
    delegate = m["d1"].user
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, delegate["username"])
    await open_room(page, server.base_url, m.id)
    await command(m, "chair", "notice.post", text="Đề nghị đại biểu tắt chuông điện thoại")
    await expect(page.get_by_test_id("notice-item")).to_contain_text("tắt chuông")
    seq = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["seq"]

    await page.reload()  # the recorder starts afresh: what follows is the new page's
    await expect(page.locator("body")).to_have_attribute("data-connection", "online")
    await command(m, "chair", "floor.grant", user_id=delegate["id"])
    await expect(page.get_by_test_id("current-speaker")).to_contain_text(delegate["full_name"])
    await expect(page.get_by_test_id("notice-item")).to_contain_text("tắt chuông")
    sent = await page.evaluate("window.__ws.sent")
    received = await page.evaluate("window.__ws.received")
    assert [x for x in sent if x["type"] == "join"] == [
        {"type": "join", "meeting": m.id, "since": seq}]
    assert "snapshot" not in [x["type"] for x in received], "resumed, not a new snapshot"
    assert next(x for x in received if x["type"] == "resumed")["seq"] == seq

    # Signed out, the tab keeps nothing of the room for the next user of the tablet.
    await page.get_by_test_id("logout").click()
    assert await page.evaluate(
        "Object.keys(sessionStorage).filter((k) => k.startsWith('phonghop.room.'))") == []


async def test_unacknowledged_command_is_resent_with_the_same_id(
    server: Any, new_context: Any
) -> None:
    m = await make_meeting(server.base_url)
    delegate = m["d2"].user
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, delegate["username"])
    await open_room(page, server.base_url, m.id)

    # The request leaves the page but is lost on the wire; then the connection drops.
    await page.evaluate("window.__ws.dropCommands = true")
    await page.get_by_test_id("request-floor").tap()
    await expect(page.get_by_test_id("request-floor")).to_have_attribute("aria-busy", "true")
    await page.evaluate("window.__ws.dropCommands = false; window.__ws.sockets.at(-1).close()")

    # After the reconnect the same command (same id) goes again and is applied once.
    await expect(page.get_by_test_id("my-queue-position")).to_contain_text("thứ 1")
    await expect(page.get_by_test_id("queue-item")).to_have_count(1)
    sent = await page.evaluate("window.__ws.sent")
    commands = [x for x in sent if x["type"] == "command"]
    assert len(commands) == 2, commands
    assert commands[0] == commands[1]
    assert commands[0]["name"] == "floor.request"
    received = await page.evaluate("window.__ws.received")
    acks = [x for x in received if x["type"] == "ack" and x["id"] == commands[0]["id"]]
    assert len(acks) == 1, acks


async def test_my_meetings_lists_the_meeting(server: Any, new_context: Any) -> None:
    m = await make_meeting(server.base_url)
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, m["d3"].user["username"])
    link = page.locator(f"[data-testid=meeting-link][data-meeting-id='{m.id}']")
    await expect(link).to_contain_text("Đang họp")
    await expect(link).to_contain_text("Đại biểu")  # my role in it
    await link.tap()
    await expect(page.get_by_test_id("meeting-title")).to_contain_text("Cuộc họp kiểm thử")


async def test_sign_in_errors_are_shown_in_both_languages(
    new_context: Any, tmp_path: Path, artifacts: Any
) -> None:
    # Its own server: failed sign-ins also count against the address (127.0.0.1), which
    # would lock every other test out of the shared server for a minute.
    own = ServerProcess(tmp_path / "server", "demo")
    try:
        page = await (await new_context()).new_page()
        await page.goto(own.base_url + "/")
        await page.get_by_test_id("login-username").fill("khong_ton_tai")
        await page.get_by_test_id("login-password").fill("sai-mat-khau")
        await page.get_by_test_id("login-submit").tap()
        error = page.get_by_test_id("login-error")
        await expect(error).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
        await page.get_by_test_id("lang-switch").tap()
        await expect(error).to_have_text("Wrong username or password.")
        submit = page.get_by_test_id("login-submit")
        for _ in range(5):  # past the limit the server refuses for a while (429)
            await expect(submit).to_be_enabled()
            await page.get_by_test_id("login-password").fill("sai-mat-khau")
            await submit.click()
        await expect(error).to_contain_text("Too many failed attempts")
        await expect(submit).to_be_disabled()
        await expect(submit).to_contain_text("Try again in")
        await page.get_by_test_id("lang-switch").tap()
        await expect(error).to_contain_text("Nhập sai quá nhiều lần")
        await page.screenshot(path=artifacts / "sign-in-too-many-attempts-1280x800.png")
    finally:
        own.stop()


# Rebuilds the room from the page's recorded snapshot and events with static/reducer.js,
# and returns it in the shape of the server's room view (rooms/view.py).
REPLAY_IN_PAGE = """
async () => {
  const r = await import("/static/reducer.js");
  const received = window.__ws.received;
  const snapshot = received.find((m) => m.type === "snapshot");
  const s = r.fromView(snapshot.room, snapshot.seq);
  for (const m of received) {
    const events = m.type === "event" ? [m] : m.type === "events" ? m.events : [];
    for (const e of events) if (e.seq > s.seq) r.applyEvent(s, e);
  }
  return {
    meeting: s.meeting, sites: [...s.sites.values()],
    participants: [...s.participants.values()], attendance: [...s.attendance.values()],
    agenda: s.order.map((id) => s.items.get(id)), active_item: s.activeItem,
    queue: s.queue, speaker: s.speaker, notices: s.notices, quorum: s.figures,
    rsvp_reasons: Object.fromEntries([...s.rsvpReasons].map(([k, v]) => [String(k), v])),
    absence_reasons: Object.fromEntries([...s.absenceReasons].map(([k, v]) => [String(k), v])),
    substitute_requests: Object.fromEntries(
      [...s.substituteRequests].map(([k, v]) => [String(k), v])),
    documents: [...s.documents.values()].sort((a, b) => a.id - b.id),
    marks: [...s.marks].map(([k, p]) => {
      const [document_id, version, page] = k.split(":").map(Number);
      return { document_id, version, page, ...p };
    }).sort((a, b) => a.document_id - b.document_id || a.version - b.version || a.page - b.page),
    presentation: s.presentation,
    polls: [...s.polls.values()].sort((a, b) => a.id - b.id), minutes: s.minutes,
  };
}
"""


def comparable(view: dict[str, Any]) -> dict[str, Any]:
    out = dict(view)
    for key, id_key in (("sites", "id"), ("participants", "user_id"), ("attendance", "user_id")):
        out[key] = sorted(view[key], key=lambda x, k=id_key: x[k])
    return out


async def test_reducer_rebuilds_the_server_view(
    server: Any, new_context: Any, open_ws: Any
) -> None:
    """static/reducer.js folds a long, varied event stream into exactly the server's view."""
    m = await make_meeting(server.base_url, start=False)
    d1 = m["d1"].user
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, d1["username"])
    await open_room(page, server.base_url, m.id)

    async def call(who: Any, method: str, path: str, body: Any = None) -> httpx.Response:
        api = m.admin if who == "admin" else m[who]
        r = await api.call(method, path, body)
        assert r.status_code in (200, 201), (path, body, r.text)
        return r

    base = f"/api/meetings/{m.id}"

    async def do(who: str, name: str, **args: Any) -> None:
        await call(who, "POST", base + "/commands", {"name": name, "args": args})

    tag = d1["username"].split("_", 1)[1]
    new_ids = []
    for who in ("new", "sub", "sub2"):
        user = await call("admin", "POST", "/api/users", {
            "username": f"{who}_{tag}", "password": "mat-khau-dai-du", "full_name": f"Ông {who}"})
        new_ids.append(user.json()["user"]["id"])
    newcomer, substitute, substitute2 = new_ids
    ids = {who: m[who].user["id"] for who in ("chair", "secretary", "d1", "d2", "d3", "i1")}
    view = await m.admin.room(m.id)
    item1, item2 = (i["id"] for i in view["agenda"])

    await do("admin", "meeting.update", location="Hội trường A",
             quorum={"num": 2, "den": 3, "strict": False})
    site = (await call("admin", "POST", base + "/sites", {"name": "Điểm cầu Phường 1"}))
    site_id = changed(site, "site.added")["site"]["id"]
    await call("admin", "POST", base + "/participants",
               {"user_id": newcomer, "role": "delegate", "site_id": site_id})
    item3 = changed(await call("admin", "POST", base + "/agenda",
                               {"title": "Nội dung 3", "planned_minutes": 7}),
                    "agenda.added")["item"]["id"]
    await do("admin", "agenda.update", item_id=item3, title="Nội dung 3 (sửa)")
    await do("admin", "agenda.reorder", order=[item3, item1, item2])
    item4 = changed(await call("admin", "POST", base + "/agenda",
                               {"title": "Nội dung 4", "planned_minutes": 3}),
                    "agenda.added")["item"]["id"]
    await do("admin", "agenda.remove", item_id=item4)
    await call("d2", "POST", base + "/rsvp", {"answer": "substitute",
                                               "substitute_user_id": substitute})
    await call("secretary", "POST", f"{base}/substitutes/{ids['d2']}/approve")
    # the page's own requests: one refused, one withdrawn, one left pending at the end
    await call("d1", "POST", base + "/rsvp", {"answer": "substitute",
                                               "substitute_user_id": substitute2})
    await call("chair", "POST", f"{base}/substitutes/{ids['d1']}/refuse", {"reason": "Không"})
    await call("d1", "POST", base + "/rsvp", {"answer": "substitute",
                                               "substitute_user_id": substitute2})
    await call("d1", "POST", base + "/rsvp", {"answer": "attend"})
    await call("d3", "POST", base + "/rsvp", {"answer": "absent", "reason": "Ốm"})
    await do("chair", "session.start")
    await do("chair", "attendance.check_in")
    await do("d1", "attendance.check_in")
    await do("secretary", "attendance.check_in", user_id=substitute)
    await do("secretary", "attendance.absent", user_id=ids["i1"], reason="Bận việc đột xuất")
    await do("chair", "agenda.next")
    await do("chair", "agenda.activate", item_id=item2)
    await do("chair", "agenda.defer", item_id=item2)
    await do("chair", "agenda.next")
    await do("d1", "floor.request", note="Ý kiến về nội dung 1")
    await do("d3", "floor.request")
    await do("d3", "floor.withdraw")
    await do("i1", "floor.request")
    await do("chair", "floor.grant", user_id=ids["d1"], seconds=120)
    await do("chair", "floor.extend", seconds=60)
    await do("chair", "floor.grant", user_id=ids["i1"])
    await do("chair", "floor.end")
    await do("secretary", "notice.post", text="Thông báo chung")
    await do("secretary", "notice.post", text="Chỉ thư ký", roles=["secretary"])
    await call("chair", "DELETE", f"{base}/participants/{newcomer}")  # in session: the chair
    await do("chair", "participant.update", user_id=ids["i1"], voting=True)  # role.changed
    await do("secretary", "attendance.absent", user_id=ids["d1"], reason="Có việc gấp")
    await call("d1", "POST", base + "/rsvp", {"answer": "substitute",
                                               "substitute_user_id": substitute2})

    # Polls: drafts and their edits stay with the organisers; the page sees them open (with
    # the progress, public here), close and publish, and an open one cancelled.
    async def new_poll(**args: Any) -> int:
        r = await call("chair", "POST", base + "/commands", {"name": "poll.create", "args": args})
        return int(changed(r, "poll.created")["poll"]["id"])

    motion = await new_poll(title="Biểu quyết 1", item_id=item1, eligibility="members",
                            progress_public=True)
    await do("secretary", "poll.update", poll_id=motion, title="Biểu quyết 1 (sửa)")
    await do("chair", "poll.open", poll_id=motion)
    ws = await open_ws(m["chair"])
    await ws.join(m.id)
    ack = await ws.command(m.id, "vote.cast", poll_id=motion, choices=[1], receipt="ABCDE-12345")
    assert ack["type"] == "ack", ack
    await do("chair", "poll.close", poll_id=motion)
    choice = await new_poll(title="Chọn phương án", kind="single", options=["A", "B"],
                            auto_publish=False)
    await do("chair", "poll.open", poll_id=choice)
    await do("chair", "poll.close", poll_id=choice)
    await do("chair", "poll.publish", poll_id=choice)
    await do("chair", "poll.cancel", poll_id=await new_poll(title="Nháp bị hủy"))
    cancelled = await new_poll(title="Hủy khi đang mở", kind="hands")
    await do("chair", "poll.open", poll_id=cancelled)
    await do("secretary", "poll.cancel", poll_id=cancelled)
    # The minutes' draft is the organisers' own: the page (a delegate's) sees none of it.
    await do("secretary", "minutes.edit", section="general", text="Diễn biến", base_version=0)
    await do("secretary", "conclusion.add", text="Giao phòng Kinh tế", owner="Phòng Kinh tế",
             deadline="2026-12-31")
    await do("chair", "session.end")

    await expect(page.get_by_test_id("meeting-status")).to_have_text("Đã kết thúc")
    # The quorum the last check-ins moved may still be on its way (the room's writer
    # announces it up to ANNOUNCE_EVERY after them): compared once the page has it.
    deadline = time.monotonic() + 15
    while True:
        rebuilt = await page.evaluate(REPLAY_IN_PAGE)
        server_view = await m["d1"].room(m.id)
        if comparable(rebuilt) == comparable(server_view) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert comparable(rebuilt) == comparable(server_view)
    # The page itself shows the same end state.
    await expect(page.get_by_test_id("quorum")).to_have_attribute(
        "data-present", str(server_view["quorum"]["present"]))
    await expect(page.get_by_test_id("notice-item")).to_have_count(1)


async def _room_event_data(server: Any, meeting: int, seq: int,
                           data: str | None = None) -> str:
    """An event's stored data, straight from the store; with `data`, written there first."""
    store = store_of(server)
    await store.open()
    try:
        assert store.engine is not None
        async with store.engine.begin() as conn:
            where = "WHERE room_id = :r AND seq = :s"
            if data is not None:
                await conn.execute(sa.text(f"UPDATE room_events SET data = :d {where}"),
                                   {"r": meeting, "s": seq, "d": data})
            row = (await conn.execute(sa.text(f"SELECT data FROM room_events {where}"),
                                      {"r": meeting, "s": seq})).one()
            return str(row[0])
    finally:
        await store.close()


async def test_a_room_whose_log_was_tampered_with_is_not_shown(
        server: Any, new_context: Any) -> None:
    """A meeting written to the store and then changed there with plain SQL before any node
    loaded it: the page shows the server's refusal, naming the event, and stops (no
    reconnecting to a room that will not open). The event is put back afterwards: the
    server is shared, and `phonghop audit verify` on its database must find every log
    whole again (tests/security/test_access_log.py)."""
    admin = await login(server.base_url, "admin", "demo1234")
    store = store_of(server)
    await store.open()
    try:
        create = parse_create({"title": "Họp kiểm tra nhật ký", "starts_at":
                               "2026-11-22T08:00:00+07:00"})
        assert not isinstance(create, Rejection)
        events = decide(RoomState(), create, Actor(admin.user["id"], is_admin=True),
                        datetime.now(UTC))
        assert not isinstance(events, Rejection)
        placed = [dataclasses.replace(e, seq=i) for i, e in enumerate(events, 1)]
        meeting = await store.create_meeting(placed, summary(replay(placed)))
    finally:
        await store.close()
    original = await _room_event_data(server, meeting, 1)
    try:
        changed = await _room_event_data(server, meeting, 1,
                                         original.replace("kiểm tra", "đã sửa"))
        assert changed != original
        page = await (await new_context()).new_page()
        await sign_in(page, server.base_url, "admin", "demo1234")
        await page.goto(f"{server.base_url}/#/meeting/{meeting}")
        await expect(page.get_by_test_id("room-error")).to_contain_text(
            "Nhật ký cuộc họp không còn toàn vẹn từ sự kiện số 1")
        joins = await page.evaluate(
            "window.__ws.sent.filter((m) => m.type === 'join').length")
        assert joins == 1
        await expect(page.locator("body")).not_to_have_attribute("data-connection", "online")
    finally:
        assert await _room_event_data(server, meeting, 1, original) == original
