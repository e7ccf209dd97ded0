"""Conclusions under "5 rõ": changed field by field, a link cleared only when asked."""

from __future__ import annotations

from phonghop.minutes.room import tasks
from tests.rooms.world import D1, SECRETARY, standard_room


def test_an_update_changes_what_it_names_and_clears_links_sent_as_null() -> None:
    room = standard_room()
    item = room.state.order[0]
    [added] = room.ok(SECRETARY, "conclusion.add", text="Rà soát hồ sơ", owner="Phòng Tư pháp",
                      deadline="2027-01-10", item_id=item, owner_user_id=D1)
    cid = added.data["conclusion"]["id"]

    title = room.state.items[item].title

    room.ok(SECRETARY, "conclusion.update", conclusion_id=cid, deadline="2027-02-01")
    [task] = tasks(room.state)
    assert (task["deadline"], task["agenda_item"], task["owner_user_id"]) == (
        "2027-02-01", title, D1)

    room.ok(SECRETARY, "conclusion.update", conclusion_id=cid, owner_user_id=None)
    [task] = tasks(room.state)
    assert (task["agenda_item"], task["owner_user_id"]) == (title, None)

    room.ok(SECRETARY, "conclusion.update", conclusion_id=cid, item_id=None)
    [task] = tasks(room.state)
    assert (task["content"], task["owner"], task["agenda_item"]) == ("Rà soát hồ sơ",
                                                                     "Phòng Tư pháp", None)


def test_what_a_conclusion_must_have_cannot_be_cleared() -> None:
    room = standard_room()
    [added] = room.ok(SECRETARY, "conclusion.add", text="Rà soát hồ sơ", owner="Phòng Tư pháp",
                      deadline="2027-01-10")
    cid = added.data["conclusion"]["id"]
    for field in ("text", "owner", "deadline"):
        code = room.refused(SECRETARY, "conclusion.update", conclusion_id=cid, **{field: None})
        assert code == "invalid", field
    assert room.refused(SECRETARY, "conclusion.update", conclusion_id=cid) == "invalid"
    [task] = tasks(room.state)
    assert (task["content"], task["owner"], task["deadline"]) == ("Rà soát hồ sơ",
                                                                  "Phòng Tư pháp", "2027-01-10")
