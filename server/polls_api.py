"""HTTP for polls: the poll commands as endpoints, and what lives in the ballot box
(my ballot, the receipts counted, a named poll's ballots, the result as CSV, an encrypted
poll's public board)."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from phonghop.rooms import Rejection
from phonghop.rooms.rejections import not_found
from phonghop.server.api import (
    Endpoint,
    _id,
    attachment,
    audit,
    current_user,
    is_organiser,
    node_of,
    participant_room,
    room_command,
)
from phonghop.server.http_errors import JSONResponse, Refused
from phonghop.server.room_host import RoomHost
from phonghop.store.base import StoreError
from phonghop.store.records import User
from phonghop.voting import commands as v
from phonghop.voting.counting_board import ballot_rules
from phonghop.voting.model import Poll
from phonghop.voting.room import vote_for
from phonghop.voting.rules import describe
from phonghop.voting.secret.ballot import Ballot, parse_ballot
from phonghop.voting.secret.board import BoardMember, PollInfo, build_board
from phonghop.voting.secret.ceremony import Round1
from phonghop.voting.secret.count import Partial

_PUBLISHED = ("published",)
_CLOSED = ("closed", "published")


async def _poll(request: Request) -> tuple[User, RoomHost, Poll]:
    """The signed-in user, the room, and the poll they may see, or a refusal."""
    user = await current_user(request)
    host = await participant_room(request, user)
    poll = host.state.polls.get(_id(request, "poll"))
    organiser = is_organiser(host.state, user)
    counter = poll is not None and poll.board is not None and user.id in poll.board.members
    if poll is None or (poll.status == "draft" and not (organiser or counter)):
        raise Refused(not_found("poll"))
    return user, host, poll


def _need(poll: Poll, statuses: tuple[str, ...], electronic: bool = True,
          named: bool = False) -> None:
    if poll.status not in statuses:
        raise Refused(Rejection("poll_not_open" if poll.status == "draft" else "invalid_state",
                                {"state_vi": "kết quả chưa được công bố",
                                 "state_en": "the result is not published",
                                 "state": poll.status}))
    if electronic and not poll.electronic:
        raise Refused(Rejection("invalid", {"detail": "a show of hands has no ballots"}))
    if named and poll.secret:
        raise Refused(Rejection("forbidden"))


async def my_ballot(request: Request) -> Response:
    user, host, poll = await _poll(request)
    state = host.state
    member = vote_for(state, user.id)
    eligible = member is not None and poll.electronic and (
        poll.eligibility == "members" or state.counts_present(state.participants[member]))
    body: dict[str, object] = {"poll_id": poll.id, "eligible": eligible, "voted": False}
    if member is not None and poll.electronic:
        try:
            body |= await node_of(request).store.my_ballot(host.room_id, poll.id, member,
                                                           poll.secret, poll.encrypted)
        except StoreError:
            raise Refused(Rejection("store_unavailable")) from None
    return JSONResponse(body)


async def _sealed(request: Request, host: RoomHost, poll: Poll) -> list[str]:
    # The box was sealed when the poll closed: this only reads it.
    store = node_of(request).store
    try:
        if poll.encrypted:
            box = await store.seal_encrypted(host.room_id, poll.id)
        else:
            box = await store.seal_box(host.room_id, poll.id, poll.secret)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    return box.receipts


async def receipts(request: Request) -> Response:
    user, host, poll = await _poll(request)
    _need(poll, _CLOSED if is_organiser(host.state, user) else _PUBLISHED)
    return JSONResponse({"poll_id": poll.id, "receipts": await _sealed(request, host, poll)})


async def _ballots(request: Request, host: RoomHost, poll: Poll) -> list[dict[str, object]]:
    try:
        rows = await node_of(request).store.named_ballots(host.room_id, poll.id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    people = host.state.participants
    for row in rows:
        p = people.get(int(row["voter_id"]))  # type: ignore[arg-type]
        row["full_name"] = p.full_name if p else ""
        row["unit"] = p.unit if p else ""
    return rows


async def named_ballots(request: Request) -> Response:
    user, host, poll = await _poll(request)
    _need(poll, _CLOSED if is_organiser(host.state, user) else _PUBLISHED, named=True)
    ballots = await _ballots(request, host, poll)
    _exported(request, host, poll, "poll.ballots")
    return JSONResponse({"poll_id": poll.id, "ballots": ballots})


def _exported(request: Request, host: RoomHost, poll: Poll, what: str) -> None:
    """Record an export of a poll's data in the access log (which poll: not its contents)."""
    audit(request, "export", meeting=host.room_id, poll=poll.id, what=what)


