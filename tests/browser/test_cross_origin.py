"""A hostile page on another port of the same host, in the chair's own browser.

The chair is signed in (the session cookie is `SameSite=Lax`, and 127.0.0.1:other is the
same *site*, so the browser attaches it to the page's requests). The page tries what a page
can do without the server's consent: post a notice with preflight-free `fetch`es (and with
JSON and the client's header, which need a preflight), open the websocket, and frame the
meeting's voting screen. All of it must fail, and the room must show no notice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.browser.conftest import LANDSCAPE, open_room, sign_in
from tests.conftest import ServerProcess, make_meeting

pytestmark = pytest.mark.asyncio(loop_scope="session")

FORGED = "Cuộc họp kết thúc sớm (giả mạo)"

# The attacker's page: every attempt records how it ended in window.__results.
ATTACK = """<!doctype html><meta charset="utf-8"><title>evil</title>
<body><script>
const target = new URL(location.href).searchParams.get("target");
const meeting = new URL(location.href).searchParams.get("meeting");
const path = `${target}/api/meetings/${meeting}/commands`;
const body = JSON.stringify({ name: "notice.post", args: { text: "FORGED_TEXT" } });
window.__results = {};
async function attempt(name, init) {
  try {
    const r = await fetch(path, { method: "POST", credentials: "include", body, ...init });
    window.__results[name] = r.type === "opaque" ? "opaque" : r.status;  // never, here
  } catch (e) {
    window.__results[name] = "blocked";
  }
}
window.__attack = async () => {
  await attempt("text-plain", { mode: "no-cors", headers: { "Content-Type": "text/plain" } });
  await attempt("text-plain-json", { mode: "no-cors",
    headers: { "Content-Type": "text/plain; charset=application/json" } });
  await attempt("form", { mode: "no-cors",
    headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  await attempt("json", { headers: { "Content-Type": "application/json" } });
  await attempt("marked", { headers: { "Content-Type": "application/json",
    "X-Phonghop-Request": "1" } });
  window.__results.ws = await new Promise((resolve) => {
    const ws = new WebSocket(target.replace("http", "ws") + "/ws");
    ws.onopen = () => resolve("open");
    ws.onmessage = (ev) => resolve("message: " + ev.data);
    ws.onerror = () => resolve("error");
    ws.onclose = () => resolve("closed");
  });
  const frame = document.createElement("iframe");
  frame.src = `${target}/#/meeting/${meeting}`;
  frame.width = 800;
  frame.height = 600;
  document.body.appendChild(frame);
  return window.__results;
};
</script></body>
""".replace("FORGED_TEXT", FORGED)


class _AttackerPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        data = ATTACK.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


async def wire_headers(ctx: BrowserContext, page: Page, prefix: str) -> list[dict[str, str]]:
    """The headers of the page's POSTs to `prefix` as they went on the wire (with the
    cookie and Origin the browser added), read from Chromium's devtools protocol."""
    cdp = await ctx.new_cdp_session(page)
    posts: set[str] = set()
    wire: list[dict[str, str]] = []
    extra: dict[str, dict[str, str]] = {}

    def sent(ev: dict[str, Any]) -> None:
        req = ev["request"]
        if req["method"] == "POST" and req["url"].startswith(prefix):
            posts.add(ev["requestId"])
            if ev["requestId"] in extra:
                wire.append(extra.pop(ev["requestId"]))

    def on_wire(ev: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in ev["headers"].items()}
        if ev["requestId"] in posts:
            wire.append(headers)
        else:  # the extra info may come first
            extra[ev["requestId"]] = headers

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.requestWillBeSentExtraInfo", on_wire)
    await cdp.send("Network.enable")
    return wire


@pytest.fixture(scope="module")
def attacker() -> Iterator[str]:
    """The attacker's origin: a tiny HTTP server on another port of 127.0.0.1."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_a_page_on_another_port_can_neither_post_nor_connect_nor_frame(
    server: ServerProcess, browser: Browser, attacker: str,
) -> None:
    m = await make_meeting(server.base_url, delegates=1, invitees=0)
    ctx = await browser.new_context(viewport=LANDSCAPE, locale="vi-VN", has_touch=True)
    console: list[tuple[str, str]] = []

    def on_console(msg: ConsoleMessage) -> None:
        console.append((msg.page.url if msg.page else "", msg.text))

    ctx.on("console", on_console)
    try:
        room = await ctx.new_page()
        await sign_in(room, server.base_url, m["chair"].user["username"])
        await open_room(room, server.base_url, m.id)
        await expect(room.get_by_test_id("notice-text")).to_be_visible()

        evil = await ctx.new_page()
        wire = await wire_headers(ctx, evil, server.base_url + "/api/")
        await evil.goto(f"{attacker}/?target={server.base_url}&meeting={m.id}")
        async with evil.expect_console_message(
                lambda msg: "frame-ancestors 'none'" in msg.text) as framed:
            results = await evil.evaluate("window.__attack()")
        # (a) every post fails in the page: the three preflight-free ones reach the server
        # with the chair's cookie (answered, the answer hidden from the page by CORP); the
        # JSON and marked ones never leave the browser (no CORS grant for their preflight)
        assert set(results) >= {"text-plain", "text-plain-json", "form", "json", "marked"}
        assert all(results[k] == "blocked" for k in results if k != "ws"), results
        posted = [h for h in wire if h.get("cookie")]
        assert len(posted) == 3, wire
        assert all(h["origin"] == attacker for h in posted), posted
        r = await m["chair"].call("GET", f"/api/meetings/{m.id}")
        assert r.json()["room"]["notices"] == []  # ... and refused there
        # (b) the websocket handshake is refused
        assert results["ws"] in ("error", "closed"), results
        # (c) the framed voting screen is not rendered
        assert "Content Security Policy" in (await framed.value).text
        child = evil.frames[-1]
        assert child != evil.main_frame
        assert await child.locator("[data-testid=meeting-title]").count() == 0

        # The chair's own page shows no notice either.
        await room.reload()
        await expect(room.locator("body")).to_have_attribute("data-connection", "online")
        await expect(room.get_by_test_id("notice-text")).to_be_visible()
        await expect(room.get_by_test_id("notice-item")).to_have_count(0)
        # Nothing of our own origin broke the Content-Security-Policy.
        ours = [text for url, text in console
                if url.startswith(server.base_url) and "Content Security Policy" in text]
        assert ours == []
    finally:
        await ctx.close()
