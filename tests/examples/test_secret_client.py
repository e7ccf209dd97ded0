"""examples/secret_client.py, the example's own client side of an encrypted poll, against
the room core (whose checks are voting.secret's): its ceremony makes the key, its ballots
verify with the server's verifier and carry the same trackers, its partial decryptions
count the poll. Two implementations of docs/BALLOT_CRYPTO.md checked against each other."""

from __future__ import annotations

import sys
from typing import Any

from phonghop.voting import commands as v
from phonghop.voting.counting_board import ballot_rules
from phonghop.voting.room import check_ballot
from phonghop.voting.secret.ballot import Ballot, parse_ballot, tracker, verify_ballot
from tests.conftest import ROOT
from tests.rooms.world import CHAIR, D1, D2, D3, Room, standard_room
from tests.voting.board_world import BOARD, poll_json, secret_poll

sys.path.insert(0, str(ROOT / "examples"))
import secret_client


def _ceremony(room: Room, poll_id: int) -> dict[int, secret_client.Member]:
    board = room.state.polls[poll_id].board
    assert board is not None
    devices = {uid: secret_client.Member(board.poll_uid, i, len(board.members),
                                         board.threshold)
               for i, uid in enumerate(board.members, start=1)}
    for uid, device in devices.items():
        room.ok(uid, "board.round1", poll_id=poll_id, message=device.round1())
    round1 = poll_json(room, poll_id)["board"]["round1"]
    for uid, device in devices.items():
        room.ok(uid, "board.shares", poll_id=poll_id, shares=device.round2(round1))
    for uid, device in devices.items():
        assert device.round3(round1, poll_json(room, poll_id, uid)["board"]["shares"]) is None
        room.ok(uid, "board.confirm", poll_id=poll_id)
    return devices


def _cast(room: Room, poll_id: int, voter: int, bits: list[int]) -> None:
    poll: dict[str, Any] = poll_json(room, poll_id, voter)
    doc = secret_client.ballot(poll["board"], voter, bits, poll["min_choices"],
                               poll["max_choices"])
    rules = ballot_rules(room.state.polls[poll_id])
    assert verify_ballot(rules, doc) is None
    parsed = parse_ballot(doc, rules)
    assert isinstance(parsed, Ballot)
    assert secret_client.tracker(poll["board"], doc) == tracker(rules.context, parsed).hex()
    assert check_ballot(room.state, v.VoteCast(poll_id=poll_id, ballot=doc), voter, False,
                        room.now) == voter
    room.box.setdefault(poll_id, []).append(parsed)


def test_the_example_client_runs_a_poll_the_server_verifies_and_counts() -> None:
    room = standard_room()
    for uid in (CHAIR, D1, D2, D3):
        room.ok(uid, "attendance.check_in")
    poll_id = secret_poll(room, BOARD, 2, kind="multi", seats=2, min_choices=1,
                          max_choices=2, options=["Ứng viên A", "Ứng viên B", "Ứng viên C"])
    devices = _ceremony(room, poll_id)
    assert room.state.polls[poll_id].board.status == "ready"  # type: ignore[union-attr]
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    for voter, bits in ((D1, [1, 1, 0]), (D2, [1, 0, 0]), (D3, [0, 1, 1]), (CHAIR, [1, 0, 1])):
        _cast(room, poll_id, voter, bits)
    room.ok(CHAIR, "poll.close", poll_id=poll_id)
    for uid in (D3, D1):
        partials = devices[uid].partials(poll_json(room, poll_id)["board"])
        room.ok(uid, "board.partial", poll_id=poll_id, partials=partials)
    result = room.state.polls[poll_id].result
    assert result is not None and result.verified
    assert [c.votes for c in result.counts] == [3, 2, 2]


def test_the_example_clients_complaint_is_judged_by_the_server() -> None:
    """Its true complaint fails the ceremony against the dealer; the same proven key
    against an honest dealer is refused as false."""
    room = standard_room()
    poll_id = secret_poll(room, BOARD, 2)
    board = room.state.polls[poll_id].board
    assert board is not None
    devices = {uid: secret_client.Member(board.poll_uid, i, 3, 2)
               for i, uid in enumerate(board.members, start=1)}
    for uid, device in devices.items():
        room.ok(uid, "board.round1", poll_id=poll_id, message=device.round1())
    round1 = poll_json(room, poll_id)["board"]["round1"]
    for uid, device in devices.items():
        shares = device.round2(round1)
        if uid == board.members[1]:  # dealer 2 flips a bit of its box to member 3
            box = bytearray.fromhex(shares[-1]["box"])
            box[0] ^= 1
            shares[-1]["box"] = box.hex()
        room.ok(uid, "board.shares", poll_id=poll_id, shares=shares)
    d3 = board.members[2]
    shares = poll_json(room, poll_id, d3)["board"]["shares"]
    honest = devices[d3].complaint(1, "mismatch", bytes.fromhex(
        next(s for s in shares["1"] if s["to"] == 3)["r"]))
    assert room.refused(d3, "board.complaint", poll_id=poll_id, **honest) == (
        "invalid_board_message")
    complaint = devices[d3].round3(round1, shares)
    assert complaint is not None and complaint["dealer"] == 2
    [failed] = room.ok(d3, "board.complaint", poll_id=poll_id, **complaint)
    assert failed.kind == "board.failed" and failed.data["complaint"]["dealer"] == 2
