"""Seed data: the demo organisation, and large rooms for benchmarks.

Everything goes through the node's command path, so the seeded log is exactly what a real
administrator's clicks would have produced.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from phonghop.meeting_room import parse_command, parse_create
from phonghop.rooms import Actor, Rejection
from phonghop.server.auth import hash_password, new_token, token_hash
from phonghop.server.node import Node

DEMO_PASSWORD = "demo1234"
DEMO_SIGNERS = ("chutri", "thuky")  # the demo meeting's chair and secretary sign its minutes

_SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ"]
_MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Quang", "Ngọc", "Hữu", "Thanh", "Đức", "Hải"]
_GIVEN = ["An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hùng", "Lan", "Long", "Mai",
          "Nam", "Nga", "Phong", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Yến"]
_POSITIONS = ["Phó Chủ tịch UBND phường", "Trưởng phòng Kinh tế", "Trưởng phòng Văn hóa - Xã hội",
              "Chỉ huy trưởng Quân sự", "Trưởng Công an phường", "Công chức Tư pháp - Hộ tịch",
              "Công chức Địa chính - Xây dựng", "Công chức Văn phòng - Thống kê"]

AGENDA = [
    ("Báo cáo tình hình kinh tế - xã hội tháng 11 và nhiệm vụ tháng 12 năm 2026", 30),
    ("Tờ trình về dự toán ngân sách phường năm 2027", 25),
    ("Kế hoạch chỉnh trang đô thị và trật tự vỉa hè quý I/2027", 20),
    ("Báo cáo công tác cải cách hành chính và chuyển đổi số", 15),
    ("Ý kiến thảo luận và kết luận của Chủ tịch UBND phường", 15),
]
SITES = ["Điểm cầu Tổ dân phố số 1", "Điểm cầu Tổ dân phố số 5", "Điểm cầu Trường THCS Ngô Sĩ Liên"]


def _name(i: int) -> str:
    return f"{_SURNAMES[i % 10]} {_MIDDLE[(i // 10) % 10]} {_GIVEN[(i * 7) % 20]}"


async def _must(node: Node, room: int, actor: Actor, command_name: str, **args: Any) -> None:
    command = parse_command(command_name, args)
    assert not isinstance(command, Rejection), command
    outcome = await node.execute(room, actor, command)
    if isinstance(outcome, Rejection):
        raise RuntimeError(f"seeding {command_name} refused: {outcome.code} {outcome.details}")


async def seed_demo(node: Node) -> dict[str, Any] | None:
    """Create the demo organisation and meeting unless accounts already exist."""
    if await node.store.user_by_name("admin") is not None:
        return None
    pw = hash_password(DEMO_PASSWORD)
    unit = "UBND phường Hoàn Kiếm"
    rows: list[dict[str, Any]] = [
        dict(username="admin", full_name="Nguyễn Thị Quản Trị", position="Chuyên viên Văn phòng",
             unit=unit, is_admin=True),
        dict(username="chutri", full_name="Trần Quốc Hưng", position="Chủ tịch UBND phường",
             unit=unit, is_admin=False),
        dict(username="thuky", full_name="Lê Thu Hằng", position="Chánh Văn phòng",
             unit=unit, is_admin=False),
    ]
    rows += [dict(username=f"daibieu{i:02d}", full_name=_name(i), position=_POSITIONS[i % 8],
                  unit=unit, is_admin=False) for i in range(1, 21)]
    rows += [dict(username=f"khach{i}", full_name=_name(40 + i),
                  position="Đại diện Mặt trận Tổ quốc", unit="Ủy ban MTTQ phường",
                  is_admin=False) for i in (1, 2)]
    rows += [dict(username=f"diemcau{i}", full_name=_name(60 + i), position="Kỹ thuật viên",
                  unit=unit, is_admin=False) for i in (1, 2, 3)]
    ids = await node.store.create_users([{**r, "password_hash": pw} for r in rows])
    uid = dict(zip((r["username"] for r in rows), ids, strict=True))
    admin = Actor(uid["admin"], is_admin=True)
    today = datetime.now(UTC).astimezone().date().isoformat()
    create = parse_create({
        "title": "Phiên họp thường kỳ tháng 11/2026 của UBND phường Hoàn Kiếm",
        "starts_at": f"{today}T08:00:00+07:00", "ends_at": f"{today}T11:30:00+07:00",
        "location": "Phòng họp tầng 3, trụ sở UBND phường",
    })
    assert not isinstance(create, Rejection)
    room, _ = await node.create_meeting(admin, create)
    for site in SITES:
        await _must(node, room, admin, "site.add", name=site)
    await _must(node, room, admin, "participant.add", user_id=uid["chutri"], role="chair")
    await _must(node, room, admin, "participant.add", user_id=uid["thuky"], role="secretary")
    for i in range(1, 21):
        await _must(node, room, admin, "participant.add", user_id=uid[f"daibieu{i:02d}"],
                    role="delegate", site_id=(i % 4) or None)
    for i in (1, 2):
        await _must(node, room, admin, "participant.add", user_id=uid[f"khach{i}"], role="invitee")
    for i in (1, 2, 3):
        await _must(node, room, admin, "participant.add", user_id=uid[f"diemcau{i}"],
                    role="site_operator", site_id=i)
    for n, (title, minutes) in enumerate(AGENDA):
        presenter = uid["chutri"] if n == len(AGENDA) - 1 else uid[f"daibieu{n + 1:02d}"]
        await _must(node, room, admin, "agenda.add", title=title, planned_minutes=minutes,
                    presenter_id=presenter)
    await _attach_samples(node, room, admin)
    await _prepare_polls(node, room, admin, uid)
    await _must(node, room, admin, "meeting.invite")
    return {"meeting": room, "password": DEMO_PASSWORD,
            "logins": ["admin", "chutri", "thuky", "daibieu01 … daibieu20", "khach1, khach2",
                       "diemcau1 … diemcau3"]}


async def _prepare_polls(node: Node, room: int, admin: Actor, uid: dict[str, int]) -> None:
    """Draft polls the chair opens during the tour: a named motion on the budget and a
    secret ballot, as the secretary would prepare them. The secret ballot's counting board
    (the chair, the secretary and daibieu01, two of whom count) makes its key on their
    tablets once they open the meeting."""
    items = list((await node.room(room)).state.order)  # type: ignore[union-attr]
    await _must(node, room, admin, "poll.create", item_id=items[1],
                title="Thông qua dự toán ngân sách phường năm 2027",
                rule={"num": 1, "den": 2, "base": "members", "strict": True},
                duration_seconds=120)
    await _must(node, room, admin, "poll.create", item_id=items[4], kind="multi",
                title="Bầu tổ trưởng và tổ phó tổ công tác chuyển đổi số", secret=True,
                options=[_name(3), _name(7), _name(12)], seats=2, max_choices=2,
                rule={"num": 1, "den": 2, "base": "cast", "strict": True},
                board={"members": [uid["chutri"], uid["thuky"], uid["daibieu01"]],
                       "threshold": 2})


async def _attach_samples(node: Node, room: int, admin: Actor) -> None:
    """Two documents for the first agenda items, as an administrator would attach them."""
    from phonghop.documents.sample import sample_report

    items = list((await node.room(room)).state.order)  # type: ignore[union-attr]
    samples = [("Báo cáo kết quả thực hiện nhiệm vụ năm 2026.pdf", "public", items[0]),
               ("Dự thảo Nghị quyết nhiệm vụ năm 2027.pdf", "internal", items[1])]
    for filename, classification, item in samples:
        data = sample_report(filename.removesuffix(".pdf"))

        async def chunks(data: bytes = data) -> Any:
            yield data

        stored = await node.library.ingest(await node.library.receive(chunks()))
        await node.store.save_file(stored.sha256, stored.size, stored.info)
        await node.store.save_texts(stored.sha256, await node.library.texts(stored.sha256))
        await node.store.add_room_file(room, stored.sha256, filename, admin.user_id)
        await _must(node, room, admin, "document.attach", sha256=stored.sha256,
                    classification=classification, item_id=item)


async def seed_bench(node: Node, delegates: int, items: int = 1000,
                     sites: int = 0) -> dict[str, Any]:
    """A meeting in session with `delegates` delegates and a ready token for each.

    With `sites` > 0 the meeting also has that many online sites, and delegate i sits at
    site number i % (sites + 1) (0: in the hall), so hall and remote voters are even.
    Every delegate is a voting member.
    """
    pw = hash_password("bench")
    rows = [dict(username="chair", full_name="Chủ trì", position="", unit="", is_admin=False,
                 password_hash=pw),
            dict(username="secretary", full_name="Thư ký", position="", unit="",
                 is_admin=False, password_hash=pw)]
    rows += [dict(username=f"delegate{i}", full_name=_name(i), position=_POSITIONS[i % 8],
                  unit="Hội nghị", is_admin=False, password_hash=pw)
             for i in range(1, delegates + 1)]
    rows.append(dict(username="admin", full_name="Quản trị", position="", unit="",
                     is_admin=True, password_hash=pw))
    ids = await node.store.create_users(rows)
    chair_id, secretary_id, delegate_ids, admin_id = ids[0], ids[1], ids[2:-1], ids[-1]
    admin = Actor(admin_id, is_admin=True)
    # A city-wide conference: tablets carry the agenda and the floor, not 6,300 names.
    create = parse_create({"title": "Hội nghị trực tuyến toàn thành phố", "roster": "organisers",
                           "starts_at": datetime.now(UTC).isoformat(timespec="seconds")})
    assert not isinstance(create, Rejection)
    room, _ = await node.create_meeting(admin, create)
    await _must(node, room, admin, "participant.add", user_id=chair_id, role="chair")
    # The constitution: no session without a secretary (rooms/constitution.py).
    await _must(node, room, admin, "participant.add", user_id=secretary_id, role="secretary")
    for n in range(1, sites + 1):
        await _must(node, room, admin, "site.add", name=f"Điểm cầu số {n}")
    site_ids = sorted((await node.room(room)).state.sites)  # type: ignore[union-attr]
    seat = {u: (site_ids[i % (sites + 1) - 1] if sites and i % (sites + 1) else None)
            for i, u in enumerate(delegate_ids, start=1)}
    # Submitted together, these are committed in large batches (group commit); 100 at a
    # time, so that their user look-ups (one each) do not queue for the store's connection
    # pool long enough to time out (10 s) on a busy machine.
    for first in range(0, len(delegate_ids), 100):
        await asyncio.gather(*(
            _must(node, room, admin, "participant.add", user_id=u, role="delegate",
                  site_id=seat[u], voting=True)
            for u in delegate_ids[first:first + 100]
        ))
    await asyncio.gather(*(
        _must(node, room, admin, "agenda.add", title=f"Nội dung {n}", planned_minutes=5)
        for n in range(1, items + 1)
    ))
    await _must(node, room, Actor(chair_id), "session.start")
    expires = datetime.now(UTC) + timedelta(days=1)
    tokens = {uid: new_token() for uid in [chair_id, *delegate_ids]}
    await node.store.create_sessions([(token_hash(t), uid, expires) for uid, t in tokens.items()])
    return {
        "meeting": room,
        "chair": tokens[chair_id],
        "tokens": [{"user_id": uid, "token": tokens[uid], "site_id": seat[uid]}
                   for uid in delegate_ids],
    }
