"""kill -9 during a vote: every acknowledged ballot is counted, once.

Delegates vote all at once; the node they talk to is SIGKILLed while ballots are in flight.
Each delegate whose ballot was not answered sends it again, unchanged (same command id,
same receipt), to the node that is up: a ballot the dead node had committed comes back as
a duplicate, one it had not is cast now. At the close, the count equals the delegates
who were acknowledged, and the receipts and named ballots match the acks exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from phonghop.voting.receipts import new_receipt
from tests.cluster.conftest import Cluster, Node, next_id, on
from tests.conftest import Api, Meeting, ServerProcess, WsClient, changed, make_meeting
from tests.server.conftest import uid
from tests.server.encrypted import ceremony, create_secret, decrypt, poll_as
from tests.server.test_encrypted_polls import tracker_of
from tests.voting.board_kit import ballot

VOTERS = 30


@dataclass
class Ballot:
    who: str
    cid: str = field(default_factory=lambda: next_id("ballot"))
    receipt: str = field(default_factory=new_receipt)
    choice: int = field(default_factory=lambda: random.choice((1, 2, 3)))
    answers: list[dict[str, Any]] = field(default_factory=list)

    def command(self, meeting: int, poll: int) -> dict[str, Any]:
        return {"type": "command", "id": self.cid, "meeting": meeting, "name": "vote.cast",
                "args": {"poll_id": poll, "choices": [self.choice], "receipt": self.receipt}}


async def send(node: ServerProcess, api: Api, m: Meeting, poll: int, ballot: Ballot,
               cluster: Cluster, timeout: float = 20.0) -> None:
    """Send the ballot and wait for its answer; a dead connection leaves it unanswered.

    The node may die before the websocket handshake is answered (InvalidHandshake): the
    ballot was never sent, so it is as unanswered as one lost in flight."""
    with contextlib.suppress(ConnectionClosed, InvalidHandshake, TimeoutError, OSError):
        client: WsClient = await cluster.ws(node, api)
        await client.join(m.id)
        await client.send(ballot.command(m.id, poll))
        answer = await client.until(lambda x: x.get("id") == ballot.cid, timeout)
        ballot.answers.append(answer)


async def open_poll(api: Api, m: Meeting) -> int:
    r = await api.call("POST", f"/api/meetings/{m.id}/polls", {
        "title": "Biểu quyết trong sự cố", "eligibility": "members"})
    assert r.status_code == 200, r.text
    poll = changed(r, "poll.created")["poll"]["id"]
    r = await api.call("POST", f"/api/meetings/{m.id}/polls/{poll}/open")
    assert r.status_code == 200, r.text
    return int(poll)


async def burst_with_kill(cluster: Cluster, victim: Node, m: Meeting, poll: int,
                          ballots: list[Ballot]) -> None:
    """All ballots at once to `victim`, which dies as soon as the first few are in."""
    sending = [asyncio.create_task(send(victim, on(victim, m[b.who]), m, poll, b, cluster))
               for b in ballots]
    for _ in range(400):
        if sum(bool(b.answers) for b in ballots) >= 3:
            break
        await asyncio.sleep(0.005)
    victim.kill()
    await asyncio.gather(*sending)


async def resend_unanswered(cluster: Cluster, node: ServerProcess, m: Meeting, poll: int,
                            ballots: list[Ballot]) -> None:
    await asyncio.gather(*(send(node, on(node, m[b.who]), m, poll, b, cluster)
                           for b in ballots if not b.answers))


async def assert_counted_exactly(api: Api, m: Meeting, poll: int, ballots: list[Ballot]) -> None:
    for b in ballots:
        assert b.answers and b.answers[-1]["type"] == "ack", (b.who, b.answers)
        assert b.answers[-1]["receipt"] == b.receipt
    r = await api.call("POST", f"/api/meetings/{m.id}/polls/{poll}/close")
    assert r.status_code == 200, r.text
    result = next(p for p in (await api.room(m.id))["polls"] if p["id"] == poll)["result"]
    assert result["cast"] == len(ballots)
    counts = {c["option_id"]: c["votes"] for c in result["counts"]}
    assert counts == {o: sum(b.choice == o for b in ballots) for o in (1, 2, 3)}
    base = f"/api/meetings/{m.id}/polls/{poll}"
    receipts = (await api.call("GET", base + "/receipts")).json()["receipts"]
    assert sorted(receipts) == sorted(b.receipt for b in ballots)
    named = (await api.call("GET", base + "/ballots")).json()["ballots"]
    assert sorted((n["voter_id"], n["choices"][0]) for n in named) == sorted(
        (uid(m, b.who), b.choice) for b in ballots)


async def test_sigkill_of_the_embedded_server_mid_vote_loses_no_acknowledged_ballot(
    cluster: Cluster,
) -> None:
    first = cluster.node("solo", "demo")
    m = await make_meeting(first.base_url, delegates=VOTERS, invitees=0)
    poll = await open_poll(m["chair"], m)
    ballots = [Ballot(f"d{i}") for i in range(1, VOTERS + 1)]
    await burst_with_kill(cluster, first, m, poll, ballots)
    acked_before = [b for b in ballots if b.answers and b.answers[0]["type"] == "ack"]
    assert acked_before, "the kill came before any ballot was acknowledged"
    # The same data directory, the same SQLite file: the server comes back.
    again = Node(cluster.nodes, first.data_dir, "serve")
    await resend_unanswered(cluster, again, m, poll, ballots)
    await assert_counted_exactly(on(again, m["chair"]), m, poll, ballots)


async def test_sigkill_of_one_node_mid_vote_the_other_counts_every_acknowledged_ballot(
    cluster: Cluster,
) -> None:
    backend = cluster.backend(cluster.redis())
    a = cluster.node("a", "demo", backend)
    b = cluster.node("b", "serve", backend, args=a.backend_args)
    m = await make_meeting(a.base_url, delegates=VOTERS, invitees=0)
    poll = await open_poll(on(b, m["chair"]), m)
    ballots = [Ballot(f"d{i}") for i in range(1, VOTERS + 1)]
    on_a, on_b = ballots[: VOTERS // 2], ballots[VOTERS // 2:]
    from_b = asyncio.gather(*(send(b, on(b, m[x.who]), m, poll, x, cluster) for x in on_b))
    await burst_with_kill(cluster, a, m, poll, on_a)
    await from_b
    # A retry after a lost ack may come back as a duplicate: the same receipt, one ballot.
    answered_by_a = {x.cid for x in on_a if x.answers}
    await resend_unanswered(cluster, b, m, poll, ballots)
    retried = [x for x in on_a if x.cid not in answered_by_a]
    assert all(x.answers[-1]["type"] == "ack" for x in retried)
    await assert_counted_exactly(on(b, m["chair"]), m, poll, ballots)


@dataclass
class EncryptedBallot(Ballot):
    """A secret poll's ballot, encrypted and proved on the device beforehand; its receipt
    is its tracker."""

    doc: dict[str, Any] = field(default_factory=dict)

    def command(self, meeting: int, poll: int) -> dict[str, Any]:
        return {"type": "command", "id": self.cid, "meeting": meeting, "name": "vote.cast",
                "args": {"poll_id": poll, "ballot": self.doc}}


def rebound(m: Meeting, node: ServerProcess) -> Meeting:
    """The same meeting and people, talking HTTP to `node`."""
    return Meeting(m.id, on(node, m.admin), {w: on(node, a) for w, a in m.members.items()})


async def test_sigkill_mid_encrypted_vote_loses_no_acknowledged_ballot(
    cluster: Cluster,
) -> None:
    first = cluster.node("solo", "demo")
    m = await make_meeting(first.base_url, delegates=VOTERS, invitees=0)
    draft = await create_secret(m, ("d1", "d2"), 2, eligibility="members")
    devices = await ceremony(m, draft)
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls/{draft['id']}/open")
    assert r.status_code == 200, r.text
    poll = await poll_as(m, "d1", draft["id"])
    ballots: list[Ballot] = []
    for i in range(1, VOTERS + 1):
        b = EncryptedBallot(f"d{i}")
        b.doc = ballot(poll, uid(m, b.who), b.choice)
        b.receipt = tracker_of(poll, b.doc)
        ballots.append(b)
    await burst_with_kill(cluster, first, m, poll["id"], list(ballots))
    again = Node(cluster.nodes, first.data_dir, "serve")
    await resend_unanswered(cluster, again, m, poll["id"], list(ballots))
    for b in ballots:
        assert b.answers and b.answers[-1]["type"] == "ack", (b.who, b.answers)
        assert b.answers[-1]["receipt"] == b.receipt
    m2 = rebound(m, again)
    r = await m2["chair"].call("POST", f"/api/meetings/{m.id}/polls/{poll['id']}/close")
    assert r.status_code == 200, r.text
    answers = await decrypt(m2, poll["id"], devices, "d1", "d2")
    assert all(a["type"] == "ack" for a in answers), answers
    closed = await poll_as(m2, "d3", poll["id"])
    result = closed["result"]
    assert result["cast"] == VOTERS and result["verified"] is True
    counts = {c["option_id"]: c["votes"] for c in result["counts"]}
    assert counts == {o: sum(b.choice == o for b in ballots) for o in (1, 2, 3)}
    receipts = (await m2["d3"].call(
        "GET", f"/api/meetings/{m.id}/polls/{poll['id']}/receipts")).json()["receipts"]
    assert receipts == sorted(b.receipt for b in ballots)
