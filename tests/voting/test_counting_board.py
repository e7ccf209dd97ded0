"""The counting board in the room core: the key ceremony, the count from t of n partial
decryptions, and the attacks each step refuses. Real messages from voting.secret's Python
client functions (tests/voting/board_kit.py), no server."""

from __future__ import annotations

import orjson

from phonghop.meeting_room import room_view
from phonghop.rooms.rejections import Rejection
from phonghop.voting import commands as v
from phonghop.voting.model import FOR
from phonghop.voting.room import check_ballot
from phonghop.voting.secret.ceremony import (
    Complaint,
    EncryptedShare,
    Round1,
    Verdict,
    ceremony_id,
    judge_complaint,
)
from phonghop.voting.secret.group import G, Scalar
from tests.rooms.client_view import ClientView
from tests.rooms.world import CHAIR, D1, D2, D3, INVITEE, SECRETARY, Room, standard_room
from tests.voting.board_kit import BoardDevice, ballot
from tests.voting.board_world import BOARD, cast, ceremony, poll_json, secret_poll


def check_in_all(room: Room) -> None:
    for uid in (CHAIR, SECRETARY, D1, D2, D3):
        room.ok(uid, "attendance.check_in")


def test_a_ceremony_makes_the_key_and_two_of_three_members_count_the_poll() -> None:
    room = standard_room()
    check_in_all(room)
    poll_id = secret_poll(room)
    board = room.state.polls[poll_id].board
    assert board is not None and board.status == "collecting"
    assert board.poll_uid.startswith(f"1/{poll_id}/")
    # The poll cannot open before the board holds its key.
    assert room.refused(CHAIR, "poll.open", poll_id=poll_id) == "board_not_ready"
    devices = ceremony(room, poll_id)
    board = room.state.polls[poll_id].board
    assert board is not None and board.status == "ready"
    assert board.public_key and board.context and len(board.verification_keys) == 3
    assert board.shares == {}  # delivered: the state keeps none of them
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    opened = poll_json(room, poll_id, INVITEE)  # public now, with the whole board
    assert opened["board"]["status"] == "ready" and len(opened["board"]["round1"]) == 3
    for voter, choice in ((D1, 1), (D2, 2), (D3, 3), (CHAIR, 1)):
        cast(room, poll_id, voter, choice)
    room.ok(CHAIR, "poll.close", poll_id=poll_id)
    poll = room.state.polls[poll_id]
    assert poll.status == "closed" and poll.counting and poll.result is None
    assert poll.board is not None and poll.board.cast == 4
    assert poll.board.present == 4 and poll.board.total == 4
    # Members 1 and 3 decrypt; member 2 is away.
    first = room.ok(D1, "board.partial", **devices[D1].partials(poll_json(room, poll_id, D1)))
    assert [e.kind for e in first] == ["board.partial"]
    assert room.state.polls[poll_id].result is None
    done = room.ok(D3, "board.partial", **devices[D3].partials(poll_json(room, poll_id, D3)))
    assert [e.kind for e in done] == ["board.partial", "poll.published"]
    poll = room.state.polls[poll_id]
    assert poll.status == "published" and not poll.counting
    assert poll.result is not None and poll.result.verified and poll.result.cast == 4
    assert {c.option_id: c.votes for c in poll.result.counts} == {1: 2, 2: 1, 3: 1}
    assert poll.result.passed is False  # 2 of 4 members is not more than half
    assert poll.result.present == 4 and poll.result.members == 4 and poll.result.receipts == 4
    # The count is done: a late member's share is not needed.
    assert room.refused(D2, "board.partial", **devices[D2].partials(
        poll_json(room, poll_id, D2))) == "invalid_state"


