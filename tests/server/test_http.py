"""The HTTP API as a client sees it: sign-in, refusals, limits, and the published contract."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tests.conftest import (
    PASSWORD,
    TLS,
    Api,
    Meeting,
    ServerProcess,
    changed,
    login,
    make_meeting,
)
from tests.server.conftest import assert_refusal, barrier, http_command, outsider, seq_of, uid
from tests.server.test_documents import REPORT, upload


async def post_raw(base_url: str, path: str, content: bytes | str, token: str | None = None,
                   content_type: str | None = "application/json",
                   extra: dict[str, str] | None = None) -> httpx.Response:
    headers = dict(extra or {})
    if content_type is not None:
        headers["Content-Type"] = content_type
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(verify=TLS, base_url=base_url, timeout=30) as c:
        return await c.post(path, content=content, headers=headers)


# ---- signing in (a private server: failed sign-ins lock the address out for a minute) ----


async def test_sign_in_failures_then_lockout(private_server: Any) -> None:
    srv: ServerProcess = private_server()
    async with httpx.AsyncClient(verify=TLS, base_url=srv.base_url, timeout=30) as c:
        for body in ({"username": "admin", "password": "sai-mat-khau"},
                     {"username": "khong-ton-tai", "password": "demo1234"}):
            r = await c.post("/api/login", json=body)
            assert r.status_code == 401
            assert_refusal(r.json(), "bad_credentials")
            assert "phonghop_session" not in r.cookies
        for _ in range(4):
            r = await c.post("/api/login", json={"username": "admin", "password": "sai"})
            assert r.status_code == 401
        # the sixth failure for one account in a minute: locked out, with a time to wait
        r = await c.post("/api/login", json={"username": "admin", "password": "sai"})
        assert r.status_code == 429
        body = r.json()
        assert_refusal(body, "too_many_attempts")
        wait = int(r.headers["Retry-After"])
        assert 0 < wait <= 60
        assert str(wait) in body["message"]["vi"] and str(wait) in body["message"]["en"]
        # even the right password waits...
        r = await c.post("/api/login", json={"username": "admin", "password": "demo1234"})
        assert r.status_code == 429
        assert_refusal(r.json(), "too_many_attempts")
        # ... but the rest of the hall, behind the same address, can still sign in
        r = await c.post("/api/login", json={"username": "chutri", "password": "demo1234"})
        assert r.status_code == 200


async def test_an_address_spraying_usernames_is_locked_out(private_server: Any) -> None:
    srv: ServerProcess = private_server()
    async with httpx.AsyncClient(verify=TLS, base_url=srv.base_url, timeout=30) as c:
        statuses = []
        for n in range(60):
            r = await c.post("/api/login", json={"username": f"doan-{n}", "password": "x"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
        assert set(statuses[:-1]) == {401} and statuses[-1] == 429
        assert 5 < len(statuses) <= 60
        r = await c.post("/api/login", json={"username": "chutri", "password": "demo1234"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0


async def test_sign_in_sets_a_session_cookie_and_sign_out_ends_it(
    server: ServerProcess, meeting: Meeting,
) -> None:
    m = meeting
    username = m["d3"].user["username"]
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30) as browser:
        r = await browser.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200
        assert r.json()["user"]["username"] == username
        assert "password_hash" not in r.json()["user"]
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        me = await browser.get("/api/me")  # the cookie alone signs in
        assert me.status_code == 200 and me.json()["user"]["id"] == uid(m, "d3")
        # what the web client sends: its own origin and its request header (server/edge.py)
        same_page = {"Origin": server.base_url, "X-Phonghop-Request": "1"}
        assert (await browser.post("/api/logout", headers=same_page)).status_code == 200
        assert (await browser.get("/api/me")).status_code == 401
    bearer = await login(server.base_url, username)
    assert (await bearer.call("GET", "/api/me")).status_code == 200  # another session lives on
    assert (await bearer.call("POST", "/api/logout")).status_code == 200
    r = await bearer.call("GET", "/api/me")
    assert r.status_code == 401
    assert_refusal(r.json(), "unauthenticated")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/me"), ("GET", "/api/users"), ("GET", "/api/meetings"),
    ("POST", "/api/meetings"), ("GET", "/api/meetings/1"), ("POST", "/api/logout"),
    ("POST", "/api/meetings/1/commands"), ("PATCH", "/api/meetings/1"),
])
@pytest.mark.parametrize("token", [None, "garbage", "x" * 300])
async def test_unauthenticated_requests_are_401(server: ServerProcess, method: str, path: str,
                                                token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30) as c:
        r = await c.request(method, path, json={"title": "x"}, headers=headers)
    assert r.status_code == 401
    assert_refusal(r.json(), "unauthenticated")


# ---- who may do what ----


@pytest.fixture(scope="module")
async def meeting(server: ServerProcess) -> Meeting:
    return await make_meeting(server.base_url)


async def test_only_administrators_manage_accounts_and_create_meetings(
    meeting: Meeting, server: ServerProcess,
) -> None:
    chair = meeting["chair"]
    r = await chair.call("POST", "/api/meetings", {"title": "Họp riêng",
                                                   "starts_at": "2026-11-23T08:00:00+07:00"})
    assert r.status_code == 403
    assert_refusal(r.json(), "forbidden")
    r = await chair.call("GET", "/api/users")
    assert r.status_code == 403
    r = await chair.call("POST", "/api/users", {"username": "lau", "password": "12345678",
                                                "full_name": "Kẻ lạ"})
    assert r.status_code == 403
    r = await chair.call("GET", "/api/meetings?scope=all")
    assert r.status_code == 403
    assert_refusal(r.json(), "forbidden")
    # the administrator may
    r = await meeting.admin.call("GET", "/api/meetings?scope=all")
    assert r.status_code == 200 and meeting.id in [row["id"] for row in r.json()["meetings"]]
    r = await meeting.admin.call("POST", "/api/users", {
        "username": meeting["d1"].user["username"], "password": "mat-khau-dai-du",
        "full_name": "Trùng tên"})
    assert r.status_code == 409
    assert_refusal(r.json(), "duplicate")


async def test_my_meetings(meeting: Meeting) -> None:
    r = await meeting["d1"].call("GET", "/api/meetings")
    assert r.status_code == 200
    rows = [row for row in r.json()["meetings"] if row["id"] == meeting.id]
    assert len(rows) == 1 and rows[0]["role"] == "delegate"
    r = await meeting["d1"].call("GET", "/api/meetings?date=2026-11-22")
    assert meeting.id in [row["id"] for row in r.json()["meetings"]]
    r = await meeting["d1"].call("GET", "/api/meetings?date=2026-11-21")
    assert meeting.id not in [row["id"] for row in r.json()["meetings"]]
    for bad in ("?date=22/11/2026", "?scope=everything"):
        r = await meeting["d1"].call("GET", "/api/meetings" + bad)
        assert r.status_code == 400
        assert_refusal(r.json(), "invalid")


async def test_a_meeting_is_visible_to_its_participants_only(meeting: Meeting,
                                                            server: ServerProcess) -> None:
    r = await meeting["i1"].call("GET", f"/api/meetings/{meeting.id}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == meeting.id and body["me"]["role"] == "invitee"
    assert body["me"]["voting"] is False
    assert [i["title"] for i in body["room"]["agenda"]] == ["Nội dung 1", "Nội dung 2"]
    r = await (await outsider(meeting)).call("GET", f"/api/meetings/{meeting.id}")
    assert r.status_code == 403
    assert_refusal(r.json(), "not_participant")
    # "²" passes str.isdigit(), which int() refuses: an id of digits means ASCII digits.
    for path in ("/api/meetings/999999", "/api/meetings/abc", "/api/meetings/12345678901",
                 "/api/meetings/%C2%B2", f"/api/meetings/{meeting.id}/documents/%C2%B2/pages/1",
                 f"/api/meetings/{meeting.id}/minutes/files/x/pages/%C2%B2"):
        r = await meeting["chair"].call("GET", path)
        assert r.status_code == 404
        assert_refusal(r.json(), "not_found")


@pytest.mark.parametrize(("who", "name", "args", "status", "code"), [
    ("d1", "floor.grant", {"user_id": "D2"}, 403, "forbidden"),
    ("i1", "notice.post", {"text": "Xin chào"}, 403, "forbidden"),
    ("secretary", "session.start", {}, 403, "forbidden"),
    ("chair", "session.start", {}, 409, "invalid_state"),
    ("chair", "floor.end", {}, 409, "no_speaker"),
    ("chair", "agenda.activate", {"item_id": 999}, 404, "not_found"),
    ("chair", "floor.grant", {"user_id": "D2", "seconds": 1}, 400, "invalid"),
    ("chair", "floor.warp", {}, 400, "unknown_command"),
])
async def test_refused_commands_over_http(meeting: Meeting, who: str, name: str,
                                          args: dict[str, Any], status: int, code: str) -> None:
    args = {k: (uid(meeting, "d2") if v == "D2" else v) for k, v in args.items()}
    seq = await seq_of(meeting["chair"], meeting.id)
    r = await http_command(meeting[who], meeting.id, name, **args)
    assert r.status_code == status, r.text
    assert_refusal(r.json(), code)
    assert r.json()["retryable"] is False
    assert await seq_of(meeting["chair"], meeting.id) == seq


async def test_an_accepted_command_answers_with_its_events(meeting: Meeting) -> None:
    seq = await seq_of(meeting["chair"], meeting.id)
    r = await http_command(meeting["secretary"], meeting.id, "notice.post",
                           text="Đề nghị các đại biểu tắt chuông điện thoại")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == meeting.id
    assert body["ack"] == {"seq": seq + 1, "duplicate": False}
    assert [e["seq"] for e in body["events"]] == [seq + 1]
    notice = changed(r, "notice.posted")["notice"]
    assert notice["text"] == "Đề nghị các đại biểu tắt chuông điện thoại"
    assert (await meeting["secretary"].room(meeting.id))["notices"][-1] == notice


async def test_a_command_answers_with_exactly_the_events_its_sender_may_see(
    meeting: Meeting, joined: Any,
) -> None:
    """Not the room: the command's ack and its events as the sender's websocket tells
    them (a sealed entry for an organiser who does not read a confidential document),
    and a retry with the same key answers as a duplicate, without events."""
    m = meeting
    chair, d1, i1 = [await joined(m, who) for who in ("chair", "d1", "i1")]
    start = await seq_of(m["chair"], m.id)

    # a notice for the delegates: the chair, who posts it, hears of it; an invitee does not
    r = await http_command(m["chair"], m.id, "notice.post", text="Chỉ dành cho đại biểu",
                           roles=["delegate"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"id", "ack", "events"}  # small: no room, no seq, no me
    assert body["ack"] == {"seq": start + 1, "duplicate": False}
    assert changed(r, "notice.posted")["notice"]["roles"] == ["delegate"]
    for client in (chair, d1, i1):
        await barrier(client)
    assert body["events"] == [e for e in chair.events() if e["seq"] == start + 1]
    assert [e["kind"] for e in d1.events() if e["seq"] == start + 1] == ["notice.posted"]
    assert [e for e in i1.events() if e["seq"] == start + 1] == []

    # a confidential document the chair attaches but may not read: its sealed entry only
    up = await upload(m["chair"], m.id, REPORT)
    assert up.status_code == 201, up.text
    sha = up.json()["file"]["sha256"]
    attach = {"sha256": sha, "title": "Phương án nhân sự", "classification": "confidential",
              "viewers": [uid(m, "d1")]}
    async with m["chair"].client() as c:
        r = await c.post(f"/api/meetings/{m.id}/documents", json=attach,
                         headers={"Idempotency-Key": "dinh-kem-mat-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"id", "ack", "events"}
    seq = body["ack"]["seq"]
    assert body["ack"] == {"seq": seq, "duplicate": False} and seq > start + 1
    await barrier(chair)
    mine = [e for e in chair.events() if start + 1 < e["seq"] <= seq]
    assert body["events"] == mine
    assert [(e["kind"], e["data"]["document"].get("sealed")) for e in mine] == [
        ("document.attached", True)]
    assert "sha256" not in mine[0]["data"]["document"]
    # the viewer's websocket had the whole one, which the chair's answer left out
    whole = await d1.until(lambda e: e.get("kind") == "document.attached")
    assert whole["data"]["document"]["sha256"] == sha
    assert whole["seq"] not in [e["seq"] for e in body["events"]]

    # the same key again: the same ack, a duplicate, no events (they are not at hand)
    async with m["chair"].client() as c:
        again = await c.post(f"/api/meetings/{m.id}/documents", json=attach,
                             headers={"Idempotency-Key": "dinh-kem-mat-1"})
    assert again.status_code == 200, again.text
    assert again.json() == {"id": m.id, "ack": {"seq": seq, "duplicate": True},
                            "events": None}
    assert await seq_of(m["chair"], m.id) == seq


# ---- bad input over HTTP: refused, and nothing changes ----


@pytest.mark.parametrize(("content", "content_type", "status", "code"), [
    (b'{"name": "notice.post", "args": {"text": "x"}', "application/json", 400,
     "malformed_json"),
    (b"\xff\xfe not utf-8", "application/json", 400, "malformed_json"),
    (b"", "application/json", 400, "malformed_json"),
    (b'{"name": "notice.post", "args": {"text": "x"}}', "text/plain", 400, "invalid"),
    (b'{"name": "notice.post", "args": {"text": "x"}}', None, 400, "invalid"),
    (b'name=notice.post', "application/x-www-form-urlencoded", 400, "invalid"),
    (b'["notice.post"]', "application/json", 400, "invalid"),
    (b'{"name": "notice.post", "args": ["x"]}', "application/json", 400, "invalid"),
    (b'{"name": "notice.post", "args": {"text": 5}}', "application/json", 400, "invalid"),
    (b'{"name": 5, "args": {}}', "application/json", 400, "invalid"),
    (b'{"name": "notice.post", "args": {"text": "x"}, "id": ""}', "application/json", 400,
     "invalid"),
    (b'{"name": "notice.post", "args": {"text": "x"}, "id": "' + b"x" * 65 + b'"}',
     "application/json", 400, "invalid"),
    (b'{"name": "notice.post", "args": {"text": "x"}, "extra": 1}', "application/json", 400,
     "invalid"),
    (b'{"name": "notice.post", "args": {"text": "' + b"x" * 70_000 + b'"}}',
     "application/json", 413, "too_large"),
])
async def test_bad_command_bodies(meeting: Meeting, server: ServerProcess, content: bytes,
                                  content_type: str | None, status: int, code: str) -> None:
    seq = await seq_of(meeting["chair"], meeting.id)
    r = await post_raw(server.base_url, f"/api/meetings/{meeting.id}/commands", content,
                       meeting["chair"].token, content_type)
    assert r.status_code == status, r.text
    assert_refusal(r.json(), code)
    assert await seq_of(meeting["chair"], meeting.id) == seq


async def test_a_large_body_without_a_length_is_cut_off(meeting: Meeting,
                                                        server: ServerProcess) -> None:
    seq = await seq_of(meeting["chair"], meeting.id)

    async def chunks() -> Any:
        yield b'{"name": "notice.post", "args": {"text": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}'

    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30) as c:
        r = await c.post(f"/api/meetings/{meeting.id}/commands", content=chunks(), headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {meeting['chair'].token}"})
    assert r.status_code == 413
    assert_refusal(r.json(), "too_large")
    assert await seq_of(meeting["chair"], meeting.id) == seq


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/api/meetings", {"title": 5, "starts_at": "2026-11-23T08:00:00+07:00"}, 400, "invalid"),
    ("/api/meetings", {"title": "Họp", "starts_at": "ngày mai"}, 400, "invalid"),
    ("/api/meetings", {"title": "Họp"}, 400, "invalid"),
    ("/api/meetings", {"title": "Họp", "starts_at": "2026-11-23T08:00Z", "profile": 1}, 400,
     "invalid"),
    ("/api/users", {"username": "có dấu", "password": "12345678", "full_name": "A"}, 400,
     "invalid"),
    # a short password: the password policy's own typed refusal (tests/security/test_accounts.py)
    ("/api/users", {"username": "ngan", "password": "1234", "full_name": "A"}, 422,
     "weak_password"),
    ("/api/users", {"username": "khongten", "password": "12345678", "full_name": ""}, 400,
     "invalid"),
    ("/api/login", {"username": "admin"}, 400, "invalid"),
    ("/api/login", {"username": "admin", "password": 1234}, 400, "invalid"),
])
async def test_invalid_fields(meeting: Meeting, path: str, body: dict[str, Any], status: int,
                              code: str) -> None:
    before = await meeting.admin.call("GET", "/api/meetings?scope=all")
    r = await meeting.admin.call("POST", path, body)
    assert r.status_code == status, r.text
    assert_refusal(r.json(), code)
    after = await meeting.admin.call("GET", "/api/meetings?scope=all")
    assert len(after.json()["meetings"]) == len(before.json()["meetings"])


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/participants", {"user_id": "D2", "role": "delegate"}),
    ("POST", "/participants", {"user_id": 999_999, "role": "delegate"}),
    ("PATCH", "/participants/D2", {"voting": "yes"}),
    ("PATCH", "/participants/D2", {"role": "king"}),
    ("POST", "/agenda", {"title": "Nội dung", "planned_minutes": "10"}),
    ("POST", "/agenda/order", {"order": "1,2"}),
    ("POST", "/rsvp", {"answer": "có lẽ"}),
    ("POST", "/rsvp", {"answer": "absent"}),  # an absence needs a reason
    ("PATCH", "", {"quorum": {"num": 1, "den": 0}}),
    ("PATCH", "", {}),
])
async def test_invalid_catalogue_edits_change_nothing(meeting: Meeting, method: str, path: str,
                                                      body: dict[str, Any]) -> None:
    d2 = uid(meeting, "d2")
    path = path.replace("D2", str(d2))
    body = {k: (d2 if v == "D2" else v) for k, v in body.items()}
    seq = await seq_of(meeting["chair"], meeting.id)
    r = await meeting.admin.call(method, f"/api/meetings/{meeting.id}{path}", body)
    assert r.status_code in (400, 404, 409), r.text
    assert r.json()["code"] in ("invalid", "not_found", "duplicate")
    assert_refusal(r.json(), r.json()["code"])
    assert await seq_of(meeting["chair"], meeting.id) == seq


# ---- the published contract ----


async def test_openapi_document_is_valid(server: ServerProcess) -> None:
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30) as c:
        r = await c.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    spec = r.json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    for path in ("/api/login", "/api/meetings", "/api/meetings/{meeting}/commands"):
        assert path in spec["paths"]
    # what only the server fills in is not offered to clients
    add = spec["paths"]["/api/meetings/{meeting}/participants"]["post"]
    props = add["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "profile" not in props and {"user_id", "role"} <= set(props)


async def test_healthz(server: ServerProcess) -> None:
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url, timeout=30) as c:
        r = await c.get("/healthz")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "ok"
    if server.backend.name == "embedded":
        assert (body["store"], body["bus"]) == ("sqlite", "local")
    else:
        assert (body["store"], body["bus"]) == ("postgresql", "redis")


async def test_unknown_paths_and_methods(server: ServerProcess, meeting: Meeting) -> None:
    api: Api = meeting["chair"]
    assert (await api.call("GET", "/api/nothing-here")).status_code == 404
    assert (await api.call("DELETE", "/api/me")).status_code == 405


async def test_logins_are_per_user(server: ServerProcess, meeting: Meeting) -> None:
    again = await login(server.base_url, meeting["chair"].user["username"])
    assert again.token != meeting["chair"].token
    assert again.user == meeting["chair"].user
