"""Is a room's record sound? Its log's hash chain (store/chain.py), the time-stamps of
its head, and its sealed ballot boxes against the results the log records
(voting/recount.py).

Checked when a room loads (`check_chain`, `check_boxes`: a room that fails is not
loaded, and the refusal names the first broken seq or the poll) and by `phonghop audit
verify` over every room (`audit_rooms`, which also replays each log from its first event
and compares the stored snapshot). `audit_rooms` and `audit_database` are the library
calls for other tools (a restore checks what it restored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from phonghop.meeting_room import (
    Poll,
    apply,
    box_problem,
    encrypted_recount,
    plain_mismatch,
    recounted,
)
from phonghop.rooms import RoomState
from phonghop.rooms.rejections import Rejection
from phonghop.store.base import Store
from phonghop.store.chain import ChainBreak, ChainCheck

log = logging.getLogger(__name__)

CHUNK = 2000  # events read (and checked) at a time
SESSION_END = "session.ended"
PROBLEMS = {  # what each break means, for people
    "missing": ("thiếu sự kiện (đã bị xoá hoặc đánh số lại)",
                "the event is missing (removed, or the log renumbered)"),
    "link": ("không nối với sự kiện trước (bị chèn, xoá hoặc đổi thứ tự)",
             "it does not link to the event before (inserted, removed or reordered)"),
    "hash": ("nội dung hoặc mã băm đã bị sửa", "its content or its hash was changed"),
    "stamp": ("khác với mã băm đã được cấp dấu thời gian",
              "it differs from the hash that was time-stamped"),
}


class RoomRefused(Exception):
    """The room is not loaded: its record fails a check. `rejection` is what users get."""

    def __init__(self, room_id: int, rejection: Rejection) -> None:
        super().__init__(f"room {room_id}: {rejection.code}")
        self.room_id = room_id
        self.rejection = rejection


class LogBroken(RoomRefused):
    """The room's hash chain does not hold from `broken.seq` on."""

    def __init__(self, room_id: int, broken: ChainBreak) -> None:
        super().__init__(room_id, Rejection("log_broken", {"seq": broken.seq}))
        self.broken = broken


class CountMismatch(RoomRefused):
    """A closed poll's recorded result does not follow from its sealed ballot box."""

    def __init__(self, room_id: int, poll_id: int, problem: str) -> None:
        super().__init__(room_id, Rejection("count_mismatch", {"poll_id": poll_id}))
        self.poll_id = poll_id
        self.problem = problem


# ---- the chain ----


async def walk_chain(store: Store, room_id: int, watch: frozenset[int] = frozenset()
                     ) -> ChainCheck:
    """Check the room's whole chain, `CHUNK` events at a time (the event loop runs
    between chunks); the hashes of the events in `watch` are kept (`seen`)."""
    check = ChainCheck(room_id, watch)
    while True:
        rows = await store.log_rows(room_id, check.seq, CHUNK)
        if not rows or check.feed(rows) is not None or len(rows) < CHUNK:
            return check


async def chain_problem(store: Store, room_id: int) -> tuple[ChainCheck, ChainBreak | None]:
    """Walk the chain and hold it against the stored time-stamps of its head: the first
    break, if any (a time-stamped seq past the end of the log is `missing`)."""
    stamps = await store.log_stamps(room_id)
    check = await walk_chain(store, room_id, frozenset(s.seq for s in stamps))
    if check.broken is not None:
        return check, check.broken
    for stamp in stamps:
        if stamp.seq > check.seq:
            return check, ChainBreak(check.seq + 1, "missing")
        if check.seen.get(stamp.seq) != stamp.hash:
            return check, ChainBreak(stamp.seq, "stamp")
    return check, None


async def check_chain(store: Store, room_id: int) -> ChainCheck:
    """The room's chain, checked; `LogBroken` (logged, without any event's content) if it
    does not hold."""
    check, broken = await chain_problem(store, room_id)
    if broken is not None:
        log.error("room %s: log broken at seq %s (%s): the room is not loaded",
                  room_id, broken.seq, broken.problem)
        raise LogBroken(room_id, broken)
    return check


# ---- the ballot boxes ----


async def box_mismatch(store: Store, room_id: int, poll: Poll) -> str | None:
    """Why a closed poll's result does not follow from its ballot box, or None."""
    kind = recounted(poll)
    if kind is None:
        return None
    status, box = await store.box_holds(room_id, poll.id, kind)
    if problem := box_problem(status):
        return problem
    if kind == "encrypted":  # thousands of points to add up, and proofs: off the loop
        return await asyncio.to_thread(encrypted_recount, poll, box.ballots)
    return plain_mismatch(poll, box.choices, len(box.receipts))


async def check_boxes(store: Store, room_id: int, state: RoomState) -> None:
    """Recount every closed poll of the room from its sealed box; `CountMismatch`
    (logged, naming the poll only) at the first that differs."""
    for poll in sorted(state.polls.values(), key=lambda p: p.id):
        problem = await box_mismatch(store, room_id, poll)
        if problem is not None:
            log.error("room %s: poll %s does not match its ballot box (%s): the room is "
                      "not loaded", room_id, poll.id, problem)
            raise CountMismatch(room_id, poll.id, problem)


# ---- every room: `phonghop audit verify` ----