def test_any_two_members_give_the_same_count() -> None:
    room = standard_room()
    check_in_all(room)
    poll_id = secret_poll(room, auto_publish=False)
    devices = ceremony(room, poll_id)
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    for voter, choice in ((D1, 2), (D2, 2), (D3, 1)):
        cast(room, poll_id, voter, choice)
    room.ok(CHAIR, "poll.close", poll_id=poll_id)
    for pair in ((D1, D2), (D2, D3), (D1, D3)):
        trial = Room(state=room.state, now=room.now, box=room.box)
        for uid in pair:
            trial.ok(uid, "board.partial", **devices[uid].partials(poll_json(trial, poll_id)))
        result = trial.state.polls[poll_id].result
        assert result is not None and result.verified
        assert {c.option_id: c.votes for c in result.counts} == {1: 1, 2: 2, 3: 0}, pair
        assert trial.state.polls[poll_id].status == "closed"  # the chair publishes


def test_a_false_complaint_is_refused_and_the_ceremony_goes_on() -> None:
    """The attack: a member (or the relay in its name) complains about an honest dealer to
    force restarts forever. Its revealed key opens the share, which is good: refused, and
    nothing changes; a forged key or proof proves nothing."""
    room = standard_room()
    poll_id = secret_poll(room)
    devices = {uid: BoardDevice(uid) for uid in BOARD}
    for uid in BOARD:
        room.ok(uid, "board.round1", **devices[uid].round1(poll_json(room, poll_id, uid)))
    for uid in BOARD:
        room.ok(uid, "board.shares", **devices[uid].round2(poll_json(room, poll_id, uid)))
    before = room.state

    def refusal(uid: int, args: dict[str, object]) -> str:
        assert room.refused(uid, "board.complaint", **args) == "invalid_board_message"
        outcome = room.run(uid, "board.complaint", **args)
        assert isinstance(outcome, Rejection) and outcome.details is not None
        return str(outcome.details["detail"])

    false = devices[D3].complain(poll_json(room, poll_id, D3), dealer=2)
    assert refusal(D3, false) == "the share from member 2 is good: the complaint is false"
    forged = {**false, "key": (G + G).hex()}  # a key of its own making, to blame dealer 2
    assert refusal(D3, forged) == "the complaint's proof does not verify"
    bare = {k: x for k, x in false.items() if k not in ("key", "proof")}
    assert refusal(D3, bare) == "the complaint's proof does not verify"
    # Another member cannot replay it as their own: the proof is the complainer's.
    assert refusal(D1, false) == "the complaint's proof does not verify"
    assert room.state is before
    # The complainer can still confirm, and the ceremony ends ready.
    for uid in BOARD:
        name, args = devices[uid].round3(poll_json(room, poll_id, uid))
        assert name == "board.confirm"
        room.ok(uid, name, **args)
    board = room.state.polls[poll_id].board
    assert board is not None and board.status == "ready"


