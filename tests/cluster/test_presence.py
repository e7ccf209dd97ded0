"""Who is online, across nodes: remote users show, doubles count once, dead nodes expire.

An organiser (the chair) watches presence on node B. A delegate on node A shows online; a
delegate connected to both nodes is one person, who stays online while either connection
lives; and when node A is SIGKILLed (no goodbye), its users go offline for node B's
clients once A's heartbeats stop: three missed heartbeats (1 s here, 5 s by default).
"""

from __future__ import annotations

from typing import Any

from tests.cluster.conftest import Cluster, Watcher
from tests.conftest import make_meeting
from tests.server.conftest import uid

HEARTBEAT = {"PHONGHOP_PRESENCE_HEARTBEAT_SECONDS": "1"}  # so a dead node expires in ~4 s
EXPIRY = 30.0  # seconds: TTL 3 s + a heartbeat, and generous slack for a busy machine


def online(w: Watcher) -> set[int]:
    """The online set as this client knows it: its snapshot, then the presence deltas."""
    users = set(w.first["online"])
    for msg in w.seen:
        if msg["type"] == "presence":
            users = (users | set(msg["online"])) - set(msg["offline"])
    return users


def went_offline(w: Watcher, user: int, since: int = 0) -> bool:
    return any(msg["type"] == "presence" and user in msg["offline"] for msg in w.seen[since:])


def presence_lists(w: Watcher) -> list[dict[str, Any]]:
    return [msg for msg in w.seen if msg["type"] == "presence"]


async def test_presence_across_nodes_and_after_a_node_dies(cluster: Cluster) -> None:
    backend = cluster.backend(cluster.redis())
    a = cluster.node("a", "demo", backend, env=HEARTBEAT)
    b = cluster.node("b", "serve", backend, args=a.backend_args, env=HEARTBEAT)
    m = await make_meeting(a.base_url, delegates=3)
    d1, d2, d3 = uid(m, "d1"), uid(m, "d2"), uid(m, "d3")
    chair = await cluster.watch(b, m["chair"], m.id)
    assert chair.first["type"] == "snapshot"

    # a delegate on node A shows online to the organiser on node B
    d1_a = await cluster.watch(a, m["d1"], m.id)
    await chair.wait(lambda: d1 in online(chair), "d1 (on A) online on B")

    # d1 also connects to B: one person; losing one of the two connections changes nothing
    d1_b = await cluster.watch(b, m["d1"], m.id)
    mark = len(chair.seen)
    await d1_b.client.close()
    await cluster.watch(b, m["d2"], m.id)  # a later change on B: d1's would have come first
    await chair.wait(lambda: d2 in online(chair), "d2 (on B) online")
    assert d1 in online(chair) and not went_offline(chair, d1, mark), presence_lists(chair)

    d1_b = await cluster.watch(b, m["d1"], m.id)
    mark = len(chair.seen)
    await d1_a.client.close()
    await cluster.watch(a, m["d3"], m.id)  # a later change from A: d1's would have come first
    await chair.wait(lambda: d3 in online(chair), "d3 (on A) online on B")
    assert d1 in online(chair) and not went_offline(chair, d1, mark), presence_lists(chair)

    # a fresh organiser's snapshot lists each online user once, wherever they are connected
    d1_a = await cluster.watch(a, m["d1"], m.id)  # d1 on both nodes again
    secretary = await cluster.watch(b, m["secretary"], m.id)
    listed = secretary.first["online"]
    assert len(listed) == len(set(listed))
    assert {d1, d2, d3, uid(m, "chair")} <= set(listed)

    # d1 came online once, and was never announced again for a second connection
    assert sum(d1 in msg["online"] for msg in presence_lists(chair)) == 1, presence_lists(chair)

    # node A dies without a word: d3 (only on A) goes offline on B; d1 (also on B) stays
    mark = len(chair.seen)
    a.kill()
    await chair.wait(lambda: d3 not in online(chair), "d3 offline after node A died", EXPIRY)
    assert went_offline(chair, d3, mark)
    assert d1 in online(chair) and not went_offline(chair, d1, mark), presence_lists(chair)
    assert d2 in online(chair)
    await secretary.wait(lambda: d3 not in online(secretary), "d3 offline for the secretary")
    # and a newcomer's snapshot no longer lists d3
    late = await cluster.watch(b, m["d2"], m.id)
    assert d3 not in late.first["online"] and d1 in late.first["online"]
    assert not d1_b.closed