@dataclass(frozen=True)
class RoomAudit:
    """What `audit_rooms` found in one room."""

    room_id: int
    seq: int  # the last event whose chain holds
    head: bytes  # its hash
    broken: ChainBreak | None = None
    polls: dict[int, str] = field(default_factory=dict)  # poll -> why it does not recount
    snapshot: int | None = None  # the seq of a stored snapshot that differs from the log
    session_end: tuple[int, bytes] | None = None  # the head printed in the minutes

    @property
    def ok(self) -> bool:
        return self.broken is None and not self.polls and self.snapshot is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"meeting": self.room_id, "ok": self.ok, "seq": self.seq,
                               "head": self.head.hex()}
        if self.broken is not None:
            out["broken"] = {"seq": self.broken.seq, "problem": self.broken.problem}
        if self.polls:
            out["polls"] = {str(k): v for k, v in sorted(self.polls.items())}
        if self.snapshot is not None:
            out["snapshot"] = self.snapshot
        if self.session_end is not None:
            out["session_end"] = {"seq": self.session_end[0],
                                  "hash": self.session_end[1].hex()}
        return out


async def _replayed(store: Store, room_id: int, snapshot_seq: int | None
                    ) -> tuple[RoomState, RoomState | None]:
    """The room replayed from its first event, and its state at `snapshot_seq`."""
    state, at_snapshot, after = RoomState(), None, 0
    while True:
        events = await store.events_after(room_id, after, CHUNK)
        for event in events:
            state = apply(state, event)
            if event.seq == snapshot_seq:
                at_snapshot = state
        if len(events) < CHUNK:
            return state, at_snapshot
        after = events[-1].seq


async def audit_room(store: Store, room_id: int) -> RoomAudit:
    """Check one room: its chain and stamps; then, if the chain holds, its log replayed
    from the first event against the stored snapshot, and every closed poll against its
    box."""
    check, broken = await chain_problem(store, room_id)
    if broken is not None:
        return RoomAudit(room_id, check.seq, check.head, broken)
    snap = await store.load_snapshot(room_id)
    state, at_snapshot = await _replayed(store, room_id, snap[0] if snap else None)
    stale = None
    if snap is not None and (at_snapshot is None
                             or RoomState.model_validate_json(snap[1]) != at_snapshot):
        stale = snap[0]
    polls = {}
    for poll in state.polls.values():
        if (problem := await box_mismatch(store, room_id, poll)) is not None:
            polls[poll.id] = problem
    return RoomAudit(room_id, check.seq, check.head, polls=polls, snapshot=stale,
                     session_end=await store.last_event_of(room_id, SESSION_END))


async def audit_rooms(store: Store, meeting: int | None = None) -> list[RoomAudit]:
    """Check every room of the store (or one meeting; [] if it has no log)."""
    rooms = await store.log_rooms()
    if meeting is not None:
        rooms = [r for r in rooms if r == meeting]
    return [await audit_room(store, room) for room in rooms]


def audit_database(url: str, meeting: int | None = None) -> list[RoomAudit]:
    """`audit_rooms` on the database at `url` (opened, and migrated, for the call)."""
    from phonghop.store.sql import SqlStore

    async def run() -> list[RoomAudit]:
        store = SqlStore(url)
        await store.open()
        try:
            return await audit_rooms(store, meeting)
        finally:
            await store.close()

    return asyncio.run(run())


# ---- the command ----


def _line(a: RoomAudit) -> str:
    if a.broken is not None:
        vi, en = PROBLEMS[a.broken.problem]
        return (f"cuộc họp {a.room_id}: HỎNG tại sự kiện số {a.broken.seq}: {vi} / "
                f"meeting {a.room_id}: BROKEN at seq {a.broken.seq}: {en}")
    parts = []
    if a.ok:
        parts.append(f"cuộc họp {a.room_id}: OK, {a.seq} sự kiện / meeting {a.room_id}: OK, "
                     f"{a.seq} events; head {a.head.hex()}")
    else:
        parts.append(f"cuộc họp {a.room_id} / meeting {a.room_id}: chain OK to seq {a.seq}")
    for poll_id, problem in sorted(a.polls.items()):
        parts.append(f"  biểu quyết {poll_id}: KẾT QUẢ KHÔNG KHỚP HÒM PHIẾU / poll {poll_id}: "
                     f"RESULT DOES NOT MATCH ITS BOX ({problem})")
    if a.snapshot is not None:
        parts.append(f"  ảnh chụp trạng thái tại sự kiện {a.snapshot} khác với nhật ký / "
                     f"the stored snapshot at seq {a.snapshot} differs from the log")
    if a.session_end is not None:
        parts.append(f"  kết thúc phiên họp / session ended: seq {a.session_end[0]}, "
                     f"{a.session_end[1].hex()}")
    return "\n".join(parts)


def run(args: argparse.Namespace, url: str) -> int:
    """Print each room's verdict; 0 when every room holds, 1 when one does not, 2 when
    the meeting asked for has no log."""
    audits = audit_database(url, args.meeting)
    if args.meeting is not None and not audits:
        print(f"phonghop audit verify: không có cuộc họp {args.meeting} / no meeting "
              f"{args.meeting}", file=sys.stderr)
        return 2
    for a in audits:
        print(json.dumps(a.to_json(), ensure_ascii=False) if args.json else _line(a))
    bad = [a for a in audits if not a.ok]
    if not args.json:
        print(f"{len(audits)} cuộc họp, {len(bad)} có vấn đề / {len(audits)} meetings, "
              f"{len(bad)} with problems")
    return 1 if bad else 0
