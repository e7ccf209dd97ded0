"""The web edge against a hostile page: cross-origin state changes with the victim's cookie.

The attacker runs a page on another origin of the same site (here: another port of
127.0.0.1, so `SameSite=Lax` cookies still go along). Its browser sends what a form or a
preflight-free `fetch` can send: urlencoded/multipart/`text/plain` bodies, no custom header,
and the page's own `Origin` (or none, with `Sec-Fetch-Site` telling where it came from).
Each test sends exactly those requests with the chair's or secretary's real session cookie,
expects the typed refusal, and checks the meeting did not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pymupdf
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from phonghop.server.edge import normalise_origin, parse_origins
from tests.conftest import (
    PASSWORD,
    TLS,
    Meeting,
    ServerProcess,
    changed,
    free_port,
    make_meeting,
)
from tests.server.conftest import assert_refusal, close_code, seq_of

FOREIGN = f"http://127.0.0.1:{free_port()}"  # a page on another port of the same host
SITE_FOREIGN = "https://evil.example"
CSP_MUST = ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
            "object-src 'none'", "base-uri 'none'", "form-action 'self'")


async def session_cookie(base_url: str, username: str, password: str = PASSWORD) -> str:
    """`name=value` of the session cookie a browser gets at sign-in (whatever its name)."""
    async with httpx.AsyncClient(verify=TLS, base_url=base_url, timeout=30) as c:
        r = await c.post("/api/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
    return r.headers["set-cookie"].split(";", 1)[0]


@pytest.fixture(scope="module")
async def room(server: ServerProcess) -> dict[str, Any]:
    """A meeting in session, and the browser cookies of its chair, secretary and admin."""
    m = await make_meeting(server.base_url, delegates=1, invitees=0)
    cookies = {who: await session_cookie(server.base_url, m[who].user["username"])
               for who in ("chair", "secretary")}
    cookies["admin"] = await session_cookie(server.base_url, "admin", "demo1234")
    return {"meeting": m, "cookies": cookies}


def browser(server: ServerProcess, cookie: str, **headers: str) -> httpx.AsyncClient:
    """What the victim's browser sends along: the cookie (no cookie jar, no Origin of ours)."""
    return httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30,
                             headers={"Cookie": cookie, **headers})


async def notices(m: Meeting) -> list[str]:
    r = await m["chair"].call("GET", f"/api/meetings/{m.id}")
    return [n["text"] for n in r.json()["room"]["notices"]]


def unique_pdf(text: str) -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text)
    return doc.tobytes()


def stored(data_dir: Path, sha256: str) -> list[Path]:
    return list(data_dir.rglob(f"{sha256}*"))


NOTICE = {"name": "notice.post", "args": {"text": "Cuộc họp bị hoãn (giả mạo)"}}


async def test_a_text_plain_body_that_claims_to_be_json_posts_no_notice(
    server: ServerProcess, room: dict[str, Any],
) -> None:
    m: Meeting = room["meeting"]
    before, shown = await seq_of(m["chair"], m.id), await notices(m)
    path = f"/api/meetings/{m.id}/commands"
    body = json.dumps(NOTICE).encode()
    # A <form enctype="text/plain"> or a no-cors fetch: the media type is text/plain.
    for origin in (FOREIGN, server.base_url):
        async with browser(server, room["cookies"]["chair"], Origin=origin) as c:
            r = await c.post(path, content=body,
                             headers={"Content-Type": "text/plain; charset=application/json"})
        assert r.status_code == (403 if origin == FOREIGN else 415), (origin, r.text)
        assert_refusal(r.json(), "cross_origin" if origin == FOREIGN else "content_type")
    for kind in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        async with browser(server, room["cookies"]["chair"], Origin=server.base_url) as c:
            r = await c.post(path, content=body, headers={"Content-Type": kind})
        assert r.status_code == 415 and r.json()["code"] == "content_type", kind
    assert await seq_of(m["chair"], m.id) == before
    assert await notices(m) == shown
    # The same request from the client's own page goes through: the cookie is good.
    async with browser(server, room["cookies"]["chair"], Origin=server.base_url) as c:
        r = await c.post(path, json={**NOTICE, "args": {"text": "Thông báo thật"}})
    assert r.status_code == 200, r.text
    assert (await notices(m))[-1] == "Thông báo thật"


