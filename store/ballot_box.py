"""The ballot box in SQL: exactly-once ballots beside the room log.

Every batch of ballots is one transaction that first locks the poll's box row: a batch
committed before the seal is counted, a batch after it finds the box sealed and is
refused; nothing acknowledged is lost. UNIQUE(poll, voter) on the "has voted" marks makes
a second ballot impossible whatever the retries.

Encrypted ballots (secret polls, docs/BALLOT_CRYPTO.md) are one row per member and poll:
the voter id beside a ciphertext, which nobody can open alone, so the row order and the
database's logs tell nothing of anyone's choice. The plaintext `secret_ballots` of polls
held before ballots were encrypted are still read (their receipts) and sealed.
"""

from __future__ import annotations

import random
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from phonghop.store import schema as t
from phonghop.store.base import Duplicate
from phonghop.store.records import (
    ALREADY_VOTED,
    BOX_CLOSED,
    CAST,
    DUPLICATE,
    NO_SUCH_RECEIPT,
    BallotCheck,
    BallotIn,
    EncryptedIn,
    SealedBox,
)
from phonghop.store.transactional import Transactional

_shuffle = random.SystemRandom().shuffle
T = TypeVar("T")


class BallotBoxStore:
    """The ballot-box half of the SQL store (mixed into `SqlStore`)."""

    async def cast_ballots(
        self: Transactional, room_id: int, poll_id: int, secret: bool, allow_change: bool,
        ballots: Sequence[BallotIn],
    ) -> tuple[list[str], int]:
        """Commit a batch of ballots in one transaction. Returns each ballot's fate (CAST,
        DUPLICATE, ALREADY_VOTED, BOX_CLOSED, NO_SUCH_RECEIPT) and the members who have
        voted so far. Raises `Duplicate` if a receipt collides (retry one by one)."""
        cast = _cast if self.is_sqlite else _cast_in_one_statement
        try:
            return await cast(self, room_id, poll_id, secret, allow_change, ballots)
        except IntegrityError as exc:
            raise Duplicate("receipt") from exc

    async def seal_box(
        self: Transactional, room_id: int, poll_id: int, secret: bool, discard: bool = False
    ) -> SealedBox:
        """Close the box for good and return what it holds (again, if already sealed).
        `discard` (a cancelled poll) throws the ballots away."""
        ballots = t.secret_ballots if secret else t.named_ballots
        of_poll = sa.and_(ballots.c.room_id == room_id, ballots.c.poll_id == poll_id)
        async with self._tx() as conn:
            status = await _seal(conn, self.is_sqlite, room_id, poll_id, discard,
                                 ballots.delete().where(of_poll))
            if status == "discarded":
                return SealedBox([], [], discarded=True)
            if status == "open" and secret and not self.is_sqlite:
                await _rewrite_shuffled(conn, room_id, poll_id)
            rows = (await conn.execute(
                sa.select(ballots.c.choices, ballots.c.receipt).where(of_poll))).all()
        choices = [tuple(orjson.loads(r[0])) for r in rows]
        _shuffle(choices)
        return SealedBox(choices, sorted(r[1] for r in rows))

    async def box_holds(
        self: Transactional, room_id: int, poll_id: int, kind: str
    ) -> tuple[str | None, SealedBox]:
        """Read, without changing anything, the box's status ("open", "sealed",
        "discarded"; None if it never existed) and what it holds: the choices of a `named`
        or plaintext `secret` box, the ballots of an `encrypted` one (to recount a result
        against its box when a room loads)."""
        async with self._tx() as conn:
            status = (await conn.execute(sa.select(t.poll_boxes.c.status)
                                         .where(_box(room_id, poll_id)))).scalar()
            if kind == "encrypted":
                eb = t.encrypted_ballots
                rows = (await conn.execute(sa.select(eb.c.tracker, eb.c.ballot).where(sa.and_(
                    eb.c.room_id == room_id, eb.c.poll_id == poll_id)).order_by(eb.c.tracker))
                ).all()
                return status, SealedBox([], [r[0] for r in rows], ballots=[r[1] for r in rows])
            ballots = t.secret_ballots if kind == "secret" else t.named_ballots
            rows = (await conn.execute(sa.select(ballots.c.choices, ballots.c.receipt).where(
                sa.and_(ballots.c.room_id == room_id, ballots.c.poll_id == poll_id)))).all()
        return status, SealedBox([tuple(orjson.loads(r[0])) for r in rows],
                                 sorted(r[1] for r in rows))

    async def cast_encrypted(
        self: Transactional, room_id: int, poll_id: int, allow_change: bool,
        ballots: Sequence[EncryptedIn],
    ) -> tuple[list[str], int]:
        """Commit a batch of encrypted ballots in one transaction, as not yet checked
        (`settle_checks` records their proofs' verdicts). Each ballot's fate: CAST (new,
        or with `allow_change` replacing the member's own), DUPLICATE (this very ballot is
        in: a retry), ALREADY_VOTED or BOX_CLOSED; and the members who have voted so
        far."""
        if self.is_sqlite:
            return await self._in_one_hop(
                lambda db: _cast_encrypted_sqlite(db, room_id, poll_id, allow_change, ballots))
        eb = t.encrypted_ballots
        async with self._tx() as conn:
            status = await _lock_box(conn, self.is_sqlite, room_id, poll_id)
            if status != "open":
                return [BOX_CLOSED] * len(ballots), 0
            first = _first_of_each_voter(ballots)
            insert = (sqlite if self.is_sqlite else postgresql).insert(eb)
            result = await conn.execute(
                insert.on_conflict_do_nothing().returning(eb.c.voter_id),
                [{"room_id": room_id, "poll_id": poll_id, "voter_id": ballots[i].voter_id,
                  "tracker": ballots[i].tracker, "ballot": ballots[i].ballot,
                  "checked": False}
                 for i in first.values()])
            new = {int(r[0]) for r in result}
            fates = [CAST if first[b.voter_id] == i and b.voter_id in new else ""
                     for i, b in enumerate(ballots)]
            mine = sa.and_(eb.c.room_id == room_id, eb.c.poll_id == poll_id)
            for i, b in enumerate(ballots):
                if fates[i]:
                    continue
                held = (await conn.execute(sa.select(eb.c.tracker).where(
                    sa.and_(mine, eb.c.voter_id == b.voter_id)))).scalar_one()
                if held == b.tracker:
                    fates[i] = DUPLICATE
                elif not allow_change:
                    fates[i] = ALREADY_VOTED
                else:  # the member's own row, and only it: the key is the voter
                    await conn.execute(eb.update().where(sa.and_(
                        mine, eb.c.voter_id == b.voter_id)).values(
                        tracker=b.tracker, ballot=b.ballot, checked=False))
                    fates[i] = CAST
            counted = await conn.execute(
                t.poll_boxes.update().where(_box(room_id, poll_id))
                .values(voters=t.poll_boxes.c.voters + len(new))
                .returning(t.poll_boxes.c.voters))
            return fates, int(counted.scalar_one())

    async def seal_encrypted(self: Transactional, room_id: int, poll_id: int,
                             discard: bool = False) -> SealedBox:
        """Close an encrypted box for good and return its ballots and trackers (again, if
        already sealed); `discard` (a cancelled poll) throws them away."""
        eb = t.encrypted_ballots
        mine = sa.and_(eb.c.room_id == room_id, eb.c.poll_id == poll_id)
        async with self._tx() as conn:
            status = await _seal(conn, self.is_sqlite, room_id, poll_id, discard,
                                 eb.delete().where(mine))
            if status == "discarded":
                return SealedBox([], [], discarded=True)
            rows = (await conn.execute(sa.select(eb.c.tracker, eb.c.ballot, eb.c.checked)
                                       .where(mine).order_by(eb.c.tracker))).all()
        return SealedBox([], [r[0] for r in rows], ballots=[r[1] for r in rows],
                         unchecked=[i for i, r in enumerate(rows) if not r[2]])

    async def settle_checks(self: Transactional, room_id: int, poll_id: int,
                            checks: Sequence[BallotCheck], sealer: bool = False
                            ) -> list[BallotCheck]:
        """Record the verdicts on ballots in the box, in one transaction: a valid ballot
        is marked checked, an invalid one is taken out (its voter has not voted). While
        the box is open; once it is sealed only the sealer settles (`sealer`), which
        checks whatever was left unchecked before counting. Returns the invalid ballots
        taken out (a ballot replaced or taken out meanwhile is not among them)."""
        if self.is_sqlite:
            return await self._in_one_hop(
                lambda db: _settle_checks_sqlite(db, room_id, poll_id, checks, sealer))
        eb = t.encrypted_ballots
        async with self._tx() as conn:
            status = await _lock_box(conn, self.is_sqlite, room_id, poll_id)
            if status != ("sealed" if sealer else "open"):
                return []
            this = sa.and_(eb.c.room_id == room_id, eb.c.poll_id == poll_id,
                           eb.c.voter_id == sa.bindparam("v"),
                           eb.c.tracker == sa.bindparam("t"))
            valid = [{"v": c.voter_id, "t": c.tracker} for c in checks if c.valid]
            if valid:
                await conn.execute(eb.update().where(this).values(checked=True), valid)
            removed: list[BallotCheck] = []
            for c in checks:
                if c.valid:
                    continue
                gone = await conn.execute(eb.delete().where(this).returning(eb.c.voter_id),
                                          {"v": c.voter_id, "t": c.tracker})
                if gone.first() is not None:
                    removed.append(c)
            if removed and not sealer:
                await conn.execute(t.poll_boxes.update().where(_box(room_id, poll_id))
                                   .values(voters=t.poll_boxes.c.voters - len(removed)))
            return removed

    async def encrypted_ballots(self: Transactional, room_id: int, poll_id: int
                                ) -> list[tuple[str, str]]:
        """An encrypted poll's checked ballots so far: (tracker, ballot JSON), by tracker
        (one just acknowledged appears once its proofs are checked, a moment later)."""
        eb = t.encrypted_ballots
        async with self._tx() as conn:
            rows = await conn.execute(sa.select(eb.c.tracker, eb.c.ballot).where(sa.and_(
                eb.c.room_id == room_id, eb.c.poll_id == poll_id, eb.c.checked))
                .order_by(eb.c.tracker))
            return [(r[0], r[1]) for r in rows]

    async def holds_tracker(self: Transactional, room_id: int, poll_id: int, voter_id: int,
                            tracker: str) -> bool:
        """Whether the box holds this very ballot of `voter_id` (a retry after the close)."""
        eb = t.encrypted_ballots
        async with self._tx() as conn:
            held = (await conn.execute(sa.select(eb.c.tracker).where(sa.and_(
                eb.c.room_id == room_id, eb.c.poll_id == poll_id,
                eb.c.voter_id == voter_id)))).scalar_one_or_none()
        return held == tracker

    async def holds_receipt(self: Transactional, room_id: int, poll_id: int, secret: bool,
                            receipt: str, voter_id: int) -> bool:
        """Whether the box holds this ballot of `voter_id` (who has voted, and a ballot
        with this receipt is in; for a named poll, as theirs): how a retry after the close
        is told its ballot is in."""
        table = t.secret_ballots if secret else t.named_ballots
        pv = t.poll_voters
        where = [table.c.room_id == room_id, table.c.poll_id == poll_id,
                 table.c.receipt == receipt]
        if not secret:
            where.append(t.named_ballots.c.voter_id == voter_id)
        async with self._tx() as conn:
            marked = (await conn.execute(sa.select(pv.c.voter_id).where(sa.and_(
                pv.c.room_id == room_id, pv.c.poll_id == poll_id, pv.c.voter_id == voter_id)))
            ).first() is not None
            return marked and (await conn.execute(
                sa.select(table.c.receipt).where(sa.and_(*where)))).first() is not None

    async def my_ballot(
        self: Transactional, room_id: int, poll_id: int, voter_id: int, secret: bool,
        encrypted: bool = False,
    ) -> dict[str, Any]:
        """Whether `voter_id` has voted; for a named poll also their choices and receipt,
        for an encrypted one their ballot's tracker (`receipt`)."""
        pv = t.poll_voters
        if encrypted:
            eb = t.encrypted_ballots
            async with self._tx() as conn:
                tracker = (await conn.execute(sa.select(eb.c.tracker).where(sa.and_(
                    eb.c.room_id == room_id, eb.c.poll_id == poll_id,
                    eb.c.voter_id == voter_id)))).scalar_one_or_none()
            return {"voted": False} if tracker is None else {"voted": True,
                                                              "receipt": tracker}
        async with self._tx() as conn:
            voted = (await conn.execute(sa.select(pv.c.voter_id).where(sa.and_(
                pv.c.room_id == room_id, pv.c.poll_id == poll_id,
                pv.c.voter_id == voter_id)))).first() is not None
            if secret or not voted:
                return {"voted": voted}
            nb = t.named_ballots
            row = (await conn.execute(sa.select(nb.c.choices, nb.c.receipt).where(sa.and_(
                nb.c.room_id == room_id, nb.c.poll_id == poll_id,
                nb.c.voter_id == voter_id)))).first()
        if row is None:
            return {"voted": True}
        return {"voted": True, "choices": orjson.loads(row[0]), "receipt": row[1]}

    async def named_ballots(self: Transactional, room_id: int, poll_id: int
                            ) -> list[dict[str, Any]]:
        """A named poll's ballots: who voted what (and who cast it), by voter id."""
        nb = t.named_ballots
        async with self._tx() as conn:
            rows = await conn.execute(
                sa.select(nb.c.voter_id, nb.c.cast_by, nb.c.choices, nb.c.receipt)
                .where(sa.and_(nb.c.room_id == room_id, nb.c.poll_id == poll_id))
                .order_by(nb.c.voter_id))
            return [{"voter_id": int(r[0]), "cast_by": int(r[1]),
                     "choices": orjson.loads(r[2]), "receipt": r[3]} for r in rows]


