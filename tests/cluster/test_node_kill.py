"""kill -9 a node mid-meeting: its clients resume on another node with nothing lost or doubled.

Two nodes share one PostgreSQL database and one Redis; node A writes the room (it holds
the room's lease), node B forwards its clients' commands to A. The delegates sit on node A; the
chair on node B keeps pressing buttons, and so does the secretary on node A. Node A is
SIGKILLed without warning; each delegate reconnects to node B with `since` = the last seq
it saw and must get every later event exactly once, in order, ending with what the log
holds. The secretary retries on node B what node A never answered: applied exactly once,
whether or not A had committed it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed

from tests.cluster.conftest import (
    Cluster,
    Stream,
    Watcher,
    assert_acks_in_log,
    assert_same_as_log,
    command,
    cycle_commands,
    database_url,
    notices,
    on,
    read_log,
)
from tests.conftest import TLS, ServerProcess, make_meeting
from tests.server.conftest import seq_of, uid


async def forwards(node: ServerProcess) -> dict[str, int]:
    """The room commands `node` handed to another node's writer, by answer (/healthz)."""
    async with httpx.AsyncClient(verify=TLS, base_url=node.base_url, timeout=10) as client:
        return dict((await client.get("/healthz")).json()["commands_forwarded"])


async def test_sigkill_of_a_node_loses_nothing_for_its_clients(cluster: Cluster) -> None:
    backend = cluster.backend(cluster.redis())
    a = cluster.node("a", "demo", backend)
    b = cluster.node("b", "serve", backend, args=a.backend_args)
    m = await make_meeting(a.base_url, delegates=3)

    chair = await cluster.ws(b, m["chair"])
    joined = await chair.join(m.id)
    assert joined["type"] == "snapshot"
    start = joined["seq"]
    on_a = {who: await cluster.watch(a, m[who], m.id) for who in ("d1", "d2", "d3")}
    for w in on_a.values():
        assert w.first["type"] == "snapshot"
    # the secretary posts notices through node A too: some may be in flight when it dies
    secretary = await cluster.ws(a, m["secretary"])
    await secretary.join(m.id)

    stream = Stream(chair, m.id, cycle_commands(uid(m, "d2")))
    on_a_stream = Stream(secretary, m.id, notices("thư ký "))
    await stream.wait_acks(12)
    await on_a_stream.wait_acks(5)
    # the delegates on A do hear the chair on B (over Redis) before A dies
    for w in on_a.values():
        await w.until_seq(stream.acked()[0].answer["seq"])  # type: ignore[index]

    # One writer per room: A loaded the room first and writes it; B forwards the chair's
    # commands to A and relays A's answers.
    forwarded = (await forwards(b))["by_the_writer"]
    assert forwarded >= 12 and (await forwards(a)) == {"by_the_writer": 0, "decided_here": 0}

    a.kill()
    stream.phase = "after-kill"
    with contextlib.suppress(ConnectionClosed):
        await asyncio.wait_for(on_a_stream.task, 10)
    # the delegates are away while the chair goes on: their resume has something to replay
    await stream.wait_acks(3, phase="after-kill")
    resumed: dict[str, Watcher] = {}
    for who, w in on_a.items():
        await w.until_closed()
        resumed[who] = await cluster.watch(b, m[who], m.id, since=w.last_seq())
        assert resumed[who].first["type"] == "resumed", resumed[who].first

    # the secretary, now on B, retries what A never answered, and the last acknowledged one
    # (as a tablet that missed the ack would): each is applied once, whatever A had done
    secretary_b = await cluster.ws(b, m["secretary"])
    await secretary_b.join(m.id)
    last_acked = on_a_stream.acked()[-1]
    retried = [(s, await command(secretary_b, m.id, s.name, s.args, s.cid))
               for s in [last_acked, *(x for x in on_a_stream.sent if x.answer is None)]]
    again = await command(secretary_b, m.id, last_acked.name, last_acked.args, last_acked.cid)
    assert again == {**retried[0][1]} == {"type": "ack", "id": last_acked.cid,
                                          "seq": last_acked.answer["seq"],  # type: ignore[index]
                                          "duplicate": True}
    assert all(answer["type"] == "ack" for _, answer in retried), retried

    await stream.wait_acks(12, phase="after-kill")
    await stream.stop()
    # What B had forwarded when A died went unanswered: B decided it itself (the same
    # command id, so once whoever wrote it), and then took the lapsed lease over.
    assert (await forwards(b))["decided_here"] >= 1
    assert all(s.answer and s.answer["type"] == "ack" for s in stream.sent), [
        s for s in stream.sent if s.answer and s.answer["type"] != "ack"]

    final = await seq_of(on(b, m["chair"]), m.id)  # HTTP on B: the room's seq
    assert final == max(x["seq"] for x in [*(s.answer for s in stream.acked()),
                                           *(answer for _, answer in retried)])
    log = await read_log(database_url(a.backend_args), m.id)
    assert [e["seq"] for e in log] == list(range(1, final + 1))
    # every acknowledged command is in the log, once; the log holds nothing else after start
    assert_acks_in_log(stream.sent + on_a_stream.sent, log)
    by_seq = {e["seq"]: e for e in log}
    for s, answer in retried:
        assert by_seq[answer["seq"]]["data"]["notice"]["text"] == s.args["text"]
    secretary_texts = [e["data"]["notice"]["text"] for e in log
                       if e["seq"] > start and e["actor"] == uid(m, "secretary")]
    assert len(secretary_texts) == len(set(secretary_texts))
    assert set(secretary_texts) == {s.args["text"] for s in on_a_stream.sent}
    assert len([e for e in log if e["seq"] > start]) == len(stream.acked()) + len(
        secretary_texts)

    assert_same_as_log([e for e in chair.seen if e["type"] == "event"], log, start, "chair")
    for who in on_a:
        before, after = on_a[who], resumed[who]
        await after.until_seq(final)
        await after.barrier()
        # the replay is what came before `resumed`, all of it after `since`
        replayed = replayed_events(after)
        assert after.first["replayed"] == len(replayed) >= 3
        assert all(e["seq"] > before.last_seq() for e in replayed)
        assert_same_as_log(before.events() + after.events(), log, before.first["seq"], who)


def replayed_events(watcher: Watcher) -> list[dict[str, Any]]:
    """The events a resume replayed: those that arrived before its `resumed` message."""
    at = next(i for i, m in enumerate(watcher.seen) if m["type"] == "resumed")
    return [m for m in watcher.seen[:at] if m["type"] == "event"]
