"""Privacy of the roster: absence and RSVP reasons (often medical) reach the organisers and
the member only, over the websocket, in the HTTP room view and in a resumed session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ServerProcess, make_meeting
from tests.server.conftest import assert_refusal, barrier, joined, seq_of, uid  # noqa: F401

MEDICAL = "Điều trị nội trú tại Bệnh viện Bạch Mai (giấy ra viện kèm theo)"
PERSONAL = "Việc gia đình: đưa con đi khám bệnh"


@pytest.mark.parametrize("roster", ["all", "organisers"])
async def test_an_invitee_and_other_delegates_never_receive_absence_reasons(
    server: ServerProcess, joined: Any, open_ws: Any, roster: str,  # noqa: F811
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    base = f"/api/meetings/{m.id}"
    if roster == "organisers":
        r = await m.admin.call("PATCH", base, {"roster": roster})
        assert r.status_code == 200, r.text
    watchers = {who: await joined(m, who) for who in ("i1", "d1", "d2", "chair")}
    secretary = await joined(m, "secretary")
    since = await seq_of(m.admin, m.id)
    # the member's own answer with a reason, and the secretary marking them absent
    assert (await watchers["d2"].command(m.id, "rsvp", answer="absent",
                                         reason=PERSONAL))["type"] == "ack"
    marked = await secretary.command(m.id, "attendance.absent", user_id=uid(m, "d2"),
                                     reason=MEDICAL)
    assert marked["type"] == "ack", marked
    for who, ws in watchers.items():
        await barrier(ws)
        heard = str(ws.seen)
        entitled = who in ("d2", "chair")
        assert (MEDICAL in heard) is entitled, who
        assert (PERSONAL in heard) is entitled, who
        view = (await m[who].call("GET", base)).json()["room"]
        assert (MEDICAL in str(view)) is entitled, who
        assert (PERSONAL in str(view)) is entitled, who
        if entitled:
            assert view["absence_reasons"] == {str(uid(m, "d2")): MEDICAL}
    # the fact of the absence itself follows the roster rule; the reason never
    absent = [e for e in watchers["i1"].events("attendance.absent")]
    assert len(absent) == (1 if roster == "all" else 0)
    assert all(e["data"]["attendance"]["reason"] is None for e in absent)
    # a device that comes back and resumes gets no more than a live one did
    late = await open_ws(m["i1"])
    assert (await late.join(m.id, since=since))["type"] == "resumed"
    await barrier(late)
    assert MEDICAL not in str(late.seen) and PERSONAL not in str(late.seen)
    # and the minutes draft, which records reasons as the law requires, is the organisers'
    r = await m["i1"].call("GET", base + "/minutes/preview.pdf")
    assert_refusal(r.json(), "forbidden")
