"""Attacks on the server's capacity and on sign-in: concurrent guessing, guessing across
nodes, forged client addresses, a flood of password checks meant to slow everything else
down, and one account holding sockets and sending commands without end."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from phonghop.server.client_address import client_address, parse_proxies
from phonghop.server.login_limits import (
    PER_ADDRESS,
    PER_USER,
    MemoryLimits,
    RedisLimits,
    attempt_for,
)
from tests.conftest import PASSWORD, REDIS, TLS, Backend, ServerProcess, WsClient, make_meeting
from tests.security._accounts import new_account, other_node
from tests.server.conftest import assert_refusal, close_code

SOCKETS_PER_USER = 8  # the default (server/config.py)

_hosts = itertools.count(1)


def fresh_address() -> str:
    """A client address no other test has used (each test's own sign-in buckets)."""
    n = next(_hosts) + 100 * (os.getpid() % 100)
    return f"198.51.{n // 250}.{n % 250 + 1}"


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[ServerProcess]:
    """A demo server behind a "load balancer" on 127.0.0.1: X-Forwarded-For is believed
    from there, so each test signs in from addresses of its own."""
    proc = ServerProcess(tmp_path_factory.mktemp("gate"), "demo", backend=backend,
                         env={"PHONGHOP_TRUSTED_PROXIES": "127.0.0.1"})
    yield proc
    proc.stop()


async def sign_in(base_url: str, username: str, password: str,
                  forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(verify=TLS, base_url=base_url, timeout=60) as c:
        return await c.post("/api/login", headers=headers,
                            json={"username": username, "password": password,
                                  "client": "device"})


async def admin_of(base_url: str) -> Any:
    from tests.conftest import login

    return await login(base_url, "admin", "demo1234")


async def test_twenty_wrong_passwords_at_once_get_five_checks(gate: ServerProcess) -> None:
    """The attempts are reserved before the hash is checked: concurrency buys nothing."""
    victim = await new_account(await admin_of(gate.base_url))
    ip = fresh_address()
    answers = await asyncio.gather(*[
        sign_in(gate.base_url, victim["username"], f"doan-sai-{n}", ip) for n in range(20)])
    codes = sorted(r.json()["code"] for r in answers)
    assert codes == ["bad_credentials"] * PER_USER + ["too_many_attempts"] * (20 - PER_USER)
    for r in answers:
        assert_refusal(r.json(), r.json()["code"])
        if r.status_code == 429:
            assert 0 < int(r.headers["Retry-After"]) <= 60
    # the right password waits too: the account is what is being guessed
    r = await sign_in(gate.base_url, victim["username"], PASSWORD, fresh_address())
    assert r.status_code == 429
    assert_refusal(r.json(), "too_many_attempts")


async def test_guessing_on_two_nodes_shares_one_limit(
    gate: ServerProcess, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Spreading the guesses over the nodes of a deployment gains nothing (Redis holds the
    counts; the embedded backend has one node, which then plays both)."""
    b = other_node(gate, tmp_path_factory, env={"PHONGHOP_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        victim = await new_account(await admin_of(gate.base_url))
        ip = fresh_address()
        for n in range(PER_USER):
            node = gate if n % 2 else b
            r = await sign_in(node.base_url, victim["username"], f"sai-{n}", ip)
            assert r.status_code == 401, r.text
        for node in (gate, b):
            r = await sign_in(node.base_url, victim["username"], "sai-nua", ip)
            assert r.status_code == 429
            assert_refusal(r.json(), "too_many_attempts")
    finally:
        if b is not gate:
            b.stop()


async def test_a_right_password_forgets_the_accounts_typos(gate: ServerProcess) -> None:
    victim = await new_account(await admin_of(gate.base_url))
    ip = fresh_address()
    for _ in range(PER_USER - 1):
        assert (await sign_in(gate.base_url, victim["username"], "go-nham", ip)).status_code == 401
    assert (await sign_in(gate.base_url, victim["username"], PASSWORD, ip)).status_code == 200
    for _ in range(PER_USER - 1):  # a fresh allowance after the success
        assert (await sign_in(gate.base_url, victim["username"], "go-nham", ip)).status_code == 401


async def test_a_spraying_address_is_slowed_not_locked_and_the_hall_next_door_is_not(
    gate: ServerProcess,
) -> None:
    """One address spraying usernames runs dry, then gets one attempt every couple of
    seconds (a back-off, not a lock-out); another address is not affected at all."""
    ip = fresh_address()
    answers = await asyncio.gather(*[  # at once: the bucket refills while we dawdle
        sign_in(gate.base_url, f"khong-co-{uuid.uuid4().hex[:8]}-{n}", "x", ip)
        for n in range(PER_ADDRESS + 5)])
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * PER_ADDRESS + [429] * 5
    r = await sign_in(gate.base_url, "chutri", "demo1234", ip)
    assert r.status_code == 429
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 2  # one attempt every WINDOW / PER_ADDRESS seconds
    await asyncio.sleep(wait + 0.2)
    assert (await sign_in(gate.base_url, "chutri", "demo1234", ip)).status_code == 200
    # the hall next door, behind another address, never noticed
    assert (await sign_in(gate.base_url, "thuky", "demo1234", fresh_address())).status_code == 200


async def test_the_access_log_records_the_client_behind_the_proxy(gate: ServerProcess) -> None:
    """The access log's "from where" is the same client address: the one the trusted proxy
    saw, not one a client writes into its own X-Forwarded-For."""
    admin = await admin_of(gate.base_url)
    victim = await new_account(admin)
    near, far = fresh_address(), fresh_address()
    for forwarded in (near, f"203.0.113.1, {far}"):  # the second: a forged hop, then ours
        r = await sign_in(gate.base_url, victim["username"], PASSWORD, forwarded)
        assert r.status_code == 200, r.text
    r = await admin.call("GET", f"/api/admin/audit?kind=signin&user={victim['username']}")
    assert [x["address"] for x in r.json()["records"]] == [far, near]


async def test_a_forged_forwarded_for_is_ignored_without_a_trusted_proxy(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Without PHONGHOP_TRUSTED_PROXIES, inventing a new X-Forwarded-For for every request
    does not make a client many clients (nor lets it lock out the address it names)."""
    srv = ServerProcess(tmp_path_factory.mktemp("direct"), "demo")
    try:
        answers = await asyncio.gather(*[
            sign_in(srv.base_url, f"ai-do-{n}", "x", fresh_address())
            for n in range(PER_ADDRESS + 5)])
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [401] * PER_ADDRESS + [429] * 5
        # the address it named in the header is not the one that ran dry
        assert (await sign_in(srv.base_url, "chutri", "demo1234")).status_code == 429
    finally:
        srv.stop()


async def test_a_flood_of_password_checks_is_answered_busy_and_costs_no_attempts(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """With real argon2id parameters and one hashing thread, a burst of sign-ins fills the
    queue: the rest are answered `busy` at once (they never reach the shared thread pool),
    and an attempt that checked nothing is given back. (An unknown username costs the
    same check as a known one.)"""
    srv = ServerProcess(tmp_path_factory.mktemp("flood"), "serve", env={
        "PHONGHOP_PASSWORD_PROFILE": "rfc9106-low-memory",
        "PHONGHOP_PASSWORD_THREADS": "1", "PHONGHOP_PASSWORD_QUEUE": "1"})
    try:
        answers = await asyncio.gather(*[sign_in(srv.base_url, "ai-do", f"sai-{n}")
                                         for n in range(24)])
        codes = [r.json()["code"] for r in answers]
        assert "busy" in codes, codes
        assert set(codes) <= {"busy", "bad_credentials", "too_many_attempts"}, codes
        assert codes.count("bad_credentials") <= PER_USER
        for r in answers:
            if r.json()["code"] == "busy":
                assert r.status_code == 503 and r.headers["Retry-After"] == "1"
                assert_refusal(r.json(), "busy")
        async with httpx.AsyncClient(verify=TLS, base_url=srv.base_url) as c:
            health = (await c.get("/healthz")).json()
        assert health["password_checks_busy"] == codes.count("busy")
        # the busy answers spent none of the account's attempts: exactly the ones left by
        # the wrong passwords that were checked remain (one more if a refill came meanwhile)
        left = 0
        while (await sign_in(srv.base_url, "ai-do", "sai-nua")).status_code == 401:
            left += 1
        assert PER_USER - codes.count("bad_credentials") <= left <= PER_USER
    finally:
        srv.stop()


# ---- the parts, on their own ----


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    proxies = parse_proxies("10.0.0.0/8, 127.0.0.1")
    # not from a proxy: the header is whatever the client wrote
    assert client_address("203.0.113.9", ["1.2.3.4"], proxies) == "203.0.113.9"
    assert client_address("203.0.113.9", ["1.2.3.4"], ()) == "203.0.113.9"
    # from the proxy: the right-most address that is not a proxy; a client's own forged
    # entries to the left are skipped
    assert client_address("127.0.0.1", ["6.6.6.6, 198.51.100.7"], proxies) == "198.51.100.7"
    assert client_address("127.0.0.1", ["198.51.100.7, 10.1.2.3"], proxies) == "198.51.100.7"
    assert client_address("127.0.0.1", ["6.6.6.6", "198.51.100.7"], proxies) == "198.51.100.7"
    # garbage in the chain: only the proxy is known
    assert client_address("127.0.0.1", ["<script>"], proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", [], proxies) == "127.0.0.1"
    with pytest.raises(ValueError, match="PHONGHOP_TRUSTED_PROXIES"):
        parse_proxies("10.0.0.0/8, localhost")


async def test_memory_limits_back_off_and_give_back() -> None:
    now = [1000.0]
    limits = MemoryLimits(clock=lambda: now[0])
    attempt = attempt_for("Chủ Trì", "203.0.113.1")
    assert attempt_for("chủ trì", "203.0.113.1") == attempt  # usernames are case-folded
    assert "Chủ" not in attempt.user_key and "203.0" not in attempt.address_key
    waits = [await limits.reserve(attempt) for _ in range(PER_USER + 1)]
    assert waits[:PER_USER] == [0] * PER_USER and waits[-1] == 12  # 60 s / 5 attempts
    await limits.released(attempt)  # one checked nothing: it comes back
    assert await limits.reserve(attempt) == 0
    now[0] += 12
    assert await limits.reserve(attempt) == 0  # refilled over time
    await limits.succeeded(attempt)
    assert [await limits.reserve(attempt) for _ in range(PER_USER)] == [0] * PER_USER


async def test_redis_limits_are_atomic_shared_and_expire() -> None:
    namespace = f"phonghop-test-{uuid.uuid4().hex[:8]}"
    a, b = RedisLimits(REDIS, namespace), RedisLimits(REDIS, namespace)
    try:
        attempt = attempt_for(f"u{uuid.uuid4().hex[:6]}", "203.0.113.2")
        waits = await asyncio.gather(*[(a if n % 2 else b).reserve(attempt) for n in range(20)])
        assert sorted(waits)[:PER_USER] == [0] * PER_USER
        assert all(1 <= w <= 12 for w in sorted(waits)[PER_USER:])
        import redis.asyncio as redis

        client = redis.from_url(REDIS)
        key = f"{namespace}:login:{attempt.user_key}"
        ttl = await client.pttl(key)
        assert 0 < ttl <= 61_000  # nothing outlives the time it takes to refill
        assert (await client.hgetall(key)).keys() == {b"tokens", b"when"}
        await a.succeeded(attempt)
        assert await client.exists(key) == 0  # a full bucket is no key at all
        await client.aclose()
    finally:
        await a.close()
        await b.close()


async def test_redis_limits_fall_back_to_this_node_when_redis_is_gone() -> None:
    gone = RedisLimits("redis://127.0.0.1:9/0", "phonghop-test-gone")
    try:
        attempt = attempt_for("ai-do", "203.0.113.3")
        waits = [await gone.reserve(attempt) for _ in range(PER_USER + 1)]
        assert waits[:PER_USER] == [0] * PER_USER and waits[-1] > 0  # still limited
    finally:
        await gone.close()


# ---- what one account may hold: websockets, and commands a second ----


async def test_one_account_cannot_open_sockets_without_end(gate: ServerProcess) -> None:
    """A stolen or runaway account opening socket after socket is stopped at the account's
    limit on the node, with a typed refusal; closing one makes room again."""
    import websockets

    m = await make_meeting(gate.base_url, delegates=1, invitees=0)
    d1 = m["d1"]
    held = [await WsClient.open(gate.ws_url, d1.token) for _ in range(SOCKETS_PER_USER)]
    try:
        async with websockets.connect(gate.ws_url, subprotocols=["bearer", d1.token]) as extra:
            refusal = json.loads(await asyncio.wait_for(extra.recv(), 10))
            assert_refusal(refusal, "too_many_connections")
            assert await close_code(extra) == 1008
        # another account on the same node is not affected
        other = await WsClient.open(gate.ws_url, m["chair"].token)
        await other.close()
        # the held sockets still work, and closing one makes room for a new one
        assert (await held[0].join(m.id))["type"] == "snapshot"
        await held.pop().close()
        again = await open_when_room(gate.ws_url, d1.token)
        held.append(again)
    finally:
        for client in held:
            await client.close()
    async with httpx.AsyncClient(verify=TLS, base_url=gate.base_url) as c:
        assert (await c.get("/healthz")).json()["sockets_refused"] >= 1


async def open_when_room(url: str, token: str) -> WsClient:
    """Open a socket once the server has counted a just-closed one out (it does so when it
    sees the close, a moment after the client)."""
    for _ in range(100):
        try:
            return await WsClient.open(url, token)
        except AssertionError:  # the first message was the refusal, not hello
            await asyncio.sleep(0.05)
    raise AssertionError("a closed socket was never counted out")


async def test_commands_are_limited_per_account_not_per_socket(gate: ServerProcess) -> None:
    """Two sockets of one account, each within its own message rate, together exceed the
    account's command rate in the room: the excess is refused `rate_limited`."""
    m = await make_meeting(gate.base_url, delegates=1, invitees=0)
    a = await WsClient.open(gate.ws_url, m["d1"].token)
    b = await WsClient.open(gate.ws_url, m["d1"].token)
    try:
        for ws in (a, b):
            assert (await ws.join(m.id))["type"] == "snapshot"
        per_socket = 50  # under a socket's own burst of 60: only the account's limit bites
        for n in range(per_socket):
            for i, ws in enumerate((a, b)):
                await ws.send({"type": "command", "id": f"s{i}-{n}", "meeting": m.id,
                               "name": "floor.withdraw", "args": {}})
        answers = []
        for ws in (a, b):
            for _ in range(per_socket):
                answers.append(await ws.until(lambda x: x["type"] in ("ack", "rejected")))
        codes = [x.get("code", "ack") for x in answers]
        assert len(codes) == 2 * per_socket
        assert codes.count("rate_limited") >= 1, codes
        for x in answers:
            if x.get("code") == "rate_limited":
                assert_refusal(x, "rate_limited")
    finally:
        await a.close()
        await b.close()
