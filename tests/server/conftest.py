"""Helpers for integration tests against a real server: raw sockets, barriers, close codes."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.conftest import (
    PASSWORD,
    Api,
    Meeting,
    ServerProcess,
    WsClient,
    login,
    make_meeting,
)

_pings = itertools.count(1)


async def barrier(client: WsClient, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Ping and wait for the pong: return what arrived in between, presence left out.

    The server answers in order, so once the pong is here, everything sent to this
    client before it has arrived too: "nothing else came" needs no sleeping.
    """
    t = f"barrier-{next(_pings)}"
    start = len(client.seen)
    await client.send({"type": "ping", "t": t})
    await client.until(lambda m: m["type"] == "pong" and m.get("t") == t, timeout)
    return [m for m in client.seen[start:-1] if m["type"] != "presence"]


async def close_code(conn: websockets.ClientConnection | WsClient,
                     timeout: float = 15.0) -> int | None:
    """Read until the server closes the connection; the close code it sent (None: no frame).

    A WsClient keeps what it read in `seen`, as usual.
    """

    async def drain() -> None:
        try:
            while True:
                if isinstance(conn, WsClient):
                    await conn.next(timeout)
                else:
                    await conn.recv()
        except ConnectionClosed:
            return

    await asyncio.wait_for(drain(), timeout)
    ws = conn.conn if isinstance(conn, WsClient) else conn
    rcvd = ws.protocol.close_rcvd
    return rcvd.code if rcvd is not None else None


async def seq_of(api: Api, meeting: int) -> int:
    """The room's seq as the server reports it over HTTP."""
    r = await api.call("GET", f"/api/meetings/{meeting}")
    assert r.status_code == 200, r.text
    return int(r.json()["seq"])


async def http_command(api: Api, meeting: int, name: str, cid: str | None = None,
                       **args: Any) -> httpx.Response:
    body: dict[str, Any] = {"name": name, "args": args}
    if cid is not None:
        body["id"] = cid
    return await api.call("POST", f"/api/meetings/{meeting}/commands", body)


def assert_refusal(body: dict[str, Any], code: str) -> None:
    """Every refusal has a code and a message in Vietnamese and English."""
    assert body["code"] == code, body
    assert isinstance(body["message"]["vi"], str) and body["message"]["vi"]
    assert isinstance(body["message"]["en"], str) and body["message"]["en"]


def uid(meeting: Meeting, who: str) -> int:
    return int(meeting[who].user["id"])


@pytest.fixture
async def joined(open_ws: Callable[..., Awaitable[WsClient]]) -> AsyncIterator[Any]:
    """joined(meeting, who) -> a WsClient of that member, joined to the meeting."""

    async def opener(meeting: Meeting, who: str) -> WsClient:
        client = await open_ws(meeting[who])
        first = await client.join(meeting.id)
        assert first["type"] == "snapshot", first
        return client

    yield opener


@pytest.fixture(scope="module")
async def shared_meeting(server: ServerProcess) -> Meeting:
    """One meeting in session for a whole module, for tests that leave no trace in it."""
    return await make_meeting(server.base_url)


@pytest.fixture
def private_server(tmp_path: Path) -> Any:
    """A server of its own, for tests that lock sign-ins out (in memory, whatever the
    backend, so these run once, on the embedded one)."""
    servers: list[ServerProcess] = []

    def start(command: str = "demo") -> ServerProcess:
        proc = ServerProcess(tmp_path / f"server{len(servers)}", command)
        servers.append(proc)
        return proc

    yield start
    for proc in servers:
        proc.stop()


async def outsider(m: Meeting) -> Api:
    """A signed-in account that takes no part in the meeting."""
    name = f"ngoai_{m.id}_{next(_pings)}"
    r = await m.admin.call("POST", "/api/users", {"username": name, "password": PASSWORD,
                                                  "full_name": "Người ngoài cuộc"})
    assert r.status_code == 201, r.text
    return await login(m.admin.base_url, name)


async def bare_meeting(admin: Api, title: str = "Cuộc họp khác") -> int:
    """Another meeting, with nobody in it: its id."""
    r = await admin.call("POST", "/api/meetings", {"title": title,
                                                   "starts_at": "2026-11-23T08:00:00+07:00"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def loads(frame: str | bytes) -> dict[str, Any]:
    return json.loads(frame)
