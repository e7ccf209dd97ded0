"""A room as one node hosts it: the live state and its replay window, and the command writer.

Commands queue up (server/group_commit.py) and are decided in order against the latest
state; everything decided in one pass is appended to the store in one transaction (group
commit under bursts) and only then acknowledged. Committed events, from this node or any
other, are integrated strictly in seq order: a gap means the bus dropped something, and the
store fills it. What reaches the room's connections is framed by its fan-out
(server/fanout.py). What a feature's edge keeps beside the log (the ballot box,
server/ballot_box.py, which sees the room only through `BallotRoom`) is one of the room's
`parts`, given by the node (server/node.py, `ROOM_PARTS`): the host names no feature.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import orjson

from phonghop.bus.base import Bus
from phonghop.meeting_room import (
    after_batch,
    apply,
    decide,
    parse_forwarded,
    replay,
    stored_with,
    summary,
    volatile_audience,
)
from phonghop.rooms import Actor, Command, Event, Rejection, RoomState
from phonghop.rooms.events import SERVER, Audience
from phonghop.rooms.rejections import not_found
from phonghop.rooms.roles import ORGANISERS
from phonghop.server import metrics
from phonghop.server.connection import Connection
from phonghop.server.fanout import Fanout
from phonghop.server.group_commit import GroupCommit
from phonghop.server.live_room import REPLAY_WINDOW, LiveRoom
from phonghop.server.log_audit import check_boxes, check_chain
from phonghop.server.presence import HEARTBEAT, RoomPresence
from phonghop.server.wire import text_frame
from phonghop.store.base import SeqConflict, Store, StoreError
from phonghop.store.records import CommandMark

log = logging.getLogger(__name__)

SNAPSHOT_EVERY = 500  # events between stored snapshots
BATCH_MAX = 512  # commands decided and committed together
# What check-ins moved (the quorum) is announced with the batch that moved it, unless the
# last announcement is more recent than this; then once this long after it. A burst of
# 6,300 check-ins over 10 s sends each device about 20 quorum updates instead of 6,300.
ANNOUNCE_EVERY = 0.5  # seconds
APPEND_ATTEMPTS = 40  # optimistic appends lost to other nodes before answering `conflict`
KNOWN_COMMANDS = 50_000  # command ids remembered in memory per room
PRESENCE_FLUSH = 0.25  # seconds: presence changes are sent in batches
PUBLISH_HEAD_START = 0.05  # seconds the bus may take before this node fans out anyway
# One writer per room across nodes (docs/ARCHITECTURE.md, "One writer per room"): the node
# holding the room's lease decides and appends; the others forward their commands to it.
LEASE_TTL_MS = 3000  # a dead writer's lease lapses after this long
LEASE_RENEW = 1.0  # seconds between renewals (and, on other nodes, attempts to take it)
FORWARD_TIMEOUT = 5.0  # seconds a forwarded command waits for the writer's answer
# The writer decides a forwarded command only this long after it was sent (wall clock: the
# nodes' clocks agree far better than the margin), so that it never decides one its sender
# has given up on and decided itself: two different answers to one command.
FORWARD_DEADLINE = 3.0
CLOSE_REMOVED = 4403


@dataclass(frozen=True)
class Ack:
    seq: int
    duplicate: bool = False
    # The seq of the command's first event: its events are first..seq (none when first is
    # past seq: accepted, nothing to change). 0 when unknown (a duplicate). Not part of
    # what an answer is: two acks of the same seq are the same answer.
    first: int = field(default=0, compare=False)


Outcome = Ack | Rejection


@dataclass(frozen=True)
class _Expired:
    """A forwarded command taken up after its deadline: not decided (its sender does)."""


EXPIRED = _Expired()


@dataclass
class _Pending:
    actor: Actor
    command: Command | None  # None: no command, only what is due after a batch
    command_id: str | None
    future: asyncio.Future[Outcome]
    committed: Outcome | None = None  # its answer, once its batch is in the store
    until: float | None = None  # a forwarded command's deadline (time.time())
    # Its events are in an append whose outcome is not known yet (cleared when the store
    # said no): if the append fails or is cancelled now, they may be in the store.
    in_doubt: bool = False

    def unsettled(self) -> Rejection:
        """The answer when its batch fails before the store said yes: retryable unless its
        events may be in the store and it has no command id (a retry could not be told
        from a second command, so it would be applied twice)."""
        if self.in_doubt and self.command_id is None:
            return Rejection("outcome_unknown")
        return Rejection("store_unavailable")


class RoomNotFound(Exception):
    pass


class RoomPart(Protocol):
    """What a feature's edge keeps per room on this node beside the log (the ballot box):
    started once the room is loaded, stopped with it, and told of the events the room
    integrates (after they are fanned out), to act on the ones it cares about."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def integrated(self, events: list[Event]) -> None: ...


