"""A room's ballot box on this node: ballots checked by the core, committed in batches.

Ballots do not go through the room log: thousands arrive within a second, and the log
only needs the counts. They are checked against the room state (`voting.room`), queued,
and each batch is one store transaction (group commit); a ballot is acknowledged only
after its batch committed. Closing or cancelling a poll seals the box in the store first
(`prepare`), so a ballot racing the close is committed before the seal and counted, or
refused with `poll_closed`.

Encrypted ballots (secret polls) enter the box as soon as they parse (their tracker is
the receipt) and are acknowledged when committed, like any ballot; their proofs are
checked right after, off the event loop (`server/ballot_checks.py`), and only a checked
ballot counts. While a burst pours in, the checks go one group at a time and the rest wait
until it has passed (two seconds at most; a close starts them at once): the processes
checking them would otherwise take the CPU the event loop needs to take ballots in
(`server/intake.py`). A ballot whose proofs fail is taken out of the box again and its voter's
connection told (`ballot_refused`; the device makes a fresh ballot): only a faulty or
dishonest device sends one. Checking after the ack keeps the ack as quick as a named
poll's (a proof check costs ≈ 1 ms of CPU a ballot: 6,300 of them are seconds on two
cores) while nothing unchecked is ever counted. Sealing such a box first waits for this
node's checks, then checks whatever is still unchecked (from another node, or from before
a restart), takes out what fails, and adds up the rest: the close carries the aggregate,
which the counting board decrypts.

The box also reports progress (how many have voted, never what) as `poll.progress`
room events, at most a few a second, and closes polls whose time is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from phonghop.rooms import Actor, Command, Event, Rejection, RoomState
from phonghop.rooms.events import SERVER
from phonghop.rooms.rejections import invalid, not_found
from phonghop.server import ballot_checks, metrics
from phonghop.server.ballot_checks import ChecksUnavailable, aggregate_ballots, verify_ballots
from phonghop.server.group_commit import GroupCommit
from phonghop.server.intake import BUCKET, MAX_HOLD, TRICKLE, Intake
from phonghop.store.base import Duplicate, StoreError
from phonghop.store.ports import Ballots
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
from phonghop.voting import commands as v
from phonghop.voting.counting_board import ballot_rules
from phonghop.voting.model import Poll
from phonghop.voting.room import check_ballot, may_seal, vote_for
from phonghop.voting.secret.ballot import BallotRefusal, BallotRules
from phonghop.voting.secret.fast import PollVerifier, verifier_for
from phonghop.voting.tally import count_choices

log = logging.getLogger(__name__)

BATCH_MAX = 2000  # ballots committed together
# Batches being committed at once. A commit's answer waits for turns of the event loop,
# which in a burst take hundreds of milliseconds each: the ballots that arrive meanwhile
# go to the store at once, not after it (docs/PERFORMANCE.md, "One hand-over a batch").
COMMITS_IN_FLIGHT = 3
CHECK_GROUP = 512  # ballots whose verdicts are recorded in one transaction
CHECKS_TIMEOUT = 30.0  # seconds the seal waits for this node's checks before doing them
PROGRESS_EVERY = 0.25  # seconds between progress reports while ballots arrive


@dataclass(frozen=True)
class Voted:
    """A ballot committed to the box (or found there: a retry)."""

    poll_id: int
    receipt: str
    duplicate: bool = False


Reply = Callable[[Voted | Rejection], None]  # called once with a ballot's outcome
# Called when an acknowledged encrypted ballot is taken out again: (poll, tracker, why).
Refused = Callable[[int, str, Rejection], None]


@dataclass
class _Pending:
    poll_id: int
    ballot: BallotIn | EncryptedIn
    reply: Reply
    answered: bool = False
    doc: dict[str, Any] | None = None  # an encrypted ballot's JSON, until checked
    refused: Refused | None = None


@dataclass
class _Unchecked:
    """An encrypted ballot in the box whose proofs are being checked on this node."""

    voter_id: int
    tracker: str
    doc: dict[str, Any]
    refused: Refused | None


class BallotRoom(Protocol):
    """What the ballot box uses of its room (server/room_host.py): the room's state, to
    check ballots and find polls, and the room's command queue, for the progress
    reports and the polls' timed closes."""

    room_id: int

    @property
    def state(self) -> RoomState: ...

    async def submit(self, actor: Actor, command: Command,
                     command_id: str | None = None) -> object: ...


class HasParts(Protocol):
    """A room host with its parts (server/room_host.py, `RoomHost.parts`)."""

    @property
    def parts(self) -> Sequence[object]: ...