async def _cast(
    store: Transactional, room_id: int, poll_id: int, secret: bool, allow_change: bool,
    ballots: Sequence[BallotIn],
) -> tuple[list[str], int]:
    """One batch in one transaction (see `BallotBoxStore.cast_ballots`)."""
    async with store._tx() as conn:
        status = await _lock_box(conn, store.is_sqlite, room_id, poll_id)
        if status != "open":
            return [BOX_CLOSED] * len(ballots), 0
        fates: list[str] = [""] * len(ballots)
        first = _first_of_each_voter(ballots)
        new = await _mark(conn, store.is_sqlite, room_id, poll_id, list(first))
        fresh: list[BallotIn] = []
        for i, b in enumerate(ballots):
            if first[b.voter_id] == i and b.voter_id in new:
                fates[i] = CAST
                fresh.append(b)
        table = t.secret_ballots if secret else t.named_ballots
        if fresh:
            await conn.execute(table.insert(), _rows(room_id, poll_id, secret, fresh))
        for i, b in enumerate(ballots):
            if not fates[i]:
                fates[i] = await _again(conn, room_id, poll_id, secret, allow_change, b)
        result = await conn.execute(
            t.poll_boxes.update().where(_box(room_id, poll_id))
            .values(voters=t.poll_boxes.c.voters + len(fresh))
            .returning(t.poll_boxes.c.voters))
        return fates, int(result.scalar_one())


