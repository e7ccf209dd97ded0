"""A room's ballot box on this node: ballots checked by the core, committed in batches.

Ballots do not go through the room log: thousands arrive within a second, and the log
only needs the counts. They are checked against the room state (`voting.room`), queued,
and each batch is one store transaction (group commit); a ballot is acknowledged only
after its batch committed. Closing or cancelling a poll seals the box in the store first
(`prepare`), so a ballot racing the close is committed before the seal and counted, or
refused with `poll_closed`.

Encrypted ballots (secret polls) have every proof checked off the event loop before they
are queued for a commit (`server/ballot_checks.py`); a ballot whose proofs fail is refused
with `invalid_ballot` and nothing is stored. Sealing such a box adds up its ciphertexts:
the close carries the aggregate, which the counting board decrypts.

The box also reports progress (how many have voted, never what) as `poll.progress`
room events, at most a few a second, and closes polls whose time is up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from rooms import Actor, Command, Rejection
from rooms.rejections import invalid, not_found
from server import metrics
from server.ballot_checks import ChecksUnavailable, aggregate_ballots, verify_ballots
from store.base import Duplicate, Store, StoreError
from store.records import (
    ALREADY_VOTED,
    BOX_CLOSED,
    CAST,
    DUPLICATE,
    NO_SUCH_RECEIPT,
    BallotIn,
    EncryptedIn,
)
from voting import commands as v
from voting.counting_board import ballot_rules
from voting.model import Poll
from voting.room import check_ballot, may_seal, vote_for
from voting.secret.ballot import BallotRefusal
from voting.tally import count_choices

if TYPE_CHECKING:
    from server.room_host import RoomHost

log = logging.getLogger(__name__)

BATCH_MAX = 2000  # ballots committed together
PROGRESS_EVERY = 0.25  # seconds between progress reports while ballots arrive
SYSTEM = Actor(user_id=0, is_admin=True)  # the server itself: timers, progress reports


@dataclass(frozen=True)
class Voted:
    """A ballot committed to the box (or found there: a retry)."""

    poll_id: int
    receipt: str
    duplicate: bool = False


Reply = Callable[[Voted | Rejection], None]  # called once with a ballot's outcome


@dataclass
class _Pending:
    poll_id: int
    ballot: BallotIn | EncryptedIn
    reply: Reply
    answered: bool = False
    doc: dict[str, Any] | None = None  # an encrypted ballot's JSON, until checked
    checked: bool = False  # an encrypted ballot's proofs were checked (`refusal` if bad)
    refusal: Rejection | None = None


class BallotBox:
    """The ballot writer, progress reporter and poll timer of one room on this node."""

    def __init__(self, host: RoomHost, store: Store, clock: Callable[[], datetime]) -> None:
        self.host = host
        self.store = store
        self.clock = clock
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._voters: dict[int, int] = {}  # poll -> voters the store reported, not yet sent
        self._reporting: asyncio.TimerHandle | None = None
        self._shown: dict[int, int] = {}  # poll -> voters the room showed when armed
        self._reported: dict[int, int] = {}  # poll -> voters this node last reported
        self._reporting_task: dict[int, asyncio.Task[object]] = {}  # poll -> that report
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Encrypted ballots being checked, in the order they arrived (they enter the box in
        # that order, so a voter's later ballot is never overwritten by an earlier one),
        # and those that arrived in this turn of the event loop (checked as one group).
        self._checking: deque[_Pending] = deque()
        self._to_check: list[_Pending] = []
        self._check_soon = False

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name=f"ballots-{self.host.room_id}")
        self.arm_timers()

    def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
        for handle in [self._reporting, *self._timers.values()]:
            if handle is not None:
                handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        _settle(self._pending, [Rejection("store_unavailable")] * len(self._pending))
        self._pending.clear()
        _settle(list(self._checking), [Rejection("store_unavailable")] * len(self._checking))
        self._checking.clear()
        self._to_check.clear()

    # ---- ballots ----

    def cast(self, actor: Actor, ballot: v.VoteCast, reply: Reply) -> None:
        """Check a ballot and queue it for the box. `reply` is called once with the outcome:
        at once when refused, else once its batch committed (from the batch's own turn of
        the event loop: thousands of ballots a second wake no task each)."""
        state = self.host.state
        member = check_ballot(state, ballot, actor.user_id, actor.is_admin, self.clock())
        if isinstance(member, Rejection):
            if member.code == "poll_closed":
                self._spawn(self._late_retry(ballot, vote_for(state, actor.user_id), member,
                                             _counted(reply)))
            else:
                metrics.BALLOTS_REFUSED.inc()
                reply(member)
            return
        if ballot.ballot is not None:  # checked by the core: an encrypted poll, the caller's
            # Its proofs are checked as soon as it arrives, while earlier ballots are being
            # committed: it enters the box once checked (see `_check`).
            pending = _Pending(ballot.poll_id, EncryptedIn(member, "", ""), reply,
                               doc=ballot.ballot)
            self._checking.append(pending)
            self._to_check.append(pending)
            if not self._check_soon:
                self._check_soon = True
                asyncio.get_running_loop().call_soon(self._start_checks)
            return
        else:
            assert ballot.choices is not None and ballot.receipt is not None
            entry = BallotIn(voter_id=member, cast_by=actor.user_id,
                             choices=tuple(ballot.choices), receipt=ballot.receipt,
                             replaces=ballot.replaces)
            self._pending.append(_Pending(ballot.poll_id, entry, reply))
        self._wake.set()

    async def _late_retry(self, ballot: v.VoteCast, member: int | None,
                          refusal: Rejection, reply: Reply) -> None:
        """After the close, a ballot sent again (its ack was lost) is still answered as
        counted when the box holds it; anything else is too late."""
        poll = self.host.state.polls[ballot.poll_id]
        if member is None or not poll.electronic:
            reply(refusal)
            return
        receipt = ballot.receipt
        if poll.encrypted:
            if ballot.ballot is None or ballot.ballot.get("voter") != str(member):
                reply(refusal)
                return
            try:
                [verdict] = await verify_ballots(ballot_rules(poll), [ballot.ballot])
            except ChecksUnavailable:
                reply(Rejection("busy"))
                return
            if isinstance(verdict, BallotRefusal):
                reply(refusal)
                return
            receipt = verdict
        if receipt is None:
            reply(refusal)
            return
        try:
            if poll.encrypted:
                held = await self.store.holds_tracker(self.host.room_id, poll.id, member,
                                                      receipt)
            else:
                held = await self.store.holds_receipt(self.host.room_id, poll.id, poll.secret,
                                                      receipt, member)
        except StoreError:
            reply(Rejection("store_unavailable"))
            return
        reply(Voted(poll.id, receipt, duplicate=True) if held else refusal)

    def _start_checks(self) -> None:
        """Check the encrypted ballots of this turn: one group per poll, one task each."""
        self._check_soon = False
        arrived, self._to_check = self._to_check, []
        by_poll: dict[int, list[_Pending]] = {}
        for p in arrived:
            by_poll.setdefault(p.poll_id, []).append(p)
        for poll_id, entries in by_poll.items():
            self._spawn(self._check(poll_id, entries))

    async def _check(self, poll_id: int, entries: list[_Pending]) -> None:
        """Every proof of these ballots, off the loop; then the checked ones, in order of
        arrival, go to the box (the refused ones are answered at once)."""
        poll = self.host.state.polls.get(poll_id)
        verdicts: list[BallotRefusal | str | Rejection]
        if poll is None:
            verdicts = [not_found("poll")] * len(entries)
        else:
            try:
                verdicts = list(await verify_ballots(ballot_rules(poll),
                                                     [p.doc for p in entries]))
            except ChecksUnavailable:  # nothing decided: the devices send the same again
                verdicts = [Rejection("busy")] * len(entries)
        for p, verdict in zip(entries, verdicts, strict=True):
            if isinstance(verdict, BallotRefusal):
                p.refusal = _invalid_ballot(verdict)
            elif isinstance(verdict, Rejection):
                p.refusal = verdict
            else:
                p.ballot = EncryptedIn(p.ballot.voter_id, verdict, orjson.dumps(p.doc).decode())
            p.doc = None
            p.checked = True
        self._release()

    def _release(self) -> None:
        """Move the checked ballots at the head of the line into the box's queue."""
        queued = False
        while self._checking and self._checking[0].checked:
            p = self._checking.popleft()
            if p.refusal is not None:
                _settle([p], [p.refusal])
            else:
                self._pending.append(p)
                queued = True
        if queued:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:BATCH_MAX]
                del self._pending[:BATCH_MAX]
                by_poll: dict[int, list[_Pending]] = {}
                for p in batch:
                    by_poll.setdefault(p.poll_id, []).append(p)
                for poll_id, entries in by_poll.items():
                    try:
                        await self._commit(poll_id, entries)
                    except Exception as exc:
                        # The class only: a ballot's content must never reach a log.
                        log.error("room %s: ballot batch failed: %s", self.host.room_id,
                                  type(exc).__name__)
                        _settle(entries, [Rejection("store_unavailable")] * len(entries))

    async def _commit(self, poll_id: int, entries: list[_Pending]) -> None:
        poll = self.host.state.polls.get(poll_id)
        if poll is None:
            _settle(entries, [not_found("poll")] * len(entries))
            return
        if poll.encrypted:
            await self._commit_encrypted(poll, entries)
            return
        ballots = [p.ballot for p in entries if isinstance(p.ballot, BallotIn)]
        started = time.perf_counter()
        try:
            fates, voters = await self.store.cast_ballots(
                self.host.room_id, poll_id, poll.secret, poll.allow_change, ballots)
            metrics.COMMIT_BALLOTS.observe(time.perf_counter() - started)
        except Duplicate:
            # A receipt some other ballot already carries: find it by committing one by one.
            for p in entries:
                await self._commit_alone(poll_id, p, poll.secret, poll.allow_change)
            return
        except StoreError as exc:
            log.warning("room %s: ballots not stored: %s", self.host.room_id,
                        type(exc).__name__)
            _settle(entries, [Rejection("store_unavailable")] * len(entries))
            return
        _settle(entries, [_answer(poll_id, b, f) for b, f in zip(ballots, fates, strict=True)])
        if voters:
            self._progress(poll_id, voters)

    async def _commit_encrypted(self, poll: Poll, good: list[_Pending]) -> None:
        """Commit checked ballots (`_check`) in one transaction and acknowledge each with
        its tracker."""
        ballots = [p.ballot for p in good if isinstance(p.ballot, EncryptedIn)]
        started = time.perf_counter()
        try:
            fates, voters = await self.store.cast_encrypted(
                self.host.room_id, poll.id, poll.allow_change, ballots)
            metrics.COMMIT_BALLOTS.observe(time.perf_counter() - started)
        except StoreError as exc:
            log.warning("room %s: ballots not stored: %s", self.host.room_id,
                        type(exc).__name__)
            _settle(good, [Rejection("store_unavailable")] * len(good))
            return
        _settle(good, [_answer_encrypted(poll.id, b, f) for b, f in zip(ballots, fates,
                                                                          strict=True)])
        if voters:
            self._progress(poll.id, voters)

    async def _commit_alone(self, poll_id: int, p: _Pending, secret: bool,
                            allow_change: bool) -> None:
        assert isinstance(p.ballot, BallotIn)
        try:
            fates, voters = await self.store.cast_ballots(
                self.host.room_id, poll_id, secret, allow_change, [p.ballot])
        except Duplicate:
            _settle([p], [invalid("receipt: another ballot has this receipt; draw another")])
            return
        except StoreError:
            _settle([p], [Rejection("store_unavailable")])
            return
        _settle([p], [_answer(poll_id, p.ballot, fates[0])])
        if voters:
            self._progress(poll_id, voters)

    # ---- progress ----

    def _progress(self, poll_id: int, voters: int) -> None:
        self._voters[poll_id] = max(voters, self._voters.get(poll_id, 0))
        if self._reporting is None:
            self._arm_report()

    def _arm_report(self) -> None:
        # What the room showed when the report was armed: if it moves before the report is
        # due, another node has just reported (the count is the whole box's, whichever node
        # reports it), so this one waits another period rather than report right after.
        self._shown = {pid: self._shown_voted(pid) for pid in self._voters}
        loop = asyncio.get_running_loop()
        self._reporting = loop.call_later(PROGRESS_EVERY, self._report)

    def _shown_voted(self, poll_id: int) -> int:
        poll = self.host.state.polls.get(poll_id)
        return poll.progress.voted if poll is not None and poll.progress is not None else 0

    def _report(self) -> None:
        self._reporting = None
        reports, self._voters = self._voters, {}
        for poll_id, voters in reports.items():
            shown = self._shown_voted(poll_id)
            if voters <= shown:
                continue  # the room already shows as many
            in_flight = self._reporting_task.get(poll_id)
            if (in_flight is not None and not in_flight.done()) or shown not in (
                    self._shown.get(poll_id, 0), self._reported.get(poll_id)):
                # The last report is not in the room yet (two would reach the chair in one
                # go), or another node reported meanwhile: report next period.
                self._voters[poll_id] = voters
                continue
            self._reported[poll_id] = voters
            self._reporting_task[poll_id] = self._spawn(
                self.host.submit(SYSTEM, v.PollProgress(poll_id=poll_id, voted=voters)))
        if self._voters:
            self._arm_report()

    # ---- closing ----

    async def prepare(self, actor: Actor, command: Command) -> Command:
        """Seal the box before `poll.close` (filling in its contents) or `poll.cancel`
        (discarding them). A command that would be refused is passed on unsealed, so the
        room answers it as usual (a refusal, or the ack of a retried command id)."""
        if not isinstance(command, v.PollClose | v.PollCancel):
            return command
        state = self.host.state
        if may_seal(state, command, actor.user_id, actor.is_admin) is not None:
            return command
        poll = state.polls[command.poll_id]
        if not poll.electronic or poll.status == "draft":
            return command
        if poll.encrypted:
            return await self._seal_encrypted(poll, command)
        sealed = await self.store.seal_box(self.host.room_id, poll.id, poll.secret,
                                           discard=isinstance(command, v.PollCancel))
        if isinstance(command, v.PollCancel):
            return command
        cast, votes = count_choices(poll, sealed.choices)
        box = v.BoxContents(cast=cast, votes=votes, receipts=len(sealed.receipts))
        return command.model_copy(update={"box": box})

    async def _seal_encrypted(self, poll: Poll, command: v.PollClose | v.PollCancel
                              ) -> Command:
        sealed = await self.store.seal_encrypted(self.host.room_id, poll.id,
                                                 discard=isinstance(command, v.PollCancel))
        if isinstance(command, v.PollCancel):
            return command
        totals = await aggregate_ballots(ballot_rules(poll), sealed.ballots)
        box = v.BoxContents(cast=len(sealed.ballots), votes={}, receipts=len(sealed.ballots),
                            aggregate=[v.CiphertextJson(**c) for c in totals])
        return command.model_copy(update={"box": box})

    def arm_timers(self) -> None:
        """Close each open poll when its time is up (every node arms it; the first close
        wins and the others are refused harmlessly)."""
        loop = asyncio.get_running_loop()
        open_polls = {p.id: p for p in self.host.state.polls.values() if p.status == "open"}
        for poll_id in [i for i in self._timers if i not in open_polls]:
            self._timers.pop(poll_id).cancel()
        for poll in open_polls.values():
            if poll.closes_at is None or poll.id in self._timers:
                continue
            due = datetime.fromisoformat(poll.closes_at.replace("Z", "+00:00"))
            delay = max(0.0, (due - self.clock()).total_seconds())
            self._timers[poll.id] = loop.call_later(
                delay, lambda pid=poll.id: self._spawn(self._close_due(pid)))

    async def _close_due(self, poll_id: int) -> None:
        self._timers.pop(poll_id, None)
        try:
            command = await self.prepare(SYSTEM, v.PollClose(poll_id=poll_id))
        except StoreError as exc:
            log.warning("room %s: poll %s not closed on time: %s", self.host.room_id,
                        poll_id, exc)
            asyncio.get_running_loop().call_later(1.0, lambda: self._spawn(
                self._close_due(poll_id)))
            return
        await self.host.submit(SYSTEM, command)

    def _spawn(self, work: object) -> asyncio.Task[object]:
        task = asyncio.ensure_future(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _invalid_ballot(refusal: BallotRefusal) -> Rejection:
    details: dict[str, Any] = {"problem": str(refusal.problem)}
    if refusal.option is not None:
        details["option"] = refusal.option
    return Rejection("invalid_ballot", details)


def _answer_encrypted(poll_id: int, ballot: EncryptedIn, fate: str) -> Voted | Rejection:
    if fate in (CAST, DUPLICATE):
        return Voted(poll_id, ballot.tracker, duplicate=fate == DUPLICATE)
    if fate == ALREADY_VOTED:
        return Rejection("already_voted")
    assert fate == BOX_CLOSED
    return Rejection("poll_closed")


def _answer(poll_id: int, ballot: BallotIn, fate: str) -> Voted | Rejection:
    if fate == CAST:
        return Voted(poll_id, ballot.receipt)
    if fate == DUPLICATE:
        return Voted(poll_id, ballot.receipt, duplicate=True)
    if fate == ALREADY_VOTED:
        return Rejection("already_voted")
    if fate == BOX_CLOSED:
        return Rejection("poll_closed")
    assert fate == NO_SUCH_RECEIPT
    return not_found("receipt")


def _counted(reply: Reply) -> Reply:
    """`reply`, counting its outcome in the metrics (answers given outside a batch)."""

    def answer(outcome: Voted | Rejection) -> None:
        (metrics.BALLOTS_ACKED if type(outcome) is Voted else metrics.BALLOTS_REFUSED).inc()
        reply(outcome)

    return answer


def _settle(entries: list[_Pending], results: list[Voted | Rejection]) -> None:
    acked = refused = 0
    for p, result in zip(entries, results, strict=True):
        if p.answered:
            continue
        p.answered = True
        if type(result) is Voted:
            acked += 1
        else:
            refused += 1
        try:
            p.reply(result)
        except Exception as exc:  # one voter's gone connection must not cost the others
            log.warning("a ballot's reply failed: %s", type(exc).__name__)
    metrics.BALLOTS_ACKED.inc(acked)  # once per batch
    metrics.BALLOTS_REFUSED.inc(refused)
