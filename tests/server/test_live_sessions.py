"""Who is connected: presence, signing out, and being removed from a meeting."""

from __future__ import annotations

from typing import Any

from tests.conftest import Meeting, ServerProcess, login, make_meeting
from tests.server.conftest import assert_refusal, barrier, close_code, uid


async def test_presence_comes_and_goes(shared_meeting: Meeting, joined: Any,
                                       open_ws: Any) -> None:
    m = shared_meeting
    chair = await joined(m, "chair")
    d1 = await joined(m, "d1")
    online = await chair.until(lambda msg: msg["type"] == "presence"
                               and uid(m, "d1") in msg["online"])
    assert online["meeting"] == m.id and online["offline"] == []
    # a second device of the same person is not news
    tablet = await open_ws(m["d1"])
    snapshot = await tablet.join(m.id)
    assert set(snapshot["online"]) >= {uid(m, "chair"), uid(m, "d1")}
    await tablet.close()
    await d1.close()
    offline = await chair.until(lambda msg: msg["type"] == "presence" and msg["offline"])
    assert offline["offline"] == [uid(m, "d1")] and offline["online"] == []
    # the chair saw d1 come and go once each, whatever the tablet did
    presence = [msg for msg in chair.seen if msg["type"] == "presence"]
    assert sum(msg["online"].count(uid(m, "d1")) for msg in presence) == 1
    assert sum(msg["offline"].count(uid(m, "d1")) for msg in presence) == 1


async def test_private_roster_hides_presence_from_delegates(server: ServerProcess,
                                                            joined: Any) -> None:
    m = await make_meeting(server.base_url, delegates=2, invitees=0)
    r = await m.admin.call("PATCH", f"/api/meetings/{m.id}", {"roster": "organisers"})
    assert r.status_code == 200, r.text
    d1 = await joined(m, "d1")
    secretary = await joined(m, "secretary")
    d2 = await joined(m, "d2")
    seen = await secretary.until(lambda msg: msg["type"] == "presence"
                                 and uid(m, "d2") in msg["online"])
    assert seen["online"]
    await barrier(d1)
    assert [msg for msg in d1.seen if msg["type"] == "presence"] == []
    d2_snapshot = next(msg for msg in d2.seen if msg["type"] == "snapshot")
    assert d2_snapshot["online"] == []
    assert [p["user_id"] for p in d2_snapshot["room"]["participants"]] == [uid(m, "d2")]


async def test_signing_out_closes_that_sessions_sockets(server: ServerProcess,
                                                        shared_meeting: Meeting,
                                                        open_ws: Any) -> None:
    m = shared_meeting
    session = await login(server.base_url, m["d2"].user["username"])
    laptop = await open_ws(session)
    await laptop.join(m.id)
    lobby = await open_ws(session)  # signed in, not in a room yet
    other_device = await open_ws(m["d2"])  # another session of the same person
    await other_device.join(m.id)
    r = await session.call("POST", "/api/logout")
    assert r.status_code == 200
    for client in (laptop, lobby):
        assert await close_code(client) == 4401
        error = [msg for msg in client.seen if msg["type"] == "error"][-1]
        assert_refusal(error, "unauthenticated")
    # the other session is untouched
    ack = await other_device.command(m.id, "notice.post", text="Vẫn ở đây")
    assert ack["type"] == "rejected" and ack["code"] == "forbidden"  # answered: still open


async def test_a_removed_participant_is_disconnected(server: ServerProcess, joined: Any,
                                                     open_ws: Any) -> None:
    m = await make_meeting(server.base_url)
    chair = await joined(m, "chair")
    d2 = await joined(m, "d2")
    d3 = await joined(m, "d3")
    await (await joined(m, "d3")).close()  # a second device, gone already
    await chair.until(lambda msg: msg["type"] == "presence" and uid(m, "d3") in msg["online"])
    request = await d3.command(m.id, "floor.request", note="Tôi xin ý kiến")
    assert request["type"] == "ack"
    # in session, who sits in the room is the chair's call
    r = await m["chair"].call("DELETE", f"/api/meetings/{m.id}/participants/{uid(m, 'd3')}")
    assert r.status_code == 200, r.text
    assert await close_code(d3) == 4403
    removed = await d2.until(lambda msg: msg.get("kind") == "participant.removed")
    assert removed["data"] == {"user_id": uid(m, "d3")}
    withdrawn = [msg for msg in d2.events() if msg["kind"] == "floor.withdrawn"]
    assert withdrawn and withdrawn[-1]["data"]["user_id"] == uid(m, "d3")
    await chair.until(lambda msg: msg["type"] == "presence"
                      and uid(m, "d3") in msg["offline"])
    # and cannot come back
    again = await open_ws(m["d3"])
    error = await again.join(m.id)
    assert error["type"] == "error"
    assert_refusal(error, "not_participant")
    r = await m["d3"].call("GET", f"/api/meetings/{m.id}")
    assert r.status_code == 403


async def test_ping_pong(shared_meeting: Meeting, open_ws: Any) -> None:
    client = await open_ws(shared_meeting["i1"])
    for t in (17, 2.5, "chuỗi", None, {"no": "objects"}):
        await client.send({"type": "ping", "t": t})
        pong = await client.until(lambda msg: msg["type"] == "pong")
        assert pong["t"] == (t if not isinstance(t, dict) else None)
        assert pong["server_time"]