async def _cast_in_one_statement(
    store: Transactional, room_id: int, poll_id: int, secret: bool, allow_change: bool,
    ballots: Sequence[BallotIn],
) -> tuple[list[str], int]:
    """PostgreSQL: the batch's first ballot of each member in one statement, so one round
    trip (`_CAST_NAMED`, `_CAST_SECRET`); what is left (a member who has voted already: a
    retry or a change) goes through `_again` in a transaction of its own."""
    first = _first_of_each_voter(ballots)
    fresh = [ballots[i] for i in first.values()]
    if secret:
        _shuffle(fresh)  # the batch's order is the order the ballots arrived in: drop it
    params: dict[str, Any] = {
        "room_id": room_id, "poll_id": poll_id, "voters": [b.voter_id for b in fresh],
        "choices": [_choices(b.choices) for b in fresh],
        "receipts": [b.receipt for b in fresh]}
    if secret:
        params["keys"] = [secrets.token_hex(16) for _ in fresh]
    else:
        params["cast_by"] = [b.cast_by for b in fresh]
    statement = _CAST_SECRET if secret else _CAST_NAMED
    async with store._statement() as conn:
        row = (await conn.execute(statement, params)).one()
        if row.status is None:  # the poll's first ballots: its box row does not exist yet
            await conn.execute(postgresql.insert(t.poll_boxes).values(
                room_id=room_id, poll_id=poll_id, status="open", voters=0
            ).on_conflict_do_nothing())
            row = (await conn.execute(statement, params)).one()
    if row.status != "open":
        return [BOX_CLOSED] * len(ballots), 0
    new = set(row.new_voters)
    fates = [CAST if first[b.voter_id] == i and b.voter_id in new else ""
             for i, b in enumerate(ballots)]
    if all(fates):
        return fates, int(row.voters)
    async with store._tx() as conn:
        status = await _lock_box(conn, False, room_id, poll_id)
        for i, b in enumerate(ballots):
            if not fates[i]:
                fates[i] = (BOX_CLOSED if status != "open" else
                            await _again(conn, room_id, poll_id, secret, allow_change, b))
    return fates, int(row.voters)


