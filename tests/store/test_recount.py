"""A sealed ballot box recounted against the result the room recorded, on SQLite and
PostgreSQL: what a room checks when it loads (`server.log_audit.check_boxes`).

Real boxes (the store's own `cast_ballots`, `cast_encrypted`, seals), real encrypted
ballots and partial decryptions (voting.secret's client functions), the room core for the
polls. The attacks are plain SQL on the box's tables after the close, or a result
recorded differently from what the box holds (what a rewritten log would carry).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from phonghop.server.log_audit import CountMismatch, box_mismatch, check_boxes
from phonghop.store import SqlStore
from phonghop.store.records import BallotCheck, BallotIn, EncryptedIn
from phonghop.voting import commands as v
from phonghop.voting.counting_board import ballot_rules
from phonghop.voting.model import ABSTAIN, AGAINST, FOR, Poll
from phonghop.voting.recount import sum_ballots
from phonghop.voting.secret.fast import verifier_for
from phonghop.voting.tally import count_choices
from tests.rooms.world import CHAIR, D1, D2, D3, SECRETARY, Room, standard_room
from tests.store.test_contract import create
from tests.voting.board_kit import ballot
from tests.voting.board_world import ceremony, poll_json, secret_poll


async def _sql(store: SqlStore, statement: str, **params: object) -> None:
    assert store.engine is not None
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(statement), params)


def _room() -> Room:
    room = standard_room()
    for uid in (CHAIR, SECRETARY, D1, D2, D3):
        room.ok(uid, "attendance.check_in")
    return room


async def _mismatch(store: SqlStore, room_id: int, room: Room, poll_id: int) -> str:
    with pytest.raises(CountMismatch) as caught:
        await check_boxes(store, room_id, room.state)
    assert caught.value.poll_id == poll_id
    assert caught.value.rejection.code == "count_mismatch"
    assert caught.value.rejection.details == {"poll_id": poll_id}
    return caught.value.problem


async def _named_poll(store: SqlStore, room: Room, room_id: int,
                      ballots: dict[int, int], secret: bool = False) -> int:
    """A motion voted through the store's box, sealed and closed as the server does."""
    [created] = room.ok(CHAIR, "poll.create", title="Thông qua dự toán", kind="motion")
    poll_id = int(created.data["poll"]["id"])
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    fates, _ = await store.cast_ballots(room_id, poll_id, secret, False, [
        BallotIn(voter, voter, (choice,), f"R{voter:04d}-{poll_id:05d}")
        for voter, choice in ballots.items()])
    assert set(fates) == {"cast"}
    sealed = await store.seal_box(room_id, poll_id, secret)
    poll = room.state.polls[poll_id]
    cast, votes = count_choices(poll, sealed.choices)
    room.decide(CHAIR, v.PollClose(poll_id=poll_id, box=v.BoxContents(
        cast=cast, votes=votes, receipts=len(sealed.receipts))))
    assert room.state.polls[poll_id].status == "published"
    return poll_id


async def test_a_named_result_is_recounted_from_its_box(store: SqlStore) -> None:
    room = _room()
    room_id = await create(store, room)
    poll_id = await _named_poll(store, room, room_id, {D1: FOR, D2: FOR, D3: AGAINST})
    await check_boxes(store, room_id, room.state)  # the box holds what was published
    # One stored ballot changed after the close.
    await _sql(store, "UPDATE named_ballots SET choices = '[2]' WHERE room_id = :r AND "
               "poll_id = :p AND voter_id = :v", r=room_id, p=poll_id, v=D1)
    assert await _mismatch(store, room_id, room, poll_id) == "counts"
    await _sql(store, "UPDATE named_ballots SET choices = '[1]' WHERE room_id = :r AND "
               "poll_id = :p AND voter_id = :v", r=room_id, p=poll_id, v=D1)
    await check_boxes(store, room_id, room.state)
    # A ballot slipped into the sealed box.
    await _sql(store, "INSERT INTO named_ballots (room_id, poll_id, voter_id, cast_by, "
               "choices, receipt) VALUES (:r, :p, :v, :v, '[3]', 'R9999-99999')",
               r=room_id, p=poll_id, v=SECRETARY)
    assert await _mismatch(store, room_id, room, poll_id) == "cast"
    await _sql(store, "DELETE FROM named_ballots WHERE receipt = 'R9999-99999'")
    # The box opened again (to take more ballots).
    await _sql(store, "UPDATE poll_boxes SET status = 'open' WHERE room_id = :r AND "
               "poll_id = :p", r=room_id, p=poll_id)
    assert await _mismatch(store, room_id, room, poll_id) == "box_open"


