"""parse_command: text is normalised to NFC, and anything of the wrong shape is refused."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from phonghop.meeting_room import parse_command, parse_create
from phonghop.rooms import Rejection
from phonghop.rooms import commands as c
from tests.rooms.world import CHAIR, SECRETARY, standard_room

DECOMPOSED = unicodedata.normalize("NFD", "Nghị quyết về dự toán ngân sách năm 2027")
COMPOSED = "Nghị quyết về dự toán ngân sách năm 2027"


def test_text_arrives_in_nfc_whatever_the_keyboard_sent() -> None:
    assert DECOMPOSED != COMPOSED
    cmd = parse_command("agenda.add", {"title": f"  {DECOMPOSED}\n"})
    assert isinstance(cmd, c.AgendaAdd)
    assert cmd.title == COMPOSED
    notice = parse_command("notice.post", {"text": DECOMPOSED})
    assert isinstance(notice, c.NoticePost) and notice.text == COMPOSED
    create = parse_create({"title": DECOMPOSED, "starts_at": "2026-11-22T08:00:00+07:00",
                           "location": unicodedata.normalize("NFD", "Phòng họp tầng 3")})
    assert isinstance(create, c.MeetingCreate)
    assert create.title == COMPOSED and create.location == "Phòng họp tầng 3"


def test_composed_and_decomposed_names_are_the_same_site() -> None:
    room = standard_room()
    room.ok(SECRETARY, "site.add", name="Điểm cầu Phường Hàng Bạc")
    same = unicodedata.normalize("NFD", "điểm cầu phường hàng bạc")
    assert room.refused(CHAIR, "site.add", name=same) == "duplicate"


def test_an_event_carries_the_normalised_text() -> None:
    room = standard_room()
    (event,) = room.ok(CHAIR, "notice.post", text=DECOMPOSED)
    assert event.data["notice"]["text"] == COMPOSED


@pytest.mark.parametrize(("name", "args"), [
    ("agenda.activate", {"item_id": "3"}),  # ids are numbers, not numeric strings
    ("agenda.activate", {"item_id": True}),
    ("agenda.activate", {"item_id": 3.0}),
    ("agenda.activate", {"item_id": 0}),
    ("agenda.activate", {"item_id": 2**31}),
    ("agenda.activate", {}),
    ("floor.grant", {"user_id": 3, "seconds": "60"}),
    ("floor.grant", {"user_id": [3]}),
    ("floor.grant", {"user_id": None}),
    ("participant.update", {"user_id": 3, "voting": "yes"}),
    ("participant.update", {"user_id": 3, "voting": 1}),
    ("participant.add", {"user_id": 3, "role": "boss"}),
    ("participant.add", {"user_id": 3, "role": "delegate", "profile": {"user_id": 3,
                                                                       "full_name": "Giả"}}),
    ("rsvp", {"answer": "substitute", "substitute_user_id": 50,
              "substitute_profile": {"user_id": 50, "full_name": "Giả"}}),
    ("rsvp", {"answer": "maybe"}),
    ("agenda.reorder", {"order": "1,2,3"}),
    ("agenda.reorder", {"order": [1, "2"]}),
    ("agenda.reorder", {"order": list(range(1, 1002))}),
    ("agenda.add", {"title": 5}),
    ("agenda.add", {"title": "   "}),
    ("agenda.add", {"title": "x" * 501}),
    ("agenda.add", {"title": "Nội dung", "planned_minutes": 0}),
    ("agenda.add", {"title": "Nội dung", "planned_minutes": 601}),
    ("notice.post", {"text": "x" * 2001}),
    ("notice.post", {"text": "Họp", "roles": "chair"}),
    ("notice.post", {"text": "Họp", "roles": ["chair", "boss"]}),
    ("notice.post", {"text": {"vi": "Họp"}}),
    ("meeting.update", {"starts_at": "ngày mai"}),
    ("meeting.update", {"quorum": {"num": 1, "den": 0}}),
    ("meeting.update", {"roster": "nobody"}),
    ("session.start", {"now": True}),
    ("session.start", []),
    ("session.start", "start"),
    ("session.start", 7),
])
def test_wrong_shapes_are_refused_as_invalid(name: str, args: Any) -> None:
    result = parse_command(name, args)
    assert isinstance(result, Rejection), result
    assert result.code == "invalid"
    message = result.message()
    assert message["vi"].startswith("Dữ liệu không hợp lệ") and message["en"].startswith(
        "Invalid input")
    assert result.retryable is False


@pytest.mark.parametrize("name", ["meeting.create", "meeting.delete", "", None, 3, ["floor.end"]])
def test_unknown_commands_are_refused(name: Any) -> None:
    result = parse_command(name, {})
    assert isinstance(result, Rejection) and result.code == "unknown_command"


def test_no_args_is_the_same_as_empty_args() -> None:
    assert isinstance(parse_command("session.start", None), c.SessionStart)
    assert isinstance(parse_command("floor.end", {}), c.FloorEnd)
