"""The quorum of a burst of check-ins: announced to every device a few times, not once per
check-in, always ending on the true count; and a lone check-in announced with its own
batch. On both backends (the room's writer decides when, whichever store it writes to)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ServerProcess, make_meeting

pytestmark = pytest.mark.asyncio(loop_scope="session")

DELEGATES = 12


async def test_a_burst_of_check_ins_is_announced_a_few_times_ending_on_the_true_count(
    server: ServerProcess, open_ws: Any,
) -> None:
    m = await make_meeting(server.base_url, delegates=DELEGATES)
    watcher = await open_ws(m["d1"])  # a delegate
    await watcher.join(m.id)
    secretary = await open_ws(m["secretary"])
    await secretary.join(m.id)
    people = [m[f"d{i}"].user["id"] for i in range(1, DELEGATES + 1)]
    for n, uid in enumerate(people):  # all at once, from the secretary's console
        await secretary.send({"type": "command", "id": f"in-{n}", "meeting": m.id,
                              "name": "attendance.check_in", "args": {"user_id": uid}})
    acks = [await secretary.until(lambda x, n=n: x.get("id") == f"in-{n}")
            for n in range(len(people))]
    assert all(a["type"] == "ack" for a in acks), acks
    # voting members: the chair and the twelve delegates
    total = DELEGATES + 1
    truth = {"present": DELEGATES, "total": total, "reached": True}
    await watcher.until(lambda x: x.get("kind") == "quorum.changed"
                        and x["data"]["quorum"] == truth)
    heard = watcher.events("quorum.changed")
    assert 1 <= len(heard) < len(people), [e["data"] for e in heard]
    assert all(e["actor"] is None for e in heard)
    presents = [e["data"]["quorum"]["present"] for e in heard]
    assert presents == sorted(presents), presents  # never backwards
    # The ack's events are the check-in's own; the announcement comes after them.
    acked = {a["seq"] for a in acks}
    assert not acked & {e["seq"] for e in heard}
    room = await m["d2"].room(m.id)
    assert room["quorum"] == truth


async def test_a_lone_check_in_is_announced_with_its_own_batch(
    server: ServerProcess, open_ws: Any,
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    watcher = await open_ws(m["d2"])
    await watcher.join(m.id)
    # Nothing was announced in this room before: the check-in's batch announces at once.
    r = await m["d1"].call("POST", f"/api/meetings/{m.id}/commands",
                           {"name": "attendance.check_in"})
    assert r.status_code == 200, r.text
    ack = r.json()["ack"]
    assert [e["kind"] for e in r.json()["events"]] == ["attendance.checked_in"]
    heard = await watcher.until(lambda x: x.get("kind") == "quorum.changed")
    # written in the same append as the check-in: the very next seq
    assert heard["seq"] == ack["seq"] + 1
    assert heard["data"]["quorum"] == {"present": 1, "total": 3, "reached": False}
