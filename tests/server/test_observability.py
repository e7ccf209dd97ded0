"""Operations: `/metrics` (protected, nothing per user) and the JSON log (ids per request and
connection, nothing sensitive), against real servers: one with a metrics token and JSON logs
at debug level, one serving its metrics on an address of its own."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from phonghop.server.config import Settings
from phonghop.server.metrics import Metrics, _guarded, metrics_address, metrics_token
from phonghop.voting.receipts import new_receipt
from tests.conftest import (
    EMBEDDED,
    PASSWORD,
    TLS,
    ServerProcess,
    WsClient,
    changed,
    free_port,
    login,
)
from tests.conftest import make_meeting as _make_meeting
from tests.server.conftest import assert_refusal

TOKEN = "metrics-" + secrets.token_hex(16)
# The only label names a metric may carry: none names a user, a meeting or a document.
LABELS = {"version", "store", "bus", "node", "outcome", "log", "reason", "le"}


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """/metrics behind a token on the main port; every line of the log as JSON, at debug."""
    proc = ServerProcess(tmp_path_factory.mktemp("observed"), "demo", backend=EMBEDDED, env={
        "PHONGHOP_METRICS_TOKEN": TOKEN, "PHONGHOP_LOG_FORMAT": "json",
        "PHONGHOP_LOG_LEVEL": "debug"})
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def apart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """Metrics on an address of their own (with the token required there too)."""
    port = free_port()
    proc = ServerProcess(tmp_path_factory.mktemp("apart"), "serve", backend=EMBEDDED, env={
        "PHONGHOP_METRICS_ADDRESS": f"127.0.0.1:{port}", "PHONGHOP_METRICS_TOKEN": TOKEN})
    yield proc, f"http://127.0.0.1:{port}"
    proc.stop()


def scrape(base_url: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(base_url + "/metrics", headers=headers, timeout=10, verify=TLS)


async def get(url: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(verify=TLS, timeout=10) as client:
        return await client.get(url, **kw)


async def ascrape(base_url: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await get(base_url + "/metrics", headers=headers)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, by name and labels, parsed by prometheus-client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def log_lines(server: ServerProcess) -> list[dict[str, Any]]:
    """The server's log, each line a JSON object (a line that is not fails the test)."""
    lines = server.log.read_text().splitlines()
    # The demo's banner is printed on stdout before the server starts; the log is stderr.
    start = next(i for i, line in enumerate(lines) if line.startswith("{"))
    return [json.loads(line) for line in lines[start:] if line.strip()]


async def make_meeting(base_url: str) -> Any:
    return await _make_meeting(base_url, delegates=2)


async def open_poll(m: Any) -> dict[str, Any]:
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls", {"title": "Biểu quyết"})
    assert r.status_code == 200, r.text
    poll = changed(r, "poll.created")["poll"]
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls/{poll['id']}/open")
    assert r.status_code == 200, r.text
    return poll


# ---- /metrics ----

async def test_metrics_count_connections_rooms_commands_ballots_and_latencies(
    observed: ServerProcess,
) -> None:
    before = samples((await ascrape(observed.base_url)).text)
    m = await make_meeting(observed.base_url)
    clients = [await WsClient.open(observed.ws_url, m[w].token) for w in ("d1", "d2")]
    try:
        for c in clients:
            assert (await c.join(m.id))["type"] == "snapshot"
        mid = samples((await ascrape(observed.base_url)).text)
        assert value(mid, "phonghop_connections") >= 2
        assert value(mid, "phonghop_rooms") >= 1
        d1 = clients[0]
        for _ in range(3):
            assert (await d1.command(m.id, "floor.request"))["type"] == "ack"
            assert (await d1.command(m.id, "floor.withdraw"))["type"] == "ack"
        refused = await d1.command(m.id, "floor.withdraw")  # nothing to withdraw
        assert refused["type"] == "rejected"
        for w in ("d1", "d2"):
            r = await m[w].call("POST", f"/api/meetings/{m.id}/commands",
                                {"name": "attendance.check_in"})
            assert r.status_code == 200, r.text
        poll = await open_poll(m)
        ack = await d1.command(m.id, "vote.cast", poll_id=poll["id"], choices=[1],
                               receipt=new_receipt())
        assert ack["type"] == "ack", ack
        again = await d1.command(m.id, "vote.cast", poll_id=poll["id"], choices=[2],
                                 receipt=new_receipt())
        assert again["type"] == "rejected"
    finally:
        for c in clients:
            await c.close()
    after = samples((await ascrape(observed.base_url)).text)

    def grew(name: str, by: float, **labels: str) -> None:
        assert value(after, name, **labels) - value(before, name, **labels) >= by, name

    grew("phonghop_commands_total", 7 + 2 + 2)  # ws, check-ins, poll create and open
    grew("phonghop_command_acks_total", 6 + 2 + 2)
    assert (value(after, "phonghop_commands_total") - value(after, "phonghop_command_acks_total")
            >= value(before, "phonghop_commands_total")
            - value(before, "phonghop_command_acks_total") + 1)  # the refused withdraw
    grew("phonghop_ballots_total", 1, outcome="acknowledged")
    grew("phonghop_ballots_total", 1, outcome="refused")
    grew("phonghop_commit_seconds_count", 10, log="events")
    grew("phonghop_commit_seconds_count", 1, log="ballots")
    grew("phonghop_fanout_seconds_count", 6)
    for name in ("phonghop_render_queue", "phonghop_render_workers",
                 "phonghop_bus_reconnects_total", "phonghop_bus_dropped_total",
                 "process_resident_memory_bytes"):
        assert value(after, name) >= 0
    for reason in ("timeout", "crash", "memory"):
        assert value(after, "phonghop_render_worker_restarts_total", reason=reason) >= 0
    [(info, one)] = [(dict(k[1]), v) for k, v in after.items() if k[0] == "phonghop_info"]
    assert one == 1 and info["store"] == "sqlite" and info["bus"] == "local"


