"""Restricted events never reach people outside their audience: live, on resume, or by HTTP."""

from __future__ import annotations

from typing import Any

from tests.conftest import Meeting
from tests.server.conftest import barrier, uid

REASON = "Đi công tác tại tỉnh Lào Cai theo kế hoạch"
FOR_DELEGATES = "Tài liệu mật: đại biểu nhận tại văn thư"


async def everyone(m: Meeting, joined: Any) -> dict[str, Any]:
    clients = {who: await joined(m, who) for who in ("chair", "secretary", "d1", "d2", "i1")}
    for client in clients.values():
        await barrier(client)
    return clients


def received(client: Any, kind: str) -> list[dict[str, Any]]:
    return list(client.events(kind))


async def test_a_reason_reaches_only_the_organisers_and_the_member(
    shared_meeting: Meeting, joined: Any, open_ws: Any,
) -> None:
    m = shared_meeting
    clients = await everyone(m, joined)
    admin = await open_ws(m.admin)
    await admin.join(m.id)
    ack = await clients["d1"].command(m.id, "rsvp", answer="absent", reason=REASON)
    assert ack["type"] == "ack"
    for client in [*clients.values(), admin]:
        await barrier(client)
    for who in ("chair", "secretary", "d1"):
        reasons = received(clients[who], "rsvp.reason")
        assert [r["data"] for r in reasons] == [{"user_id": uid(m, "d1"), "reason": REASON}], who
    assert [r["data"]["reason"] for r in received(admin, "rsvp.reason")] == [REASON]
    for who in ("d2", "i1"):
        assert received(clients[who], "rsvp.reason") == [], who
        answered = received(clients[who], "rsvp.answered")
        assert answered[-1]["data"]["participant"]["rsvp"] == "absent"
        assert REASON not in str(clients[who].seen)
    # nor by asking: the snapshot and the HTTP view leave it out too
    for who in ("d2", "i1"):
        late = await joined(m, who)
        snapshot = next(msg for msg in late.seen if msg["type"] == "snapshot")
        assert snapshot["room"]["rsvp_reasons"] == {}
        view = (await m[who].call("GET", f"/api/meetings/{m.id}")).json()
        assert view["room"]["rsvp_reasons"] == {}
    view = (await m["secretary"].call("GET", f"/api/meetings/{m.id}")).json()
    assert view["room"]["rsvp_reasons"] == {str(uid(m, "d1")): REASON}


async def test_a_notice_for_some_roles_reaches_only_them(shared_meeting: Meeting,
                                                         joined: Any) -> None:
    m = shared_meeting
    clients = await everyone(m, joined)
    ack = await clients["secretary"].command(m.id, "notice.post", text=FOR_DELEGATES,
                                             roles=["delegate"])
    assert ack["type"] == "ack"
    public = await clients["chair"].command(m.id, "notice.post", text="Nghỉ giải lao 10 phút")
    for client in clients.values():
        await barrier(client)
    for who in ("chair", "secretary", "d1", "d2"):
        texts = [n["data"]["notice"]["text"] for n in received(clients[who], "notice.posted")
                 if n["seq"] >= ack["seq"]]
        assert texts == [FOR_DELEGATES, "Nghỉ giải lao 10 phút"], who
    invitee = clients["i1"]
    texts = [n["data"]["notice"]["text"] for n in received(invitee, "notice.posted")
             if n["seq"] >= ack["seq"]]
    assert texts == ["Nghỉ giải lao 10 phút"]
    assert FOR_DELEGATES not in str(invitee.seen)
    # the invitee sees a gap in seqs, and that is all
    seqs = [msg["seq"] for msg in invitee.events()]
    assert ack["seq"] not in seqs and public["seq"] in seqs
    # and so does the HTTP view
    view = (await m["i1"].call("GET", f"/api/meetings/{m.id}")).json()
    texts = [n["text"] for n in view["room"]["notices"]]
    assert "Nghỉ giải lao 10 phút" in texts and FOR_DELEGATES not in texts
    view = (await m["d1"].call("GET", f"/api/meetings/{m.id}")).json()
    assert FOR_DELEGATES in [n["text"] for n in view["room"]["notices"]]


async def test_resume_never_replays_what_the_user_may_not_see(shared_meeting: Meeting,
                                                              joined: Any,
                                                              open_ws: Any) -> None:
    m = shared_meeting
    chair = await joined(m, "chair")
    snapshot = next(msg for msg in chair.seen if msg["type"] == "snapshot")
    since = snapshot["seq"]
    for text, roles in ((FOR_DELEGATES, ["delegate"]), ("Công khai", None)):
        ack = await chair.command(m.id, "notice.post", text=text, roles=roles)
        assert ack["type"] == "ack", ack
    d1_api, i1_api = m["d1"], m["i1"]
    r = await m["d3"].call("POST", f"/api/meetings/{m.id}/rsvp",
                           {"answer": "absent", "reason": REASON})
    assert r.status_code == 200, r.text
    for api, expected in ((d1_api, [FOR_DELEGATES, "Công khai"]), (i1_api, ["Công khai"])):
        client = await open_ws(api)
        resumed = await client.join(m.id, since=since)
        assert resumed["type"] == "resumed", resumed
        replayed = [msg for msg in client.seen if msg["type"] == "event"]
        assert resumed["replayed"] == len(replayed)
        texts = [e["data"]["notice"]["text"] for e in replayed if e["kind"] == "notice.posted"]
        assert texts == expected
        assert [e for e in replayed if e["kind"] == "rsvp.reason"] == []
        assert REASON not in str(client.seen)
