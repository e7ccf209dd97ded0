"""The draft minutes: filled from what happened, the secretary's text merged in safely."""

from __future__ import annotations

import datetime as dt

import pymupdf

from phonghop.minutes.draft import assemble
from phonghop.minutes.room import tasks
from phonghop.signing.layout import render_minutes
from tests.rooms.world import CHAIR, D1, D2, D3, NAMES, SECRETARY, Room, standard_room
from tests.voting.board_world import BOARD, cast, ceremony, poll_json


def _meeting() -> Room:
    room = standard_room()
    item = room.state.order[0]
    room.ok(SECRETARY, "attendance.check_in", user_id=CHAIR)
    room.ok(SECRETARY, "attendance.check_in", user_id=D1)
    room.ok(SECRETARY, "attendance.absent", user_id=D3, reason="Đi công tác tại Đà Nẵng")
    room.ok(CHAIR, "agenda.activate", item_id=item)
    room.ok(D1, "floor.request")
    room.ok(CHAIR, "floor.grant", user_id=D1)
    room.tick(185)
    room.ok(CHAIR, "floor.end")
    [created] = room.ok(SECRETARY, "poll.create", title="Thông qua dự toán ngân sách 2027")
    poll = created.data["poll"]["id"]
    room.ok(CHAIR, "poll.open", poll_id=poll)
    room.ok(CHAIR, "poll.close", poll_id=poll)  # the world's box: 2 for, 1 against
    room.ok(SECRETARY, "minutes.settings", issuer="UBND PHƯỜNG HOÀN KIẾM",
            number="15/BB-UBND", place="Hoàn Kiếm")
    room.ok(SECRETARY, "minutes.edit", section=f"item:{item}", base_version=0,
            text="Các đại biểu thống nhất với báo cáo, đề nghị bổ sung số liệu thu ngân sách.")
    room.ok(SECRETARY, "conclusion.add", text="Hoàn thiện dự toán trình HĐND",
            owner="Phòng Tài chính - Kế hoạch", deadline="2026-12-15", item_id=item)
    room.tick(600)
    room.ok(CHAIR, "agenda.next")
    room.ok(CHAIR, "session.end")
    return room


def test_the_draft_holds_what_happened_and_the_pdf_says_it() -> None:
    room = _meeting()
    draft = assemble(room.state, room.now)
    assert draft.subject == "Phiên họp thường kỳ tháng 11" and draft.number == "15"
    assert draft.notation == "BB-UBND" and draft.chair.name == NAMES[CHAIR]
    assert [a.person.name for a in draft.absent if a.reason] == [NAMES[D3]]
    assert draft.absent[[a.person.name for a in draft.absent].index(NAMES[D3])].reason == (
        "Đi công tác tại Đà Nẵng")
    assert [(s.speaker.name, s.seconds) for s in draft.speeches] == [(NAMES[D1], 185)]
    [vote] = draft.votes
    assert (vote.votes_for, vote.votes_against, vote.passed) == (2, 1, False)
    assert vote.rule == "quá nửa tổng số thành viên"
    assert draft.agenda[0].started_at is not None and draft.agenda[0].ended_at is not None
    assert "đề nghị bổ sung số liệu" in draft.proceedings
    assert draft.conclusions[0].deadline == dt.date(2026, 12, 15)
    pdf = pymupdf.open(stream=render_minutes(draft), filetype="pdf")
    text = " ".join(page.get_text() for page in pdf)
    for expected in ("BIÊN BẢN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", NAMES[D3],
                     "Đi công tác tại Đà Nẵng", "Hoàn thiện dự toán trình HĐND",
                     "Phòng Tài chính - Kế hoạch", "UBND PHƯỜNG HOÀN KIẾM"):
        assert expected in text, expected


def test_two_secretaries_editing_one_section_never_lose_text() -> None:
    room = standard_room()
    room.ok(SECRETARY, "minutes.edit", section="general", base_version=0, text="Bản của thư ký")
    # The chair started from version 0 too: refused, with the version to merge from.
    assert room.refused(CHAIR, "minutes.edit", section="general", base_version=0,
                        text="Bản của chủ trì") == "edit_conflict"
    room.ok(CHAIR, "minutes.edit", section="general", base_version=1,
            text="Bản của thư ký\n\nBản của chủ trì")
    assert room.state.minutes.sections["general"].version == 2
    assert room.refused(D2, "minutes.edit", section="general", base_version=2,
                        text="x") == "forbidden"


def test_conclusions_export_as_tasks() -> None:
    room = _meeting()
    [task] = tasks(room.state)
    assert task["content"] == "Hoàn thiện dự toán trình HĐND"
    assert task["owner"] == "Phòng Tài chính - Kế hoạch" and task["deadline"] == "2026-12-15"
    assert task["agenda_item"] == "Nội dung 1"
    assert task["source"]["minutes_number"] == "15/BB-UBND"


def test_an_election_is_written_as_each_candidates_votes_and_who_was_elected() -> None:
    room = standard_room()
    for uid in (D1, D2, D3):
        room.ok(uid, "attendance.check_in")
    [created] = room.ok(SECRETARY, "poll.create", title="Bầu tổ trưởng", kind="multi",
                        options=["Ứng viên A", "Ứng viên B", "Ứng viên C"], seats=2,
                        max_choices=2, secret=True, board={"members": BOARD, "threshold": 2},
                        rule={"num": 1, "den": 2, "base": "cast", "strict": True})
    poll = created.data["poll"]["id"]
    devices = ceremony(room, poll)
    room.ok(CHAIR, "poll.open", poll_id=poll)
    for voter, choice in ((D1, 1), (D2, 1), (D3, 2)):  # A 2, B 1 of 3 encrypted ballots
        cast(room, poll, voter, choice)
    room.ok(CHAIR, "poll.close", poll_id=poll)
    for uid in (D1, D2):  # two of the three members of the counting board decrypt
        room.ok(uid, "board.partial", **devices[uid].partials(poll_json(room, poll)))
    [vote] = assemble(room.state, room.now).votes
    assert vote.options == (("Ứng viên A", 2), ("Ứng viên B", 1), ("Ứng viên C", 0))
    assert vote.elected == ("Ứng viên A",) and vote.cast == 3
    pdf = pymupdf.open(stream=render_minutes(assemble(room.state, room.now)), filetype="pdf")
    text = " ".join(" ".join(page.get_text().split()) for page in pdf)
    assert "Ứng viên A 2/3 (66,67%)" in text and "trúng cử: Ứng viên A" in text
    assert "tán thành" not in text.split("Bầu tổ trưởng")[1].split("Kết quả")[0]
