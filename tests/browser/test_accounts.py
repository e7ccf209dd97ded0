"""The web client's accounts: an administrator disables an account and resets a password
from the accounts screen; anyone changes their password and signs out everywhere from the
user menu; the page never holds the session token."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, ServerProcess, login
from tests.security._accounts import new_account, try_login

pytestmark = pytest.mark.asyncio(loop_scope="session")
NEW = "mat-khau-moi-2026"


async def test_an_administrator_manages_accounts_on_the_accounts_screen(
        server: ServerProcess, new_context: Any) -> None:
    root = await login(server.base_url, "admin", "demo1234")
    admin = await new_account(root, is_admin=True)
    victim = await new_account(root)
    stolen = await login(server.base_url, victim["username"])
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, admin["username"])
    # the page holds no token: the cookie is HttpOnly, nothing is stored
    assert await page.evaluate("document.cookie") == ""
    assert await page.evaluate("localStorage.length + sessionStorage.length") <= 1  # language
    await page.get_by_test_id("user-menu").locator("summary").click()
    await page.get_by_test_id("menu-accounts").click()
    await expect(page.get_by_test_id("accounts-page")).to_be_visible()
    row = page.locator(f"[data-testid=account-row][data-username='{victim['username']}']")
    await expect(row.get_by_test_id("account-state")).to_have_text("Đang hoạt động")
    # one's own row offers no way to lock oneself out
    own = page.locator(f"[data-testid=account-row][data-username='{admin['username']}']")
    await expect(own.get_by_test_id("account-toggle")).to_have_count(0)
    await row.get_by_test_id("account-toggle").click()
    await page.get_by_test_id("dialog-confirm").click()
    await expect(row.get_by_test_id("account-state")).to_have_text("Đã khoá")
    assert (await stolen.call("GET", "/api/me")).status_code == 401
    assert (await try_login(server.base_url, victim["username"], PASSWORD)).status_code == 403
    # enabled again, then a password reset
    await row.get_by_test_id("account-toggle").click()
    await expect(row.get_by_test_id("account-state")).to_have_text("Đang hoạt động")
    await row.get_by_test_id("account-reset").click()
    dialog = page.get_by_test_id("account-reset-dialog")
    await dialog.get_by_test_id("account-reset-dialog-password").fill("ngan")
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect(dialog.get_by_test_id("account-reset-dialog-error")).to_contain_text("10 ký tự")
    await dialog.get_by_test_id("account-reset-dialog-password").fill(NEW)
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect(dialog).to_have_count(0)
    assert (await try_login(server.base_url, victim["username"], PASSWORD)).status_code == 401
    assert (await try_login(server.base_url, victim["username"], NEW)).status_code == 200


async def test_a_user_changes_the_password_and_signs_out_everywhere(
        server: ServerProcess, new_context: Any) -> None:
    root = await login(server.base_url, "admin", "demo1234")
    acct = await new_account(root)
    tablet = await login(server.base_url, acct["username"])  # another device
    page = await (await new_context()).new_page()
    await sign_in(page, server.base_url, acct["username"])
    await page.get_by_test_id("user-menu").locator("summary").click()
    await page.get_by_test_id("menu-change-password").click()
    dialog = page.get_by_test_id("change-password")
    await dialog.get_by_test_id("change-password-old").fill(PASSWORD)
    await dialog.get_by_test_id("change-password-new").fill(NEW)
    await dialog.get_by_test_id("change-password-again").fill(NEW)
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect(dialog).to_have_count(0)
    assert (await tablet.call("GET", "/api/me")).status_code == 401  # the other device
    assert (await try_login(server.base_url, acct["username"], PASSWORD)).status_code == 401
    await expect(page.get_by_test_id("meetings-page")).to_be_visible()  # this one stays
    other = await login(server.base_url, acct["username"], NEW)
    await page.get_by_test_id("user-menu").locator("summary").click()
    await page.get_by_test_id("menu-sign-out-everywhere").click()
    await page.get_by_test_id("dialog-confirm").click()
    await expect(page.get_by_test_id("login-page")).to_be_visible()
    assert (await other.call("GET", "/api/me")).status_code == 401
