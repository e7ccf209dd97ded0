"""A participant whose role changes while connected sees what the new role may see, at once."""

from __future__ import annotations

from typing import Any

from tests.conftest import ServerProcess, make_meeting
from tests.server.conftest import barrier, uid

REASON = "Ốm, có giấy của bệnh viện"


async def test_a_delegate_promoted_to_secretary_gets_the_secretarys_view_live(
    server: ServerProcess, joined: Any,
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    d1 = await joined(m, "d1")
    d2 = await joined(m, "d2")
    assert (await d2.command(m.id, "rsvp", answer="absent", reason=REASON))["type"] == "ack"
    await barrier(d1)
    assert REASON not in str(d1.seen)

    # in session only the chair moves the secretary's role (the old secretary: a delegate)
    r = await m["chair"].call("PATCH", f"/api/meetings/{m.id}/participants/{uid(m, 'd1')}",
                              {"role": "secretary"})
    assert r.status_code == 200, r.text
    fresh = await d1.until(lambda msg: msg["type"] == "snapshot")
    assert fresh["me"]["role"] == "secretary"
    assert fresh["room"]["rsvp_reasons"] == {str(uid(m, "d2")): REASON}
    # and the others' views did not restart
    await barrier(d2)
    assert [msg for msg in d2.seen if msg["type"] == "snapshot"][1:] == []


async def test_hiding_the_roster_restarts_every_view_without_it(
    server: ServerProcess, joined: Any,
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    chair = await joined(m, "chair")
    d1 = await joined(m, "d1")
    r = await m.admin.call("PATCH", f"/api/meetings/{m.id}", {"roster": "organisers"})
    assert r.status_code == 200, r.text
    mine = await d1.until(lambda msg: msg["type"] == "snapshot")
    assert [p["user_id"] for p in mine["room"]["participants"]] == [uid(m, "d1")]
    theirs = await chair.until(lambda msg: msg["type"] == "snapshot")
    assert len(theirs["room"]["participants"]) == len(m.members)
