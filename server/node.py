"""One server node: its store, bus, accounts, and the rooms it currently hosts."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from phonghop.bus.base import Bus
from phonghop.documents.library import Library
from phonghop.documents.model import FileInfo
from phonghop.meeting_room import (
    LOOKUP_KINDS,
    confidential_files,
    decide,
    files_to_prerender,
    files_to_seal,
    lookups,
    replay,
    summary,
)
from phonghop.rooms import Actor, Command, Rejection
from phonghop.rooms import commands as c
from phonghop.rooms.plugin import Lookup
from phonghop.rooms.state import Profile, RoomState
from phonghop.server import ballot_checks
from phonghop.server.audit import AuditTrail
from phonghop.server.auth import Accounts
from phonghop.server.ballot_box import BallotBox
from phonghop.server.connection import Connection
from phonghop.server.log_audit import RoomRefused
from phonghop.server.log_head import LogHeads
from phonghop.server.room_host import (
    Ack,
    Outcome,
    PartFactory,
    RoomHost,
    RoomNotFound,
    room_not_found,
)
from phonghop.server.sessions import SessionKeeper
from phonghop.server.user_limits import UserLimits
from phonghop.store.base import Store, StoreError
from phonghop.store.records import User

Fill = Callable[["Node", "RoomHost", Actor, Command, Lookup], Awaitable[Command]]

ROOM_IDLE_SECONDS = 600.0
# A room that failed its checks at load (server/log_audit.py) is refused for this long
# before it is checked again: checking a large log again on every request would cost as
# much each time.
REFUSED_SECONDS = 60.0

# Commands that change who sits in a meeting and with which role or vote (access log).
SEATING = (c.ParticipantAdd, c.ParticipantUpdate, c.ParticipantRemove, c.SubstituteApprove)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Node:
    """Everything a request handler needs; one per process."""

    def __init__(self, store: Store, bus: Bus, library: Library,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.bus = bus
        self.library = library
        self.clock = clock
        self.id = secrets.token_hex(4)
        self.accounts = Accounts(store)
        self.audit = AuditTrail(store)  # the access log's writer (server/audit.py)
        self.user_limits = UserLimits()
        self._rooms: dict[int, RoomHost] = {}
        self._loading: dict[int, asyncio.Lock] = {}
        # Live websocket connections by session, so that signing out closes them too.
        self.sessions: dict[str, set[Connection]] = {}
        self.keeper = SessionKeeper(self)  # ends sessions on every node
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._refused: dict[int, tuple[float, RoomRefused]] = {}
        self.log_heads = LogHeads(store)  # the time-stamping service is configured by the app

    async def start(self) -> None:
        await self.store.open()
        await self.bus.open()
        await self.library.pool.start()
        self.bus.on_reconnect(self._bus_reconnected)
        self.keeper.start()
        self._sweeper = asyncio.create_task(self._evict_idle_rooms())

    def _bus_reconnected(self) -> None:
        """The bus was down: whatever it lost, every room refills from the store."""
        for host in self._rooms.values():
            host.catch_up_soon()
        self.spawn(self._sweep_sessions())  # a revocation may have been lost

    async def _sweep_sessions(self) -> None:
        with contextlib.suppress(StoreError):
            await self.keeper.sweep()

    async def _evict_idle_rooms(self) -> None:
        """Unload rooms nobody has used for a while: a city holds many meetings a day."""
        while True:
            await asyncio.sleep(60)
            for room_id, host in list(self._rooms.items()):
                if host.idle_for() > ROOM_IDLE_SECONDS:
                    del self._rooms[room_id]
                    self._loading.pop(room_id, None)
                    await host.stop()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        # Background work (text extraction, pre-rendering) is redone on demand: cancel it
        # rather than let it outlive the pool and the store it uses.
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for host in list(self._rooms.values()):
            await host.stop()
        self._rooms.clear()
        await self.keeper.stop()
        await self.audit.close()  # what is queued is written before the store closes
        await self.accounts.close()
        await ballot_checks.close()
        await self.bus.close()
        await self.store.close()
        await self.library.pool.stop()

    def rooms_hosted(self) -> int:
        """How many rooms this node hosts now."""
        return len(self._rooms)

    async def room(self, room_id: int) -> RoomHost | None:
        """The room's host on this node, loaded on first use; None if no such meeting.
        Raises `RoomRefused` if the room's record fails its checks (server/log_audit.py)."""
        host = self._rooms.get(room_id)
        if host is not None:
            return host
        refused = self._refused.get(room_id)
        if refused is not None and time.monotonic() - refused[0] < REFUSED_SECONDS:
            raise refused[1].with_traceback(None)
        lock = self._loading.setdefault(room_id, asyncio.Lock())
        async with lock:
            host = self._rooms.get(room_id)
            if host is None:
                host = RoomHost(room_id, self.store, self.bus, self.clock, self.id,
                                ROOM_PARTS)
                try:
                    # In a context of its own: the room's tasks outlive the request or
                    # connection that loaded it and must not log under its id.
                    await asyncio.get_running_loop().create_task(
                        host.start(), context=contextvars.Context())
                except RoomNotFound:
                    return None
                except RoomRefused as exc:
                    self._refused[room_id] = (time.monotonic(), exc)
                    raise
                self._refused.pop(room_id, None)
                for sha in confidential_files(host.state):
                    await self.library.seal(sha)  # images cached before it was sealed go
                self._rooms[room_id] = host
        return host

    async def execute(
        self, room_id: int, actor: Actor, command: Command, command_id: str | None = None,
        address: str | None = None,
    ) -> Outcome:
        """Run one command against a room: resolve directory lookups, decide, commit.
        `address`: the client's, for the access log (None: the host itself)."""
        try:
            host = await self.room(room_id)
        except StoreError:
            return Rejection("store_unavailable")
        except RoomRefused as exc:
            return exc.rejection
        if host is None:
            return room_not_found()
        return await self.execute_in(host, actor, command, command_id, address)

    async def execute_in(
        self, host: RoomHost, actor: Actor, command: Command, command_id: str | None = None,
        address: str | None = None,
    ) -> Outcome:
        """Run one command in a room this node hosts (see `execute`)."""
        try:
            command = await self._resolve(host, actor, command)
        except StoreError:
            return Rejection("store_unavailable")
        for sha in files_to_seal(host.state, command):
            await self.library.seal(sha)  # before deciding: never cached from then on
        outcome = await host.submit(actor, command, command_id)
        if not isinstance(outcome, Rejection):
            for sha, pages in files_to_prerender(host.state, command):
                self.library.prerender(sha, pages)
            if isinstance(command, c.SessionEnd) and not outcome.duplicate:
                # The log's head at the end of the session, time-stamped at once when a
                # service is configured (the minutes print it; preparing them stamps it
                # if this failed).
                self.spawn(self.log_heads.stamp_session_end(host.room_id))
            if isinstance(command, SEATING) and not outcome.duplicate:
                self._seated(host, actor, command, address)
        return outcome

    def _seated(self, host: RoomHost, actor: Actor, command: Command,
                address: str | None) -> None:
        """Record a change of who sits in a meeting, and how, in the access log (the room's
        own log has it too: this is the account's side, with the client's address)."""
        fields = {k: v for k in ("role", "site_id", "voting")
                  if (v := getattr(command, k, None)) is not None}
        self.audit.record("role.change", actor=actor.user_id,
                          target=command.user_id,  # type: ignore[attr-defined]
                          meeting=host.room_id, address=address, command=command.NAME,
                          **fields)

    async def create_meeting(self, actor: Actor, command: c.MeetingCreate) -> tuple[int, Outcome]:
        """Create a meeting (a new room whose log starts with `meeting.created`)."""
        outcome = decide(RoomState(), command, actor, self.clock())
        if isinstance(outcome, Rejection):
            return 0, outcome
        placed = [dataclasses.replace(e, seq=i) for i, e in enumerate(outcome, 1)]
        try:
            room_id = await self.store.create_meeting(placed, summary(replay(placed)))
        except StoreError:
            return 0, Rejection("store_unavailable")
        return room_id, Ack(len(placed), first=1)

    async def _resolve(self, host: RoomHost, actor: Actor, command: Command) -> Command:
        """Fill in what the core needs before deciding, as the plugins declare it
        (`meeting_room.lookups`): names from the directory, files from the file store,
        fresh randomness, the sealed ballot box."""
        for lookup in lookups(command):
            command = await FILLS[lookup.kind](self, host, actor, command, lookup)
        return command

    async def _fill_user(self, host: RoomHost, actor: Actor, command: Command,
                         lookup: Lookup) -> Command:
        """The profile of a user named by the command (names and units: the directory's)."""
        user_id = getattr(command, lookup.key or "")
        if not user_id:
            return command
        users = await self.store.users_by_id([user_id])
        if user_id not in users:
            return command
        return command.model_copy(update={lookup.into: profile(users[user_id])})

    async def _fill_file(self, host: RoomHost, actor: Actor, command: Command,
                         lookup: Lookup) -> Command:
        """A file uploaded to this meeting, as the file store knows it."""
        found = await self.store.room_file(host.room_id, getattr(command, lookup.key or ""))
        if found is None:
            return command
        info = FileInfo(sha256=found["sha256"], filename=found["filename"], size=found["size"],
                        sizes=found["sizes"], uploaded_by=found.get("uploaded_by"))
        return command.model_copy(update={lookup.into: info})

    async def _fill_fresh(self, host: RoomHost, actor: Actor, command: Command,
                          lookup: Lookup) -> Command:
        """A new id's randomness (the core draws none): the edge's, never a client's."""
        fresh = c.Fresh(room=host.room_id, nonce=secrets.token_hex(8))
        return command.model_copy(update={lookup.into: fresh})

    async def _fill_ballot_box(self, host: RoomHost, actor: Actor, command: Command,
                               lookup: Lookup) -> Command:
        """The poll's ballot box, sealed before the poll closes (its contents filled in)
        or is cancelled."""
        return await BallotBox.of(host).prepare(actor, command)


# The edge's services by the kind of lookup a plugin declares (rooms.plugin.Lookup): the
# server does not start with a plugin that needs a service it lacks.
FILLS: dict[str, Fill] = {"user": Node._fill_user, "room_file": Node._fill_file,
                          "fresh": Node._fill_fresh, "ballot_box": Node._fill_ballot_box}
if _missing := LOOKUP_KINDS - FILLS.keys():
    raise RuntimeError(f"no service for the lookups {sorted(_missing)}")
# What the features' edges keep beside each room's log on this node, started and stopped
# with the room (server/room_host.py, `RoomPart`): the ballot box of its polls.
ROOM_PARTS: tuple[PartFactory, ...] = (BallotBox,)


def profile(user: User) -> Profile:
    return Profile(user_id=user.id, full_name=user.full_name, position=user.position,
                   unit=user.unit)


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, is_admin=user.is_admin)