# Events after which the polls' timers are armed again.
POLL_TIMING = frozenset({"poll.opened", "poll.closed", "poll.cancelled"})


class BallotBox:
    """The ballot writer, progress reporter and poll timer of one room on this node: one
    of the room's parts (`RoomHost.parts`; server/node.py, `ROOM_PARTS`)."""

    @staticmethod
    def of(host: HasParts) -> BallotBox:
        """The room's ballot box."""
        for part in host.parts:
            if isinstance(part, BallotBox):
                return part
        raise LookupError("this room has no ballot box")

    def __init__(self, host: BallotRoom, store: Ballots,
                 clock: Callable[[], datetime]) -> None:
        self.host = host
        self.store = store
        self.clock = clock
        self._writer: GroupCommit[_Pending] = GroupCommit(
            f"ballots-{host.room_id}", self._commit_batch, self._batch_failed,
            batch_max=BATCH_MAX, in_flight=COMMITS_IN_FLIGHT)
        self._voters: dict[int, int] = {}  # poll -> voters the store reported, not yet sent
        self._reporting: asyncio.TimerHandle | None = None
        self._shown: dict[int, int] = {}  # poll -> voters the room showed when armed
        self._reported: dict[int, int] = {}  # poll -> voters this node last reported
        self._reporting_task: dict[int, asyncio.Task[object]] = {}  # poll -> that report
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Encrypted ballots committed and not yet sent to be checked (held back while a
        # burst arrives: `server/intake.py`), to check as one group per poll; how many of
        # each poll are being checked, and an event set when none is (the seal waits for it
        # rather than check them a second time).
        self._intake = Intake()
        self._to_check: list[tuple[int, _Unchecked]] = []
        self._held_since: float | None = None  # when the oldest of `_to_check` came
        self._check_call: asyncio.Handle | None = None  # `_start_checks`, when scheduled
        self._trickling = 0  # groups checked while a burst arrives, being checked
        self._sealing = 0  # seals waiting for this node's checks: nothing is held back
        self._checking: dict[int, int] = {}
        self._checked: dict[int, asyncio.Event] = {}
        self._verifiers: dict[int, tuple[str | None, PollVerifier]] = {}  # poll -> (key, …)

    def start(self) -> None:
        self._writer.start()
        self.arm_timers()

    def stop(self) -> None:
        for handle in [self._reporting, self._check_call, *self._timers.values()]:
            if handle is not None:
                handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        left = self._writer.stop()
        _settle(left, [Rejection("store_unavailable")] * len(left))
        self._check_call = None
        self._held_since = None
        self._trickling = 0
        # In the box, unchecked: the sealer checks them; nobody waits for these checks.
        self._to_check.clear()
        self._checking.clear()
        for event in self._checked.values():
            event.set()
        self._checked.clear()

    # ---- ballots ----

    def cast(self, actor: Actor, ballot: v.VoteCast, reply: Reply,
             refused: Refused | None = None) -> None:
        """Check a ballot and queue it for the box. `reply` is called once with the outcome:
        at once when refused, else once its batch committed (from the batch's own turn of
        the event loop: thousands of ballots a second wake no task each). `refused` is
        called if an acknowledged encrypted ballot's proofs fail (it is taken out)."""
        self._intake.arrived(asyncio.get_running_loop().time())
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
            # Parsed here (its tracker is the receipt); its proofs once it is in the box.
            received = self._verifier(state.polls[ballot.poll_id]).receive(ballot.ballot)
            if isinstance(received, BallotRefusal):
                metrics.BALLOTS_REFUSED.inc()
                reply(_invalid_ballot(received))
                return
            entry = EncryptedIn(member, received, orjson.dumps(ballot.ballot).decode())
            self._writer.put(_Pending(ballot.poll_id, entry, reply, doc=ballot.ballot,
                                      refused=refused))
        else:
            assert ballot.choices is not None and ballot.receipt is not None
            entry = BallotIn(voter_id=member, cast_by=actor.user_id,
                             choices=tuple(ballot.choices), receipt=ballot.receipt,
                             replaces=ballot.replaces)
            self._writer.put(_Pending(ballot.poll_id, entry, reply))

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
            received = self._verifier(poll).receive(ballot.ballot)
            # The box holds only checked ballots once sealed: a tracker found is counted.
            receipt = None if isinstance(received, BallotRefusal) else received
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

    def _verifier(self, poll: Poll) -> PollVerifier:
        """The poll's ballot checker (its key is fixed once the poll is open)."""
        key = poll.board.public_key if poll.board is not None else None
        cached = self._verifiers.get(poll.id)
        if cached is None or cached[0] != key:
            cached = (key, verifier_for(ballot_rules(poll)))
            self._verifiers[poll.id] = cached
        return cached[1]

    def _to_checks(self, poll_id: int, unchecked: list[_Unchecked]) -> None:
        """Check these ballots, just committed, with the others of this turn (or, while a
        burst arrives, with those held back since)."""
        self._checking[poll_id] = self._checking.get(poll_id, 0) + len(unchecked)
        self._checked.setdefault(poll_id, asyncio.Event()).clear()
        self._to_check += [(poll_id, u) for u in unchecked]
        loop = asyncio.get_running_loop()
        if self._held_since is None:
            self._held_since = loop.time()
        if self._check_call is None:
            self._check_call = loop.call_soon(self._start_checks)

    def _start_checks(self) -> None:
        """Check the encrypted ballots waiting, in groups of `CHECK_GROUP` per poll, a task
        each. While ballots pour in, one group of `TRICKLE` at a time and the rest held
        back, for `MAX_HOLD` at most, unless a seal waits for them."""
        loop = asyncio.get_running_loop()
        if self._check_call is not None:
            self._check_call.cancel()
            self._check_call = None
        if not self._to_check:
            self._held_since = None
            return
        t = loop.time()
        held = self._held_since if self._held_since is not None else t
        if not self._sealing and self._intake.busy(t) and t - held < MAX_HOLD:
            if not self._trickling:  # one group at a time goes on (about one core's worth:
                # the loop keeps the rest), and the close has less left to wait for
                self._release(self._to_check[:TRICKLE], trickle=True)
                del self._to_check[:TRICKLE]
            if self._to_check:
                self._check_call = loop.call_later(BUCKET / 2, self._start_checks)
            else:
                self._held_since = None
            return
        self._held_since = None
        arrived, self._to_check = self._to_check, []
        self._release(arrived)

    def _release(self, arrived: list[tuple[int, _Unchecked]], trickle: bool = False) -> None:
        by_poll: dict[int, list[_Unchecked]] = {}
        for poll_id, u in arrived:
            by_poll.setdefault(poll_id, []).append(u)
        for poll_id, ballots in by_poll.items():
            # In groups: each group's verdicts are recorded while the next ones are checked,
            # so a close waits for one group's record, not for all of them after the checks.
            for start in range(0, len(ballots), CHECK_GROUP):
                self._trickling += trickle
                self._spawn(self._check(poll_id, ballots[start:start + CHECK_GROUP], trickle))

    async def _check(self, poll_id: int, group: list[_Unchecked], trickle: bool = False
                     ) -> None:
        """Every proof of these ballots, off the loop; then, in one transaction, the valid
        ones marked checked and the others taken out, their voters told."""
        try:
            poll = self.host.state.polls.get(poll_id)
            if poll is None or poll.status != "open":
                return  # sealed meanwhile: the sealer checks what is unchecked
            try:
                verdicts = await verify_ballots(ballot_rules(poll), [u.doc for u in group])
            except ChecksUnavailable:
                return  # left unchecked in the box: the sealer checks them
            checks = [BallotCheck(u.voter_id, u.tracker, verdict is None)
                      for u, verdict in zip(group, verdicts, strict=True)]
            try:
                removed = await self.store.settle_checks(self.host.room_id, poll_id, checks)
            except StoreError as exc:
                log.warning("room %s: ballot checks not recorded: %s", self.host.room_id,
                            type(exc).__name__)
                return  # still unchecked in the box: the sealer checks them again
            metrics.BALLOTS_TAKEN_OUT.inc(len(removed))
            why: dict[tuple[int, str], tuple[_Unchecked, BallotRefusal]] = {
                (u.voter_id, u.tracker): (u, verdict)
                for u, verdict in zip(group, verdicts, strict=True) if verdict is not None}
            for c in removed:  # only invalid ballots are taken out
                u, verdict = why[(c.voter_id, c.tracker)]
                if u.refused is not None:
                    _tell(u.refused, poll_id, u.tracker, _invalid_ballot(verdict))
        finally:
            self._trickling = max(0, self._trickling - trickle)  # 0 after a stop
            left = self._checking.get(poll_id, 0) - len(group)
            if left > 0:
                self._checking[poll_id] = left
            else:
                self._checking.pop(poll_id, None)
                event = self._checked.pop(poll_id, None)
                if event is not None:
                    event.set()

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        """One batch: each poll's ballots in a transaction of their own, side by side."""
        by_poll: dict[int, list[_Pending]] = {}
        for p in batch:
            by_poll.setdefault(p.poll_id, []).append(p)
        done = await asyncio.gather(*(self._commit(poll_id, entries)
                                      for poll_id, entries in by_poll.items()),
                                    return_exceptions=True)
        for outcome in done:  # after every poll's is settled: only the failed are left
            if isinstance(outcome, BaseException):
                raise outcome

    def _batch_failed(self, batch: list[_Pending], exc: BaseException) -> None:
        if not isinstance(exc, asyncio.CancelledError):  # cancelled: the node stops
            # The class only: a ballot's content must never reach a log.
            log.error("room %s: ballot batch failed: %s", self.host.room_id,
                      type(exc).__name__)
        # Unanswered ballots of the batch: their voters send them again.
        _settle(batch, [Rejection("store_unavailable")] * len(batch))

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
        """Commit parsed ballots in one transaction, acknowledge each with its tracker,
        then check the proofs of those that entered the box (`_check`)."""
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
        entered = [_Unchecked(b.voter_id, b.tracker, p.doc, p.refused)
                   for p, b, fate in zip(good, ballots, fates, strict=True)
                   if fate == CAST and p.doc is not None]
        for p in good:
            p.doc = None
        if entered:
            self._to_checks(poll.id, entered)
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
                self.host.submit(SERVER, v.PollProgress(poll_id=poll_id, voted=voters)))
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
        cancel = isinstance(command, v.PollCancel)
        if not cancel and poll.id in self._checked:
            # This node's checks of ballots already in the box finish first (checking them
            # again below would cost as much); one that takes too long is checked again.
            # Nothing is held back meanwhile, even if ballots still pour in: the count
            # waits for them.
            self._sealing += 1
            try:
                self._start_checks()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._checked[poll.id].wait(), CHECKS_TIMEOUT)
            finally:
                self._sealing -= 1
        sealed = await self.store.seal_encrypted(self.host.room_id, poll.id, discard=cancel)
        if cancel:
            return command
        rules = ballot_rules(poll)
        ballots = sealed.ballots
        if sealed.unchecked:
            ballots = await self._settle_sealed(poll, rules, sealed, sealed.unchecked)
        totals = await aggregate_ballots(rules, ballots)
        box = v.BoxContents(cast=len(ballots), votes={}, receipts=len(ballots),
                            aggregate=[v.CiphertextJson(**c) for c in totals])
        return command.model_copy(update={"box": box})

    async def _settle_sealed(self, poll: Poll, rules: BallotRules, sealed: SealedBox,
                             unchecked: list[int]) -> list[str]:
        """Check the sealed box's unchecked ballots, take out those that fail; the ballots
        that count. Raises StoreError (or ChecksUnavailable) and the close is refused: it
        is tried again, and nothing was counted."""
        docs = [orjson.loads(sealed.ballots[i]) for i in unchecked]
        verdicts = await verify_ballots(rules, docs)
        # `receipts[i]` is the tracker stored with `ballots[i]` (one query, one order).
        checks = [BallotCheck(int(doc["voter"]), sealed.receipts[i], verdict is None)
                  for i, doc, verdict in zip(unchecked, docs, verdicts, strict=True)]
        removed = await self.store.settle_checks(self.host.room_id, poll.id, checks,
                                                 sealer=True)
        metrics.BALLOTS_TAKEN_OUT.inc(len(removed))
        bad = {i for i, c in zip(unchecked, checks, strict=True) if not c.valid}
        return [b for i, b in enumerate(sealed.ballots) if i not in bad]

    def integrated(self, events: list[Event]) -> None:
        """The room integrated these events: a poll opened, closed or cancelled re-arms
        the timers."""
        if any(e.kind in POLL_TIMING for e in events):
            self.arm_timers()

    def arm_timers(self) -> None:
        """Close each open poll when its time is up (every node arms it; the first close
        wins and the others are refused harmlessly)."""
        loop = asyncio.get_running_loop()
        open_polls = {p.id: p for p in self.host.state.polls.values() if p.status == "open"}
        if any(p.encrypted for p in open_polls.values()):
            self._spawn(ballot_checks.warm())
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
            command = await self.prepare(SERVER, v.PollClose(poll_id=poll_id))
        except StoreError as exc:
            log.warning("room %s: poll %s not closed on time: %s", self.host.room_id,
                        poll_id, exc)
            asyncio.get_running_loop().call_later(1.0, lambda: self._spawn(
                self._close_due(poll_id)))
            return
        await self.host.submit(SERVER, command)

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


def _tell(refused: Refused, poll_id: int, tracker: str, why: Rejection) -> None:
    try:
        refused(poll_id, tracker, why)
    except Exception as exc:  # one voter's gone connection must not cost the others
        log.warning("a ballot's refusal failed: %s", type(exc).__name__)


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