async def test_metrics_never_name_a_user_a_meeting_or_what_they_did(
    observed: ServerProcess,
) -> None:
    m = await make_meeting(observed.base_url)
    text = (await ascrape(observed.base_url)).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            assert set(s.labels) <= LABELS, (s.name, s.labels)
    for who in ("chair", "d1", "d2"):
        assert m[who].user["username"] not in text
        assert m[who].user["full_name"] not in text
        assert m[who].token not in text
    assert "Cuộc họp kiểm thử" not in text and "admin" not in text


async def test_metrics_need_the_token_and_nothing_else_opens_them(
    observed: ServerProcess,
) -> None:
    admin = await login(observed.base_url, "admin", "demo1234")
    refusals = {
        "no header": await ascrape(observed.base_url, None),
        "wrong token": await ascrape(observed.base_url, "x" * len(TOKEN)),
        "a prefix of it": await ascrape(observed.base_url, TOKEN[:-1]),
        "it and more": await ascrape(observed.base_url, TOKEN + "x"),
        # An administrator's session is not a scraper's credential.
        "a session token": await ascrape(observed.base_url, admin.token),
        "in the query": await get(f"{observed.base_url}/metrics?token={TOKEN}"),
        "another scheme": await get(observed.base_url + "/metrics",
                                    headers={"Authorization": f"Basic {TOKEN}"}),
    }
    for what, r in refusals.items():
        assert r.status_code == 401, what
        assert r.headers["www-authenticate"] == "Bearer"
        assert_refusal(r.json(), "unauthenticated")
        assert "phonghop_" not in r.text
    r = await ascrape(observed.base_url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    assert r.headers["cache-control"] == "no-store"


def test_a_separate_address_alone_serves_the_metrics(apart: tuple[ServerProcess, str]) -> None:
    server, address = apart
    # Not on the main port, even with the token: the address is where they live.
    assert scrape(server.base_url).status_code == 404
    assert scrape(address, None).status_code == 401  # the token, when set, is asked there too
    assert scrape(address, "y" * len(TOKEN)).status_code == 401
    r = scrape(address)
    assert r.status_code == 200
    assert value(samples(r.text), "phonghop_connections") == 0
    assert httpx.get(address + "/", timeout=10, verify=TLS).status_code == 404


def test_metrics_are_off_unless_configured(tmp_path: Path) -> None:
    off = Metrics(Settings(data_dir=tmp_path), node=None, version="0")  # type: ignore[arg-type]
    assert not off.enabled and off.routes() == []
    only_address = Settings(data_dir=tmp_path, metrics_address="[::1]:9108", worker_index=2)
    assert metrics_address(only_address) == ("::1", 9110)  # worker 2 of --workers N
    for bad in ("9108", "host:", "host:http", "127.0.0.1:70000", ":9108"):
        with pytest.raises(ValueError, match="PHONGHOP_METRICS_ADDRESS"):
            metrics_address(Settings(data_dir=tmp_path, metrics_address=bad))
    with pytest.raises(ValueError, match="at least 16"):
        metrics_token(Settings(data_dir=tmp_path, metrics_token_value="short"))
    # The address without a token serves /metrics to whoever reaches it, and nothing else.
    seen: list[str] = []
    app = _guarded(lambda environ, start: [b"metrics"], None)
    assert app({"PATH_INFO": "/metrics"}, lambda status, headers: seen.append(status)) == [
        b"metrics"]
    assert app({"PATH_INFO": "/x"}, lambda status, headers: seen.append(status)) != [b"metrics"]
    assert seen == ["404 Not Found"]


def test_a_malformed_metrics_or_log_setting_stops_serve_with_one_line(tmp_path: Path) -> None:
    from phonghop.server.cli import serve

    for bad in ({"metrics_address": "nowhere"}, {"metrics_token_value": "short"},
                {"log_format": "xml"}, {"log_level": "loud"}):
        with pytest.raises(SystemExit) as stopped:  # before anything starts or binds
            serve(Settings(data_dir=tmp_path, port=free_port(), **bad))
        assert str(stopped.value.code).startswith("phonghop: PHONGHOP_"), bad


# ---- the JSON log ----

async def test_every_log_line_is_one_json_object_with_its_request_or_connection_id(
    observed: ServerProcess,
) -> None:
    r = await get(observed.base_url + "/healthz", headers={"X-Request-ID": "lb-42.a:b=c/d+e"})
    assert r.headers["x-request-id"] == "lb-42.a:b=c/d+e"
    fresh = (await get(observed.base_url + "/healthz")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", fresh)
    for bad in ("x" * 65, "has space", "quote\"d", "<script>", "é"):
        got = (await get(observed.base_url + "/healthz", headers={
            "X-Request-ID": bad.encode("utf-8")})).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{16}", got), bad  # replaced, not echoed
    m = await make_meeting(observed.base_url)
    ws = await WsClient.open(observed.ws_url, m["d1"].token)
    await ws.join(m.id)
    await ws.close()
    api = await login(observed.base_url, "admin", "demo1234")
    missing = await api.call("GET", "/api/meetings/999999")
    assert missing.status_code == 404
    rid = missing.headers["x-request-id"]

    ws_closed = closed_by(m["d1"].user["id"])
    # Access lines are written once the answer is sent: wait for the last one too.
    lines = await _settled(observed, lambda ls: ws_closed(ls) and any(
        e.get("request_id") == rid for e in ls))
    for entry in lines:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        at = datetime.fromisoformat(entry["time"])
        assert at.utcoffset() == timedelta(hours=7), entry["time"]  # Asia/Ho_Chi_Minh
    access = [e for e in lines if e["logger"] == "phonghop.http"]
    mine = [e for e in access if e.get("request_id") == "lb-42.a:b=c/d+e"]
    assert len(mine) == 1 and mine[0]["path"] == "/healthz" and mine[0]["status"] == 200
    assert any(e.get("request_id") == fresh for e in access)
    assert [e["status"] for e in access if e.get("request_id") == rid] == [404]
    text = observed.log.read_text()
    for bad in ("x" * 65, "has space", "<script>"):
        assert bad not in text  # a refused id is neither echoed nor logged
    opened = [e for e in lines if e["message"] == "websocket opened"
              and e.get("user_id") == m["d1"].user["id"]]
    closed = [e for e in lines if e["message"] == "websocket closed"
              and e.get("user_id") == m["d1"].user["id"]]
    assert len(opened) == 1 and len(closed) == 1
    assert re.fullmatch(r"[0-9a-f]{16}", opened[0]["connection_id"])
    assert opened[0]["connection_id"] == closed[0]["connection_id"]
    assert "request_id" not in opened[0]


async def test_no_password_token_or_ballot_reaches_the_log(observed: ServerProcess) -> None:
    wrong = "sai-" + secrets.token_hex(8)
    async with httpx.AsyncClient(verify=TLS, timeout=10) as client:
        r = await client.post(observed.base_url + "/api/login", json={
            "username": "admin", "password": wrong, "client": "device"})
    assert r.status_code == 401
    m = await make_meeting(observed.base_url)
    for w in ("d1", "d2"):
        r = await m[w].call("POST", f"/api/meetings/{m.id}/commands",
                            {"name": "attendance.check_in"})
        assert r.status_code == 200, r.text
    poll = await open_poll(m)
    new_password = "mat-khau-moi-" + secrets.token_hex(6)
    r = await m["d2"].call("POST", "/api/me/password", {"old_password": PASSWORD,
                                                         "new_password": new_password})
    assert r.status_code == 200, r.text
    receipts = [new_receipt(), new_receipt()]
    ws = await WsClient.open(observed.ws_url, m["d1"].token)
    try:
        await ws.join(m.id)
        ack = await ws.command(m.id, "vote.cast", poll_id=poll["id"], choices=[2],
                               receipt=receipts[0])
        assert ack["type"] == "ack"
        bad = await ws.command(m.id, "vote.cast", poll_id=poll["id"], choices=[9],
                               receipt=receipts[1])
        assert bad["type"] == "rejected"
        await ws.send("{not json " + receipts[1])  # a malformed message is not echoed to the log
    finally:
        await ws.close()
    await ascrape(observed.base_url)
    await ascrape(observed.base_url, "wrong-" + TOKEN)
    await _settled(observed, closed_by(m["d1"].user["id"]))
    text = observed.log.read_text()
    assert '"level":"DEBUG"' in text or '"level":"INFO"' in text  # it did log, verbosely
    for secret in (PASSWORD, wrong, new_password, TOKEN, *receipts,
                   *(m[w].token for w in ("chair", "secretary", "d1", "d2"))):
        assert secret not in text, "a secret in the log"


def closed_by(user_id: int) -> Any:
    return lambda lines: any(e["message"] == "websocket closed" and e.get("user_id") == user_id
                             for e in lines)


async def _settled(server: ServerProcess, done: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """The log once `done(lines)` holds: the server writes a websocket's last line after
    the client saw it close."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        lines = log_lines(server)
        if done(lines) or asyncio.get_running_loop().time() > deadline:
            return lines
        await asyncio.sleep(0.05)
