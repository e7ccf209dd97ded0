"""Roles are a constitution, not a setting: attacks by insiders against a real server.

Each test sends what an attacker inside the meeting would send (over HTTP and over the
websocket), expects the typed refusal, and checks that nothing changed. Both backends.
"""

from __future__ import annotations

from typing import Any

from phonghop.voting.receipts import new_receipt
from tests.conftest import Api, Meeting, ServerProcess, WsClient, changed, make_meeting
from tests.server.conftest import assert_refusal, barrier, joined, outsider, uid  # noqa: F401
from tests.server.test_minutes import PASSWORD as SIGNING_PASSWORD
from tests.server.test_minutes import give_credential

FOR = 1


async def roster(m: Meeting) -> dict[int, tuple[str, bool, int | None]]:
    """Everyone's role, vote and substitute, as the administrator sees the room."""
    r = await m.admin.call("GET", f"/api/meetings/{m.id}")
    assert r.status_code == 200, r.text
    return {p["user_id"]: (p["role"], p["voting"], p["substitute_user_id"])
            for p in r.json()["room"]["participants"]}


async def http_cmd(api: Api, m: Meeting, name: str, **args: Any) -> dict[str, Any]:
    r = await api.call("POST", f"/api/meetings/{m.id}/commands", {"name": name, "args": args})
    return r.json()


async def open_poll(m: Meeting) -> int:
    base = f"/api/meetings/{m.id}/polls"
    r = await m["chair"].call("POST", base, {"title": "Thông qua Nghị quyết"})
    assert r.status_code == 200, r.text
    poll = changed(r, "poll.created")["poll"]["id"]
    r = await m["chair"].call("POST", f"{base}/{poll}/open")
    assert r.status_code == 200, r.text
    return poll


async def secretarys_attacks(m: Meeting, ws: WsClient) -> list[tuple[str, str]]:
    """The secretary tries, over HTTP and over the websocket, to take the chair, demote the
    chair, give an invitee a vote and make a delegate chair; the refusal codes, in order."""
    codes = []
    attacks = [("participant.update", {"user_id": uid(m, "secretary"), "role": "chair"}),
               ("participant.update", {"user_id": uid(m, "chair"), "role": "delegate"}),
               ("participant.update", {"user_id": uid(m, "i1"), "voting": True}),
               ("participant.update", {"user_id": uid(m, "d1"), "role": "chair"})]
    for name, args in attacks:  # every one a PATCH over HTTP, a command on the websocket
        path = f"/api/meetings/{m.id}/participants/{args['user_id']}"
        body = {k: v for k, v in args.items() if k != "user_id"}
        r = await m["secretary"].call("PATCH", path, body)
        assert r.status_code in (403, 409), r.text
        codes.append((name, r.json()["code"]))
        refused = await ws.command(m.id, name, **args)
        assert refused["type"] == "rejected", refused
        assert_refusal(refused, r.json()["code"])
    return codes