def test_a_complaint_fails_the_ceremony_and_a_restart_begins_afresh() -> None:
    room = standard_room()
    poll_id = secret_poll(room)
    devices = {uid: BoardDevice(uid) for uid in BOARD}
    for uid in BOARD:
        room.ok(uid, "board.round1", **devices[uid].round1(poll_json(room, poll_id, uid)))
    # Member 2 deals member 3 a share that does not match its commitments.
    for uid in BOARD:
        args = devices[uid].round2(poll_json(room, poll_id, uid))
        if uid == D2:
            devices[D2].secrets = devices[D2].secrets.__class__(  # type: ignore[union-attr]
                2, devices[D2].secrets.transport,  # type: ignore[union-attr]
                (Scalar(7), *devices[D2].secrets.coefficients[1:]))  # type: ignore[union-attr]
            args = devices[D2].round2(poll_json(room, poll_id, uid))
        room.ok(uid, "board.shares", **args)
    name, args = devices[D3].round3(poll_json(room, poll_id, D3))
    assert name == "board.complaint" and args["dealer"] == 2 and args["reason"] == "mismatch"
    [failed] = room.ok(D3, name, **args)
    assert failed.kind == "board.failed" and failed.audience.users == frozenset(BOARD)
    board = room.state.polls[poll_id].board
    assert board is not None and board.status == "failed"
    assert board.complaint is not None and board.complaint.dealer == 2
    assert board.complaint.complainer == 3 and board.complaint.key == args["key"]
    assert failed.data["complaint"]["proof"] == args["proof"]  # the proof, for anyone
    # The organisers see the failure but not the shares: the complaint carries the one
    # envelope it opens, so that they (anyone who sees it) can judge it again.
    seen = poll_json(room, poll_id, CHAIR)["board"]
    assert seen["shares"] == {} and seen["complaint"] == failed.data["complaint"]
    complaint = seen["complaint"]
    envelope = next(s for s in board.shares[2] if s["to"] == 3)
    assert complaint["envelope"] == envelope
    cer = ceremony_id(seen["poll_uid"], 3, 2)
    assert judge_complaint(
        cer, Round1.from_json(seen["round1"]["3"], 2), Round1.from_json(seen["round1"]["2"], 2),
        EncryptedShare.from_json(complaint["envelope"]),
        Complaint.from_json({"from": 3, **{k: complaint[k] for k in (
            "dealer", "reason", "key", "proof")}})) == Verdict.DEALER_AT_FAULT
    assert room.refused(D1, "board.confirm", poll_id=poll_id) == "invalid_state"
    assert room.refused(CHAIR, "poll.open", poll_id=poll_id) == "board_not_ready"
    assert room.refused(D1, "board.restart", poll_id=poll_id) == "forbidden"
    old_uid = board.poll_uid
    room.ok(SECRETARY, "board.restart", poll_id=poll_id)
    board = room.state.polls[poll_id].board
    assert board is not None and board.status == "collecting" and board.poll_uid != old_uid
    assert board.round1 == {} and board.complaint is None
    ceremony(room, poll_id)
    room.ok(CHAIR, "poll.open", poll_id=poll_id)


def test_changing_what_the_context_binds_restarts_the_ceremony() -> None:
    room = standard_room()
    poll_id = secret_poll(room)
    ceremony(room, poll_id)
    ready = room.state.polls[poll_id].board
    room.ok(SECRETARY, "poll.update", poll_id=poll_id, progress_public=True)
    assert room.state.polls[poll_id].board == ready  # not bound: the key stays
    room.ok(SECRETARY, "poll.update", poll_id=poll_id, title="Bầu phó trưởng ban")
    board = room.state.polls[poll_id].board
    assert board is not None and board.status == "collecting"
    assert ready is not None and board.poll_uid != ready.poll_uid
    room.ok(SECRETARY, "poll.update", poll_id=poll_id, secret=False)
    assert room.state.polls[poll_id].board is None


def test_the_ceremony_refuses_what_a_member_or_outsider_should_not_send() -> None:
    room = standard_room()
    poll_id = secret_poll(room)
    d1, d2, d3 = (BoardDevice(uid) for uid in BOARD)
    poll = poll_json(room, poll_id)
    # Someone not on the board sends a round 1 in a member's name.
    forged = d1.round1(poll)
    assert room.refused(INVITEE, "board.round1", **forged) in ("not_found", "forbidden")
    assert room.refused(CHAIR, "board.round1", **forged) == "forbidden"
    # A member sends another member's index, or a broken proof.
    assert room.refused(D2, "board.round1", **forged) == "invalid_board_message"
    broken = d2.round1(poll)
    broken["message"]["proofs"][0][0] = Scalar(1).hex()
    assert room.refused(D2, "board.round1", **broken) == "invalid_board_message"
    identity = d2.round1(poll)
    identity["message"]["transport_key"] = "00" * 32
    assert room.refused(D2, "board.round1", **identity) == "invalid_board_message"
    # Shares before every round 1 is in.
    room.ok(D1, "board.round1", **forged)
    assert room.refused(D1, "board.shares", poll_id=poll_id, shares=[]) == "invalid_state"
    # A member sends twice.
    assert room.refused(D1, "board.round1", **d1.round1(poll)) == "already_sent"
    room.ok(D2, "board.round1", **d2.round1(poll_json(room, poll_id, D2)))
    room.ok(D3, "board.round1", **d3.round1(poll_json(room, poll_id, D3)))
    # Shares with another `from`, or not one for every other member.
    mine = d1.round2(poll_json(room, poll_id))
    wrong_from = [dict(s, **{"from": 2}) for s in mine["shares"]]
    assert room.refused(D1, "board.shares", poll_id=poll_id,
                        shares=wrong_from) == "invalid_board_message"
    assert room.refused(D1, "board.shares", poll_id=poll_id,
                        shares=mine["shares"][:1]) == "invalid_board_message"
    twice = [mine["shares"][0], mine["shares"][0]]
    assert room.refused(D1, "board.shares", poll_id=poll_id,
                        shares=twice) == "invalid_board_message"
    room.ok(D1, "board.shares", **mine)
    assert room.refused(D1, "board.shares", **mine) == "already_sent"
    # A confirm before every share is dealt.
    assert room.refused(D1, "board.confirm", poll_id=poll_id) == "invalid_state"


