"""Browser fixtures: Debian's Chromium driven by Playwright (async API), and page helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import ARTIFACTS, PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 768, "height": 1024}

# Records every websocket message the page sends and receives (window.__ws); with
# `dropCommands` set, outgoing commands are lost on the wire (as on a dying link) while the
# app believes they were sent; with `dropAcks` set, acks arrive (and are recorded) but the
# app never sees them, as when the link dies right after the server answered; with
# `corruptNextBallot` set, the next encrypted ballot sent has one proof value changed on the
# wire (a device fault or tampering the box must refuse), once.
RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const rec = { sockets: [], sent: [], received: [], dropCommands: false, dropAcks: false,
    corruptNextBallot: false };
  window.__ws = rec;
  class Recorded extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      rec.sockets.push(this);
      // Registered before the app's own handler, so it can hide a message from it.
      this.addEventListener("message", (ev) => {
        let message = null;
        try { message = JSON.parse(ev.data); } catch (e) { /* not JSON */ }
        if (!message) return;
        rec.received.push(message);
        if (message.type === "ack" && rec.dropAcks) ev.stopImmediatePropagation();
      });
    }
    send(data) {
      let message = null;
      try { message = JSON.parse(data); } catch (e) { /* not JSON */ }
      if (message) rec.sent.push(message);
      if (message && message.type === "command" && rec.dropCommands) return;
      if (message && rec.corruptNextBallot && message.name === "vote.cast" &&
          message.args && message.args.ballot) {
        rec.corruptNextBallot = false;
        const pair = message.args.ballot.choices[0].proof[0];
        pair[1] = (pair[1][0] === "0" ? "1" : "0") + pair[1].slice(1);  // z₀ of option 0
        return super.send(JSON.stringify(message));
      }
      return super.send(data);
    }
  }
  window.WebSocket = Recorded;
})();
"""

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[Any]:
    """new_context(viewport?) -> a fresh touch-enabled, Vietnamese-locale browser context.
    A test fails when its pages hit the server's Content-Security-Policy (Chromium reports
    each blocked script, style or connection on the console)."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    async def make(viewport: dict[str, int] | None = None) -> BrowserContext:
        ctx = await browser.new_context(
            viewport=viewport or LANDSCAPE, has_touch=True, locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
        )
        await ctx.add_init_script(RECORD_SOCKETS)
        ctx.on("console", lambda m: violations.append(m.text)
               if "Content Security Policy" in m.text else None)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        await ctx.close()
    assert not violations, violations


@pytest.fixture(scope="session")
def artifacts() -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


async def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real sign-in page and wait for the meeting list."""
    await page.goto(base_url + "/")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").tap()
    await expect(page.get_by_test_id("meetings-page")).to_be_visible()


async def open_room(page: Page, base_url: str, meeting_id: int) -> None:
    """Open /#/meeting/ID and wait until the room is joined and painted."""
    await page.goto(f"{base_url}/#/meeting/{meeting_id}")
    await expect(page.get_by_test_id("meeting-title")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-connection", "online")
