"""A room's live state and replay window (server/live_room.py): committed events are folded
in strictly in seq order, a gap stops the fold (the host catches up from the store), events
seen before are skipped, and resumes and HTTP answers are served from the window only
while it still holds what they need."""

from __future__ import annotations

import pytest

from phonghop.rooms import Event, RoomState
from phonghop.server import live_room
from phonghop.server.live_room import LiveRoom
from tests.rooms.world import CHAIR, D1, D2, SECRETARY, standard_room


def committed() -> tuple[list[Event], list[Event]]:
    """A standard room's log, and the events after it: a notice for the secretary only,
    a check-in (and the quorum it moved), a notice for everyone."""
    room = standard_room()
    before = list(room.events)
    room.ok(CHAIR, "notice.post", text="Chỉ các tổ chức viên", roles=["secretary"])
    room.ok(D1, "attendance.check_in")
    room.ok(SECRETARY, "notice.post", text="Mời đại biểu ổn định chỗ ngồi")
    return before, room.events[len(before):]


def test_events_are_folded_in_seq_order_and_a_gap_waits_for_the_store() -> None:
    before, after = committed()
    live = LiveRoom()
    fresh, gap = live.integrate(before)
    assert (len(fresh), gap, live.state.seq) == (len(before), False, before[-1].seq)
    # seen before: skipped; past the next seq: a gap, nothing of it applied
    fresh, gap = live.integrate([before[-1], after[1], after[2]])
    assert (fresh, gap, live.state.seq) == ([], True, before[-1].seq)
    fresh, gap = live.integrate(after)
    assert (fresh, gap) == (after, False)
    assert live.state.seq == after[-1].seq and list(live.recent)[-len(after):] == after


def test_a_resume_and_an_answer_come_from_the_window_only_while_it_holds_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before, after = committed()
    live = LiveRoom()
    live.load(RoomState(), [])
    live.integrate(before + after)
    first, last = after[0].seq, after[-1].seq
    # the delegate sees the public notice and nothing addressed to the organisers
    seen = live.events_between(first, last, 1, D2, False)
    assert seen is not None and [e["kind"] for e in seen] == [
        e.kind for e in after if e.audience.admits(D2, "delegate")]
    assert "Chỉ các tổ chức viên" not in str(seen)
    assert live.can_replay(first - 1) and live.can_replay(last)
    # a window that lost its oldest events: neither a resume from before it nor an answer
    monkeypatch.setattr(live_room, "REPLAY_WINDOW", 2)
    small = LiveRoom()
    small.integrate(before + after)
    assert not small.can_replay(first - 1) and small.can_replay(last - 1)
    assert small.events_between(first, last, 1, D2, False) is None
    # an event missing from the middle of a window is never papered over
    holed = LiveRoom()
    holed.load(small.state, [])
    holed.recent.extend([after[0], after[2]])
    assert holed.events_between(first, last, 1, D2, False) is None
