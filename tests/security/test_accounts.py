"""Accounts: each test is an attack on passwords, account management or the first install,
and the typed refusal that stops it, on both backends (on `scaled`, across two nodes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD, Api, Backend, ServerProcess, login
from tests.security._accounts import (
    ADMIN,
    ADMIN_PASSWORD,
    Production,
    cli,
    install,
    new_account,
    on,
    other_node,
    refused_soon,
    signed_in,
    try_login,
    ws_session,
)
from tests.server.conftest import assert_refusal, close_code

NEW = "mat-khau-moi-2026"


@pytest.fixture(scope="module")
def node_b(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    """The deployment's second node (scaled), or the only one (embedded)."""
    b = other_node(server, tmp_path_factory)
    yield b
    if b is not server:
        b.stop()


@pytest.fixture(scope="module")
async def admin(server: ServerProcess) -> Api:
    return await login(server.base_url, "admin", "demo1234")


# ---- passwords ----


async def test_the_old_password_stops_working_after_a_change(server: ServerProcess,
                                                             admin: Api) -> None:
    acct = await new_account(admin)
    me = await signed_in(server.base_url, acct["username"])
    r = await me.call("POST", "/api/me/password", {"old_password": PASSWORD,
                                                    "new_password": NEW})
    assert r.status_code == 200, r.text
    old = await try_login(server.base_url, acct["username"], PASSWORD)
    assert old.status_code == 401
    assert_refusal(old.json(), "bad_credentials")
    assert (await try_login(server.base_url, acct["username"], NEW)).status_code == 200
    # the session that changed it stays signed in
    assert (await me.call("GET", "/api/me")).status_code == 200


async def test_a_stolen_session_cannot_change_the_password_without_the_old_one(
        server: ServerProcess, admin: Api) -> None:
    acct = await new_account(admin)
    thief = await signed_in(server.base_url, acct["username"])
    r = await thief.call("POST", "/api/me/password", {"old_password": "doan-bua-2026",
                                                       "new_password": NEW})
    assert r.status_code == 401
    assert_refusal(r.json(), "bad_credentials")
    r = await thief.call("POST", "/api/me/password", {"new_password": NEW})
    assert r.status_code == 400
    assert_refusal(r.json(), "invalid")
    # nothing changed: the owner's password works, the thief's choice does not
    assert (await try_login(server.base_url, acct["username"], PASSWORD)).status_code == 200
    assert (await try_login(server.base_url, acct["username"], NEW)).status_code == 401


@pytest.mark.parametrize("weak", ["ngan-qua", "aaaaaaaaaaaaaaa", "{username}-2026", PASSWORD])
async def test_a_weak_new_password_is_refused(server: ServerProcess, admin: Api,
                                              weak: str) -> None:
    acct = await new_account(admin)
    me = await signed_in(server.base_url, acct["username"])
    new = weak.format(username=acct["username"])
    r = await me.call("POST", "/api/me/password", {"old_password": PASSWORD,
                                                    "new_password": new})
    assert r.status_code == 422
    assert_refusal(r.json(), "weak_password")
    if new != PASSWORD:  # (the same password again is weak only as one's own change)
        # nor may an administrator set one, by a reset or for a new account
        r = await admin.call("POST", f"/api/users/{acct['id']}/password",
                             {"new_password": new})
        assert r.status_code == 422
        assert_refusal(r.json(), "weak_password")
        other = acct["username"] + "b"
        r = await admin.call("POST", "/api/users", {
            "username": other, "password": weak.format(username=other), "full_name": "Ai đó"})
        assert r.status_code == 422
        assert_refusal(r.json(), "weak_password")
        assert (await try_login(server.base_url, other, weak.format(username=other))
                ).status_code == 401
        assert (await try_login(server.base_url, acct["username"], new)).status_code == 401
    assert (await try_login(server.base_url, acct["username"], PASSWORD)).status_code == 200
    assert (await me.call("GET", "/api/me")).status_code == 200


# ---- a stolen token after a change, a reset or a disabling: dead everywhere at once ----


@pytest.mark.parametrize("how", ["change", "reset", "disable"])
async def test_a_stolen_token_dies_on_every_node_at_once(
        server: ServerProcess, node_b: ServerProcess, admin: Api, how: str) -> None:
    acct = await new_account(admin)
    owner = await signed_in(server.base_url, acct["username"])
    thief = on(node_b, await signed_in(server.base_url, acct["username"]))
    assert (await thief.call("GET", "/api/me")).status_code == 200  # node B caches it now
    thief_ws = await ws_session(node_b, thief)
    owner_ws = await ws_session(server, owner)
    if how == "change":
        r = await owner.call("POST", "/api/me/password", {"old_password": PASSWORD,
                                                           "new_password": NEW})
    elif how == "reset":
        r = await admin.call("POST", f"/api/users/{acct['id']}/password",
                             {"new_password": NEW})
    else:
        r = await admin.call("POST", f"/api/users/{acct['id']}/disable")
    assert r.status_code == 200, r.text
    refused = await refused_soon(lambda: thief.call("GET", "/api/me"))
    assert refused.status_code == 401
    assert_refusal(refused.json(), "unauthenticated")
    assert await close_code(thief_ws) == 4401
    error = [m for m in thief_ws.seen if m["type"] == "error"][-1]
    assert_refusal(error, "unauthenticated")
    assert (await on(server, thief).call("GET", "/api/me")).status_code == 401
    if how == "change":  # the owner's own session, which made the change, lives on
        assert (await owner.call("GET", "/api/me")).status_code == 200
        await owner_ws.send({"type": "ping", "t": "still-here"})
        assert (await owner_ws.until(lambda m: m["type"] == "pong"))["t"] == "still-here"
        await owner_ws.close()
    else:  # a reset or a disabling ends the owner's sessions too
        assert (await owner.call("GET", "/api/me")).status_code == 401
        assert await close_code(owner_ws) == 4401