# One statement, one transaction: lock the box row and read its status (a seal committed
# meanwhile is seen: FOR UPDATE reads the newest row), mark the members who had not voted,
# store exactly their ballots, and count them. Every part writes only while the box is open.
_CAST_HEAD = """
    WITH box AS (
        SELECT status FROM poll_boxes
        WHERE room_id = :room_id AND poll_id = :poll_id FOR UPDATE),
    marked AS (
        INSERT INTO poll_voters (room_id, poll_id, voter_id)
        SELECT :room_id, :poll_id, v FROM unnest(CAST(:voters AS BIGINT[])) AS v
        WHERE (SELECT status FROM box) = 'open'
        ON CONFLICT DO NOTHING
        RETURNING voter_id),
"""
_CAST_TAIL = """
    counted AS (
        UPDATE poll_boxes SET voters = voters + (SELECT count(*) FROM marked)
        WHERE room_id = :room_id AND poll_id = :poll_id AND (SELECT status FROM box) = 'open'
        RETURNING voters)
    SELECT (SELECT status FROM box) AS status, (SELECT voters FROM counted) AS voters,
           ARRAY(SELECT voter_id FROM marked) AS new_voters
"""
_CAST_NAMED = sa.text(_CAST_HEAD + """
    stored AS (
        INSERT INTO named_ballots (room_id, poll_id, voter_id, cast_by, choices, receipt)
        SELECT :room_id, :poll_id, b.voter_id, b.cast_by, b.choices, b.receipt
        FROM unnest(CAST(:voters AS BIGINT[]), CAST(:cast_by AS BIGINT[]),
                    CAST(:choices AS TEXT[]), CAST(:receipts AS TEXT[]))
             AS b(voter_id, cast_by, choices, receipt)
        WHERE b.voter_id IN (SELECT voter_id FROM marked)),
""" + _CAST_TAIL)
# The voter ids come in only to pick the ballots of members just marked; they are not
# stored with the ballots, whose keys are random and whose order was shuffled.
_CAST_SECRET = sa.text(_CAST_HEAD + """
    stored AS (
        INSERT INTO secret_ballots (room_id, poll_id, ballot_key, choices, receipt)
        SELECT :room_id, :poll_id, b.ballot_key, b.choices, b.receipt
        FROM unnest(CAST(:voters AS BIGINT[]), CAST(:keys AS TEXT[]),
                    CAST(:choices AS TEXT[]), CAST(:receipts AS TEXT[]))
             AS b(voter_id, ballot_key, choices, receipt)
        WHERE b.voter_id IN (SELECT voter_id FROM marked)),
""" + _CAST_TAIL)