async def test_an_upload_from_a_foreign_origin_is_refused_before_it_is_read(
    server: ServerProcess, room: dict[str, Any],
) -> None:
    m: Meeting = room["meeting"]
    before = await seq_of(m["chair"], m.id)
    pdf = unique_pdf(f"upload from {FOREIGN} {m.id}")
    sha = hashlib.sha256(pdf).hexdigest()
    path = f"/api/meetings/{m.id}/files"
    async with browser(server, room["cookies"]["secretary"], Origin=FOREIGN) as c:
        form = await c.post(path, params={"name": "a.pdf"}, files={"file": ("a.pdf", pdf)})
        raw = await c.post(path, params={"name": "a.pdf"}, content=pdf,
                           headers={"Content-Type": "text/plain"})
        # even with the client's header: the Origin is not ours
        marked = await c.post(path, params={"name": "a.pdf"}, content=pdf,
                              headers={"Content-Type": "application/pdf",
                                       "X-Phonghop-Request": "1"})
    for r in (form, raw, marked):
        assert r.status_code == 403, r.text
        assert_refusal(r.json(), "cross_origin")
    assert stored(server.data_dir, sha) == []
    assert await seq_of(m["chair"], m.id) == before
    # Same page, raw bytes, but no header a foreign page could not send: still refused.
    async with browser(server, room["cookies"]["secretary"], Origin=server.base_url) as c:
        r = await c.post(path, params={"name": "a.pdf"}, content=pdf,
                         headers={"Content-Type": "application/pdf"})
    assert r.status_code == 415 and r.json()["code"] == "content_type"
    assert stored(server.data_dir, sha) == []


async def test_bodiless_posts_from_a_foreign_origin_neither_invite_nor_sign_out(
    server: ServerProcess, room: dict[str, Any],
) -> None:
    m: Meeting = room["meeting"]
    before = await seq_of(m["chair"], m.id)
    for origin in (FOREIGN, SITE_FOREIGN, "null"):
        async with browser(server, room["cookies"]["admin"], Origin=origin) as c:
            invite = await c.post(f"/api/meetings/{m.id}/invite")
            marked = await c.post(f"/api/meetings/{m.id}/invite",
                                  headers={"X-Phonghop-Request": "1"})
        async with browser(server, room["cookies"]["chair"], Origin=origin) as c:
            logout = await c.post("/api/logout")
        for r in (invite, marked, logout):
            assert r.status_code == 403, (origin, r.text)
            assert_refusal(r.json(), "cross_origin")
    assert await seq_of(m["chair"], m.id) == before
    async with browser(server, room["cookies"]["chair"]) as c:
        assert (await c.get("/api/me")).status_code == 200  # still signed in


async def test_without_origin_the_fetch_metadata_decides(
    server: ServerProcess, room: dict[str, Any],
) -> None:
    m: Meeting = room["meeting"]
    before, shown = await seq_of(m["chair"], m.id), await notices(m)
    path = f"/api/meetings/{m.id}/commands"
    for site in ("cross-site", "same-site", None):
        extra = {"Sec-Fetch-Site": site} if site else {}
        async with browser(server, room["cookies"]["chair"], **extra) as c:
            r = await c.post(path, json=NOTICE)
        assert r.status_code == 403, (site, r.text)
        assert_refusal(r.json(), "cross_origin")
    assert await seq_of(m["chair"], m.id) == before
    assert await notices(m) == shown
    async with browser(server, room["cookies"]["chair"], **{"Sec-Fetch-Site": "same-origin"}) as c:
        r = await c.post(path, json={**NOTICE, "args": {"text": "Cùng nguồn"}})
    assert r.status_code == 200, r.text


async def test_bearer_requests_carry_no_ambient_credential_and_need_no_origin(
    server: ServerProcess, room: dict[str, Any],
) -> None:
    m: Meeting = room["meeting"]
    async with m["chair"].client() as c:  # no Origin, no cookie: a device or a script
        r = await c.post(f"/api/meetings/{m.id}/commands",
                         json={**NOTICE, "args": {"text": "Từ thiết bị"}})
        assert r.status_code == 200, r.text
        up = await c.post(f"/api/meetings/{m.id}/files", params={"name": "b.pdf"},
                          content=unique_pdf(f"bearer {m.id}"),
                          headers={"Content-Type": "application/pdf"})
        assert up.status_code == 201, up.text
    assert (await notices(m))[-1] == "Từ thiết bị"


