from __future__ import annotations

from tests.conftest import ServerProcess, make_meeting


async def test_floor_reaches_everyone(server: ServerProcess, open_ws) -> None:
    m = await make_meeting(server.base_url)
    chair = await open_ws(m["chair"])
    d1 = await open_ws(m["d1"])
    assert (await chair.join(m.id))["type"] == "snapshot"
    assert (await d1.join(m.id))["type"] == "snapshot"
    ack = await d1.command(m.id, "floor.request", note="Xin phát biểu")
    assert ack["type"] == "ack"
    seen = await chair.until(lambda e: e.get("kind") == "floor.requested")
    assert seen["data"]["request"]["user_id"] == m["d1"].user["id"]
    ack = await chair.command(m.id, "floor.grant", user_id=m["d1"].user["id"], seconds=120)
    assert ack["type"] == "ack"
    granted = await d1.until(lambda e: e.get("kind") == "floor.granted")
    assert granted["data"]["speaker"]["seconds"] == 120
