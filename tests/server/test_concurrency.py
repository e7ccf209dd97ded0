"""Two chairs (or one chair on two devices) pressing buttons at the same instant.

Whatever the interleaving, the room decides one command after the other: every client
sees the same events in the same order, seqs have no holes, and exactly the commands that
still made sense when their turn came are applied.
"""

from __future__ import annotations

import asyncio
from itertools import count
from typing import Any

from tests.conftest import Meeting, ServerProcess, WsClient, make_meeting
from tests.server.conftest import barrier, seq_of, uid

_ids = count(1)


async def at_once(m: Meeting, *sends: tuple[WsClient, str, dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """Send commands from several sockets at the same instant; their answers, in order."""
    ids = [f"race-{next(_ids)}" for _ in sends]
    await asyncio.gather(*(
        client.send({"type": "command", "id": cid, "meeting": m.id, "name": name, "args": args})
        for cid, (client, name, args) in zip(ids, sends, strict=True)))
    answers = []
    for cid, (client, _, _) in zip(ids, sends, strict=True):
        answers.append(await client.until(
            lambda msg, cid=cid: msg["type"] in ("ack", "rejected") and msg["id"] == cid))
    return answers


def log_of(client: WsClient, after: int) -> list[tuple[int, str, Any]]:
    return [(e["seq"], e["kind"], e["data"]) for e in client.events() if e["seq"] > after]


async def test_racing_chairs_see_one_history(server: ServerProcess, joined: Any) -> None:
    m = await make_meeting(server.base_url, start=False)
    a, b = await joined(m, "chair"), await joined(m, "chair")
    d1, i1 = await joined(m, "d1"), await joined(m, "i1")
    everyone = (a, b, d1, i1)
    start = next(msg for msg in a.seen if msg["type"] == "snapshot")["seq"]

    # both start the session: once
    answers = await at_once(m, (a, "session.start", {}), (b, "session.start", {}))
    assert sorted(x["type"] for x in answers) == ["ack", "rejected"]
    assert next(x for x in answers if x["type"] == "rejected")["code"] == "invalid_state"

    # three "next" each on two items: activate 1; complete 1 + activate 2; complete 2; then
    # nothing is left, whoever pressed
    answers = await at_once(m, *[(c, "agenda.next", {}) for c in (a, b) * 3])
    assert sorted(x["type"] for x in answers) == ["ack"] * 3 + ["rejected"] * 3
    assert {x["code"] for x in answers if x["type"] == "rejected"} == {"no_next_item"}

    # the floor to two different people at once: both turns happen, one after the other
    answers = await at_once(m, (a, "floor.grant", {"user_id": uid(m, "d1")}),
                            (b, "floor.grant", {"user_id": uid(m, "d2")}))
    assert [x["type"] for x in answers] == ["ack", "ack"]
    last = max(answers, key=lambda x: x["seq"])
    winner = uid(m, "d1") if last is answers[0] else uid(m, "d2")

    # both end the session: once
    answers = await at_once(m, (a, "session.end", {}), (b, "session.end", {}))
    assert sorted(x["type"] for x in answers) == ["ack", "rejected"]

    final = await seq_of(m["chair"], m.id)
    for client in everyone:
        await barrier(client)
    history = log_of(a, start)
    assert [s for s, _, _ in history] == list(range(start + 1, final + 1))  # no holes
    for client in everyone:
        assert log_of(client, start) == history  # the same for everyone
    kinds = [k for _, k, _ in history]
    assert kinds == [
        "session.started",
        "agenda.activated", "agenda.completed", "agenda.activated", "agenda.completed",
        "floor.granted", "floor.ended", "floor.granted",
        "floor.ended", "session.ended",
    ]
    assert history[7][2]["speaker"]["user_id"] == winner
    # each chair got its own events before its acks
    for client in (a, b):
        for ack in (x for x in client.seen if x["type"] == "ack"):
            seen_at = next(i for i, e in enumerate(client.seen)
                           if e["type"] == "event" and e["seq"] == ack["seq"])
            assert seen_at < client.seen.index(ack)


async def test_a_burst_of_commands_from_many_sockets_is_committed_in_order(
    server: ServerProcess, joined: Any,
) -> None:
    m = await make_meeting(server.base_url, delegates=3, invitees=1)
    # two organisers with two sockets each (an account's commands share one bucket:
    # server/user_limits.py)
    chairs = [await joined(m, who) for who in ("chair", "chair", "secretary", "secretary")]
    watchers = [await joined(m, who) for who in ("d1", "i1")]
    start = await seq_of(m["chair"], m.id)
    # 4 sockets x 30 notices, all sent before any answer is read (within each account's
    # burst of 60)
    sends = [(c, "notice.post", {"text": f"Thông báo {i}-{n}"})
             for n in range(30) for i, c in enumerate(chairs)]
    answers = await at_once(m, *sends)
    assert [x["type"] for x in answers] == ["ack"] * len(sends)
    assert sorted(x["seq"] for x in answers) == list(range(start + 1, start + 1 + len(sends)))
    # each socket's own commands were applied in the order it sent them
    for i in range(len(chairs)):
        mine = [x["seq"] for x, (c, _, _) in zip(answers, sends, strict=True) if c is chairs[i]]
        assert mine == sorted(mine)
    for client in chairs + watchers:
        await barrier(client)
    history = log_of(watchers[0], start)
    assert [s for s, _, _ in history] == list(range(start + 1, start + 1 + len(sends)))
    for client in chairs + watchers[1:]:
        assert log_of(client, start) == history
    # and an HTTP reader agrees
    assert await seq_of(m["d1"], m.id) == start + len(sends)