def _cast_encrypted_sqlite(db: sqlite3.Connection, room_id: int, poll_id: int,
                           allow_change: bool, ballots: Sequence[EncryptedIn]
                           ) -> tuple[list[str], int]:
    """`cast_encrypted` on SQLite, in the transaction `_in_one_hop` holds, as plain
    `sqlite3` calls on the driver's thread. The batch goes in as one JSON array, so the
    whole batch is a few statements: a statement per ballot would hand the GIL to the busy
    event loop and wait to get it back (up to 5 ms) once per row."""
    db.execute("INSERT INTO poll_boxes (room_id, poll_id, status, voters) "
               "VALUES (?, ?, 'open', 0) ON CONFLICT DO NOTHING", (room_id, poll_id))
    status = db.execute("SELECT status FROM poll_boxes WHERE room_id = ? AND poll_id = ?",
                        (room_id, poll_id)).fetchone()[0]
    if status != "open":
        return [BOX_CLOSED] * len(ballots), 0
    first = _first_of_each_voter(ballots)
    held = dict(db.execute(
        "SELECT voter_id, tracker FROM encrypted_ballots WHERE room_id = ? AND poll_id = ? "
        "AND voter_id IN (SELECT value FROM json_each(?))",
        (room_id, poll_id, orjson.dumps(list(first)).decode())).fetchall())
    fresh = [i for voter, i in first.items() if voter not in held]
    db.execute(
        "INSERT INTO encrypted_ballots (room_id, poll_id, voter_id, tracker, ballot, checked) "
        "SELECT ?, ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
        "json_extract(value, '$[2]'), 0 FROM json_each(?)",
        (room_id, poll_id, orjson.dumps(
            [(ballots[i].voter_id, ballots[i].tracker, ballots[i].ballot) for i in fresh]
        ).decode()))
    fates = [""] * len(ballots)
    for i in fresh:
        fates[i] = CAST
    for i, b in enumerate(ballots):
        if fates[i]:
            continue
        tracker = held.get(b.voter_id)
        if tracker is None:  # this voter's first ballot of the batch was just stored
            tracker = ballots[first[b.voter_id]].tracker
        if tracker == b.tracker:
            fates[i] = DUPLICATE
        elif not allow_change:
            fates[i] = ALREADY_VOTED
        else:  # the member's own row, and only it: the key is the voter
            db.execute("UPDATE encrypted_ballots SET tracker = ?, ballot = ?, checked = 0 "
                       "WHERE room_id = ? AND poll_id = ? AND voter_id = ?",
                       (b.tracker, b.ballot, room_id, poll_id, b.voter_id))
            held[b.voter_id] = b.tracker
            fates[i] = CAST
    voters = db.execute("UPDATE poll_boxes SET voters = voters + ? WHERE room_id = ? AND "
                        "poll_id = ? RETURNING voters",
                        (len(fresh), room_id, poll_id)).fetchone()[0]
    return fates, int(voters)