async def result_csv(request: Request) -> Response:
    user, host, poll = await _poll(request)
    _need(poll, _CLOSED if is_organiser(host.state, user) else _PUBLISHED, electronic=False)
    assert poll.result is not None
    r = poll.result
    out = io.StringIO()
    w = csv.writer(out)
    labels = {o.id: o.label for o in poll.options}
    w.writerow(["Cuộc biểu quyết / Poll", poll.title])
    w.writerow(["Hình thức / Kind", poll.kind, "Bỏ phiếu kín / Secret" if poll.secret
                else "Công khai / Named"])
    w.writerow(["Quy tắc / Rule", describe(poll.rule)["vi"], describe(poll.rule)["en"]])
    w.writerow(["Số phiếu / Cast", r.cast, "Cơ sở / Base", r.base_count,
                "Có mặt / Present", r.present, "Tổng số / Members", r.members])
    w.writerow([])
    w.writerow(["Phương án / Option", "Số phiếu / Votes", "Tỷ lệ trên cơ sở / Share of base"])
    for count in r.counts:
        share = f"{100 * count.votes / r.base_count:.2f}%" if r.base_count else ""
        w.writerow([labels.get(count.option_id, count.option_id), count.votes, share])
    w.writerow([])
    if r.passed is not None:
        w.writerow(["Kết quả / Result", "Thông qua / Passed" if r.passed
                    else "Không thông qua / Not passed"])
    else:
        w.writerow(["Trúng cử / Elected", *(labels[i] for i in r.elected)])
    if r.tie:
        w.writerow(["Hòa phiếu / Tie"])
    if poll.electronic and not poll.secret:
        w.writerow([])
        w.writerow(["Đại biểu / Member", "Đơn vị / Unit", "Lựa chọn / Choice",
                    "Người bỏ phiếu / Cast by", "Mã phiếu / Receipt"])
        for row in await _ballots(request, host, poll):
            choices = "; ".join(labels.get(i, str(i)) for i in row["choices"])  # type: ignore[attr-defined]
            by = host.state.participants.get(int(row["cast_by"]))  # type: ignore[arg-type]
            w.writerow([row["full_name"], row["unit"], choices,
                        by.full_name if by else row["cast_by"], row["receipt"]])
    name = f"bieu-quyet-{poll.id}.csv"
    _exported(request, host, poll, "poll.result_csv")
    return Response(
        "\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(name),
                 "Cache-Control": "private, no-store"})


