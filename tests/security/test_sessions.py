"""Sessions: each test is an attack on a session token (leaked in a URL, left idle, signed
out elsewhere, read by page script) and what stops it, on both backends (on `scaled`,
across two nodes sharing PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import websockets

from tests.conftest import PASSWORD, TLS, Api, Backend, ServerProcess, login
from tests.security._accounts import (
    ADMIN,
    ADMIN_PASSWORD,
    Production,
    install,
    new_account,
    on,
    other_node,
    refused_soon,
    signed_in,
    ws_session,
)
from tests.server.conftest import assert_refusal, close_code

# Long enough that the session in use (a request every IDLE_SECONDS / 6) does not go idle
# through a stall of a loaded box: 3 s did once on CI, with two suites' workers busy.
IDLE_SECONDS = 5.0


def browser_client(server: ServerProcess) -> httpx.AsyncClient:
    """An HTTP client sending what the web client sends with its cookie (its own origin
    and X-Phonghop-Request, which the web edge requires of cookie-carrying posts)."""
    return httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30, headers={
        "Origin": server.base_url, "X-Phonghop-Request": "1"})


@pytest.fixture(scope="module")
def node_b(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    b = other_node(server, tmp_path_factory)
    yield b
    if b is not server:
        b.stop()


@pytest.fixture(scope="module")
async def admin(server: ServerProcess) -> Api:
    return await login(server.base_url, "admin", "demo1234")


async def test_a_token_in_the_query_string_is_refused(server: ServerProcess,
                                                      admin: Api) -> None:
    """A token in a URL ends up in proxy logs and browser history: never accepted there."""
    me = await signed_in(server.base_url, (await new_account(admin))["username"])
    conn = await websockets.connect(f"{server.ws_url}?token={me.token}")
    first = json.loads(await asyncio.wait_for(conn.recv(), 10))
    assert first["type"] == "error"
    assert_refusal(first, "unauthenticated")
    assert await close_code(conn) == 4401
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30) as c:
        r = await c.get("/api/me", params={"token": me.token})
    assert r.status_code == 401
    assert_refusal(r.json(), "unauthenticated")
    # the same token where it belongs still works: nothing was wrong with it
    assert (await me.call("GET", "/api/me")).status_code == 200


async def test_the_browser_gets_only_the_cookie(server: ServerProcess, admin: Api) -> None:
    """A script injected into the page cannot read a token the page never received."""
    acct = await new_account(admin)
    async with browser_client(server) as browser:
        r = await browser.post("/api/login", json={"username": acct["username"],
                                                   "password": PASSWORD})
        assert r.status_code == 200
        assert "token" not in r.json() and r.json()["user"]["id"] == acct["id"]
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "path=/" in cookie
        assert (await browser.get("/api/me")).status_code == 200  # the cookie signs in
        r = await browser.post("/api/login", json={"username": acct["username"],
                                                   "password": PASSWORD, "client": "script"})
        assert r.status_code == 400
        assert_refusal(r.json(), "invalid")
    # an API client asks for its token explicitly
    device = await login(server.base_url, acct["username"])
    assert device.token and (await device.call("GET", "/api/me")).status_code == 200


async def test_a_sign_out_on_one_node_is_refused_at_once_on_the_other(
        server: ServerProcess, node_b: ServerProcess, admin: Api) -> None:
    acct = await new_account(admin)
    session = await signed_in(server.base_url, acct["username"])
    on_b = on(node_b, session)
    assert (await on_b.call("GET", "/api/me")).status_code == 200  # node B caches it now
    socket_b = await ws_session(node_b, session)
    other_device = await signed_in(server.base_url, acct["username"])
    assert (await session.call("POST", "/api/logout")).status_code == 200
    refused = await refused_soon(lambda: on_b.call("GET", "/api/me"))
    assert refused.status_code == 401
    assert_refusal(refused.json(), "unauthenticated")
    assert await close_code(socket_b) == 4401
    # the account's other session is untouched
    assert (await on(node_b, other_device).call("GET", "/api/me")).status_code == 200


async def test_sign_out_everywhere_ends_every_session_on_every_node(
        server: ServerProcess, node_b: ServerProcess, admin: Api) -> None:
    """The owner of a lost tablet ends all its sessions from another device."""
    acct = await new_account(admin)
    lost = on(node_b, await signed_in(server.base_url, acct["username"]))
    assert (await lost.call("GET", "/api/me")).status_code == 200
    lost_ws = await ws_session(node_b, lost)
    async with browser_client(server) as browser:
        r = await browser.post("/api/login", json={"username": acct["username"],
                                                   "password": PASSWORD})
        assert r.status_code == 200
        r = await browser.post("/api/me/sessions/revoke")
        assert r.status_code == 200 and r.json()["ended"] == 2
        assert "max-age=0" in r.headers["set-cookie"].lower()  # the cookie is cleared
        browser.cookies.clear()
    refused = await refused_soon(lambda: lost.call("GET", "/api/me"))
    assert refused.status_code == 401
    assert await close_code(lost_ws) == 4401
    # signing in again works: the account itself is fine
    assert (await signed_in(node_b.base_url, acct["username"])).token


# ---- the idle timeout ----


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory, backend: Backend
                ) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("idle"), "demo", backend=backend,
                         env={"PHONGHOP_SESSION_IDLE_SECONDS": str(IDLE_SECONDS)})
    yield proc
    proc.stop()


async def test_an_idle_session_is_refused_and_a_used_one_lives_on(
        idle_server: ServerProcess) -> None:
    """A tablet left signed in on a desk stops working after the idle time (here 5 s,
    PHONGHOP_SESSION_IDLE_SECONDS), while one in use slides on past it."""
    forgotten = await login(idle_server.base_url, "daibieu01", "demo1234")
    in_use = await login(idle_server.base_url, "daibieu02", "demo1234")
    assert (await forgotten.call("GET", "/api/me")).status_code == 200
    loop = asyncio.get_running_loop()
    until = loop.time() + IDLE_SECONDS * 1.7
    while loop.time() < until:  # the passing of time is the point here
        assert (await in_use.call("GET", "/api/me")).status_code == 200
        await asyncio.sleep(IDLE_SECONDS / 6)
    r = await forgotten.call("GET", "/api/me")
    assert r.status_code == 401
    assert_refusal(r.json(), "unauthenticated")
    assert (await in_use.call("GET", "/api/me")).status_code == 200
    # and the dead row is purged from the store (every idle time here; 10 min by default)
    dead = hashlib.sha256(forgotten.token.encode()).hexdigest()
    for _ in range(int(IDLE_SECONDS * 4 / 0.25)):
        if not await session_rows(idle_server, dead):
            break
        assert (await in_use.call("GET", "/api/me")).status_code == 200
        await asyncio.sleep(0.25)
    assert await session_rows(idle_server, dead) == 0
    live = hashlib.sha256(in_use.token.encode()).hexdigest()
    assert await session_rows(idle_server, live) == 1


async def session_rows(server: ServerProcess, key: str) -> int:
    """How many auth_sessions rows the server's database holds for this token hash."""
    if server.backend.name == "embedded":
        with sqlite3.connect(server.data_dir / "phonghop.db") as db:
            return int(db.execute("SELECT count(*) FROM auth_sessions WHERE token_hash = ?",
                                  (key,)).fetchone()[0])
    url = server.backend_args[server.backend_args.index("--database") + 1]
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM auth_sessions WHERE token_hash = $1", key))
    finally:
        await conn.close()


# ---- production cookies ----


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory, backend: Backend
               ) -> Iterator[Production]:
    prod = install(tmp_path_factory, backend)
    yield prod
    prod.server.stop()


async def test_production_cookies_are_secure_and_host_prefixed(production: Production) -> None:
    """Without the development flag, the cookie travels over HTTPS only and, `__Host-`
    prefixed, cannot be planted by a sibling subdomain or a plain-HTTP page."""
    base = production.server.base_url
    async with httpx.AsyncClient(verify=TLS, base_url=base, timeout=30) as c:
        r = await c.post("/api/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
        assert r.status_code == 200 and "token" not in r.json()
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-phonghop_session=")
        attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path"} <= attrs and "domain" not in attrs
        token = cookie.split(";")[0].split("=", 1)[1]
        # (httpx keeps Secure cookies for HTTPS: send it by hand, as a browser would)
        r = await c.get("/api/me", headers={"Cookie": f"phonghop_session={token}"})
        assert r.status_code == 401  # the unprefixed name is not read in production
        r = await c.get("/api/me", headers={"Cookie": f"__Host-phonghop_session={token}"})
        assert r.status_code == 200