def _settle_checks_sqlite(db: sqlite3.Connection, room_id: int, poll_id: int,
                          checks: Sequence[BallotCheck], sealer: bool) -> list[BallotCheck]:
    """`settle_checks` on SQLite, in the transaction `_in_one_hop` holds: the valid
    ballots marked in one statement (a JSON array), the invalid ones (rare) one by one."""
    status = db.execute("SELECT status FROM poll_boxes WHERE room_id = ? AND poll_id = ?",
                        (room_id, poll_id)).fetchone()
    if status is None or status[0] != ("sealed" if sealer else "open"):
        return []
    valid = [(c.voter_id, c.tracker) for c in checks if c.valid]
    if valid:
        db.execute(
            "UPDATE encrypted_ballots SET checked = 1 WHERE room_id = ? AND poll_id = ? AND "
            "(voter_id, tracker) IN (SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]') FROM json_each(?))",
            (room_id, poll_id, orjson.dumps(valid).decode()))
    removed = [c for c in checks if not c.valid and db.execute(
        "DELETE FROM encrypted_ballots WHERE room_id = ? AND poll_id = ? AND voter_id = ? "
        "AND tracker = ? RETURNING voter_id",
        (room_id, poll_id, c.voter_id, c.tracker)).fetchone() is not None]
    if removed and not sealer:
        db.execute("UPDATE poll_boxes SET voters = voters - ? WHERE room_id = ? AND "
                   "poll_id = ?", (len(removed), room_id, poll_id))
    return removed


def _first_of_each_voter(ballots: Sequence[BallotIn | EncryptedIn]) -> dict[int, int]:
    """Voter -> the index of their first ballot in the batch (the one that may be new)."""
    first: dict[int, int] = {}
    for i, b in enumerate(ballots):
        first.setdefault(b.voter_id, i)
    return first