async def test_a_result_recorded_otherwise_than_its_box_counts_is_caught(
        store: SqlStore) -> None:
    """What a log rewritten with its whole chain would carry: the counts or the verdict
    of the published result changed. The box still holds the ballots."""
    room = _room()
    room_id = await create(store, room)
    poll_id = await _named_poll(store, room, room_id, {D1: FOR, D2: AGAINST, D3: AGAINST,
                                                       CHAIR: ABSTAIN})
    poll = room.state.polls[poll_id]
    assert poll.result is not None and poll.result.passed is False
    flipped = poll.result.model_copy(update={"passed": True})
    assert await _alone(store, room_id, poll.model_copy(update={"result": flipped})) == "verdict"
    counts = tuple(c.model_copy(update={"votes": {FOR: 3, AGAINST: 0}.get(c.option_id,
                                                                          c.votes)})
                   for c in poll.result.counts)
    moved = poll.result.model_copy(update={"counts": counts})
    assert await _alone(store, room_id, poll.model_copy(update={"result": moved})) == "counts"
    # Plaintext secret ballots of polls held before encryption: counted from their table.
    secret = _room()
    secret_id = await create(store, secret)
    other = await _named_poll(store, secret, secret_id, {D1: FOR, D2: FOR}, secret=True)
    plain = secret.state.polls[other].model_copy(update={"secret": True})
    assert await box_mismatch(store, secret_id, plain) is None
    await _sql(store, "DELETE FROM secret_ballots WHERE room_id = :r", r=secret_id)
    assert await box_mismatch(store, secret_id, plain) == "cast"


async def _alone(store: SqlStore, room_id: int, poll: Poll) -> str | None:
    return await box_mismatch(store, room_id, poll)


async def test_an_encrypted_close_is_recounted_from_its_ballots(store: SqlStore) -> None:
    room = _room()
    room_id = await create(store, room)
    poll_id = secret_poll(room)
    devices = ceremony(room, poll_id)
    room.ok(CHAIR, "poll.open", poll_id=poll_id)
    poll = room.state.polls[poll_id]
    verifier = verifier_for(ballot_rules(poll))
    entries = []
    for voter, choice in ((D1, 1), (D2, 2), (D3, 1), (CHAIR, 3)):
        doc = ballot(poll_json(room, poll_id, voter), voter, choice)
        entries.append(EncryptedIn(voter, str(verifier.receive(doc)),
                                   orjson.dumps(doc).decode()))
    await store.cast_encrypted(room_id, poll_id, False, entries)
    await store.settle_checks(room_id, poll_id,
                              [BallotCheck(e.voter_id, e.tracker, True) for e in entries])
    sealed = await store.seal_encrypted(room_id, poll_id)
    totals = sum_ballots(ballot_rules(poll), sealed.ballots)
    assert totals is not None
    room.decide(CHAIR, v.PollClose(poll_id=poll_id, box=v.BoxContents(
        cast=len(sealed.ballots), votes={}, receipts=len(sealed.ballots),
        aggregate=[v.CiphertextJson(**c) for c in totals])))
    assert room.state.polls[poll_id].counting
    await check_boxes(store, room_id, room.state)  # counting: the aggregate holds
    for uid in (D1, D3):
        room.ok(uid, "board.partial", **devices[uid].partials(poll_json(room, poll_id, uid)))
    published = room.state.polls[poll_id]
    assert published.status == "published" and published.result is not None
    assert published.result.verified
    await check_boxes(store, room_id, room.state)  # and the decrypted result follows

    # The result recorded differently from what the partials decrypt to.
    r = published.result
    other = tuple(c.model_copy(update={"votes": 4 if c.option_id == 1 else 0})
                  for c in r.counts)
    forged = published.model_copy(update={"result": r.model_copy(update={"counts": other,
                                                                         "passed": True})})
    assert await _alone(store, room_id, forged) == "verdict"
    # Forged partial decryptions (what a rewritten log could carry): their proofs fail.
    assert published.board is not None
    first = min(published.board.partials)
    parts = published.board.partials[first]
    bad = {**published.board.partials, first: tuple({**p, "d": parts[0]["d"]} for p in parts)}
    board = published.board.model_copy(update={"partials": bad})
    assert await _alone(store, room_id, published.model_copy(update={"board": board})) == (
        "partials")
    # One ballot taken out of the sealed box, then one swapped for another valid ballot.
    keep = await _rows(store, room_id, poll_id)
    await _sql(store, "DELETE FROM encrypted_ballots WHERE room_id = :r AND poll_id = :p AND "
               "voter_id = :v", r=room_id, p=poll_id, v=D2)
    assert await _mismatch(store, room_id, room, poll_id) == "cast"
    swapped = ballot(poll_json(room, poll_id, D2), D2, 1)
    await _sql(store, "INSERT INTO encrypted_ballots (room_id, poll_id, voter_id, tracker, "
               "ballot, checked) VALUES (:r, :p, :v, :t, :b, TRUE)", r=room_id, p=poll_id,
               v=D2, t=str(verifier.receive(swapped)), b=orjson.dumps(swapped).decode())
    assert await _mismatch(store, room_id, room, poll_id) == "aggregate"
    await _sql(store, "UPDATE encrypted_ballots SET ballot = :b WHERE room_id = :r AND "
               "poll_id = :p AND voter_id = :v", b=keep[D2], r=room_id, p=poll_id, v=D2)
    await check_boxes(store, room_id, room.state)  # the original ballot back: it holds
    await _sql(store, "UPDATE encrypted_ballots SET ballot = '{\"voter\": \"3\"}' WHERE "
               "room_id = :r AND poll_id = :p AND voter_id = :v", r=room_id, p=poll_id, v=D1)
    assert await _mismatch(store, room_id, room, poll_id) == "ballot"


async def _rows(store: SqlStore, room_id: int, poll_id: int) -> dict[int, Any]:
    assert store.engine is not None
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.text(
            "SELECT voter_id, ballot FROM encrypted_ballots WHERE room_id = :r AND "
            "poll_id = :p"), {"r": room_id, "p": poll_id})
        return {int(r[0]): r[1] for r in rows}
