"""Retrying a command with the same id never applies it twice: same socket, new socket,
over HTTP, at the same instant (after a restart: tests/server/test_restart.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Meeting, WsClient
from tests.server.conftest import barrier, http_command, seq_of


def kinds_after(client: WsClient, kind: str, after: int) -> list[int]:
    return [e["seq"] for e in client.events(kind) if e["seq"] > after]


async def test_a_retry_is_acknowledged_with_the_first_seq(shared_meeting: Meeting,
                                                          joined: Any) -> None:
    m = shared_meeting
    chair = await joined(m, "chair")
    d1 = await joined(m, "d1")
    start = await seq_of(m["chair"], m.id)
    first = await d1.command(m.id, "floor.request", cid="xin-phat-bieu-1", note="Lần 1")
    assert first["type"] == "ack" and "duplicate" not in first
    again = await d1.command(m.id, "floor.request", cid="xin-phat-bieu-1", note="Lần 1")
    assert again == {"type": "ack", "id": "xin-phat-bieu-1", "seq": first["seq"],
                     "duplicate": True}
    # the tablet lost its connection and sends the same command again on a new one
    await d1.close()
    reconnected = await joined(m, "d1")
    retry = await reconnected.command(m.id, "floor.request", cid="xin-phat-bieu-1")
    assert retry["seq"] == first["seq"] and retry["duplicate"] is True
    # and once more over HTTP
    r = await http_command(m["d1"], m.id, "floor.request", cid="xin-phat-bieu-1")
    assert r.status_code == 200
    assert r.json()["ack"] == {"seq": first["seq"], "duplicate": True}
    await barrier(chair)
    assert kinds_after(chair, "floor.requested", start) == [first["seq"]]
    assert await seq_of(m["chair"], m.id) == first["seq"]


async def test_ids_belong_to_their_user(shared_meeting: Meeting, joined: Any) -> None:
    m = shared_meeting
    chair = await joined(m, "chair")
    d2, d3 = await joined(m, "d2"), await joined(m, "d3")
    start = await seq_of(m["chair"], m.id)
    a = await d2.command(m.id, "floor.request", cid="c1")
    b = await d3.command(m.id, "floor.request", cid="c1")
    assert a["type"] == b["type"] == "ack" and a["seq"] != b["seq"]
    assert "duplicate" not in b
    await barrier(chair)
    assert kinds_after(chair, "floor.requested", start) == [a["seq"], b["seq"]]


async def test_the_same_command_twice_at_once_applies_once(shared_meeting: Meeting,
                                                           joined: Any) -> None:
    m = shared_meeting
    d1 = await joined(m, "d1")
    phone, tablet = await joined(m, "chair"), await joined(m, "chair")
    start = await seq_of(m["chair"], m.id)
    body = {"type": "command", "id": "cung-luc", "meeting": m.id, "name": "notice.post",
            "args": {"text": "Cùng lúc"}}
    await asyncio.gather(phone.send(body), tablet.send(body),
                         http_command(m["chair"], m.id, "notice.post", cid="cung-luc",
                                      text="Cùng lúc"))
    acks = [await c.until(lambda msg: msg["type"] in ("ack", "rejected"))
            for c in (phone, tablet)]
    assert {a["type"] for a in acks} == {"ack"}
    assert acks[0]["seq"] == acks[1]["seq"]
    await barrier(d1)
    assert kinds_after(d1, "notice.posted", start) == [acks[0]["seq"]]


async def test_a_refused_command_can_be_retried_once_it_makes_sense(
    shared_meeting: Meeting, joined: Any,
) -> None:
    m = shared_meeting
    i1 = await joined(m, "i1")
    refused = await i1.command(m.id, "floor.withdraw", cid="rut")
    assert refused["type"] == "rejected" and refused["code"] == "not_requested"
    assert refused["retryable"] is False
    await i1.command(m.id, "floor.request")
    retried = await i1.command(m.id, "floor.withdraw", cid="rut")
    assert retried["type"] == "ack" and "duplicate" not in retried
