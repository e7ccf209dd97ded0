"""Forbidden commands, role by role, over the websocket: refused, and nothing happens."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Meeting, ServerProcess, changed, make_meeting
from tests.server.conftest import assert_refusal, barrier, seq_of, uid


@pytest.fixture(scope="module")
async def room(server: ServerProcess) -> dict[str, Any]:
    """A meeting in session with a site operator at the first of two online sites."""
    m = await make_meeting(server.base_url, extra={"op": "site_operator"})
    sites = []
    for name in ("Điểm cầu Tổ dân phố số 1", "Điểm cầu Tổ dân phố số 5"):
        r = await m.admin.call("POST", f"/api/meetings/{m.id}/sites", {"name": name})
        assert r.status_code == 200, r.text
        sites.append(changed(r, "site.added")["site"]["id"])
    r = await m.admin.call("PATCH", f"/api/meetings/{m.id}/participants/{uid(m, 'op')}",
                           {"site_id": sites[0]})
    assert r.status_code == 200, r.text
    item = (await m.admin.call("GET", f"/api/meetings/{m.id}")).json()["room"]["agenda"][0]["id"]
    return {"meeting": m, "sites": sites, "item": item}


FORBIDDEN = [
    ("d1", "floor.grant", {"user_id": "d2"}),
    ("d1", "session.start", {}),
    ("d1", "session.end", {}),
    ("d1", "agenda.next", {}),
    ("d1", "agenda.activate", {"item_id": "ITEM"}),
    ("d1", "floor.extend", {"seconds": 60}),
    ("d1", "floor.withdraw", {"user_id": "d2"}),
    ("d1", "notice.post", {"text": "Tôi thông báo"}),
    ("d1", "participant.remove", {"user_id": "d2"}),
    ("d1", "attendance.check_in", {"user_id": "d2"}),
    ("d1", "attendance.absent", {"user_id": "d2", "reason": "Vắng"}),
    ("d1", "rsvp", {"answer": "absent", "reason": "Ốm", "user_id": "d2"}),
    ("d1", "meeting.update", {"title": "Đổi tên"}),
    ("i1", "notice.post", {"text": "Khách mời thông báo"}),
    ("i1", "agenda.next", {}),
    ("i1", "floor.grant", {"user_id": "i1"}),
    ("i1", "agenda.add", {"title": "Nội dung của khách"}),
    ("i1", "participant.add", {"user_id": "d1", "role": "chair"}),
    ("i1", "participant.update", {"user_id": "i1", "role": "chair"}),
    ("secretary", "floor.grant", {"user_id": "d1"}),
    ("secretary", "floor.extend", {"seconds": 60}),
    ("secretary", "session.end", {}),
    ("secretary", "agenda.next", {}),
    ("secretary", "agenda.done", {"item_id": "ITEM"}),
    ("secretary", "agenda.defer", {"item_id": "ITEM"}),
    ("op", "floor.request", {"site_id": "OTHER_SITE"}),
    ("op", "floor.grant", {"user_id": "op"}),
    ("op", "notice.post", {"text": "Điểm cầu thông báo"}),
    ("d1", "floor.request", {"site_id": "OWN_SITE"}),  # only the site's operator may
]


def resolve(room: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    m: Meeting = room["meeting"]
    names = {"ITEM": room["item"], "OWN_SITE": room["sites"][0],
             "OTHER_SITE": room["sites"][1]}
    out = {}
    for key, value in args.items():
        if key == "user_id":
            out[key] = uid(m, value)
        elif isinstance(value, str) and value in names:
            out[key] = names[value]
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(("who", "name", "args"), FORBIDDEN,
                         ids=[f"{w}-{n}" for w, n, _ in FORBIDDEN])
async def test_forbidden(room: dict[str, Any], joined: Any, who: str, name: str,
                         args: dict[str, Any]) -> None:
    m: Meeting = room["meeting"]
    actor = await joined(m, who)
    watcher = await joined(m, "chair" if who != "chair" else "d3")
    await barrier(watcher)
    seq = await seq_of(m["chair"], m.id)
    answer = await actor.command(m.id, name, **resolve(room, args))
    assert answer["type"] == "rejected", answer
    assert_refusal(answer, "forbidden")
    assert answer["retryable"] is False
    assert await barrier(watcher) == []
    assert await seq_of(m["chair"], m.id) == seq


async def test_a_site_operator_asks_for_the_floor_for_its_own_site(room: dict[str, Any],
                                                                   joined: Any) -> None:
    m: Meeting = room["meeting"]
    op = await joined(m, "op")
    chair = await joined(m, "chair")
    ack = await op.command(m.id, "floor.request", site_id=room["sites"][0], note="Điểm cầu 1")
    assert ack["type"] == "ack"
    requested = await chair.until(lambda msg: msg.get("kind") == "floor.requested")
    assert requested["data"]["request"]["site_id"] == room["sites"][0]
    assert requested["data"]["request"]["user_id"] == uid(m, "op")
    granted = await chair.command(m.id, "floor.grant", user_id=uid(m, "op"))
    assert granted["type"] == "ack"
    speaker = await op.until(lambda msg: msg.get("kind") == "floor.granted")
    assert speaker["data"]["speaker"]["site_id"] == room["sites"][0]
    assert (await op.command(m.id, "floor.end"))["type"] == "ack"  # the speaker may end
