"""Volatile messages (the presenter's pointer) reach the others live and are never stored."""

from __future__ import annotations

from typing import Any

from tests.conftest import Meeting
from tests.server.conftest import barrier, seq_of, uid


async def test_the_chairs_pointer_reaches_everyone_else_and_leaves_no_trace(
    shared_meeting: Meeting, joined: Any,
) -> None:
    m = shared_meeting
    chair, d1, d2 = [await joined(m, who) for who in ("chair", "d1", "d2")]
    before = await seq_of(m["chair"], m.id)
    point = {"page": 3, "x": 0.25, "y": 0.75}
    await chair.send({"type": "volatile", "meeting": m.id, "kind": "pointer", "data": point})
    for client in (d1, d2):
        got = await client.until(lambda msg: msg["type"] == "volatile")
        assert got == {"type": "volatile", "meeting": m.id, "from": uid(m, "chair"),
                       "kind": "pointer", "data": point}
    # the sender does not get its own pointer back, and the log did not move
    assert [msg for msg in await barrier(chair) if msg["type"] == "volatile"] == []
    assert await seq_of(m["chair"], m.id) == before
    late = await joined(m, "i1")
    assert "pointer" not in str(late.seen)