async def test_the_secretary_cannot_take_the_chair_demote_it_or_give_votes_in_session(
    server: ServerProcess, joined: Any,  # noqa: F811
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    ws = await joined(m, "secretary")
    before = await roster(m)
    codes = await secretarys_attacks(m, ws)
    assert [code for _, code in codes] == ["own_role", "forbidden", "forbidden", "forbidden"]
    assert await roster(m) == before
    # the chair may not demote themself nor leave the chair empty either
    r = await m["chair"].call("PATCH", f"/api/meetings/{m.id}/participants/{uid(m, 'chair')}",
                              {"role": "delegate"})
    assert_refusal(r.json(), "own_role")
    r = await m["chair"].call("DELETE", f"/api/meetings/{m.id}/participants/"
                              f"{uid(m, 'secretary')}")
    assert_refusal(r.json(), "role_vacant")
    assert await roster(m) == before


async def test_while_a_poll_is_open_roles_votes_and_the_electorate_are_frozen(
    server: ServerProcess, joined: Any,  # noqa: F811
) -> None:
    m = await make_meeting(server.base_url, delegates=2, extra={"d3": "delegate"})
    ws = await joined(m, "secretary")
    # an outsider is named as d2's substitute before the poll; approving it must wait
    stranger = await outsider(m)
    r = await m["d2"].call("POST", f"/api/meetings/{m.id}/rsvp", {
        "answer": "substitute", "substitute_user_id": stranger.user["id"]})
    assert r.status_code == 200, r.text
    await open_poll(m)
    before = await roster(m)
    codes = await secretarys_attacks(m, ws)
    assert [code for _, code in codes] == ["own_role", "roles_frozen", "roles_frozen",
                                           "roles_frozen"]
    # even the chair cannot change roles, votes or who votes while the poll is open
    chair = await joined(m, "chair")
    for name, args in (("participant.update", {"user_id": uid(m, "i1"), "voting": True}),
                       ("participant.update", {"user_id": uid(m, "d1"), "role": "chair"}),
                       ("participant.remove", {"user_id": uid(m, "d3")})):
        assert_refusal(await chair.command(m.id, name, **args), "roles_frozen")
    r = await m["secretary"].call(
        "POST", f"/api/meetings/{m.id}/substitutes/{uid(m, 'd2')}/approve")
    assert_refusal(r.json(), "roles_frozen")
    # nor take a present voter's ballot away by marking them absent mid-poll
    assert (await m["d3"].call("POST", f"/api/meetings/{m.id}/commands", {
        "name": "attendance.check_in", "args": {}})).status_code == 200
    r = await m["secretary"].call("POST", f"/api/meetings/{m.id}/commands", {
        "name": "attendance.absent", "args": {"user_id": uid(m, "d3"), "reason": "Ốm"}})
    assert_refusal(r.json(), "roles_frozen")
    assert await roster(m) == before


async def test_only_the_chair_hands_over_the_chair_and_everyone_sees_it(
    server: ServerProcess, joined: Any,  # noqa: F811
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    i1 = await joined(m, "i1")
    # an administrator prepares the meeting, but does not move the chair in session
    r = await m.admin.call("PATCH", f"/api/meetings/{m.id}/participants/{uid(m, 'd1')}",
                           {"role": "chair"})
    assert_refusal(r.json(), "forbidden")
    r = await m["chair"].call("PATCH", f"/api/meetings/{m.id}/participants/{uid(m, 'd1')}",
                              {"role": "chair"})
    assert r.status_code == 200, r.text
    after = await roster(m)
    assert [u for u, (role, _, _) in after.items() if role == "chair"] == [uid(m, "d1")]
    assert after[uid(m, "chair")][0] == "delegate"
    changed = await i1.until(lambda e: e.get("kind") == "role.changed"
                             and e["data"]["user_id"] == uid(m, "d1"))
    assert changed["data"]["role"] == "chair" and changed["data"]["previous_role"] == "delegate"


async def test_a_named_substitute_takes_no_seat_until_an_organiser_approves(
    server: ServerProcess, joined: Any, open_ws: Any,  # noqa: F811
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    base = f"/api/meetings/{m.id}"
    stranger = await outsider(m)
    sid = stranger.user["id"]
    before = await roster(m)
    r = await m["d1"].call("POST", base + "/rsvp", {"answer": "substitute",
                                                   "substitute_user_id": sid})
    assert r.status_code == 200, r.text
    assert (await m["d1"].room(m.id))["substitute_requests"][str(uid(m, "d1"))]["substitute"][
        "user_id"] == sid  # the member sees their pending request
    assert await roster(m) == before  # ... and nothing else happened
    # the would-be substitute cannot enter, vote or read anything
    ws = await open_ws(stranger)
    assert_refusal(await ws.join(m.id), "not_participant")
    r = await stranger.call("GET", base)
    assert_refusal(r.json(), "not_participant")
    # another delegate can neither see the request nor approve it; nor can d1 themself
    r = await m["d2"].call("GET", base)
    assert r.json()["room"]["substitute_requests"] == {}
    for who in ("d1", "d2"):
        r = await m[who].call("POST", f"{base}/substitutes/{uid(m, 'd1')}/approve")
        assert_refusal(r.json(), "forbidden")
    # the chair and the secretary cannot be substituted at all
    for office in ("chair", "secretary"):
        r = await m[office].call("POST", base + "/rsvp", {"answer": "substitute",
                                                         "substitute_user_id": sid})
        assert_refusal(r.json(), "not_substitutable")
    assert await roster(m) == before
    # in session, who sits with a vote is the chair's call: not the secretary's
    r = await m["secretary"].call("POST", f"{base}/substitutes/{uid(m, 'd1')}/approve")
    assert_refusal(r.json(), "forbidden")
    assert await roster(m) == before
    # the chair approves: the substitute takes d1's seat as a delegate with d1's vote
    r = await m["chair"].call("POST", f"{base}/substitutes/{uid(m, 'd1')}/approve")
    assert r.status_code == 200, r.text
    after = await roster(m)
    assert after[sid] == ("delegate", True, None)
    assert after[uid(m, "d1")] == ("delegate", True, sid)
    # never chair by inheritance, nor by being given it
    r = await m["chair"].call("PATCH", f"{base}/participants/{sid}", {"role": "chair"})
    assert r.status_code in (400, 409)
    assert [u for u, (role, _, _) in (await roster(m)).items() if role == "chair"] == [
        uid(m, "chair")]
    # the substitute votes for d1; d1's own vote, check-in and floor pause
    sub = await open_ws(stranger)
    assert (await sub.join(m.id))["type"] == "snapshot"
    assert (await sub.command(m.id, "attendance.check_in"))["type"] == "ack"
    d1 = await joined(m, "d1")
    assert_refusal(await d1.command(m.id, "attendance.check_in"), "substituted")
    assert_refusal(await d1.command(m.id, "floor.request"), "substituted")
    poll = await open_poll(m)
    ballot = {"poll_id": poll, "choices": [FOR]}
    refused = await d1.command(m.id, "vote.cast", receipt=new_receipt(), **ballot)
    assert_refusal(refused, "not_eligible")
    assert (await sub.command(m.id, "vote.cast", receipt=new_receipt(), **ballot))[
        "type"] == "ack"


async def test_an_administrator_cannot_seat_themselves_as_a_substitute(
    server: ServerProcess,
) -> None:
    """An administrator outside the meeting files a substitute request for a delegate naming
    themselves, then approves it: that would seat them with the delegate's vote."""
    m = await make_meeting(server.base_url, delegates=1, start=False)
    base = f"/api/meetings/{m.id}"
    before = await roster(m)
    r = await m.admin.call("POST", base + "/rsvp", {
        "answer": "substitute", "user_id": uid(m, "d1"),
        "substitute_user_id": m.admin.user["id"]})
    assert r.status_code == 200, r.text  # a request changes nothing by itself
    r = await m.admin.call("POST", f"{base}/substitutes/{uid(m, 'd1')}/approve")
    assert_refusal(r.json(), "own_role")
    assert await roster(m) == before
    assert m.admin.user["id"] not in before


async def test_a_refused_substitute_never_enters(
    server: ServerProcess, open_ws: Any,
) -> None:
    m = await make_meeting(server.base_url, delegates=1, start=False)
    base = f"/api/meetings/{m.id}"
    stranger = await outsider(m)
    r = await m["d1"].call("POST", base + "/rsvp", {
        "answer": "substitute", "substitute_user_id": stranger.user["id"]})
    assert r.status_code == 200, r.text
    r = await m["chair"].call("POST", f"{base}/substitutes/{uid(m, 'd1')}/refuse",
                              {"reason": "Không đúng thẩm quyền"})
    assert r.status_code == 200, r.text
    r = await m["chair"].call("POST", f"{base}/substitutes/{uid(m, 'd1')}/approve")
    assert_refusal(r.json(), "not_found")
    ws = await open_ws(stranger)
    assert_refusal(await ws.join(m.id), "not_participant")


async def test_only_the_chair_at_the_end_signs_in_the_chairs_field(
    server: ServerProcess, joined: Any,  # noqa: F811
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    base = f"/api/meetings/{m.id}"
    # a legitimate handover in session: d1 chairs from here on, and ends the session
    r = await m["chair"].call("PATCH", f"{base}/participants/{uid(m, 'd1')}", {"role": "chair"})
    assert r.status_code == 200, r.text
    r = await http_cmd(m["d1"], m, "session.end")
    assert r["ack"]["duplicate"] is False, r
    assert (await m["d1"].room(m.id))["meeting"]["chair_at_end"] == uid(m, "d1")
    for who in ("secretary", "chair", "d1", "d2"):
        assert (await give_credential(server, m, who)).status_code == 201
    # after the end nobody appoints a chair: not the administrator, not the chair
    for who in ("admin", "d1"):
        api = m.admin if who == "admin" else m[who]
        r = await api.call("PATCH", f"{base}/participants/{uid(m, 'd2')}", {"role": "chair"})
        assert_refusal(r.json(), "invalid_state")
    r = await m["secretary"].call("POST", base + "/minutes/prepare")
    assert r.status_code == 200, r.text
    r = await m["secretary"].call("POST", base + "/minutes/sign",
                                  {"password": SIGNING_PASSWORD})
    assert r.status_code == 200, r.text
    # the chair at the start, and a would-be chair, cannot sign in the chair's field
    for who in ("chair", "d2"):
        r = await m[who].call("POST", base + "/minutes/sign", {"password": SIGNING_PASSWORD})
        assert_refusal(r.json(), "forbidden")
    view = (await m.admin.call("GET", base)).json()["room"]
    assert [s["role"] for s in view["minutes"]["signatures"]] == ["secretary"]
    r = await m["d1"].call("POST", base + "/minutes/sign", {"password": SIGNING_PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "signed"
