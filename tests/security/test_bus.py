"""The bus is not trusted: someone who can publish on Redis (a wrong ACL, another tenant of
a shared Redis, a compromised host) tries to change rooms behind the nodes' backs.

Two nodes on one PostgreSQL database and one Redis. The attacker publishes straight to the
room's Redis channel: a forged `document.attached` that re-classifies a confidential
document as public (without a tag, with a random one, with one made with another secret,
and a genuine message moved to another room's channel), and volatile pointer messages that
claim a wider audience than the document has. Nothing is applied: no client on either node
sees anything, the rooms do not change, the nodes count the drops; a genuine page turn
still crosses from one node to the other.

Only the scaled backend has a bus between processes: the embedded one has nothing to forge.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pymupdf
import pytest
import redis.asyncio as redis

from phonghop.bus.redis import seal
from phonghop.server.config import Settings
from tests.conftest import (
    BACKENDS,
    REDIS,
    TEST_BUS_SECRET,
    TLS,
    Api,
    Backend,
    Meeting,
    ServerProcess,
    WsClient,
    make_meeting,
)
from tests.server.conftest import barrier, uid

pytestmark = pytest.mark.skipif("scaled" not in BACKENDS,
                                reason="the bus between nodes exists on the scaled backend")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ...]]:
    backend = Backend("scaled")
    a = ServerProcess(tmp_path_factory.mktemp("node_a"), "demo", backend=backend)
    b = ServerProcess(tmp_path_factory.mktemp("node_b"), "serve", backend=backend,
                      args=a.backend_args)
    yield a, b
    b.stop()
    a.stop()
    backend.drop()


@pytest.fixture
async def clients() -> AsyncIterator[Any]:
    opened: list[WsClient] = []

    async def joined(node: ServerProcess, api: Api, meeting: int) -> WsClient:
        client = await WsClient.open(node.ws_url, api.token)
        opened.append(client)
        first = await client.join(meeting)
        assert first["type"] == "snapshot", first
        return client

    yield joined
    for client in opened:
        await client.close()


def channel(node: ServerProcess, meeting: int) -> str:
    database = node.backend_args[node.backend_args.index("--database") + 1]
    return f"{Settings(database_url=database).bus_namespace()}:room:{meeting}"


async def publish(name: str, *messages: bytes) -> None:
    """Publish on Redis as the attacker does: no node involved."""
    r = redis.from_url(REDIS)
    try:
        for message in messages:
            await r.publish(name, message)
    finally:
        await r.aclose()


def dropped(node: ServerProcess) -> int:
    """The node's count of refused bus messages, as /healthz reports it."""
    return httpx.get(f"{node.base_url}/healthz", timeout=5, verify=TLS).json()["bus_dropped"]