def _box(room_id: int, poll_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(t.poll_boxes.c.room_id == room_id, t.poll_boxes.c.poll_id == poll_id)


async def _lock_box(conn: AsyncConnection, is_sqlite: bool, room_id: int, poll_id: int) -> str:
    """Create the poll's box row if needed and lock it for this transaction; its status."""
    insert = (sqlite if is_sqlite else postgresql).insert(t.poll_boxes)
    await conn.execute(insert.values(room_id=room_id, poll_id=poll_id, status="open", voters=0)
                       .on_conflict_do_nothing())
    # SQLite has one writer at a time already; PostgreSQL takes the row lock here.
    row = await conn.execute(sa.select(t.poll_boxes.c.status)
                             .where(_box(room_id, poll_id)).with_for_update())
    return str(row.scalar_one())


async def _seal(conn: AsyncConnection, is_sqlite: bool, room_id: int, poll_id: int,
                discard: bool, delete_ballots: sa.Delete) -> str:
    """Lock the poll's box and, if still open, seal it (or discard it and its ballots,
    `delete_ballots`). The status it had ("open", "sealed"), or "discarded"."""
    status = await _lock_box(conn, is_sqlite, room_id, poll_id)
    if status == "open":
        await conn.execute(t.poll_boxes.update().where(_box(room_id, poll_id))
                           .values(status="discarded" if discard else "sealed"))
        if discard:
            await conn.execute(delete_ballots)
            return "discarded"
    return status


async def _mark(conn: AsyncConnection, is_sqlite: bool, room_id: int, poll_id: int,
                voters: list[int]) -> set[int]:
    """Mark `voters` as having voted; returns those who had not voted before."""
    # One statement shape for every batch (executemany), so SQLAlchemy compiles it once;
    # a multi-row VALUES would be a new statement to compile for each batch size.
    statement = _MARK_SQLITE if is_sqlite else _MARK_POSTGRESQL
    result = await conn.execute(
        statement, [{"room_id": room_id, "poll_id": poll_id, "voter_id": v} for v in voters])
    return {int(r[0]) for r in result}


_MARK_SQLITE = (sqlite.insert(t.poll_voters).on_conflict_do_nothing()
                .returning(t.poll_voters.c.voter_id))
_MARK_POSTGRESQL = (postgresql.insert(t.poll_voters).on_conflict_do_nothing()
                    .returning(t.poll_voters.c.voter_id))


def _rows(room_id: int, poll_id: int, secret: bool, ballots: list[BallotIn]
          ) -> list[dict[str, Any]]:
    if not secret:
        return [{"room_id": room_id, "poll_id": poll_id, "voter_id": b.voter_id,
                 "cast_by": b.cast_by, "choices": _choices(b.choices), "receipt": b.receipt}
                for b in ballots]
    rows = [{"room_id": room_id, "poll_id": poll_id, "ballot_key": secrets.token_hex(16),
             "choices": _choices(b.choices), "receipt": b.receipt} for b in ballots]
    _shuffle(rows)  # the batch's order is the order the ballots arrived in: drop it
    return rows


def _choices(choices: Sequence[int]) -> str:
    return orjson.dumps(sorted(choices)).decode()


async def _again(conn: AsyncConnection, room_id: int, poll_id: int, secret: bool,
                 allow_change: bool, b: BallotIn) -> str:
    """The fate of a ballot from a member who has voted already: a retry, a change, or no."""
    table = t.secret_ballots if secret else t.named_ballots
    of_poll = sa.and_(table.c.room_id == room_id, table.c.poll_id == poll_id)
    same = await conn.execute(sa.select(table.c.receipt).where(
        sa.and_(of_poll, table.c.receipt == b.receipt)))
    if same.first() is not None:
        return DUPLICATE  # the same command again: its ballot is in
    if not allow_change:
        return ALREADY_VOTED
    if not secret:
        await conn.execute(table.update().where(sa.and_(of_poll, table.c.voter_id == b.voter_id))
                           .values(choices=_choices(b.choices), receipt=b.receipt,
                                   cast_by=b.cast_by))
        return CAST
    if b.replaces is None:
        return ALREADY_VOTED
    gone = await conn.execute(table.delete().where(sa.and_(of_poll, table.c.receipt == b.replaces)))
    if not gone.rowcount:
        return NO_SUCH_RECEIPT
    await conn.execute(table.insert(), _rows(room_id, poll_id, True, [b]))
    return CAST


async def _rewrite_shuffled(conn: AsyncConnection, room_id: int, poll_id: int) -> None:
    """Rewrite a secret box in a random order with new keys (PostgreSQL keeps rows in the
    order they were written; after this, that order is the shuffle's)."""
    # One statement, in the database: the rows go out and come back in the order of their
    # new keys, drawn by PostgreSQL's strong random generator (gen_random_uuid).
    await conn.execute(_REWRITE_SECRET, {"room_id": room_id, "poll_id": poll_id})


_REWRITE_SECRET = sa.text("""
    WITH gone AS (
        DELETE FROM secret_ballots WHERE room_id = :room_id AND poll_id = :poll_id
        RETURNING choices, receipt)
    INSERT INTO secret_ballots (room_id, poll_id, ballot_key, choices, receipt)
    SELECT :room_id, :poll_id, replace(gen_random_uuid()::text, '-', ''), choices, receipt
    FROM gone ORDER BY 3""")
