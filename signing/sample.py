"""Made-up minutes for the demo, the tests and the benchmark (names and bodies are fictional).

`sample_minutes()` is a short meeting; `three_hour_minutes()` is what a long session
produces (25 agenda items, 60 speeches, 6 votes, 40 conclusions, long proceedings).
"""

from __future__ import annotations

import datetime as dt

from .minutes import (
    VN_TZ,
    Absence,
    AgendaItem,
    Conclusion,
    MinutesDoc,
    OnlineSite,
    Person,
    Speech,
    Substitute,
    Template,
    VoteRecord,
)

CHAIR = Person("Trần Văn Chủ Tọa", "Chủ tịch Ủy ban nhân dân phường")
SECRETARY = Person("Nguyễn Thị Thư Ký", "Chánh Văn phòng HĐND - UBND phường")
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Quốc", "Ngọc", "Hữu")
_GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lan",
          "Long", "Mai", "Nam", "Phúc", "Quỳnh", "Sơn", "Thảo", "Trung", "Tuấn", "Yến")
_POSITIONS = ("Phó Chủ tịch UBND phường", "Trưởng phòng Kinh tế, Hạ tầng và Đô thị",
              "Trưởng phòng Văn hóa - Xã hội", "Chỉ huy trưởng Ban Chỉ huy Quân sự",
              "Trưởng Công an phường", "Chủ tịch Ủy ban MTTQ Việt Nam phường",
              "Bí thư Đoàn phường", "Chủ tịch Hội Liên hiệp Phụ nữ phường")
_PARAGRAPH = (
    "Đồng chí {name} trình bày tóm tắt báo cáo về {topic}, nêu rõ những kết quả đạt được, "
    "những tồn tại, hạn chế và nguyên nhân; đề xuất các nhiệm vụ, giải pháp trọng tâm trong "
    "thời gian tới. Các đại biểu thảo luận, cơ bản thống nhất với nội dung báo cáo, đồng thời "
    "đề nghị bổ sung số liệu so sánh cùng kỳ, làm rõ trách nhiệm của từng đơn vị, tổ dân phố "
    "và thời hạn hoàn thành đối với các việc còn chậm tiến độ."
)
_TOPICS = ("tình hình kinh tế - xã hội tháng 11 năm 2026", "công tác quản lý trật tự xây dựng",
           "kết quả thu ngân sách nhà nước", "công tác cải cách hành chính và chuyển đổi số",
           "phòng cháy, chữa cháy tại các khu dân cư", "vệ sinh môi trường và thu gom rác thải",
           "công tác an sinh xã hội, chăm lo Tết Nguyên đán", "giải phóng mặt bằng dự án")


def person(i: int) -> Person:
    name = f"{_SURNAMES[i % 10]} {_MIDDLE[(i // 10) % 8]} {_GIVEN[(i * 7) % 20]}"
    return Person(name, _POSITIONS[i % len(_POSITIONS)])


def make_minutes(template: Template, *, members: int, items: int, speeches: int, votes: int,
                 conclusions: int, paragraphs: int, hours: float) -> MinutesDoc:
    """Minutes of any size, every part numbered so that a test can find each one."""
    start = dt.datetime(2026, 11, 20, 8, 0, tzinfo=VN_TZ)
    end = start + dt.timedelta(hours=hours)
    people = [person(i) for i in range(members)]
    per_item = (end - start) / max(1, items)
    party = template == "party"
    return MinutesDoc(
        template=template,
        parent_body="Đảng bộ thành phố Hà Nội" if party else "Ủy ban nhân dân thành phố Hà Nội",
        issuing_body="Đảng ủy phường Ba Đình" if party else "Ủy ban nhân dân phường Ba Đình",
        number="12",
        notation="BB/ĐU" if party else "BB-UBND",
        subject="Phiên họp thường kỳ tháng 11 năm 2026",
        place_name="Ba Đình",
        date=start.date(),
        started_at=start,
        ended_at=end,
        location="Phòng họp tầng 3, trụ sở Ủy ban nhân dân phường Ba Đình",
        chair=CHAIR,
        secretary=SECRETARY,
        members_total=members,
        present=tuple(people[2:]),
        absent=(Absence(people[0], "đi công tác theo Quyết định số 45/QĐ-UBND"),
                Absence(people[1], "")),
        substitutes=(Substitute(person(members + 1), people[0]),),
        invitees=(Person("Lê Thị Khách", "Phóng viên", "Báo Hà Nội Mới"),),
        online_sites=tuple(OnlineSite(f"Điểm cầu tổ dân phố số {i + 1}", 12 + i,
                                      person(100 + i).name) for i in range(3)),
        agenda=tuple(
            AgendaItem(f"Báo cáo {_TOPICS[i % len(_TOPICS)]} (nội dung {i + 1})",
                       people[i % len(people)].name,
                       start + per_item * i, start + per_item * (i + 1))
            for i in range(items)),
        speeches=tuple(
            Speech(people[(i * 3) % len(people)], 120 + (i * 37) % 400,
                   f"nội dung {i % max(1, items) + 1}",
                   "Đề nghị làm rõ nguồn kinh phí, tiến độ thực hiện và phân công trách nhiệm "
                   "cụ thể cho từng đơn vị.")
            for i in range(speeches)),
        votes=tuple(
            VoteRecord(f"Thông qua nội dung {i + 1}", "quá nửa tổng số thành viên",
                       members - 4 - i % 3, 2 + i % 2, 2, members, passed=i != 3,
                       secret=i == 5)
            for i in range(votes)),
        proceedings="\n\n".join(
            _PARAGRAPH.format(name=people[i % len(people)].name, topic=_TOPICS[i % len(_TOPICS)])
            for i in range(paragraphs)),
        conclusions=tuple(
            Conclusion(f"Giao {people[i % len(people)].position} chủ trì, phối hợp các đơn vị "
                       f"liên quan triển khai {_TOPICS[i % len(_TOPICS)]}",
                       people[i % len(people)].name,
                       dt.date(2026, 12, 1) + dt.timedelta(days=i))
            for i in range(conclusions)),
        closing_note="Biên bản được thông qua trước cuộc họp và được ký số bởi thư ký và chủ tọa.",
    )


def sample_minutes(template: Template = "state") -> MinutesDoc:
    """A short meeting: one page or two."""
    return make_minutes(template, members=9, items=3, speeches=4, votes=1, conclusions=3,
                    paragraphs=2, hours=1.5)


def three_hour_minutes(template: Template = "state") -> MinutesDoc:
    """A long session: 25 agenda items, 60 speeches, 6 votes, 40 conclusions."""
    return make_minutes(template, members=30, items=25, speeches=60, votes=6, conclusions=40,
                    paragraphs=60, hours=3.0)
