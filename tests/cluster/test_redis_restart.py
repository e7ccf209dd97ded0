"""Redis dies and comes back while the chair keeps working: nothing acknowledged is lost.

Two nodes share a PostgreSQL database and a private redis-server. The chair is on node A,
watchers on both nodes. Redis is SIGKILLed and restarted on the same port. Commands keep
being acknowledged meanwhile (the store is the truth; the bus only carries news), and once
Redis is back the nodes resubscribe and read what they missed from the store: the watcher
on node B ends with every acknowledged event, in order, exactly once.
"""

from __future__ import annotations

import asyncio

from tests.cluster.conftest import (
    Cluster,
    RedisServer,
    Stream,
    assert_acks_in_log,
    assert_same_as_log,
    command,
    database_url,
    next_id,
    notices,
    read_log,
)
from tests.conftest import make_meeting

CATCH_UP = 10.0  # seconds after Redis is back: "within a few seconds", generously


async def restart(redis: RedisServer) -> None:
    redis.kill()
    await asyncio.sleep(1.0)  # the outage itself
    redis.start()


async def test_redis_restart_during_a_stream_of_commands(cluster: Cluster) -> None:
    redis = cluster.redis()
    backend = cluster.backend(redis)
    a = cluster.node("a", "demo", backend)
    b = cluster.node("b", "serve", backend, args=a.backend_args)
    m = await make_meeting(a.base_url, delegates=2)

    chair = await cluster.ws(a, m["chair"])
    start = (await chair.join(m.id))["seq"]
    on_b = await cluster.watch(b, m["d1"], m.id)
    on_a = await cluster.watch(a, m["d2"], m.id)
    assert on_b.first["seq"] == on_a.first["seq"] == start

    # 1. a steady stream, with Redis killed and restarted in the middle of it
    stream = Stream(chair, m.id, notices("A"))
    await stream.wait_acks(8)
    await on_b.until_seq(stream.acked()[-1].answer["seq"])  # type: ignore[index]
    stream.phase = "outage"
    await restart(redis)
    stream.phase = "back"
    await stream.wait_acks(8, phase="back")
    await stream.stop()
    assert [s.answer["type"] for s in stream.sent] == ["ack"] * len(stream.sent), [  # type: ignore[index]
        s.answer for s in stream.sent if s.answer["type"] != "ack"]  # type: ignore[index]
    last = stream.acked()[-1].answer["seq"]  # type: ignore[index]
    await on_b.until_seq(last, CATCH_UP)

    # 2. commands only while Redis is down, then silence: no later event can reveal the
    # gap, so only resubscribing and catching up on reconnection brings them to node B
    redis.kill()
    quiet = []
    for n in range(5):
        quiet.append(await command(chair, m.id, "notice.post", {"text": f"Lúc mất Redis {n}"},
                                   next_id("q")))
    assert [q["type"] for q in quiet] == ["ack"] * 5, quiet
    assert on_b.last_seq() < quiet[-1]["seq"]
    await asyncio.sleep(1.0)
    redis.start()
    await on_b.until_seq(quiet[-1]["seq"], CATCH_UP)

    # 3. and the bus carries news again, both ways
    live = await command(chair, m.id, "notice.post", {"text": "Redis đã trở lại"})
    assert live["type"] == "ack"
    await on_b.until_seq(live["seq"], CATCH_UP)

    log = await read_log(database_url(a.backend_args), m.id)
    assert log[-1]["seq"] == live["seq"]
    assert_acks_in_log(stream.sent, log)
    texts = [e["data"]["notice"]["text"] for e in log if e["seq"] > start]
    assert texts == ([s.args["text"] for s in stream.sent]
                     + [f"Lúc mất Redis {n}" for n in range(5)] + ["Redis đã trở lại"])
    for watcher, who in ((on_b, "d1 on B"), (on_a, "d2 on A")):
        await watcher.barrier()
        assert_same_as_log(watcher.events(), log, start, who)
