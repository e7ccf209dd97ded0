"""Encrypted polls in tests/rooms' world: a board's ceremony and ballots, without a server."""

from __future__ import annotations

from typing import Any

import orjson

from phonghop.meeting_room import room_view
from phonghop.voting import commands as v
from phonghop.voting.counting_board import ballot_rules
from phonghop.voting.room import check_ballot
from phonghop.voting.secret.ballot import Ballot, parse_ballot
from tests.rooms.world import D1, D2, D3, SECRETARY, Room
from tests.voting.board_kit import BoardDevice, ballot

BOARD = [D1, D2, D3]


def poll_json(room: Room, poll_id: int, viewer: int = D1) -> dict[str, Any]:
    """The poll as `viewer`'s device sees it (its room view, in JSON)."""
    view = orjson.loads(orjson.dumps(room_view(room.state, viewer)))
    return next(p for p in view["polls"] if p["id"] == poll_id)


def secret_poll(room: Room, members: list[int] = BOARD, threshold: int = 2,
                **settings: Any) -> int:
    [created] = room.ok(SECRETARY, "poll.create", title="Bầu trưởng ban", secret=True,
                        board={"members": members, "threshold": threshold}, **settings)
    return int(created.data["poll"]["id"])


def ceremony(room: Room, poll_id: int) -> dict[int, BoardDevice]:
    """Every member's device runs the three rounds; the board ends ready."""
    members = room.state.polls[poll_id].board.members  # type: ignore[union-attr]
    devices = {uid: BoardDevice(uid) for uid in members}
    for uid, device in devices.items():
        room.ok(uid, "board.round1", **device.round1(poll_json(room, poll_id, uid)))
    for uid, device in devices.items():
        room.ok(uid, "board.shares", **device.round2(poll_json(room, poll_id, uid)))
    for uid, device in devices.items():
        name, args = device.round3(poll_json(room, poll_id, uid))
        assert name == "board.confirm"
        room.ok(uid, name, **args)
    return devices


def cast(room: Room, poll_id: int, voter: int, *choices: int) -> None:
    """A ballot through the core's check, into the world's box."""
    doc = ballot(poll_json(room, poll_id, voter), voter, *choices)
    cmd = v.VoteCast(poll_id=poll_id, ballot=doc)
    assert check_ballot(room.state, cmd, voter, False, room.now) == voter
    poll = room.state.polls[poll_id]
    parsed = parse_ballot(doc, ballot_rules(poll))
    assert isinstance(parsed, Ballot)
    room.box.setdefault(poll_id, []).append(parsed)