def test_the_count_refuses_a_forged_partial_and_a_copied_ballot() -> None:
    room = standard_room()
    check_in_all(room)
    poll_id = secret_poll(room)
    devices = ceremony(room, poll_id)
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    cast(room, poll_id, D1, FOR)
    # D2 sends D1's ballot as theirs (the copy attack), or a ballot made for D1.
    copied = ballot(poll_json(room, poll_id, D1), D1, FOR)
    refusal = check_ballot(room.state, v.VoteCast(poll_id=poll_id, ballot=copied), D2,
                           False, room.now)
    assert getattr(refusal, "code", None) == "not_eligible"
    plain = v.VoteCast(poll_id=poll_id, choices=[FOR], receipt="AAAAA-11111")
    assert getattr(check_ballot(room.state, plain, D2, False, room.now), "code",
                   None) == "invalid"
    assert room.refused(D1, "board.partial", **devices[D1].partials(
        {**poll_json(room, poll_id), "board": {**poll_json(room, poll_id)["board"],
                                               "aggregate": [{"alpha": "00" * 32,
                                                              "beta": "00" * 32}] * 3}})
    ) == "invalid_state"  # still open: nothing to decrypt
    room.ok(CHAIR, "poll.close", poll_id=poll_id)
    good = devices[D1].partials(poll_json(room, poll_id))
    # A partial that is not D1's key applied to the aggregate: its proof fails.
    forged = {**good, "partials": [dict(p, d=G.hex()) for p in good["partials"]]}
    assert room.refused(D1, "board.partial", **forged) == "invalid_partial"
    # Someone else's (valid) partials sent under another member's name.
    assert room.refused(D2, "board.partial", **good) == "invalid_partial"
    assert room.refused(INVITEE, "board.partial", **good) == "forbidden"
    assert room.refused(D1, "board.partial", poll_id=poll_id,
                        partials=good["partials"][:2]) == "invalid_partial"
    room.ok(D1, "board.partial", **good)
    assert room.refused(D1, "board.partial", **good) == "already_sent"


def test_a_poll_the_board_cannot_count_is_void() -> None:
    room = standard_room()
    check_in_all(room)
    poll_id = secret_poll(room, threshold=3)
    devices = ceremony(room, poll_id)
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    cast(room, poll_id, D1, FOR)
    assert room.refused(CHAIR, "poll.void", poll_id=poll_id) == "invalid_state"  # open
    room.ok(CHAIR, "poll.close", poll_id=poll_id)
    room.ok(D1, "board.partial", **devices[D1].partials(poll_json(room, poll_id)))
    assert room.refused(SECRETARY, "poll.void", poll_id=poll_id) == "forbidden"
    [voided] = room.ok(CHAIR, "poll.void", poll_id=poll_id)
    assert voided.kind == "poll.voided" and voided.audience.everyone
    poll = room.state.polls[poll_id]
    assert poll.status == "void" and poll.result is None and not poll.counting
    assert room.refused(D2, "board.partial", **devices[D2].partials(
        poll_json(room, poll_id, D2))) == "invalid_state"
    assert room.refused(CHAIR, "poll.publish", poll_id=poll_id) == "invalid_state"


