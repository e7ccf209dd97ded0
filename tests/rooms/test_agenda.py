"""The agenda in session: next, activate, done, defer, and how long each item took."""

from __future__ import annotations

from phonghop.rooms.plugin import iso
from tests.rooms.world import ADMIN, CHAIR, SECRETARY, Room, standard_room


def status(room: Room) -> list[tuple[str, str, int]]:
    return [(room.state.items[i].title, room.state.items[i].status,
             room.state.items[i].spent_seconds) for i in room.state.order]


def test_next_walks_the_agenda_and_banks_the_time_spent() -> None:
    room = standard_room()
    a, b, c = room.state.order
    events = room.ok(CHAIR, "agenda.next")
    assert [e.kind for e in events] == ["agenda.activated"]
    assert room.state.active_item == a
    assert room.state.items[a].started_at == iso(room.now)
    room.tick(90.4)
    events = room.ok(CHAIR, "agenda.next")
    assert [e.kind for e in events] == ["agenda.completed", "agenda.activated"]
    assert events[0].data["item"]["spent_seconds"] == 90  # whole seconds, never rounded up
    assert room.state.active_item == b
    room.tick(300)
    room.ok(CHAIR, "agenda.next")
    room.tick(61)
    events = room.ok(CHAIR, "agenda.next")  # the last item: completed, nothing follows
    assert [e.kind for e in events] == ["agenda.completed"]
    assert room.state.active_item is None
    assert status(room) == [("Nội dung 1", "done", 90), ("Nội dung 2", "done", 300),
                            ("Nội dung 3", "done", 61)]
    assert room.refused(CHAIR, "agenda.next") == "no_next_item"
    assert room.state.items[c].started_at is None


def test_next_continues_after_the_current_item_then_wraps_to_the_top() -> None:
    room = standard_room(items=4)
    a, b, c, d = room.state.order
    room.ok(CHAIR, "agenda.activate", item_id=b)
    room.ok(CHAIR, "agenda.defer", item_id=c)
    room.ok(CHAIR, "agenda.next")  # b done; c is deferred, so d
    assert room.state.active_item == d
    room.ok(CHAIR, "agenda.next")  # d done; wraps to a
    assert room.state.active_item == a
    room.ok(CHAIR, "agenda.next")  # a done; only the deferred c is left, and next skips it
    assert room.state.active_item is None
    assert [room.state.items[i].status for i in (a, b, c, d)] == [
        "done", "done", "deferred", "done"]
    assert room.refused(CHAIR, "agenda.next") == "no_next_item"
    room.ok(CHAIR, "agenda.activate", item_id=c)  # a deferred item can be taken up again
    assert room.state.active_item == c


def test_time_accumulates_over_several_runs_of_an_item() -> None:
    room = standard_room()
    a, b, _ = room.state.order
    room.ok(CHAIR, "agenda.activate", item_id=a)
    room.tick(120)
    (event,) = room.ok(CHAIR, "agenda.activate", item_id=b)  # a is paused, not finished
    assert event.data["paused"]["id"] == a
    assert room.state.items[a].status == "pending"
    assert room.state.items[a].spent_seconds == 120
    assert room.state.items[a].started_at is None
    room.tick(45)
    room.ok(CHAIR, "agenda.defer", item_id=b)
    assert room.state.active_item is None
    assert room.state.items[b].spent_seconds == 45
    room.tick(600)  # nothing runs while no item is active
    room.ok(CHAIR, "agenda.activate", item_id=a)
    room.tick(30)
    room.ok(CHAIR, "agenda.done", item_id=a)
    assert room.state.items[a].spent_seconds == 150
    room.ok(CHAIR, "agenda.activate", item_id=b)
    room.tick(15)
    room.ok(CHAIR, "agenda.next")
    assert room.state.items[b].spent_seconds == 60


def test_done_and_defer_refuse_what_makes_no_sense() -> None:
    room = standard_room()
    a, b, _ = room.state.order
    room.ok(CHAIR, "agenda.done", item_id=a)  # finished without being discussed
    assert room.state.items[a].spent_seconds == 0
    assert room.refused(CHAIR, "agenda.done", item_id=a) == "invalid_state"
    assert room.refused(CHAIR, "agenda.defer", item_id=a) == "invalid_state"
    assert room.refused(CHAIR, "agenda.activate", item_id=a) == "invalid_state"
    room.ok(CHAIR, "agenda.defer", item_id=b)
    assert room.refused(CHAIR, "agenda.defer", item_id=b) == "invalid_state"
    room.ok(CHAIR, "agenda.activate", item_id=b)
    assert room.refused(CHAIR, "agenda.activate", item_id=b) == "invalid_state"
    assert room.refused(CHAIR, "agenda.done", item_id=999) == "not_found"


def test_the_active_item_cannot_be_removed_and_reorder_lists_every_item_once() -> None:
    room = standard_room()
    a, b, c = room.state.order
    room.ok(CHAIR, "agenda.activate", item_id=b)
    assert room.refused(SECRETARY, "agenda.remove", item_id=b) == "invalid_state"
    assert room.refused(SECRETARY, "agenda.reorder", order=[a, b]) == "invalid"
    assert room.refused(SECRETARY, "agenda.reorder", order=[a, b, b, c]) == "invalid"
    assert room.refused(SECRETARY, "agenda.reorder", order=[a, b, 999]) == "invalid"
    room.ok(SECRETARY, "agenda.reorder", order=[c, b, a])
    room.ok(SECRETARY, "agenda.remove", item_id=a)
    assert room.state.order == (c, b)
    room.ok(ADMIN, "agenda.add", title="Nội dung phát sinh")
    assert room.state.order[:2] == (c, b) and len(room.state.order) == 3


def test_session_end_pauses_the_running_item_and_closes_the_floor() -> None:
    room = standard_room()
    a = room.state.order[0]
    room.ok(CHAIR, "agenda.activate", item_id=a)
    room.tick(200)
    room.ok(CHAIR, "floor.grant", user_id=SECRETARY)
    room.tick(40)
    events = room.ok(CHAIR, "session.end")
    kinds = [e.kind for e in events]
    assert kinds == ["floor.ended", "session.ended"]
    assert events[0].data["spoke_seconds"] == 40
    assert room.state.active_item is None and room.state.speaker is None
    assert room.state.items[a].status == "pending"
    assert room.state.items[a].spent_seconds == 240
    assert room.state.meeting is not None and room.state.meeting.status == "ended"
    assert room.state.meeting.session_ended_at == iso(room.now)
    # an ended meeting is closed for good
    assert room.refused(CHAIR, "agenda.next") == "invalid_state"
    assert room.refused(CHAIR, "session.start") == "invalid_state"
    assert room.refused(ADMIN, "agenda.add", title="Muộn") == "invalid_state"
    assert room.refused(SECRETARY, "notice.post", text="Muộn") == "invalid_state"


def test_nothing_runs_before_the_session_starts() -> None:
    room = standard_room(start=False)
    assert room.refused(CHAIR, "agenda.next") == "invalid_state"
    assert room.refused(CHAIR, "agenda.activate", item_id=room.state.order[0]) == "invalid_state"
    room.ok(CHAIR, "session.start")
    assert room.state.meeting is not None
    assert room.state.meeting.session_started_at == iso(room.now)
    room.ok(CHAIR, "agenda.next")