async def test_a_disabled_account_cannot_sign_in_until_enabled(server: ServerProcess,
                                                               admin: Api) -> None:
    acct = await new_account(admin)
    r = await admin.call("POST", f"/api/users/{acct['id']}/disable")
    assert r.status_code == 200 and r.json()["user"]["disabled"] is True
    right = await try_login(server.base_url, acct["username"], PASSWORD)
    assert right.status_code == 403
    assert_refusal(right.json(), "account_disabled")
    assert "token" not in right.json() and "set-cookie" not in right.headers
    wrong = await try_login(server.base_url, acct["username"], "sai-mat-khau-2026")
    assert wrong.status_code == 401
    assert_refusal(wrong.json(), "bad_credentials")
    r = await admin.call("POST", f"/api/users/{acct['id']}/enable")
    assert r.status_code == 200 and r.json()["user"]["disabled"] is False
    assert (await try_login(server.base_url, acct["username"], PASSWORD)).status_code == 200


# ---- account management is for administrators only ----


async def test_a_non_administrator_cannot_manage_accounts(server: ServerProcess,
                                                          admin: Api) -> None:
    victim = await new_account(admin)
    intruder_acct = await new_account(admin)
    intruder = await signed_in(server.base_url, intruder_acct["username"])
    vid, own = victim["id"], intruder_acct["id"]
    attempts: list[tuple[str, str, Any]] = [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"username": "hau-cua", "password": NEW, "full_name": "Cửa sau",
                                "is_admin": True}),
        ("PATCH", f"/api/users/{vid}", {"full_name": "Đã bị sửa"}),
        ("PATCH", f"/api/users/{own}", {"is_admin": True}),  # promote oneself
        ("POST", f"/api/users/{vid}/disable", None),
        ("POST", f"/api/users/{vid}/enable", None),
        ("POST", f"/api/users/{vid}/password", {"new_password": NEW}),
    ]
    for method, path, body in attempts:
        r = await intruder.call(method, path, body)
        assert r.status_code == 403, (method, path, r.text)
        assert_refusal(r.json(), "forbidden")
    # nothing changed
    users = {u["id"]: u for u in (await admin.call("GET", "/api/users")).json()["users"]}
    assert users[vid]["full_name"] == victim["full_name"] and not users[vid]["disabled"]
    assert users[own]["is_admin"] is False
    assert "hau-cua" not in {u["username"] for u in users.values()}
    assert (await try_login(server.base_url, victim["username"], PASSWORD)).status_code == 200
    assert (await intruder.call("GET", "/api/me")).json()["user"]["is_admin"] is False


async def test_an_administrator_cannot_lock_themselves_out(server: ServerProcess,
                                                           admin: Api) -> None:
    acct = await new_account(admin, is_admin=True)
    me = await signed_in(server.base_url, acct["username"])
    for method, path, body in [
        ("POST", f"/api/users/{acct['id']}/disable", None),
        ("PATCH", f"/api/users/{acct['id']}", {"is_admin": False}),
        ("POST", f"/api/users/{acct['id']}/password", {"new_password": NEW}),
    ]:
        r = await me.call(method, path, body)
        assert r.status_code == 403, (method, path, r.text)
        assert_refusal(r.json(), "own_account")
    # still an enabled administrator, with the same password and session
    assert (await me.call("GET", "/api/users")).status_code == 200
    assert (await try_login(server.base_url, acct["username"], PASSWORD)).status_code == 200


async def test_demoting_an_administrator_ends_their_sessions(
        server: ServerProcess, node_b: ServerProcess, admin: Api) -> None:
    acct = await new_account(admin, is_admin=True)
    other = on(node_b, await signed_in(server.base_url, acct["username"]))
    assert (await other.call("GET", "/api/users")).status_code == 200  # cached on node B
    r = await admin.call("PATCH", f"/api/users/{acct['id']}",
                         {"is_admin": False, "position": "Chuyên viên"})
    assert r.status_code == 200 and r.json()["user"]["is_admin"] is False
    refused = await refused_soon(lambda: other.call("GET", "/api/users"))
    assert refused.status_code == 401  # no admin right survives in a cache
    again = await signed_in(node_b.base_url, acct["username"])
    r = await again.call("GET", "/api/users")
    assert r.status_code == 403
    assert_refusal(r.json(), "forbidden")