async def until_dropped(node: ServerProcess, at_least: int, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (count := await asyncio.to_thread(dropped, node)) < at_least:
        assert asyncio.get_running_loop().time() < deadline, (count, at_least)
        await asyncio.sleep(0.05)


def pdf(pages: int) -> bytes:
    doc = pymupdf.open()
    for n in range(pages):
        doc.new_page().insert_text((72, 72), f"Trang {n + 1}")
    return doc.tobytes()


async def attach(api: Api, m: Meeting, pages: int, **args: Any) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.post(f"/api/meetings/{m.id}/files", params={"name": "Tài liệu.pdf"},
                         content=pdf(pages), headers={"Content-Type": "application/pdf"})
        assert r.status_code == 201, r.text
        sha = r.json()["file"]["sha256"]
        r = await c.post(f"/api/meetings/{m.id}/documents", json={"sha256": sha, **args})
        assert r.status_code == 200, r.text
        # The last of its events: the whole document (a confidential one's after its
        # sealed entry), as the attacher reads it.
        doc = [e["data"]["document"] for e in r.json()["events"]
               if e["kind"] == "document.attached"][-1]
        assert doc["sha256"] == sha
        return doc


async def room(node: ServerProcess, api: Api, m: Meeting) -> dict[str, Any]:
    r = await Api(node.base_url, api.token, api.user).call("GET", f"/api/meetings/{m.id}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_forged_and_altered_events_on_redis_are_dropped_by_every_node(
    nodes: tuple[ServerProcess, ServerProcess], clients: Any,
) -> None:
    a, b = nodes
    m = await make_meeting(a.base_url, delegates=2)
    secret_doc = await attach(m["chair"], m, 1, classification="confidential",
                              viewers=[uid(m, "chair"), uid(m, "d1")], title="Nhân sự")
    slides = await attach(m["chair"], m, 3, title="Trình chiếu")
    other = await make_meeting(a.base_url, delegates=1)
    d2_on = {"A": await clients(a, m["d2"], m.id), "B": await clients(b, m["d2"], m.id)}
    d1_on_b = await clients(b, m["d1"], m.id)
    seq = (await room(b, m["chair"], m))["seq"]

    # The forged event: the confidential document, now public, for everyone.
    public = {**secret_doc, "classification": "public", "viewers": []}
    event = {"seq": seq + 1, "kind": "document.attached",
             "at": datetime.now(UTC).isoformat(), "actor": uid(m, "chair"),
             "audience": {"all": True}, "data": {"document": public}}
    body = b"forger|" + orjson.dumps({"events": [event]})
    here = channel(a, m.id).encode()
    before = {n: dropped(n) for n in nodes}
    # A genuine message of another room (a node's, tag and all), replayed on this room.
    genuine = await capture(channel(a, other.id), lambda: other["chair"].call(
        "POST", f"/api/meetings/{other.id}/commands",
        {"name": "notice.post", "args": {"text": "Thông báo thật"}}))
    await publish(
        here.decode(),
        body,  # no tag at all
        os.urandom(32) + body,  # a random tag
        seal(b"not-the-deployment-secret", here, body),  # another secret
        seal(TEST_BUS_SECRET.encode(), here, body)[:32] + body.replace(b"Nh", b"nh"),  # altered
        genuine,  # a genuine message, moved to another channel
    )
    for node in nodes:
        await until_dropped(node, before[node] + 5)

    for client in (*d2_on.values(), d1_on_b):
        assert [e for e in await barrier(client) if e["type"] in ("event", "events")] == []
    for node in nodes:
        view = await room(node, m["secretary"], m)
        assert view["seq"] == seq
        doc = next(d for d in view["room"]["documents"] if d["id"] == secret_doc["id"])
        assert doc["classification"] == "confidential"
        outsider = await room(node, m["d2"], m)
        assert secret_doc["id"] not in [d["id"] for d in outsider["room"]["documents"]]
        assert not any(n["text"] == "Thông báo thật"
                       for n in outsider["room"].get("notices", []))

    # A genuine page turn on A still reaches B.
    chair = await clients(a, m["chair"], m.id)
    assert (await chair.command(m.id, "present.start", document_id=slides["id"],
                                page=1))["type"] == "ack"
    assert (await chair.command(m.id, "present.move", page=3))["type"] == "ack"
    moved = await d2_on["B"].until(lambda e: e.get("kind") == "presentation.moved")
    assert moved["data"]["presentation"]["page"] == 3


async def test_a_volatile_message_cannot_choose_its_own_audience(
    nodes: tuple[ServerProcess, ServerProcess], clients: Any,
) -> None:
    a, b = nodes
    m = await make_meeting(a.base_url, delegates=2)
    secret_doc = await attach(m["chair"], m, 1, classification="confidential",
                              viewers=[uid(m, "chair"), uid(m, "d1")], title="Nhân sự")
    d1_on_b, d2_on_b = await clients(b, m["d1"], m.id), await clients(b, m["d2"], m.id)
    d2_on_a = await clients(a, m["d2"], m.id)
    here = channel(a, m.id)
    point = {"document_id": secret_doc["id"], "page": 1, "x": 0.5, "y": 0.5}

    def volatile(sender: int, data: dict[str, Any]) -> bytes:
        # Even a message made with the deployment's secret (a compromised node's) says
        # who sent what, never who hears it: each node works that out itself.
        return b"forger|" + orjson.dumps({
            "volatile": {"meeting": m.id, "from": sender, "kind": "pointer", "data": data},
            "audience": {"all": True}, "admin": True})

    key = TEST_BUS_SECRET.encode()
    before = {n: dropped(n) for n in nodes}
    await publish(
        here,
        volatile(uid(m, "chair"), {**point, "x": 0.1}),  # no tag
        seal(key, here.encode(), volatile(uid(m, "d2"), {**point, "x": 0.2})),  # d2 may not
        seal(key, here.encode(), volatile(uid(m, "chair"), point)),  # "for everyone"
    )
    got = await d1_on_b.until(lambda e: e["type"] == "volatile")
    assert got["data"] == point and got["from"] == uid(m, "chair")  # the viewer hears it
    for node in nodes:
        await until_dropped(node, before[node] + 1)
    for client in (d2_on_a, d2_on_b):  # the non-viewer hears nothing, whatever it said
        assert [e for e in await barrier(client) if e["type"] == "volatile"] == []
    assert [e for e in await barrier(d1_on_b) if e["type"] == "volatile"] == []


async def capture(name: str, act: Any) -> bytes:
    """The next message a node publishes on channel `name` while `act` runs."""
    r = redis.from_url(REDIS)
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(name)
        response = await act()
        assert response.status_code == 200, response.text
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(timeout=1)
            if message and message["type"] == "message" and b"notice" in message["data"]:
                return bytes(message["data"])
        raise AssertionError("nothing published")
    finally:
        await pubsub.aclose()
        await r.aclose()
