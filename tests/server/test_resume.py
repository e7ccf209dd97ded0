"""Reconnecting with `since`: exactly the missed events, or a fresh snapshot when that is
not possible."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import TLS, Meeting, ServerProcess, WsClient
from tests.server.conftest import barrier, seq_of, uid

REPLAY_WINDOW = 2000  # server/live_room.py: events kept for resumes


def snapshot_of(client: WsClient) -> dict[str, Any]:
    return next(msg for msg in client.seen if msg["type"] == "snapshot")


def events_after(client: WsClient, seq: int) -> list[tuple[int, str, Any]]:
    return [(e["seq"], e["kind"], e["data"]) for e in client.events() if e["seq"] > seq]


async def make_traffic(m: Meeting, chair: WsClient) -> None:
    """Public and restricted events, from the websocket and from HTTP."""
    await chair.command(m.id, "agenda.next")
    await chair.command(m.id, "notice.post", text="Chỉ dành cho đại biểu", roles=["delegate"])
    r = await m["d2"].call("POST", f"/api/meetings/{m.id}/rsvp",
                           {"answer": "absent", "reason": "Đi công tác"})
    assert r.status_code == 200, r.text
    await chair.command(m.id, "floor.grant", user_id=uid(m, "d3"), seconds=60)
    await chair.command(m.id, "notice.post", text="Thông báo chung")
    r = await m["secretary"].call("POST", f"/api/meetings/{m.id}/commands",
                                  {"name": "attendance.check_in",
                                   "args": {"user_id": uid(m, "i1")}})
    assert r.status_code == 200, r.text
    await chair.command(m.id, "agenda.next")


async def test_resume_replays_exactly_the_missed_events(shared_meeting: Meeting,
                                                        joined: Any, open_ws: Any) -> None:
    m = shared_meeting
    chair = await joined(m, "chair")
    # each of these stays connected throughout: what they see is the truth for their user
    watchers = {who: await joined(m, who) for who in ("secretary", "d1", "i1")}
    leavers = {who: await joined(m, who) for who in ("secretary", "d1", "i1")}
    since = {who: snapshot_of(c)["seq"] for who, c in leavers.items()}
    for client in leavers.values():
        await client.close()
    await make_traffic(m, chair)
    for who, watcher in watchers.items():
        final = await seq_of(m["chair"], m.id)
        await barrier(watcher)
        client = await open_ws(m[who])
        resumed = await client.join(m.id, since=since[who])
        assert resumed["type"] == "resumed", resumed
        assert resumed["seq"] == final
        replayed = events_after(client, since[who])
        assert replayed == events_after(watcher, since[who]), who  # no gap, no duplicate
        assert resumed["replayed"] == len(replayed)
        seqs = [s for s, _, _ in replayed]
        assert seqs == sorted(set(seqs))
        if who == "secretary":  # an organiser sees everything: no gaps at all
            assert seqs == list(range(since[who] + 1, final + 1))
        # and the resumed client then follows live
        await chair.command(m.id, "notice.post", text=f"Sau khi nối lại {who}")
        live = await client.until(lambda msg: msg.get("kind") == "notice.posted")
        assert live["data"]["notice"]["text"] == f"Sau khi nối lại {who}"


async def test_resume_at_the_current_seq_replays_nothing(shared_meeting: Meeting,
                                                         joined: Any, open_ws: Any) -> None:
    m = shared_meeting
    first = await joined(m, "d1")
    seq = snapshot_of(first)["seq"]
    client = await open_ws(m["d1"])
    resumed = await client.join(m.id, since=seq)
    assert resumed == {"type": "resumed", "meeting": m.id, "seq": seq, "replayed": 0}


async def test_a_since_from_the_future_gets_a_snapshot(shared_meeting: Meeting,
                                                       open_ws: Any) -> None:
    m = shared_meeting
    seq = await seq_of(m["d1"], m.id)
    client = await open_ws(m["d1"])
    answer = await client.join(m.id, since=seq + 1000)
    assert answer["type"] == "snapshot" and answer["seq"] == seq
    assert [msg for msg in client.seen if msg["type"] == "event"] == []


async def test_a_since_older_than_the_replay_window_gets_a_snapshot(
    server: ServerProcess, shared_meeting: Meeting, joined: Any, open_ws: Any,
) -> None:
    m = shared_meeting
    first = await joined(m, "d1")
    old = snapshot_of(first)["seq"]
    await first.close()
    # more events than the server keeps for resumes, posted quickly over HTTP
    headers = {"Authorization": f"Bearer {m['chair'].token}"}
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url, headers=headers, timeout=60,
                                 limits=httpx.Limits(max_connections=16)) as c:
        async def post(n: int) -> None:
            r = await c.post(f"/api/meetings/{m.id}/commands",
                             json={"name": "notice.post", "args": {"text": f"Thông báo {n}"}})
            assert r.status_code == 200, r.text

        for start in range(0, REPLAY_WINDOW + 50, 200):
            await asyncio.gather(*(post(n) for n in range(start, start + 200)))
    final = await seq_of(m["chair"], m.id)
    assert final > old + REPLAY_WINDOW
    client = await open_ws(m["d1"])
    answer = await client.join(m.id, since=old)
    assert answer["type"] == "snapshot" and answer["seq"] == final
    assert [msg for msg in client.seen if msg["type"] == "event"] == []
    assert len(answer["room"]["notices"]) == 50  # the room keeps the latest 50
    # a since still inside the window resumes
    recent = await open_ws(m["d1"])
    resumed = await recent.join(m.id, since=final - 10)
    assert resumed["type"] == "resumed" and resumed["replayed"] == 10