async def test_the_websocket_refuses_a_foreign_origin_with_the_cookie(
    server: ServerProcess, room: dict[str, Any],
) -> None:
    m: Meeting = room["meeting"]
    cookie = room["cookies"]["chair"]
    for origin in (FOREIGN, SITE_FOREIGN, "null"):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.ws_url, origin=origin,
                                     additional_headers={"Cookie": cookie})
        assert refused.value.response.status_code == 403
        assert_refusal(json.loads(refused.value.response.body), "cross_origin")
    with pytest.raises(InvalidStatus):  # no Origin, but the browser says cross-site
        await websockets.connect(server.ws_url, additional_headers={
            "Cookie": cookie, "Sec-Fetch-Site": "same-site"})
    # A foreign page may name the bearer subprotocol itself, but then only that token
    # counts, never the cookie: it gets a socket that is signed in as nobody.
    async with websockets.connect(server.ws_url, origin=FOREIGN,
                                  additional_headers={"Cookie": cookie},
                                  subprotocols=["bearer", "not-a-token"]) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "error" and first["code"] == "unauthenticated", first
        assert await close_code(ws) == 4401
    # The client's own page opens it with the cookie.
    async with websockets.connect(server.ws_url, origin=server.base_url,
                                  additional_headers={"Cookie": cookie}) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["user"]["id"] == m["chair"].user["id"]


def assert_edge_headers(r: httpx.Response) -> None:
    csp = r.headers["content-security-policy"]
    for directive in CSP_MUST:
        assert directive in csp, (r.url, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in r.headers["permissions-policy"]


async def test_every_answer_carries_the_security_headers(
    server: ServerProcess, room: dict[str, Any],
) -> None:
    m: Meeting = room["meeting"]
    async with m["secretary"].client() as c:
        up = await c.post(f"/api/meetings/{m.id}/files", params={"name": "c.pdf"},
                          content=unique_pdf(f"headers {m.id}"),
                          headers={"Content-Type": "application/pdf"})
        sha = up.json()["file"]["sha256"]
        r = await c.post(f"/api/meetings/{m.id}/documents",
                         json={"sha256": sha, "classification": "public"})
        doc = changed(r, "document.attached")["document"]
        assert doc["sha256"] == sha
        answers = [
            await c.get("/"),
            await c.get("/api/me"),
            await c.get("/static/app.js"),
            await c.get(f"/api/meetings/{m.id}/documents/{doc['id']}/pages/1?size=thumb"),
            await c.get("/api/no-such-thing"),
        ]
    async with browser(server, room["cookies"]["chair"], Origin=FOREIGN) as c:
        answers.append(await c.post("/api/logout"))  # a refusal of the edge itself
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 403]
    for r in answers:
        assert_edge_headers(r)
        # plain HTTP and no public origin configured: no HSTS
        assert "strict-transport-security" not in r.headers


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory, backend: Any) -> Iterator[Any]:
    """A server behind a TLS proxy: PHONGHOP_PUBLIC_ORIGIN names the https origin."""
    proc = ServerProcess(tmp_path_factory.mktemp("public"), "serve", backend=backend,
                         env={"PHONGHOP_PUBLIC_ORIGIN": "https://hop.example.gov.vn"})
    yield proc
    proc.stop()


async def test_with_a_public_origin_only_it_counts_and_hsts_is_sent(public_server: Any) -> None:
    public = "https://hop.example.gov.vn"
    # A page served by the node's own address (scheme://Host) is no longer "us".
    async with httpx.AsyncClient(verify=TLS, base_url=public_server.base_url, timeout=30) as c:
        sign_in = {"username": "ai-do", "password": "sai"}
        for origin, status, code in ((public_server.base_url, 403, "cross_origin"),
                                     (public, 401, "bad_credentials")):
            r = await c.post("/api/login", json=sign_in, headers={"Origin": origin})
            assert r.status_code == status and r.json()["code"] == code, (origin, r.text)
            r = await c.post("/api/logout", headers={
                "Origin": origin, "X-Phonghop-Request": "1", "Cookie": "phonghop_session=x"})
            assert r.status_code in (status, 401) and r.json()["code"] in (
                code, "unauthenticated"), (origin, r.text)
            assert (r.status_code == 403) == (origin != public)
        page = await c.get("/")
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "wss://hop.example.gov.vn" in page.headers["content-security-policy"]
    assert_edge_headers(page)

def test_a_malformed_public_origin_is_refused_at_start_and_origins_compare_as_browsers_send_them(
) -> None:
    for bad in ("hop.example.gov.vn", "https://hop.example.gov.vn/phonghop", "null", "ftp://x"):
        with pytest.raises(ValueError):
            parse_origins(bad)
    assert parse_origins(" https://Hop.Example.gov.vn:443/ , http://10.0.0.5:8000") == (
        "https://hop.example.gov.vn", "http://10.0.0.5:8000")
    assert normalise_origin("http://127.0.0.1:80") == "http://127.0.0.1"
    assert normalise_origin("http://[::1]:8000") == "http://[::1]:8000"
