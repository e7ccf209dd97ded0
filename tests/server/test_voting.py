"""Voting over the websocket and HTTP: exactly-once ballots, refusals, secrecy, races."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

from phonghop.voting.receipts import new_receipt
from tests.conftest import Meeting, ServerProcess, WsClient, changed, make_meeting
from tests.server.conftest import assert_refusal, uid
from tests.server.encrypted import all_rows, cast, ceremony, create_secret, decrypt, poll_as

FOR, AGAINST, ABSTAIN = 1, 2, 3


async def check_in(m: Meeting, *who: str) -> None:
    for w in who:
        r = await m[w].call("POST", f"/api/meetings/{m.id}/commands",
                            {"name": "attendance.check_in"})
        assert r.status_code in (200, 409), r.text


async def create(m: Meeting, **settings: Any) -> dict[str, Any]:
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls",
                              {"title": "Thông qua Nghị quyết", **settings})
    return changed(r, "poll.created")["poll"]


async def poll_cmd(m: Meeting, who: str, poll: dict[str, Any], action: str,
                   body: Any = None) -> dict[str, Any]:
    r = await m[who].call("POST", f"/api/meetings/{m.id}/polls/{poll['id']}/{action}", body)
    assert r.status_code == 200, r.text
    return next(p for p in (await m[who].room(m.id))["polls"] if p["id"] == poll["id"])


async def vote(ws: WsClient, m: Meeting, poll: dict[str, Any], *choices: int,
               cid: str | None = None, receipt: str | None = None, **extra: Any
               ) -> dict[str, Any]:
    return await ws.command(m.id, "vote.cast", cid, poll_id=poll["id"], choices=list(choices),
                            receipt=receipt or new_receipt(), **extra)


async def open_motion(m: Meeting, **settings: Any) -> dict[str, Any]:
    poll = await create(m, **settings)
    return await poll_cmd(m, "chair", poll, "open")


async def test_a_motion_is_counted_exactly_once_and_published(
    server: ServerProcess, joined: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=4)
    await check_in(m, "chair", "d1", "d2", "d3")
    d = {w: await joined(m, w) for w in ("d1", "d2", "d3", "d4")}
    poll = await open_motion(m)
    opened = await d["d1"].until(lambda e: e.get("kind") == "poll.opened")
    assert opened["data"]["poll"]["status"] == "open" and opened["data"]["poll"]["result"] is None
    first = await vote(d["d1"], m, poll, FOR, cid="d1-ballot-0001", receipt="AAAAA-11111")
    assert first["type"] == "ack" and first["receipt"] == "AAAAA-11111", first
    assert "seq" not in first
    # The retry of a ballot whose ack was lost: the same ack, never a second ballot.
    again = await vote(d["d1"], m, poll, FOR, cid="d1-ballot-0001", receipt="AAAAA-11111")
    assert again["type"] == "ack" and again["duplicate"] is True
    second = await vote(d["d1"], m, poll, AGAINST)
    assert second["type"] == "rejected"
    assert_refusal(second, "already_voted")
    assert (await vote(d["d2"], m, poll, AGAINST))["type"] == "ack"
    assert (await vote(d["d3"], m, poll, FOR))["type"] == "ack"
    absent = await vote(d["d4"], m, poll, FOR)  # not checked in, the poll is for those present
    assert_refusal(absent, "not_eligible")
    me = (await m["d1"].call("GET", f"/api/meetings/{m.id}/polls/{poll['id']}/me")).json()
    assert me == {"poll_id": poll["id"], "eligible": True, "voted": True, "choices": [FOR],
                  "receipt": "AAAAA-11111"}
    me4 = (await m["d4"].call("GET", f"/api/meetings/{m.id}/polls/{poll['id']}/me")).json()
    assert me4["eligible"] is False and me4["voted"] is False

    closed = await poll_cmd(m, "chair", poll, "close")
    result = closed["result"]
    assert closed["status"] == "published"
    assert result["cast"] == 3
    assert {c["option_id"]: c["votes"] for c in result["counts"]} == {FOR: 2, AGAINST: 1,
                                                                      ABSTAIN: 0}
    # More than half of all 5 voting members (chair and 4 delegates): 2 × 2 > 1 × 5 is false.
    assert result["base"] == "members" and result["base_count"] == 5
    assert result["passed"] is False and result["receipts"] == 3
    published = await d["d4"].until(lambda e: e.get("kind") == "poll.published")
    assert published["data"]["result"] == result
    late = await vote(d["d4"], m, poll, FOR)
    assert_refusal(late, "poll_closed")
    # A ballot whose ack was lost just before the close, sent again: still "it is in".
    after = await vote(d["d1"], m, poll, FOR, cid="d1-ballot-0001", receipt="AAAAA-11111")
    assert after["type"] == "ack" and after["duplicate"] is True
    assert_refusal(await vote(d["d2"], m, poll, FOR, receipt="AAAAA-11111"), "poll_closed")

    base = f"/api/meetings/{m.id}/polls/{poll['id']}"
    named = (await m["d4"].call("GET", base + "/ballots")).json()["ballots"]
    assert {(b["voter_id"], tuple(b["choices"])) for b in named} == {
        (uid(m, "d1"), (FOR,)), (uid(m, "d2"), (AGAINST,)), (uid(m, "d3"), (FOR,))}
    receipts = (await m["d2"].call("GET", base + "/receipts")).json()["receipts"]
    assert "AAAAA-11111" in receipts and len(receipts) == 3
    r = await m["d1"].call("GET", base + "/result.csv")
    assert r.status_code == 200 and r.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert ["Tán thành", "2", "40.00%"] in rows
    assert ["Kết quả / Result", "Không thông qua / Not passed"] in rows


async def test_bad_ballots_are_refused_and_nothing_is_counted(
    server: ServerProcess, joined: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    await check_in(m, "chair", "d1", "d2", "i1")
    d1, i1 = await joined(m, "d1"), await joined(m, "i1")
    draft = await create(m, kind="multi", options=["Ứng viên A", "Ứng viên B", "Ứng viên C"],
                         seats=2, max_choices=2, min_choices=1)
    hidden = await vote(d1, m, draft, 1)  # a draft is invisible to delegates
    assert_refusal(hidden, "not_found")
    poll = await poll_cmd(m, "chair", draft, "open")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"poll_id": poll["id"], "choices": [4], "receipt": new_receipt()}, "invalid_choice"),
        ({"poll_id": poll["id"], "choices": [1, 1], "receipt": new_receipt()},
         "invalid_choice"),
        ({"poll_id": poll["id"], "choices": [1, 2, 3], "receipt": new_receipt()},
         "too_many_choices"),
        ({"poll_id": poll["id"], "choices": [], "receipt": new_receipt()}, "too_few_choices"),
        ({"poll_id": poll["id"], "choices": ["1"], "receipt": new_receipt()}, "invalid"),
        ({"poll_id": poll["id"], "choices": [1], "receipt": "short"}, "invalid"),
        ({"poll_id": poll["id"], "choices": [1]}, "invalid"),
        ({"poll_id": poll["id"], "choices": [1], "receipt": new_receipt(),
          "voter_id": uid(m, "d2")}, "invalid"),  # a forged voter
        ({"poll_id": 999_999, "choices": [1], "receipt": new_receipt()}, "not_found"),
        ({"poll_id": poll["id"], "choices": [1], "receipt": new_receipt(),
          "replaces": new_receipt()}, "invalid"),  # not a secret poll that allows changes
    ]
    for args, code in cases:
        answer = await d1.command(m.id, "vote.cast", **args)
        assert answer["type"] == "rejected", (args, answer)
        assert_refusal(answer, code)
    assert_refusal(await vote(i1, m, poll, 1), "not_eligible")  # invitees have no vote
    for name, args in (("poll.open", {"poll_id": poll["id"]}),
                       ("poll.close", {"poll_id": poll["id"]}),
                       ("poll.progress", {"poll_id": poll["id"], "voted": 99}),
                       ("poll.close", {"poll_id": poll["id"],
                                       "box": {"cast": 9, "votes": {}, "receipts": 9}})):
        answer = await d1.command(m.id, name, **args)
        assert answer["type"] == "rejected", (name, answer)
    ok = await vote(d1, m, poll, 1, 3)
    assert ok["type"] == "ack"
    closed = await poll_cmd(m, "chair", poll, "close")
    assert closed["result"]["cast"] == 1
    counts = {c["option_id"]: c["votes"] for c in closed["result"]["counts"]}
    assert counts == {1: 1, 2: 0, 3: 1}
    # 1 of 3 voting members is not more than half: nobody is elected.
    assert closed["result"]["elected"] == []


async def test_a_secret_ballot_keeps_nothing_that_links_a_voter_to_a_choice(
    server: ServerProcess, joined: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=10, invitees=0)
    voters = [f"d{i}" for i in range(1, 11)]
    await check_in(m, "chair", *voters)
    chair = await joined(m, "chair")
    clients = {w: await joined(m, w) for w in voters}
    draft = await create_secret(m, ("d1", "d2", "d3"), 2,
                                rule={"num": 1, "den": 2, "base": "cast", "strict": True})
    devices = await ceremony(m, draft)
    await poll_cmd(m, "chair", draft, "open")
    poll = await poll_as(m, "d1", draft["id"])
    choices = {w: (FOR if i % 3 else AGAINST) for i, w in enumerate(voters)}
    trackers: dict[str, str] = {}
    for w in voters:  # one after the other: the order of voting is known to the test
        ack = await cast(clients[w], m, poll, w, choices[w])
        assert ack["type"] == "ack", ack
        trackers[w] = ack["receipt"]
    # Before the close nobody, the chair included, sees any part of the tally.
    progress = await chair.until(lambda e: e.get("kind") == "poll.progress"
                                 and e["data"]["voted"] == 10)
    assert set(progress["data"]) == {"poll_id", "voted", "eligible"}
    view = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    assert next(p for p in view["polls"] if p["id"] == poll["id"])["result"] is None
    closed = await poll_cmd(m, "chair", poll, "close")
    assert closed["result"] is None and closed["counting"] is True  # the board counts
    await decrypt(m, poll["id"], devices, "d1", "d2")
    view = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    result = next(p for p in view["polls"] if p["id"] == poll["id"])["result"]
    counts = {c["option_id"]: c["votes"] for c in result["counts"]}
    assert counts == {FOR: 6, AGAINST: 4, ABSTAIN: 0} and result["passed"] is True
    assert result["verified"] is True
    assert (await m["d1"].call("GET", f"/api/meetings/{m.id}/polls/{poll['id']}/ballots")
            ).status_code == 403
    me = (await m["d1"].call("GET", f"/api/meetings/{m.id}/polls/{poll['id']}/me")).json()
    assert me == {"poll_id": poll["id"], "eligible": True, "voted": True,
                  "receipt": trackers["d1"]}

    rows = await all_rows(server)
    ids = {uid(m, w) for w in voters}
    mine = lambda r: r["room_id"] == m.id and r["poll_id"] == poll["id"]  # noqa: E731
    stored = [r for r in rows["encrypted_ballots"] if mine(r)]
    assert {r["voter_id"] for r in stored} == ids
    assert {r["tracker"] for r in stored} == set(trackers.values())
    assert not [r for r in rows["secret_ballots"] if mine(r)]
    assert not [r for r in rows["named_ballots"] if mine(r)]
    # No other table holds a tracker, and no room event says who chose what.
    for table, table_rows in rows.items():
        if table == "encrypted_ballots":
            continue
        text = json.dumps(table_rows, default=str, ensure_ascii=False)
        assert not any(t in text for t in trackers.values()), table
    for event in rows["room_events"]:
        if event["room_id"] != m.id or not event["kind"].startswith(("poll.", "vote.")):
            continue
        data = json.loads(event["data"])
        assert event["kind"] in ("poll.created", "poll.opened", "poll.progress",
                                 "poll.closed", "poll.published"), event["kind"]
        assert event["actor"] not in ids - {uid(m, w) for w in ("d1", "d2", "d3")}
        assert not ids & _numbers(data.get("result", {})), data


def _numbers(data: Any) -> set[int]:
    if isinstance(data, dict):
        return set().union(*(_numbers(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(_numbers(v) for v in data)) if data else set()
    return {data} if isinstance(data, int) and not isinstance(data, bool) else set()


async def test_a_ballot_racing_the_close_is_counted_or_refused_never_lost(
    server: ServerProcess, open_ws: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=40, invitees=0)
    poll = await open_motion(m, eligibility="members")
    clients = []
    for i in range(1, 41):
        ws = await open_ws(m[f"d{i}"])
        await ws.join(m.id)
        clients.append(ws)

    async def cast(ws: WsClient, i: int) -> dict[str, Any]:
        await asyncio.sleep(0.002 * i)
        return await vote(ws, m, poll, FOR if i % 2 else AGAINST)

    racing = [asyncio.create_task(cast(ws, i)) for i, ws in enumerate(clients)]
    await asyncio.sleep(0.04)
    closed = await poll_cmd(m, "chair", poll, "close")
    answers = await asyncio.gather(*racing)
    acked = [a for a in answers if a["type"] == "ack"]
    refused = [a for a in answers if a["type"] == "rejected"]
    assert all(a["code"] == "poll_closed" for a in refused), refused
    assert len(acked) + len(refused) == 40
    assert closed["result"]["cast"] == len(acked)
    receipts = (await m["d1"].call(
        "GET", f"/api/meetings/{m.id}/polls/{poll['id']}/receipts")).json()["receipts"]
    assert sorted(receipts) == sorted(a["receipt"] for a in acked)


async def test_approved_substitutes_vote_for_their_member_and_votes_change_until_close(
    server: ServerProcess, joined: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=2, extra={"s1": "delegate"})
    base = f"/api/meetings/{m.id}"
    r = await m["chair"].call("POST", base + "/commands", {"name": "participant.remove",
                                                          "args": {"user_id": uid(m, "s1")}})
    assert r.status_code == 200, r.text
    # d2 asks to send s1 in their place; s1 takes the seat (and its vote) once approved.
    r = await m["d2"].call("POST", base + "/commands", {"name": "rsvp", "args": {
        "answer": "substitute", "substitute_user_id": uid(m, "s1")}})
    assert r.status_code == 200, r.text
    # in session, seating a substitute (with the member's vote) is the chair's call
    r = await m["chair"].call("POST", base + f"/substitutes/{uid(m, 'd2')}/approve")
    assert r.status_code == 200, r.text
    s1 = await joined(m, "s1")
    poll = await open_motion(m, eligibility="members", allow_change=True)
    first = await vote(s1, m, poll, FOR)
    assert first["type"] == "ack", first
    changed = await vote(s1, m, poll, ABSTAIN)
    assert changed["type"] == "ack", changed
    d2 = await joined(m, "d2")
    # the member's own vote pauses while their substitute stands in
    assert_refusal(await vote(d2, m, poll, AGAINST), "not_eligible")
    closed = await poll_cmd(m, "chair", poll, "close")
    assert closed["result"]["cast"] == 1
    ballots = (await m["d1"].call("GET", base + f"/polls/{poll['id']}/ballots")).json()
    assert [(b["voter_id"], b["cast_by"], b["choices"]) for b in ballots["ballots"]] == [
        (uid(m, "d2"), uid(m, "s1"), [ABSTAIN])]


async def test_a_show_of_hands_and_a_timed_poll_close_with_the_rule_applied(
    server: ServerProcess, joined: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=5, invitees=0)
    d1 = await joined(m, "d1")
    hands = await open_motion(m, kind="hands", rule={"num": 2, "den": 3, "base": "members",
                                                      "strict": False})
    assert_refusal(await vote(d1, m, hands, FOR), "poll_not_open")
    r = await m["d1"].call("POST", f"/api/meetings/{m.id}/polls/{hands['id']}/record",
                           {"counts": [4, 2, 0]})
    assert r.status_code == 403
    done = await poll_cmd(m, "secretary", hands, "record", {"counts": [4, 2, 0]})
    # At least 2/3 of 6 members: 4 × 3 >= 2 × 6.
    assert done["result"]["passed"] is True and done["result"]["cast"] == 6
    timed = await open_motion(m, eligibility="members", duration_seconds=10,
                              auto_publish=False)
    assert timed["closes_at"] is not None
    assert (await vote(d1, m, timed, FOR))["type"] == "ack"
    closed = await d1.until(lambda e: e.get("kind") == "poll.closed", timeout=30)
    assert closed["actor"] == 0
    assert_refusal(await vote(d1, m, timed, FOR), "poll_closed")
    view = (await m["d1"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    mine = next(p for p in view["polls"] if p["id"] == timed["id"])
    assert mine["status"] == "closed" and mine["result"] is None  # not published yet
    published = await poll_cmd(m, "chair", timed, "publish")
    assert published["result"]["cast"] == 1 and published["result"]["passed"] is False
