"""PostgreSQL stops for a while under one node: refusals while it is down, nothing half-done.

A private PostgreSQL cluster (stopped with `pg_ctl stop -m fast`, started again) under one
node; the chair keeps pressing buttons throughout. While the store is down every command is
refused `store_unavailable`, retryable, and never acknowledged; once it is back commands
succeed again without restarting the node; and the log holds exactly the acknowledged
commands' events, none of those the chair was told had failed.
"""

from __future__ import annotations

import asyncio

from tests.cluster.conftest import Cluster, Stream, assert_acks_in_log, command, notices, read_log
from tests.conftest import make_meeting
from tests.server.conftest import seq_of


async def test_postgres_stop_and_start_under_a_stream_of_commands(cluster: Cluster) -> None:
    pg = cluster.postgres()
    node = cluster.node("node", "demo", args=["--database", pg.url])
    m = await make_meeting(node.base_url, delegates=2)
    chair = await cluster.ws(node, m["chair"])
    start = (await chair.join(m.id))["seq"]
    d1 = await cluster.watch(node, m["d1"], m.id)

    stream = Stream(chair, m.id, notices())
    await stream.wait_acks(8)
    stream.phase = "stopping"
    await asyncio.to_thread(pg.stop, "fast")
    stream.phase = "down"
    # a few commands sent and answered entirely while PostgreSQL is down
    await stream.wait(lambda: len([s for s in stream.sent if s.phase == s.answered_in == "down"])
                      >= 5, "5 answers while the store is down")
    stream.phase = "starting"
    await asyncio.to_thread(pg.start)
    stream.phase = "up"
    await stream.wait_acks(8, phase="up", timeout=30)
    await stream.stop()

    for s in stream.answered():
        answer = s.answer
        assert answer is not None
        if answer["type"] == "rejected":
            assert answer["code"] == "store_unavailable", (s, answer)
            assert answer["retryable"] is True, answer
            assert answer["message"]["vi"] and answer["message"]["en"], answer
        else:
            assert answer["type"] == "ack", (s, answer)
    down = [s for s in stream.sent if s.phase == s.answered_in == "down"]
    assert down and all(s.answer["type"] == "rejected" for s in down), [  # type: ignore[index]
        s.answer for s in down]
    assert all(s.answer["type"] == "ack" for s in stream.acked("up")) and len(
        stream.acked("up")) >= 8

    # the log: exactly the acknowledged commands' events, in order; no refused one
    log = await read_log(pg.url, m.id)
    after = [e for e in log if e["seq"] > start]
    acked = stream.acked()
    refused = [s for s in stream.answered() if s.answer["type"] == "rejected"]  # type: ignore[index]
    assert len(after) == len(acked)
    assert [e["seq"] for e in after] == [s.answer["seq"] for s in acked]  # type: ignore[index]
    assert [e["data"]["notice"]["text"] for e in after] == [s.args["text"] for s in acked]
    texts = {e["data"]["notice"]["text"] for e in after}
    assert not texts & {s.args["text"] for s in refused}
    assert_acks_in_log(stream.sent, log)
    assert await seq_of(m["chair"], m.id) == log[-1]["seq"]

    # a refused command is safe to retry with its id once the store is back: applied once
    retry = await command(chair, m.id, refused[0].name, refused[0].args, refused[0].cid)
    assert retry["type"] == "ack" and not retry.get("duplicate"), retry
    again = await command(chair, m.id, refused[0].name, refused[0].args, refused[0].cid)
    assert again == {**retry, "duplicate": True}

    # the delegate saw every event once, the same as the log
    log = await read_log(pg.url, m.id)
    await d1.until_seq(log[-1]["seq"])
    await d1.barrier()
    assert [e["seq"] for e in d1.events()] == [e["seq"] for e in log if e["seq"] > start]