def test_who_sees_the_ceremony_and_the_shares() -> None:
    room = standard_room()
    poll_id = secret_poll(room, members=[D1, D2])
    start = room.state
    viewers = {uid: ClientView(orjson.loads(orjson.dumps(room_view(start, uid))))
               for uid in (CHAIR, D1, D2, D3)}
    seq = len(room.events)
    ceremony(room, poll_id)
    for event in room.events[seq:]:
        for uid, client in viewers.items():
            if event.audience.admits(uid, room.state.role_of(uid)):
                client.on_event(event.kind, orjson.loads(orjson.dumps(event.data)))
    for uid, client in viewers.items():
        assert client.view()["polls"] == orjson.loads(orjson.dumps(
            room_view(room.state, uid)))["polls"], uid
    # A draft is the organisers' and the board's: D3 sees nothing of it.
    assert poll_json(room, poll_id, CHAIR)["board"]["status"] == "ready"
    assert not [p for p in orjson.loads(orjson.dumps(room_view(room.state, D3)))["polls"]
                if p["id"] == poll_id]
    # While dealing, the encrypted shares are the members' only.
    room2 = standard_room()
    pid = secret_poll(room2, members=[D1, D2])
    devices = {uid: BoardDevice(uid) for uid in (D1, D2)}
    for uid in (D1, D2):
        room2.ok(uid, "board.round1", **devices[uid].round1(poll_json(room2, pid, uid)))
    [shares, dealt] = room2.ok(D1, "board.shares", **devices[D1].round2(
        poll_json(room2, pid, D1)))
    assert shares.audience.users == frozenset({D1, D2}) and not shares.audience.roles
    assert poll_json(room2, pid, D2)["board"]["shares"] != {}
    assert poll_json(room2, pid, CHAIR)["board"]["shares"] == {}
    assert dealt.data == {"poll_id": pid, "index": 1, "status": "dealing"}
    # An update that keeps the ceremony keeps the shares (the event does not carry them).
    room2.ok(SECRETARY, "poll.update", poll_id=pid, progress_public=True)
    assert poll_json(room2, pid, D2)["board"]["shares"] != {}


def test_the_state_holds_nothing_per_ballot() -> None:
    sizes = []
    for voters in (1, 4):
        room = standard_room()
        check_in_all(room)
        poll_id = secret_poll(room)
        devices = ceremony(room, poll_id)
        room.ok(CHAIR, "poll.open", poll_id=poll_id)
        before = room.state.polls[poll_id]
        for voter in (D1, D2, D3, CHAIR)[:voters]:
            cast(room, poll_id, voter, FOR)
        assert room.state.polls[poll_id] == before  # ballots never enter the room
        room.ok(CHAIR, "poll.close", poll_id=poll_id)
        for uid in (D1, D2):
            room.ok(uid, "board.partial", **devices[uid].partials(poll_json(room, poll_id)))
        board = room.state.polls[poll_id].board
        assert board is not None
        sizes.append(len(board.model_dump_json()))
    assert sizes[0] == sizes[1]


def test_a_board_needs_a_secret_poll_and_participants() -> None:
    room = standard_room()
    assert room.refused(SECRETARY, "poll.create", title="Công khai",
                        board={"members": [D1], "threshold": 1}) == "invalid"
    assert room.refused(SECRETARY, "poll.create", title="Kín", secret=True,
                        board={"members": [D1, D1], "threshold": 1}) == "invalid"
    assert room.refused(SECRETARY, "poll.create", title="Kín", secret=True,
                        board={"members": [D1, 77], "threshold": 1}) == "not_found"
    assert room.refused(SECRETARY, "poll.create", title="Kín", secret=True,
                        board={"members": [D1], "threshold": 2}) == "invalid"
    # A client cannot choose the poll_uid's randomness.
    assert room.refused(SECRETARY, "poll.create", title="Kín", secret=True,
                        fresh={"room": 1, "nonce": "0" * 16}) == "invalid"
    # One member with threshold 1 is a board too.
    pid = secret_poll(room, members=[D1], threshold=1)
    ceremony(room, pid)
    room.tick(1)
    assert room.state.polls[pid].board.status == "ready"  # type: ignore[union-attr]
