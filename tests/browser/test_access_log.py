"""The web client's access log ("Nhật ký truy cập"): an administrator filters by user,
activity, outcome and time range, pages through, and downloads the CSV of what they see;
a delegate has no way to it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import sign_in
from tests.conftest import ServerProcess, login
from tests.security._accounts import new_account, try_login

pytestmark = pytest.mark.asyncio(loop_scope="session")
VIETNAM = timezone(timedelta(hours=7))


async def choose(page: Page, testid: str, label: str) -> None:
    await page.get_by_test_id(testid).select_option(label=label)


async def test_an_administrator_filters_pages_and_downloads_the_log(
        server: ServerProcess, new_context: Any) -> None:
    root = await login(server.base_url, "admin", "demo1234")
    watcher = await new_account(root, is_admin=True)
    victim = await new_account(root, full_name="Đỗ Thị Thu Hà")
    for _ in range(2):
        assert (await try_login(server.base_url, victim["username"], "doan-sai-1")).status_code \
            == 401
    for n in range(54):  # with the creation: 55 records about the account, two pages
        r = await root.call("PATCH", f"/api/users/{victim['id']}", {"position": f"Tổ {n}"})
        assert r.is_success, r.text
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, watcher["username"])
    await page.get_by_test_id("user-menu").locator("summary").click()
    await page.get_by_test_id("menu-audit").click()
    await expect(page.get_by_test_id("audit-page")).to_be_visible()
    await expect(page.locator("h1")).to_have_text("Nhật ký truy cập")
    await expect(page.get_by_test_id("audit-row").first).to_be_visible()
    # the victim's failed sign-ins
    await page.get_by_test_id("audit-user").fill(victim["username"])
    await choose(page, "audit-kind", "Đăng nhập")
    await choose(page, "audit-outcome", "Bị từ chối")
    await page.get_by_test_id("audit-apply").click()
    rows = page.get_by_test_id("audit-row")
    await expect(rows).to_have_count(2)
    for i in range(2):
        row = rows.nth(i)
        await expect(row.get_by_test_id("audit-kind-text")).to_have_text("Đăng nhập")
        await expect(row.get_by_test_id("audit-outcome-text")).to_have_text(
            "Tên đăng nhập hoặc mật khẩu không đúng.")
        await expect(row.get_by_test_id("audit-actor")).to_contain_text("Đỗ Thị Thu Hà")
    # the CSV of exactly these
    async with page.expect_download() as info:
        await page.get_by_test_id("audit-csv").click()
    download = await info.value
    assert download.suggested_filename == "nhat-ky-truy-cap.csv"
    data = open(await download.path(), "rb").read()  # noqa: ASYNC230 (a small local file)
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:5] == ["Số thứ tự", "Thời gian (giờ Việt Nam)", "Thời gian (UTC)",
                            "Hoạt động", "Kết quả"]
    assert [(r[3], r[6]) for r in table[1:]] == [("Đăng nhập", victim["username"])] * 2
    assert all(r[4].startswith("Bị từ chối: Tên đăng nhập hoặc mật khẩu không đúng.")
               for r in table[1:])
    # every change to the account, in pages of 50
    await choose(page, "audit-kind", "Tất cả")
    await choose(page, "audit-outcome", "Tất cả")
    await page.get_by_test_id("audit-apply").click()
    await expect(rows).to_have_count(50)
    await expect(page.get_by_test_id("audit-page-number")).to_have_text("Trang 1")
    await expect(page.get_by_test_id("audit-prev")).to_be_disabled()
    await page.get_by_test_id("audit-next").click()
    await expect(page.get_by_test_id("audit-page-number")).to_have_text("Trang 2")
    await expect(rows).to_have_count(7)  # 4 edits, 2 sign-ins, the creation
    await expect(rows.last.get_by_test_id("audit-kind-text")).to_have_text("Tạo tài khoản")
    await expect(page.get_by_test_id("audit-next")).to_be_disabled()
    await page.get_by_test_id("audit-prev").click()
    await expect(page.get_by_test_id("audit-page-number")).to_have_text("Trang 1")
    await expect(rows).to_have_count(50)
    # a time range in Vietnam days: today has them, from tomorrow nothing
    today = datetime.now(UTC).astimezone(VIETNAM).date()
    await page.get_by_test_id("audit-since").fill(today.isoformat())
    await page.get_by_test_id("audit-until").fill(today.isoformat())
    await page.get_by_test_id("audit-apply").click()
    await expect(rows).to_have_count(50)
    await page.get_by_test_id("audit-since").fill((today + timedelta(days=1)).isoformat())
    await page.get_by_test_id("audit-until").fill((today + timedelta(days=2)).isoformat())
    await page.get_by_test_id("audit-apply").click()
    await expect(page.get_by_test_id("audit-empty")).to_have_text(
        "Không có bản ghi nào khớp bộ lọc.")
    # the download itself is in the log, by the watcher
    exports = (await root.call("GET", "/api/admin/audit?kind=export&user="
                                      + watcher["username"])).json()["records"]
    assert [r["detail"]["what"] for r in exports] == ["audit.csv"]


async def test_a_delegate_has_no_way_to_the_log(server: ServerProcess,
                                                new_context: Any) -> None:
    root = await login(server.base_url, "admin", "demo1234")
    delegate = await new_account(root)
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, delegate["username"])
    await page.get_by_test_id("user-menu").locator("summary").click()
    await expect(page.get_by_test_id("menu-change-password")).to_be_visible()
    await expect(page.get_by_test_id("menu-audit")).to_have_count(0)
    await page.goto(server.base_url + "/#/audit")
    await expect(page.get_by_test_id("meetings-page")).to_be_visible()
    await expect(page.get_by_test_id("audit-page")).to_have_count(0)
    status = await page.evaluate(
        "fetch('/api/admin/audit', {credentials: 'same-origin'}).then((r) => r.status)")
    assert status == 403