# How a part is made for a room: (host, store, clock).
PartFactory = Callable[["RoomHost", Store, Callable[[], datetime]], RoomPart]


class RoomHost:
    """One meeting room on this node."""

    @property
    def state(self) -> RoomState:
        """The room's state at the last seq integrated here."""
        return self.live.state

    def __init__(
        self, room_id: int, store: Store, bus: Bus, clock: Callable[[], datetime], node_id: str,
        parts: Sequence[PartFactory] = (),
    ) -> None:
        self.room_id = room_id
        self.store = store
        self.bus = bus
        self.clock = clock
        self.node_id = node_id
        self.live = LiveRoom()  # the state and the replay window (server/live_room.py)
        self.fanout = Fanout(room_id)
        self.conns = self.fanout.conns  # the same set: attached connections
        self.presence = RoomPresence(node_id)
        self._presence_timer: asyncio.TimerHandle | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._writer: GroupCommit[_Pending] = GroupCommit(
            f"room-{room_id}", self._commit, self._batch_failed, batch_max=BATCH_MAX)
        self._known: OrderedDict[tuple[int, str], int] = OrderedDict()
        self._catching_up: asyncio.Task[None] | None = None
        self._catch_up_again = False
        self._snapshot_seq = 0
        self._announced_at = -ANNOUNCE_EVERY  # time.monotonic() of the last announcement
        self._announce_timer: asyncio.TimerHandle | None = None
        self._roster = "all"
        self._origin = f"{node_id}|".encode()  # prefixes what this node publishes
        self._ready = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self.last_used = time.monotonic()
        self.parts: tuple[RoomPart, ...] = tuple(make(self, store, clock) for make in parts)
        # Whether this node writes the room's log: always alone on an in-process bus; with
        # other nodes, while it holds the room's lease (or when the bus cannot say).
        self.writes = bus.name == "local"  # with other nodes: once the lease says so
        self._stopped = False
        # The lease's owner: this host, not just this node (a room unloaded and loaded
        # again here is a new host, whose lease the old one must not give up).
        self._owner = f"{node_id}:{secrets.token_hex(4)}"
        self._lease: asyncio.Task[None] | None = None
        self._forwarded: dict[str, asyncio.Future[Outcome]] = {}  # forward id -> answer
        self._unsubscribe_replies: Callable[[], None] | None = None
        self._publishing: set[asyncio.Task[Any]] = set()  # events being published
        # Forwarded commands and their answers travel in batches: one bus message a turn.
        self._forwards_out: GroupCommit[dict[str, Any]] = GroupCommit(
            f"forwards-{room_id}", self._send_forwards, self._forwards_failed, batch_max=1000)
        self._replies_out: GroupCommit[tuple[str, dict[str, Any]]] = GroupCommit(
            f"replies-{room_id}", self._send_replies, self._replies_failed, batch_max=1000)

    def idle_for(self) -> float:
        """Seconds since the room last had a connection or a command (0 while in use)."""
        if self.conns or self._writer.queued or self._forwarded:
            return 0.0
        return time.monotonic() - self.last_used

    @property
    def channel(self) -> str:
        return f"room:{self.room_id}"

    # ---- life ----

    async def start(self) -> None:
        """Load the room from the store and start taking commands. A room whose log's hash
        chain is broken, or whose result differs from its sealed ballot box, is not
        loaded (`RoomRefused`: server/log_audit.py)."""
        self._unsubscribe = self.bus.subscribe(self.channel, self._on_bus)
        try:
            check = await check_chain(self.store, self.room_id)
            snap = await self.store.load_snapshot(self.room_id)
            state = RoomState.model_validate_json(snap[1]) if snap else RoomState()
            self._snapshot_seq = state.seq
            # One read for what to replay after the snapshot and the replay window.
            tail = await self.store.events_after(
                self.room_id, max(0, min(state.seq, check.seq - REPLAY_WINDOW)))
            state = replay((e for e in tail if e.seq > state.seq), state)
            if state.meeting is None:
                raise RoomNotFound(self.room_id)
            await check_boxes(self.store, self.room_id, state)
        except BaseException:
            self._unsubscribe()
            raise
        self.live.load(state, tail[-REPLAY_WINDOW:])
        self._roster = state.meeting.roster
        self._ready = True
        self._writer.start()
        for part in self.parts:
            part.start()
        if self.bus.name != "local":  # alone on an in-process bus, there is nobody to tell
            self._heartbeat = asyncio.create_task(self._presence_heartbeat())
            self._unsubscribe_replies = self.bus.subscribe(self._reply_channel(self.node_id),
                                                           self._on_replies)
            self._forwards_out.start()
            self._replies_out.start()
            self.writes = await self._claim()
            self._lease = asyncio.create_task(self._keep_lease(), name=f"lease-{self.room_id}")
        await self._catch_up()  # anything committed while we were loading
        self._keep_announcing()  # what a writer that stopped left unannounced

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        self._stopped = True
        if self._unsubscribe_replies:
            self._unsubscribe_replies()
        # Forwards in flight go the way of any unanswered one (`_forward`): decided here,
        # which a stopping room refuses.
        for future in self._forwarded.values():
            if not future.done():
                future.set_exception(ConnectionError("the room stops here"))
        self._forwards_failed(self._forwards_out.stop(), asyncio.CancelledError())
        self._replies_out.stop()
        if self._lease:
            self._lease.cancel()
            await asyncio.wait([self._lease])  # a claim in flight lands before the release
            if self.writes:  # another node takes over now rather than when it lapses
                with contextlib.suppress(Exception):
                    await self.bus.release(self.channel, self._owner)
        self._refuse_all(self._writer.stop(), "store_unavailable")
        for part in self.parts:
            part.stop()
        if self._heartbeat:
            self._heartbeat.cancel()
        if self._presence_timer:
            self._presence_timer.cancel()
        if self._announce_timer:
            self._announce_timer.cancel()
        for task in list(self._tasks):
            task.cancel()

    # ---- commands ----

    async def submit(
        self, actor: Actor, command: Command, command_id: str | None = None
    ) -> Outcome:
        """Decide a command: resolves once it is committed (Ack) or refused (Rejection),
        here or, when another node writes the room, there."""
        self.last_used = time.monotonic()
        if self.writes:
            return await self._decide_here(actor, command, command_id)
        return await self._forward(actor, command, command_id)

    async def _decide_here(self, actor: Actor, command: Command, command_id: str | None,
                           until: float | None = None) -> Outcome:
        if self._stopped:
            return Rejection("store_unavailable")  # the room is closing here: retry
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._writer.put(_Pending(actor, command, command_id, future, until=until))
        return await future

    # ---- one writer per room ----

    def _reply_channel(self, node: str) -> str:
        """The channel the room's writer answers `node`'s forwarded commands on."""
        return f"{self.channel}:node:{node}"

    async def _claim(self) -> bool:
        try:
            return await self.bus.claim(self.channel, self._owner, LEASE_TTL_MS)
        except Exception as exc:
            # The bus cannot say (Redis down): forwarding could not work either, so this
            # node writes, with optimistic appends; the store orders the writers.
            log.warning("room %s: lease unknown (%s): writing here", self.room_id,
                        type(exc).__name__)
            return True

    async def _keep_lease(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # On the whole second of the loop's clock: every room of this node renews in
            # the same turn, so the bus sends their claims in one round trip.
            await asyncio.sleep(LEASE_RENEW - loop.time() % LEASE_RENEW)
            writes = await self._claim()
            if writes != self.writes:
                log.info("room %s: %s the room's writer", self.room_id,
                         "now" if writes else "no longer")
                self.writes = writes
                if writes:  # nobody else takes up what this node forwarded: decide it now
                    for future in self._forwarded.values():
                        if not future.done():
                            future.set_exception(ConnectionError("now the writer"))
                    self._keep_announcing()

    async def _forward(self, actor: Actor, command: Command,
                       command_id: str | None) -> Outcome:
        """Hand the command to the node that writes the room and wait for its answer; if
        none comes (the writer died, the bus failed), decide it here: an id makes the
        second try the same command, applied once whichever node wrote it."""
        forward = secrets.token_hex(8)
        named = command_id is not None
        command_id = command_id or f"forwarded:{forward}"
        message = {"id": forward, "node": self.node_id, "user": actor.user_id,
                   "admin": actor.is_admin, "name": command.NAME,
                   "args": command.model_dump(mode="json"), "cid": command_id,
                   "until": time.time() + FORWARD_DEADLINE}
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._forwarded[forward] = future
        # Sent with the others of this turn of the event loop, in one bus message.
        self._forwards_out.put(message)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(future), FORWARD_TIMEOUT)
            if outcome == Rejection("store_unavailable") and not named:
                # The writer's store failed, perhaps after committing it: relayed, a retry
                # without an id would be a second command. Deciding it here under the
                # forward's id tells which (as for a forward nobody answered).
                raise ConnectionError("the writer could not store it")
        except Exception as exc:
            log.info("room %s: forwarded command unanswered (%s): deciding it here",
                     self.room_id, type(exc).__name__)
            metrics.FORWARDED_DECIDED_HERE.inc()
            here = await self._decide_here(actor, command, command_id)
            # Deciding it here under the forward's id is safe (were it applied there, this
            # is its duplicate). If that fails too (the database, or the room stopping
            # here), the writer may still have applied it: a client that gave the command
            # id can send it again (a duplicate is answered as such); one that gave none
            # cannot be told from a new command, so it hears that nobody knows.
            if here == Rejection("store_unavailable") and not named:
                return Rejection("outcome_unknown")
            return here
        else:
            metrics.FORWARDED_ANSWERED.inc()
            return outcome
        finally:
            self._forwarded.pop(forward, None)

    async def _send_forwards(self, batch: list[dict[str, Any]]) -> None:
        await self.bus.publish(self.channel, self._origin + orjson.dumps({"forward": batch}))

    def _forwards_failed(self, batch: list[dict[str, Any]], exc: BaseException) -> None:
        """Not sent (the bus failed, the room stops): their senders decide them here."""
        for forward in batch:
            future = self._forwarded.get(forward["id"])
            if future is not None and not future.done():
                future.set_exception(ConnectionError(type(exc).__name__))

    async def _send_replies(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        """The answers of a turn, one bus message per node, once the events they answer
        for are on the bus: they reach the other node first."""
        if self._publishing:
            await asyncio.wait(list(self._publishing))
        by_node: dict[str, list[dict[str, Any]]] = {}
        for node, reply in batch:
            by_node.setdefault(node, []).append(reply)
        for node, replies in by_node.items():
            await self.bus.publish(self._reply_channel(node), orjson.dumps({"replies": replies}))

    def _replies_failed(self, batch: list[tuple[str, dict[str, Any]]],
                        exc: BaseException) -> None:
        if not isinstance(exc, asyncio.CancelledError):  # their senders decide them
            log.warning("room %s: %d answers to forwarded commands not sent: %s",
                        self.room_id, len(batch), type(exc).__name__)

    async def _decide_forwarded(self, forward: dict[str, Any]) -> None:
        """Decide a command another node forwarded, and answer it there once the events
        it caused are on the bus (they reach that node's clients before the answer)."""
        try:
            await self._answer_forwarded(forward)
        except Exception as exc:  # unanswered, the other node decides it itself
            log.warning("room %s: forwarded command not answered: %s", self.room_id,
                        type(exc).__name__)

    async def _answer_forwarded(self, forward: dict[str, Any]) -> None:
        self.last_used = time.monotonic()  # in use, even with no connection of its own here
        command = parse_forwarded(forward["name"], forward["args"])
        if isinstance(command, Rejection):
            outcome: Outcome = command
        else:
            actor = Actor(int(forward["user"]), is_admin=forward["admin"] is True)
            outcome = await self._decide_here(actor, command, str(forward["cid"]),
                                              until=float(forward["until"]))
        answer: dict[str, Any]
        if isinstance(outcome, Ack):
            answer = {"ack": outcome.seq, "duplicate": outcome.duplicate, "first": outcome.first}
        elif isinstance(outcome, Rejection):
            answer = {"refused": outcome.code, "details": outcome.details}
        else:  # expired: its sender decides it (or has)
            answer = {"expired": True}
        self._replies_out.put((str(forward["node"]), {"id": forward["id"], **answer}))

    def _on_replies(self, payload: bytes) -> None:
        """The writer's answers to commands this node forwarded."""
        for reply in orjson.loads(payload)["replies"]:
            try:
                self._on_reply(reply)
            except (KeyError, TypeError, ValueError) as exc:  # one bad answer, not the rest
                log.warning("room %s: an answer to a forwarded command is malformed: %s",
                            self.room_id, type(exc).__name__)

    def _on_reply(self, reply: dict[str, Any]) -> None:
        future = self._forwarded.get(str(reply.get("id")))
        if future is None or future.done():
            return  # answered meanwhile, or given up on and decided here
        if reply.get("expired") is True:  # taken up too late there: decided here
            future.set_exception(TimeoutError("expired"))
        elif "ack" not in reply:
            future.set_result(Rejection(str(reply["refused"]), dict(reply["details"] or {})))
        else:
            first = reply.get("first")
            ack = Ack(reply["ack"], reply["duplicate"] is True,
                      first if isinstance(first, int) else 0)
            if ack.seq <= self.state.seq:
                future.set_result(ack)
            else:
                # Its events have not been integrated here yet (a gap being filled): they
                # are sent to this node's clients before the answer, as on the writer.
                self._spawn(self._answer_after_catch_up(future, ack))

    async def _answer_after_catch_up(self, future: asyncio.Future[Outcome], ack: Ack) -> None:
        await self._catch_up()
        # Only once its events are here; else the sender's time-out decides it here again,
        # under its id: a duplicate, answered after its events.
        if not future.done() and self.state.seq >= ack.seq:
            future.set_result(ack)

    def _batch_failed(self, batch: list[_Pending], exc: BaseException) -> None:
        if not isinstance(exc, asyncio.CancelledError):  # cancelled: the room is stopping
            log.error("room %s: batch failed", self.room_id, exc_info=exc)
        # A batch already in the store is answered as committed, one cancelled or failed
        # mid-append as unknown when it has no command id (a retry without an id would
        # otherwise apply it twice); the rest may be tried again.
        self._settle(batch, [p.committed or p.unsettled() for p in batch])

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            await self._write_batch(batch)
        finally:
            # Written or not, what check-ins moved keeps a turn booked: a failed turn is
            # tried again, not before ANNOUNCE_EVERY (a store that is down is not spun on).
            self._keep_announcing(ANNOUNCE_EVERY)

    async def _write_batch(self, batch: list[_Pending]) -> None:
        # Command ids this node has not seen are looked up in the store only after a failed
        # append: a retry of a command applied before a restart (or on another node) makes
        # its `room_commands` row collide, which this path then resolves. The common case
        # costs no extra query.
        stored: dict[tuple[int, str], int] = {}
        looked_up = False
        for _attempt in range(APPEND_ATTEMPTS):
            base = self.state
            working = base
            now = self.clock()
            results: list[Outcome] = []
            placed: list[Event] = []
            marks: list[CommandMark] = []
            done: dict[tuple[int, str], int] = {}
            for p in batch:
                if p.command is None:  # only a turn for what is due (`_announce_later`)
                    results.append(Ack(working.seq))
                    continue
                if p.until is not None and time.time() > p.until:
                    results.append(EXPIRED)  # type: ignore[arg-type]
                    continue
                key = (p.actor.user_id, p.command_id) if p.command_id else None
                if key is not None:
                    seen = done.get(key) or self._known.get(key) or stored.get(key)
                    if seen:
                        results.append(Ack(seen, duplicate=True))
                        continue
                outcome = decide(working, p.command, p.actor, now)
                if isinstance(outcome, Rejection):
                    results.append(outcome)
                    continue
                first = working.seq + 1
                for event in outcome:
                    event = replace(event, seq=working.seq + 1)
                    working = apply(working, event)
                    placed.append(event)
                results.append(Ack(working.seq, first=first))
                if key is not None:
                    done[key] = working.seq
                    marks.append(CommandMark(key[0], key[1], working.seq))
            unsure = [
                p for p, r in zip(batch, results, strict=True)
                if isinstance(r, Rejection) and p.command_id and not looked_up
            ]
            if unsure:
                # A refused command may be the retry of one applied before a restart: its
                # first answer (an ack) must win over what deciding it again would say.
                looked_up = True
                try:
                    stored = await self._stored_commands(unsure)
                except StoreError:
                    self._refuse_all(batch, "store_unavailable")
                    return
                if stored:
                    continue
            announced = self._due_after(working, now)
            for event in announced:
                event = replace(event, seq=working.seq + 1)
                working = apply(working, event)
                placed.append(event)
            if placed:
                started = time.perf_counter()
                applied = [p for p, r in zip(batch, results, strict=True)
                           if type(r) is Ack and not r.duplicate]
                for p in applied:
                    p.in_doubt = True
                try:
                    await self.store.append(
                        self.room_id, base.seq, placed, marks, _changed_summary(base, working),
                        _members(working) if working.participants is not base.participants
                        else None,
                        stored_with(placed),
                    )
                except SeqConflict:
                    # Another node wrote first, or a command id was already applied: the
                    # transaction wrote nothing. A little jitter keeps two busy nodes from
                    # colliding again in step.
                    for p in applied:
                        p.in_doubt = False
                    await asyncio.sleep(random.uniform(0, 0.002 * min(_attempt + 1, 5)))
                    await self._catch_up()
                    looked_up = True
                    try:
                        stored = await self._stored_commands(batch)
                    except StoreError:
                        self._refuse_all(batch, "store_unavailable")
                        return
                    continue
                except StoreError as exc:
                    # Perhaps before anything was written, perhaps after the commit (the
                    # connection lost as it answered): the store cannot say which.
                    log.warning("room %s: store unavailable: %s", self.room_id, exc)
                    self._settle(batch, [p.unsettled() for p in batch])
                    return
                metrics.COMMIT_EVENTS.observe(time.perf_counter() - started)
                if announced:
                    self._announced_at = time.monotonic()
                for p, result in zip(batch, results, strict=True):
                    p.committed = result
                for key, seq in done.items():
                    self._remember(key, seq)
                # Other nodes first, so they fan out in parallel with us rather than after
                # us; but a bus in trouble (Redis down) must not hold up this node's clients.
                message = {"events": [_event_json(e) for e in placed]}
                publishing = self._spawn(self._publish(message))
                self._publishing.add(publishing)
                publishing.add_done_callback(self._publishing.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(publishing), PUBLISH_HEAD_START)
                self._integrate(placed, working if self.state is base else None)
                if working.seq - self._snapshot_seq >= SNAPSHOT_EVERY:
                    # Only the node that wrote saves a snapshot: one per room, not per node.
                    self._snapshot_seq = working.seq
                    self._spawn(self._save_snapshot(working))
            self._settle(batch, results)
            return
        self._refuse_all(batch, "conflict")

    def _due_after(self, state: RoomState, now: datetime) -> list[Event]:
        """What the room adds after this batch (`after_batch`) if it is time; if it is not,
        a later turn is booked for it."""
        events = after_batch(state, now)
        if events:
            wait = self._until_announcing()
            if wait > 0:
                self._announce_later(wait)
                return []
        return events

    def _keep_announcing(self, at_least: float = 0.0) -> None:
        """While this node writes the room and the live quorum differs from the one last
        announced (check-ins decided here or on another node, a turn that failed), a turn
        is booked for it: at the earliest ANNOUNCE_EVERY after the last announcement."""
        if (self.writes and not self._stopped and self._announce_timer is None
                and after_batch(self.state, self.clock())):
            self._announce_later(max(self._until_announcing(), at_least))

    def _until_announcing(self) -> float:
        """Seconds until the next announcement may go (0 or less: now)."""
        return self._announced_at + ANNOUNCE_EVERY - time.monotonic()

    def _announce_later(self, delay: float) -> None:
        """In `delay` seconds, a writer's turn with no command: what is due gets written."""
        if self._announce_timer is not None or self._stopped:
            return
        self._announce_timer = asyncio.get_running_loop().call_later(delay, self._announce_now)

    def _announce_now(self) -> None:
        # The turn decides from the state it is written after (a batch being written now
        # may hold the check-ins that make it due), so it is queued whatever this state says.
        self._announce_timer = None
        if not self.writes or self._stopped:
            return
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._writer.put(_Pending(SERVER, None, None, future))  # answered, never awaited

    async def _stored_commands(self, batch: list[_Pending]) -> dict[tuple[int, str], int]:
        keys = [
            (p.actor.user_id, p.command_id) for p in batch
            if p.command_id and (p.actor.user_id, p.command_id) not in self._known
        ]
        if not keys:
            return {}
        return await self.store.find_commands(self.room_id, keys)

    def _remember(self, key: tuple[int, str], seq: int) -> None:
        self._known[key] = seq
        if len(self._known) > KNOWN_COMMANDS:
            self._known.popitem(last=False)

    def _refuse_all(self, batch: list[_Pending], code: str) -> None:
        self._settle(batch, [Rejection(code)] * len(batch))

    @staticmethod
    def _settle(batch: list[_Pending], results: list[Outcome]) -> None:
        acks = commands = 0
        for p, result in zip(batch, results, strict=True):
            if not p.future.done():
                p.future.set_result(result)
            if p.command is not None:  # not the writer's own turn (`_announce_now`)
                commands += 1
                acks += type(result) is Ack
        metrics.COMMANDS.inc(commands)  # once per batch: the counters are not free
        metrics.ACKS.inc(acks)

    # ---- committed events ----

    def _integrate(self, events: list[Event], result: RoomState | None = None) -> None:
        """Apply committed events in seq order and fan them out; spot gaps.

        `result` is the state after `events` when the caller already computed it from the
        current state (our own commit), which saves applying every event twice.
        """
        fresh, gap = self.live.integrate(events, result)
        if gap:
            self._schedule_catch_up()
        self._fanout(fresh)
        self._keep_announcing()  # check-ins this node did not decide: the writer tells

    def _fanout(self, events: list[Event]) -> None:
        self.fanout.events(events, self.state)
        self._after_fanout(events)

    def _after_fanout(self, events: list[Event]) -> None:
        """Consequences for live connections: removals close, changed views are re-sent;
        the room's parts hear of the events."""
        for part in self.parts:
            part.integrated(events)
        refresh: set[Connection] = set()
        roster = self.state.meeting.roster if self.state.meeting else "all"
        if roster != self._roster:
            # Who may see the roster changed: every view changes, so everyone starts over.
            self._roster = roster
            refresh = set(self.conns)
        for event in events:
            if event.kind in ("participant.added", "participant.updated"):
                uid = event.data["participant"]["user_id"]
                role = self.state.role_of(uid)
                # A new role can see more or less (reasons, notices, the roster).
                refresh |= {c for c in self.conns if c.user_id == uid and c.role != role}
            elif event.kind == "participant.removed":
                gone = event.data["user_id"]
                for conn in [c for c in self.conns if c.user_id == gone and not c.is_admin]:
                    self.detach(conn)
                    conn.close(CLOSE_REMOVED, "removed from meeting")
        for conn in refresh:
            if conn in self.conns and conn.alive:
                conn.role = self.state.role_of(conn.user_id)
                conn.send_frame(text_frame(self.snapshot_message(conn)), catch_up=True)

    def _on_bus(self, payload: bytes) -> None:
        # Our own messages: events are integrated and volatile relayed before publishing.
        if not self._ready or payload.startswith(self._origin):
            return
        message = orjson.loads(payload[payload.index(b"|") + 1:])
        if "events" in message:
            self._integrate([_event_from_json(e) for e in message["events"]])
        elif "volatile" in message:
            self._relay_remote(message["volatile"], message.get("admin") is True)
        elif "forward" in message:
            if self.writes:  # else the senders decide them when no answer comes
                for forward in message["forward"]:
                    self._spawn(self._decide_forwarded(forward))
        elif "presence" in message:
            heard = message["presence"]
            self.presence.heard(heard)
            # Heartbeats carry the sender's seq: an event committed but never published
            # (its node died, or Redis failed just then) is noticed within one heartbeat.
            if isinstance(heard.get("seq"), int) and heard["seq"] > self.state.seq:
                self._schedule_catch_up()
            self._presence_soon()

    def catch_up_soon(self) -> None:
        """Read anything committed that this node has not integrated yet."""
        self._schedule_catch_up()

    def _schedule_catch_up(self) -> None:
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = self._spawn(self._catch_up_until_settled())
        else:
            # The read in flight may have started before whatever prompted this call.
            self._catch_up_again = True

    async def _catch_up_until_settled(self) -> None:
        while True:
            self._catch_up_again = False
            await self._catch_up()
            if not self._catch_up_again:
                return

    async def _catch_up(self) -> None:
        try:
            self._integrate(await self.store.events_after(self.room_id, self.state.seq))
        except StoreError as exc:
            log.warning("room %s: catch-up failed: %s", self.room_id, exc)

    async def _save_snapshot(self, state: RoomState) -> None:
        try:
            # Off the room's event loop: the state is immutable, so a thread may read it
            # while the loop goes on deciding (a large roster's dump takes tens of ms).
            encoded = (await asyncio.to_thread(state.model_dump_json)).encode()
            await self.store.save_snapshot(self.room_id, state.seq, encoded)
        except StoreError as exc:
            log.warning("room %s: snapshot not saved: %s", self.room_id, exc)

    async def _publish(self, message: dict[str, Any]) -> None:
        try:
            await self.bus.publish(self.channel, self._origin + orjson.dumps(message))
        except Exception as exc:  # the store has it; other nodes catch up on the next seq
            log.warning("room %s: publish failed: %s", self.room_id, exc)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- connections ----

    def attach(self, conn: Connection, since: int | None) -> None:
        """Bring a connection up to date and start sending it live events.

        Synchronous on purpose: nothing can be integrated between the snapshot (or replay)
        and the registration, so the client sees every event exactly once.
        """
        state = self.state
        conn.meeting = self.room_id
        conn.role = state.role_of(conn.user_id)
        if since is not None and 0 <= since <= state.seq and self.live.can_replay(since):
            self.fanout.replay(conn, self.live.recent, since, state.seq)
        else:
            conn.send_frame(text_frame(self.snapshot_message(conn)), catch_up=True)
        self.conns.add(conn)
        self.presence.add(conn.user_id)
        self._presence_soon()

    def events_of(self, ack: Ack, user_id: int, is_admin: bool) -> list[dict[str, Any]] | None:
        """The events of an acknowledged command that `user_id` may see, as the websocket
        sends them; None when they are no longer in the replay window (or unknown)."""
        if ack.duplicate or not ack.first:
            return None
        if ack.first > ack.seq:
            return []
        return self.live.events_between(ack.first, ack.seq, self.room_id, user_id, is_admin)

    def snapshot_message(self, conn: Connection) -> bytes:
        """The `snapshot` message for this connection."""
        online = sorted(self.presence.online()) if self._sees_roster(conn) else []
        return self.fanout.snapshot(conn, self.state, online)

    def detach(self, conn: Connection) -> None:
        if conn in self.conns:
            self.last_used = time.monotonic()
            self.conns.discard(conn)
            self.presence.remove(conn.user_id)
            self._presence_soon()

    def _presence_soon(self) -> None:
        if self._presence_timer is None:
            loop = asyncio.get_running_loop()
            self._presence_timer = loop.call_later(PRESENCE_FLUSH, self._flush_presence)

    def _flush_presence(self) -> None:
        """Tell other nodes what changed here, and local clients what changed anywhere."""
        self._presence_timer = None
        if self.bus.name != "local" and (changes := self.presence.local_changes()):
            self._spawn(self._publish({"presence": changes}))
        came, went = self.presence.news()
        if not came and not went:
            return
        self.fanout.send_to({"type": "presence", "meeting": self.room_id, "online": came,
                             "offline": went}, self._sees_roster)

    async def _presence_heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            if self.conns or self.presence.remote:
                await self._publish({"presence": {**self.presence.heartbeat(),
                                                  "seq": self.state.seq}})
            if self.presence.expire():
                # A node died: it may have committed something it never published.
                self._schedule_catch_up()
            self._presence_soon()

    def _sees_roster(self, conn: Connection) -> bool:
        """Whether this connection may see who else is in the room (and who is online)."""
        meeting = self.state.meeting
        if meeting is None or meeting.roster == "all" or conn.is_admin:
            return True
        return self.state.role_of(conn.user_id) in ORGANISERS

    # ---- volatile messages (never stored) ----

    async def volatile(self, conn: Connection, kind: str, data: Any,
                       audience: Audience) -> None:
        message = {"meeting": self.room_id, "from": conn.user_id, "kind": kind, "data": data}
        self._relay(message, audience, sender=conn)
        # No audience on the bus: each node works it out from its own room state.
        await self._publish({"volatile": message, "admin": conn.is_admin})

    def _relay_remote(self, message: Any, sender_admin: bool) -> None:
        """A volatile message from another node: relayed to whom this node's own state
        says may hear it from that sender now (nothing, if the sender may not send it)."""
        if not isinstance(message, dict):
            return
        sender, kind, data = message.get("from"), message.get("kind"), message.get("data")
        if not isinstance(sender, int) or isinstance(sender, bool) or not isinstance(kind, str):
            return
        audience = volatile_audience(self.state, sender, sender_admin, kind, data)
        if isinstance(audience, Rejection):
            return  # e.g. the presenter changed meanwhile: what this node knows decides
        self._relay({"meeting": self.room_id, "from": sender, "kind": kind, "data": data},
                    audience)

    def _relay(self, message: dict[str, Any], audience: Audience,
               sender: Connection | None = None) -> None:
        self.fanout.relay(message, audience, self.state, sender)


def _changed_summary(base: RoomState, working: RoomState) -> dict[str, Any] | None:
    """The catalogue row after a batch, if the batch changed it (the meeting's own fields,
    or what a feature says of its status, e.g. signed minutes); else None."""
    row = summary(working)
    return row if row != summary(base) else None


def _members(state: RoomState) -> list[tuple[int, str]]:
    return [(p.user_id, str(p.role)) for p in state.participants.values()]


def _event_json(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "kind": e.kind, "at": e.at, "actor": e.actor,
            "audience": e.audience.to_json(), "data": e.data}


def _event_from_json(d: dict[str, Any]) -> Event:
    return Event(kind=d["kind"], data=d["data"], at=d["at"], actor=d["actor"],
                 audience=Audience.from_json(d["audience"]), seq=d["seq"])


def room_not_found() -> Rejection:
    return not_found("meeting")
