"""Two nodes accept conflicting commands for one room at the same instant.

One chair on each node; both press at once, many times: the floor to two different
delegates, "end the floor" twice, "next item" twice. The store's UNIQUE(room, seq) lets one
append win; the other node catches up and decides again. Exactly one order results,
seen identically by every client on both nodes, with contiguous seqs, the same as the log;
both commands are acknowledged or one is refused, as the rules say for that order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.cluster.conftest import (
    Cluster,
    assert_same_as_log,
    command,
    database_url,
    next_id,
    on,
    read_log,
)
from tests.conftest import WsClient, make_meeting
from tests.server.conftest import seq_of, uid

ROUNDS = 10
ITEMS = 2 + 2 * ROUNDS  # make_meeting adds two; agenda.next twice per round


async def at_once(meeting: int, *sends: tuple[WsClient, str, dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """Send commands on several sockets at the same instant; their answers, in order."""
    ids = [next_id("race") for _ in sends]
    await asyncio.gather(*(
        client.send({"type": "command", "id": cid, "meeting": meeting, "name": name,
                     "args": args})
        for cid, (client, name, args) in zip(ids, sends, strict=True)))
    return [await client.until(
        lambda msg, cid=cid: msg["type"] in ("ack", "rejected") and msg.get("id") == cid, 30)
        for cid, (client, _, _) in zip(ids, sends, strict=True)]


async def test_conflicting_commands_on_two_nodes_yield_one_history(cluster: Cluster) -> None:
    backend = cluster.backend(cluster.redis())
    a = cluster.node("a", "demo", backend)
    b = cluster.node("b", "serve", backend, args=a.backend_args)
    m = await make_meeting(a.base_url, delegates=2)
    d1, d2 = uid(m, "d1"), uid(m, "d2")
    for n in range(ITEMS - 2):
        r = await command_http(m, "agenda.add", {"title": f"Nội dung {n + 3}",
                                                 "planned_minutes": 5})
        assert r.status_code == 200, r.text

    chair_a, chair_b = await cluster.ws(a, m["chair"]), await cluster.ws(b, m["chair"])
    start = (await chair_a.join(m.id))["seq"]
    assert (await chair_b.join(m.id))["seq"] == start
    watchers = {"d1 on A": await cluster.watch(a, m["d1"], m.id),
                "d2 on B": await cluster.watch(b, m["d2"], m.id)}
    grants: list[list[dict[str, Any]]] = []
    ends: list[list[dict[str, Any]]] = []
    nexts: list[list[dict[str, Any]]] = []
    for _ in range(ROUNDS):
        grants.append(await at_once(m.id, (chair_a, "floor.grant", {"user_id": d1}),
                                    (chair_b, "floor.grant", {"user_id": d2})))
        ends.append(await at_once(m.id, (chair_a, "floor.end", {}), (chair_b, "floor.end", {})))
        nexts.append(await at_once(m.id, (chair_a, "agenda.next", {}),
                                   (chair_b, "agenda.next", {})))
    # a last notice from each node: once a client has the later one, it has everything
    final = max([(await command(c, m.id, "notice.post", {"text": f"Kết thúc {i}"}))["seq"]
                 for i, c in enumerate((chair_a, chair_b))])

    log = await read_log(database_url(a.backend_args), m.id)
    assert [e["seq"] for e in log] == list(range(1, final + 1))
    assert await seq_of(on(b, m["chair"]), m.id) == final
    assert await seq_of(m["chair"], m.id) == final
    by_seq = {e["seq"]: e for e in log}

    for pair in grants:
        # both grants make sense whichever goes first: both applied, one after the other
        assert [x["type"] for x in pair] == ["ack", "ack"], pair
        first, second = sorted(pair, key=lambda x: x["seq"])
        assert by_seq[first["seq"]]["kind"] == "floor.granted"
        assert [by_seq[second["seq"] - 1]["kind"], by_seq[second["seq"]]["kind"]] == [
            "floor.ended", "floor.granted"]
        winner = by_seq[second["seq"]]["data"]["speaker"]["user_id"]
        assert winner == (d1 if second is pair[0] else d2)  # the later one speaks now
    for pair in ends:
        # only one can end the floor: the other finds nobody speaking
        assert sorted(x["type"] for x in pair) == ["ack", "rejected"], pair
        (no,) = [x for x in pair if x["type"] == "rejected"]
        assert no["code"] == "no_speaker", no
        (yes,) = [x for x in pair if x["type"] == "ack"]
        assert by_seq[yes["seq"]]["kind"] == "floor.ended"
    for pair in nexts:
        assert [x["type"] for x in pair] == ["ack", "ack"], pair
        for x in pair:
            assert by_seq[x["seq"]]["kind"] == "agenda.activated"
    # the log is exactly these commands' events: no lost or doubled decision
    kinds = [e["kind"] for e in log if e["seq"] > start]
    assert kinds.count("floor.granted") == 2 * ROUNDS
    assert kinds.count("floor.ended") == 2 * ROUNDS
    assert kinds.count("agenda.activated") == 2 * ROUNDS
    # each "next" completes the active item: all but the first, if none was active at start
    assert kinds.count("agenda.completed") == 2 * ROUNDS - (0 if start_active(log, start) else 1)
    acks = [x for pairs in (grants, ends, nexts) for pair in pairs for x in pair
            if x["type"] == "ack"]
    assert len({x["seq"] for x in acks}) == len(acks)  # no two commands share a seq

    # every client, on either node, saw the same seq -> event mapping as the log
    for chair, who in ((chair_a, "chair on A"), (chair_b, "chair on B")):
        if not any(x["type"] == "event" and x["seq"] == final for x in chair.seen):
            await chair.until(lambda x: x["type"] == "event" and x["seq"] == final)
        assert_same_as_log([x for x in chair.seen if x["type"] == "event"], log, start, who)
    for who, w in watchers.items():
        await w.until_seq(final)
        await w.barrier()
        assert_same_as_log(w.events(), log, start, who)


def start_active(log: list[dict[str, Any]], start: int) -> bool:
    """Whether an agenda item was already active at `start` (its completion then counts)."""
    active = False
    for e in log:
        if e["seq"] > start:
            break
        if e["kind"] == "agenda.activated":
            active = True
        elif e["kind"] in ("agenda.completed", "agenda.deferred"):
            active = False
    return active


async def command_http(m: Any, name: str, args: dict[str, Any]) -> Any:
    return await m["chair"].call("POST", f"/api/meetings/{m.id}/commands",
                                 {"name": name, "args": args})