async def test_an_administrator_edits_an_account(server: ServerProcess, node_b: ServerProcess,
                                                 admin: Api) -> None:
    acct = await new_account(admin)
    me = on(node_b, await signed_in(server.base_url, acct["username"]))
    assert (await me.call("GET", "/api/me")).status_code == 200  # cached on node B
    r = await admin.call("PATCH", f"/api/users/{acct['id']}", {
        "full_name": "Nguyễn Văn Mới", "position": "Phó phòng", "unit": "Phòng Tư pháp"})
    assert r.status_code == 200, r.text
    # the change shows at once on every node (the cached copy was dropped), nothing closed
    user = (await me.call("GET", "/api/me")).json()["user"]
    assert (user["full_name"], user["position"], user["unit"]) == (
        "Nguyễn Văn Mới", "Phó phòng", "Phòng Tư pháp")
    r = await admin.call("PATCH", "/api/users/99999999", {"unit": "x"})
    assert r.status_code == 404
    assert_refusal(r.json(), "not_found")


# ---- a production install: create-admin, passwd, no development trust ----


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory, backend: Backend
               ) -> Iterator[Production]:
    # A short idle timeout makes the session cache and the sweep short too (a quarter of
    # it): on `embedded`, `passwd` runs in another process and cannot reach the server's
    # cache, which then forgets within seconds.
    prod = install(tmp_path_factory, backend, env={"PHONGHOP_SESSION_IDLE_SECONDS": "24"})
    yield prod
    prod.server.stop()


async def test_create_admin_makes_a_real_first_account_and_no_demo(
        production: Production) -> None:
    base = production.server.base_url
    assert (await try_login(base, ADMIN, ADMIN_PASSWORD)).status_code == 200
    for demo in ("admin", "chutri", "daibieu01"):
        assert (await try_login(base, demo, "demo1234")).status_code == 401
    # the same username again, or a weak password from stdin: refused, nothing made
    again = cli(production.data, production.args, "create-admin", "--username", ADMIN,
                "--full-name", "Kẻ Mạo Danh", "--password-stdin", stdin="Mat-khau-khac-2026\n")
    assert again.returncode != 0 and "already exists" in again.stderr
    assert (await try_login(base, ADMIN, "Mat-khau-khac-2026")).status_code == 401
    weak = cli(production.data, production.args, "create-admin", "--username", "yeu",
               "--full-name", "Mật Khẩu Yếu", "--password-stdin", stdin="123\n")
    assert weak.returncode != 0 and "too weak" in weak.stderr
    assert (await try_login(base, "yeu", "123")).status_code == 401


async def test_passwd_ends_the_sessions_of_the_account(production: Production) -> None:
    base = production.server.base_url
    made = cli(production.data, production.args, "create-admin", "--username", "thuky2",
               "--full-name", "Phạm Thư Ký", "--password-stdin", stdin=NEW + "\n")
    assert made.returncode == 0, made.stderr
    stolen = await signed_in(base, "thuky2", NEW)
    assert (await stolen.call("GET", "/api/me")).status_code == 200
    stolen_ws = await ws_session(production.server, stolen)
    done = cli(production.data, production.args, "passwd", "thuky2", "--password-stdin",
               stdin="Mot-mat-khau-khac-9\n")
    assert done.returncode == 0, done.stderr
    assert (await try_login(base, "thuky2", NEW)).status_code == 401
    assert (await try_login(base, "thuky2", "Mot-mat-khau-khac-9")).status_code == 200
    # scaled: through the bus, at once; embedded: the cache (6 s here) and the sweep forget it
    within = 2.0 if production.server.backend.name == "scaled" else 15.0
    refused = await refused_soon(lambda: stolen.call("GET", "/api/me"), within)
    assert refused.status_code == 401
    assert await close_code(stolen_ws, within) == 4401
    missing = cli(production.data, production.args, "passwd", "khong-co", "--password-stdin",
                  stdin="Mot-mat-khau-khac-9\n")
    assert missing.returncode != 0 and "no such account" in missing.stderr


async def test_production_refuses_to_sign_without_trust_roots(production: Production) -> None:
    """The development CA sits in DATA/dev-ca, but `serve` without the development flag
    does not trust it, and with no trust roots configured it refuses to sign."""
    assert (production.data / "dev-ca" / "ca.pem").exists()
    admin = await signed_in(production.server.base_url, ADMIN, ADMIN_PASSWORD)
    r = await admin.call("POST", "/api/meetings", {"title": "Họp thật",
                                                   "starts_at": "2026-12-01T08:00:00+07:00"})
    assert r.status_code == 201, r.text
    meeting = r.json()["id"]
    for path, body in [("/sign", {"method": "pkcs12", "password": ADMIN_PASSWORD}),
                       ("/sign/prepare", {"certificate": "x", "chain": []}),
                       ("/sign/finish", {"session": "x", "signature": "AA=="})]:
        r = await admin.call("POST", f"/api/meetings/{meeting}/minutes{path}", body)
        assert r.status_code == 503, (path, r.text)
        assert_refusal(r.json(), "no_trust_roots")