async def board_json(request: Request) -> Response:
    """An encrypted poll's public board (docs/BALLOT_CRYPTO.md, section 4), built from the
    room state and the stored ballots: anyone in the meeting may read and verify it."""
    _user, host, poll = await _poll(request)
    board = poll.board
    if board is None or not poll.secret:
        raise Refused(Rejection("invalid", {"detail": "only a secret poll has a board"}))
    if board.status != "ready":
        raise Refused(Rejection("board_not_ready"))
    try:
        stored = await node_of(request).store.encrypted_ballots(host.room_id, poll.id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    people = host.state.participants
    names = {uid: people[uid].full_name if uid in people else "" for uid in board.members}
    doc = await asyncio.to_thread(_board_document, poll, names, [b for _t, b in stored])
    _exported(request, host, poll, "poll.board")
    return Response(orjson.dumps(doc), media_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _board_document(poll: Poll, names: dict[int, str], stored: list[str]) -> dict[str, Any]:
    """The board of `poll` with these ballots (their JSON, as stored: already checked)."""
    board = poll.board
    assert board is not None
    t = board.threshold
    info = PollInfo(board.poll_uid, poll.title, tuple(o.label for o in poll.options),
                    poll.min_choices, poll.max_choices, len(board.members), t)
    members = [BoardMember(Round1.from_json(board.round1[i], t), str(uid), names[uid])
               for i, uid in enumerate(board.members, start=1)]
    rules = ballot_rules(poll)
    ballots = [parse_ballot(orjson.loads(b), rules) for b in stored]
    shares = {j: [Partial.from_json(dict(p)) for p in partials]
              for j, partials in board.partials.items()}
    return build_board(info, members, [b for b in ballots if isinstance(b, Ballot)],
                       closed=board.aggregate is not None, shares=shares)


P = "/api/meetings/{meeting}/polls"
PP = P + "/{poll}"
_ID = {"poll_id": "poll"}
ENDPOINTS: list[Endpoint] = [
    Endpoint("POST", P, room_command("poll.create"), "Create a poll (a draft)", v.PollCreate),
    Endpoint("PATCH", PP, room_command("poll.update", _ID), "Change a draft poll",
             v.PollUpdate),
    Endpoint("POST", PP + "/open", room_command("poll.open", _ID, body=False), "Open a poll"),
    Endpoint("POST", PP + "/close", room_command("poll.close", _ID, body=False),
             "Close a poll: seal the ballot box and count"),
    Endpoint("POST", PP + "/record", room_command("poll.record", _ID),
             "Record a show of hands: counts for, against, abstain", v.PollRecord),
    Endpoint("POST", PP + "/publish", room_command("poll.publish", _ID, body=False),
             "Publish a closed poll's result"),
    Endpoint("POST", PP + "/cancel", room_command("poll.cancel", _ID, body=False),
             "Cancel a draft or open poll (its ballots are discarded)"),
    Endpoint("POST", PP + "/void", room_command("poll.void", _ID, body=False),
             "Declare a closed encrypted poll void: fewer than t board members can decrypt"),
    Endpoint("POST", PP + "/board/round1", room_command("board.round1", _ID),
             "Key ceremony, round 1: my commitments, their proofs, my transport key",
             v.BoardRound1),
    Endpoint("POST", PP + "/board/shares", room_command("board.shares", _ID),
             "Key ceremony, round 2: my encrypted share for every other member",
             v.BoardShares),
    Endpoint("POST", PP + "/board/confirm", room_command("board.confirm", _ID, body=False),
             "Key ceremony, round 3: every share addressed to me is good"),
    Endpoint("POST", PP + "/board/complaint", room_command("board.complaint", _ID),
             "Key ceremony, round 3: a dealer's share is bad (the ceremony fails)",
             v.BoardComplaint),
    Endpoint("POST", PP + "/board/restart", room_command("board.restart", _ID, body=False),
             "Start the key ceremony over, with a new poll_uid"),
    Endpoint("POST", PP + "/board/partial", room_command("board.partial", _ID),
             "My partial decryption of the aggregate, with proofs", v.BoardPartial),
    Endpoint("GET", PP + "/board.json", board_json,
             "An encrypted poll's public board: ballots, commitments, decryptions, result"),
    Endpoint("GET", PP + "/me", my_ballot, "Whether I may vote and have voted"),
    Endpoint("GET", PP + "/receipts", receipts, "The receipts counted"),
    Endpoint("GET", PP + "/ballots", named_ballots, "A named poll's ballots"),
    Endpoint("GET", PP + "/result.csv", result_csv, "The result as CSV"),
]
