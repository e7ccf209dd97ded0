"""Bad input over the websocket: a typed error for the sender, and nothing changes for anyone.

Each test checks three things: the sender is told what was wrong, the room's seq has not
moved, and another member in the room received nothing at all.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.frames import Frame, Opcode

from tests.conftest import Meeting, ServerProcess, WsClient, login
from tests.server.conftest import (
    assert_refusal,
    bare_meeting,
    barrier,
    close_code,
    outsider,
    seq_of,
    uid,
)


async def setup(m: Meeting, joined: Any) -> tuple[Meeting, WsClient, WsClient, int]:
    sender = await joined(m, "d1")
    other = await joined(m, "d2")
    await barrier(other)  # presence of the sender, if any, is out of the way
    return m, sender, other, await seq_of(m["chair"], m.id)


async def unchanged(m: Meeting, other: WsClient, seq: int) -> None:
    assert await barrier(other) == []
    assert await seq_of(m["chair"], m.id) == seq


async def error_after(client: WsClient, raw: str | bytes) -> dict[str, Any]:
    await client.conn.send(raw)
    return await client.until(lambda msg: msg["type"] in ("error", "rejected", "ack"))


@pytest.mark.parametrize(("raw", "code", "ref"), [
    ("{not json", "malformed_json", None),
    ('{"type": "command", "id": "c1", "meeting": 1, "name": "floor.request"', "malformed_json",
     None),
    ("", "malformed_json", None),
    ("[1, 2, 3]", "invalid", None),
    ('"join"', "invalid", None),
    ("42", "invalid", None),
    ("null", "invalid", None),
    ('{"meeting": 1}', "invalid", None),  # no type
    ('{"type": 7}', "invalid", None),
    ('{"type": "explode"}', "unknown_type", "explode"),
    ('{"type": "__init__"}', "unknown_type", "__init__"),
    ('{"type": "on_join"}', "unknown_type", "on_join"),
    ('{"type": "snapshot"}', "unknown_type", "snapshot"),
    ('{"type": "ack", "id": "c1", "seq": 9}', "unknown_type", "ack"),
    ('{"type": "join meeting"}', "unknown_type", "join meeting"),
])
async def test_garbage_gets_a_typed_error_and_changes_nothing(
    shared_meeting: Meeting, joined: Any, raw: str, code: str, ref: str | None,
) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    error = await error_after(sender, raw)
    assert error["type"] == "error"
    assert_refusal(error, code)
    if ref is not None:
        assert error["ref"] == ref
    await unchanged(m, other, seq)
    # the connection still works
    assert await barrier(sender) == []


async def test_a_binary_frame_is_refused(shared_meeting: Meeting, joined: Any) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    payload = json.dumps({"type": "command", "id": "b1", "meeting": m.id,
                          "name": "floor.request", "args": {}}).encode()
    error = await error_after(sender, payload)
    assert error["type"] == "error"
    assert_refusal(error, "unknown_type")
    await unchanged(m, other, seq)


def command(m: Meeting, **fields: Any) -> str:
    body = {"type": "command", "id": "x1", "meeting": m.id, "name": "floor.request",
            "args": {}} | fields
    return json.dumps({k: v for k, v in body.items() if v is not ...})


@pytest.mark.parametrize(("fields", "kind", "code"), [
    ({"meeting": "MEETING"}, "rejected", "not_joined"),
    ({"meeting": None}, "rejected", "not_joined"),
    ({"meeting": ...}, "rejected", "not_joined"),
    ({"args": ["note", "Xin phát biểu"]}, "rejected", "invalid"),
    ({"args": "note=Xin phát biểu"}, "rejected", "invalid"),
    ({"args": {"note": 5}}, "rejected", "invalid"),
    ({"args": {"site_id": "1"}}, "rejected", "invalid"),
    ({"args": {"surprise": True}}, "rejected", "invalid"),
    ({"name": "floor.grant", "args": {"user_id": "2"}}, "rejected", "invalid"),
    ({"name": "floor.grant", "args": {"user_id": 2.5}}, "rejected", "invalid"),
    ({"name": "floor.grant", "args": {"user_id": True}}, "rejected", "invalid"),
    ({"name": "floor.teleport"}, "rejected", "unknown_command"),
    ({"name": ["floor.request"]}, "rejected", "unknown_command"),
    ({"name": "meeting.create", "args": {"title": "x", "starts_at": "2026-11-22T08:00Z"}},
     "rejected", "unknown_command"),
    ({"id": 17}, "error", "invalid"),
    ({"id": ""}, "error", "invalid"),
    ({"id": ...}, "error", "invalid"),
    ({"id": "x" * 65}, "error", "invalid"),
    ({"id": ["x1"]}, "error", "invalid"),
])
async def test_wrong_field_types_in_a_command(shared_meeting: Meeting, joined: Any,
                                              fields: dict[str, Any], kind: str,
                                              code: str) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    if fields.get("meeting") == "MEETING":
        fields["meeting"] = str(m.id)  # the right meeting, as a string
    answer = await error_after(sender, command(m, **fields))
    assert answer["type"] == kind, answer
    assert_refusal(answer, code)
    if kind == "rejected":
        assert answer["id"] == "x1" and answer["retryable"] is False
    else:
        assert answer["ref"] == "command"
    await unchanged(m, other, seq)


async def test_a_command_id_of_64_characters_is_fine(shared_meeting: Meeting, joined: Any) -> None:
    m, sender, _, _ = await setup(shared_meeting, joined)
    ack = await sender.command(m.id, "floor.withdraw", cid="é" * 64)
    assert ack["type"] == "rejected" and ack["id"] == "é" * 64
    assert_refusal(ack, "not_requested")


@pytest.mark.parametrize("join", [
    {"meeting": "MEETING"}, {"meeting": None}, {}, {"meeting": 1.5}, {"meeting": True},
    {"meeting": -1}, {"meeting": 2**31}, {"meeting": "MEETING_ID", "since": "3"},
    {"meeting": "MEETING_ID", "since": -1}, {"meeting": "MEETING_ID", "since": [1]},
])
async def test_wrong_field_types_in_a_join(shared_meeting: Meeting, open_ws: Any,
                                           joined: Any, join: dict[str, Any]) -> None:
    m = shared_meeting
    other = await joined(m, "d2")
    seq = await seq_of(m["chair"], m.id)
    client = await open_ws(m["d1"])
    body = {k: (str(m.id) if v == "MEETING" else m.id if v == "MEETING_ID" else v)
            for k, v in join.items()}
    error = await error_after(client, json.dumps({"type": "join", **body}))
    assert error["type"] == "error" and error["ref"] == "join"
    assert_refusal(error, "invalid")
    await unchanged(m, other, seq)
    assert (await client.join(m.id))["type"] == "snapshot"  # the connection still works


async def test_commands_for_another_meeting_are_not_joined(
    shared_meeting: Meeting, joined: Any, open_ws: Any,
) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    elsewhere = await bare_meeting(m.admin)
    elsewhere_seq = await seq_of(m.admin, elsewhere)
    # d1 is joined to this meeting; a command aimed at another one is not run
    answer = await sender.command(elsewhere, "meeting.update", title="Đổi tên")
    assert answer["type"] == "rejected"
    assert_refusal(answer, "not_joined")
    # a connection that has not joined any meeting
    lonely = await open_ws(m["d3"])
    answer = await lonely.command(m.id, "floor.request")
    assert_refusal(answer, "not_joined")
    await unchanged(m, other, seq)
    assert await seq_of(m.admin, elsewhere) == elsewhere_seq


async def test_joining_twice_or_a_meeting_you_are_not_in(shared_meeting: Meeting,
                                                         joined: Any, open_ws: Any) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    stranger = await open_ws(await outsider(m))
    error = await stranger.join(m.id)
    assert error["type"] == "error" and error["ref"] == "join"
    assert_refusal(error, "not_participant")
    error = await stranger.join(999_999)
    assert_refusal(error, "not_found")
    error = await sender.join(await bare_meeting(m.admin))
    assert_refusal(error, "already_joined")
    # the stranger's failed join did not put them in the room
    await unchanged(m, other, seq)
    assert (await stranger.command(m.id, "floor.request"))["code"] == "not_joined"


async def test_volatile_messages_are_checked(shared_meeting: Meeting, joined: Any) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    chair = await joined(m, "chair")
    await barrier(other)
    for body, code in [
        ({"meeting": m.id, "kind": "pointer", "data": {"x": 1}}, "forbidden"),  # d1: no
        ({"meeting": m.id, "kind": "laser", "data": {}}, "invalid"),
        ({"meeting": m.id + 1, "kind": "pointer", "data": {}}, "not_joined"),
    ]:
        error = await error_after(sender, json.dumps({"type": "volatile", **body}))
        assert_refusal(error, code)
    error = await error_after(chair, json.dumps(
        {"type": "volatile", "meeting": m.id, "kind": "pointer", "data": "x" * 2100}))
    assert_refusal(error, "invalid")
    await unchanged(m, other, seq)
    # a pointer from the chair reaches the others, and is never stored
    await chair.send({"type": "volatile", "meeting": m.id, "kind": "pointer",
                      "data": {"x": 0.5, "y": 0.25, "page": 3}})
    relayed = await other.until(lambda msg: msg["type"] == "volatile")
    assert relayed == {"type": "volatile", "meeting": m.id, "from": uid(m, "chair"),
                       "kind": "pointer", "data": {"x": 0.5, "y": 0.25, "page": 3}}
    assert await seq_of(m["chair"], m.id) == seq


async def test_an_oversized_frame_closes_with_1009(shared_meeting: Meeting, joined: Any) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    big = json.dumps({"type": "command", "id": "big", "meeting": m.id, "name": "notice.post",
                      "args": {"text": "x" * (64 * 1024)}})
    await sender.conn.send(big)
    assert await close_code(sender) == 1009
    await unchanged(m, other, seq)


@pytest.mark.parametrize("how", ["garbage", "expired", "none", "logged_out", "subprotocol"])
async def test_a_stale_or_forged_token_is_refused_with_4401(
    server: ServerProcess, shared_meeting: Meeting, how: str,
) -> None:
    m = shared_meeting
    headers: dict[str, Any] = {}
    url = server.ws_url
    if how == "garbage":
        headers = {"subprotocols": ["bearer", "A" * 43]}
    elif how == "expired":
        headers = {"subprotocols": ["bearer", "x" * 500]}
    elif how == "logged_out":
        api = await login(server.base_url, m["i1"].user["username"])
        assert (await api.call("POST", "/api/logout")).status_code == 200
        headers = {"subprotocols": ["bearer", api.token]}
    elif how == "subprotocol":
        headers = {"subprotocols": ["bearer", "forged-token"]}
    conn = await websockets.connect(url, **headers)
    first = json.loads(await asyncio.wait_for(conn.recv(), 10))
    assert first["type"] == "error"
    assert_refusal(first, "unauthenticated")
    assert await close_code(conn) == 4401


async def test_the_bearer_subprotocol_signs_in(server: ServerProcess,
                                               shared_meeting: Meeting) -> None:
    m = shared_meeting
    conn = await websockets.connect(server.ws_url, subprotocols=["bearer", m["d1"].token])
    assert conn.subprotocol == "bearer"
    hello = json.loads(await asyncio.wait_for(conn.recv(), 10))
    assert hello["type"] == "hello" and hello["user"]["id"] == uid(m, "d1")
    await conn.close()


def raw_frames(messages: list[dict[str, Any]]) -> bytes:
    """Client frames (masked), ready to be written in one go."""
    return b"".join(Frame(Opcode.TEXT, json.dumps(m).encode()).serialize(mask=True, extensions=[])
                    for m in messages)


async def test_flooding_is_refused_then_closed(shared_meeting: Meeting, joined: Any) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    # Far above 20 messages a second, all at once: the burst (60, less what joining took)
    # is answered, then one rate_limited error, and 200 refusals later the connection is
    # closed as a policy violation. One write, so the server has read them all by then.
    sender.conn.transport.write(raw_frames([{"type": "ping", "t": n} for n in range(265)]))
    assert await close_code(sender) == 1008
    pongs = [msg for msg in sender.seen if msg["type"] == "pong"]
    errors = [msg for msg in sender.seen if msg["type"] == "error"]
    assert 50 <= len(pongs) <= 65
    assert [e["code"] for e in errors] == ["rate_limited"]
    assert_refusal(errors[0], "rate_limited")
    assert errors[0]["retryable"] is True
    await unchanged(m, other, seq)


async def test_sustained_flooding_at_a_steady_pace_is_cut_off(shared_meeting: Meeting,
                                                              joined: Any) -> None:
    m, sender, other, seq = await setup(shared_meeting, joined)
    # Ten times the allowed rate, kept up: a token trickles back every 50 ms, which must
    # not let the client go on flooding for ever.
    closed = asyncio.ensure_future(close_code(sender, timeout=30))
    sent = 0
    while not closed.done() and sent < 3000:
        try:
            await sender.conn.send(json.dumps({"type": "ping", "t": sent}))
        except websockets.ConnectionClosed:
            break
        sent += 1
        await asyncio.sleep(0.005)
    assert await closed == 1008
    assert sent < 3000
    errors = [msg["code"] for msg in sender.seen if msg["type"] == "error"]
    assert errors and set(errors) == {"rate_limited"}
    await unchanged(m, other, seq)


async def test_a_flooder_that_does_not_read_still_gets_the_1008_close_frame(
    shared_meeting: Meeting, joined: Any,
) -> None:
    _, sender, _, _ = await setup(shared_meeting, joined)
    try:
        for n in range(400):  # a script that sends and never reads
            await sender.conn.send(json.dumps({"type": "ping", "t": n}))
    except websockets.ConnectionClosed:
        pass
    assert await close_code(sender) == 1008
