"""The plugin API: how a feature plugs into the meeting-room kernel.

A feature (documents, polls, minutes, …) is one `Plugin` value: the commands clients may
send it, a rule per command (`decide`), a handler per event it emits (`apply`), its parts of
the views, and what the edge must do around its commands (lookups, files, volatile
messages). The kernel never imports a feature; `meeting_room.py` hands the plugins to
`rooms.room.Room`, which builds one table of each from them, checking that nothing is
claimed twice. Nothing registers itself by being imported: a module fills its own
`RuleTable` and `HandlerTable` while it is defined (a plugin made of several modules
`joined` their tables), and they count only once its plugin is given to a `Room`.

Everything here is public and stable for plugins: `Context` (what a rule sees), `Outcome`,
the tables, `Lookup`, `FileRules`, and the helpers `dump`, `iso`, `joined`, `with_key`,
`without_key`. See docs/ARCHITECTURE.md, "How to add a feature".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from phonghop.rooms.commands import Command
from phonghop.rooms.events import EVERYONE, Actor, Audience, Event, organisers_and
from phonghop.rooms.rejections import Rejection, invalid_state
from phonghop.rooms.roles import ORGANISERS, Role
from phonghop.rooms.state import RoomState

Outcome = list[Event] | Rejection
C = TypeVar("C", bound=Command)
Rule = Callable[["Context", Any], Outcome]
Handler = Callable[[RoomState, dict[str, Any]], dict[str, Any]]
# A part of the view every participant sees alike (cached per seq by the server).
PublicView = Callable[[RoomState], dict[str, Any]]
# A part of the view that depends on who looks: (state, user_id, is_admin).
PersonalView = Callable[[RoomState, int, bool], dict[str, Any]]
# What freezes the electorate (roles, votes, absences) and holds the session open, named
# as the refusal names it (e.g. "poll_open"), or None.
Freeze = Callable[[RoomState], str | None]
# Who receives a volatile message (never stored) of one kind: (state, sender, sender is an
# administrator, data) -> its audience, or why it is refused.
VolatileRule = Callable[[RoomState, int, bool, Any], Audience | Rejection]


def iso(now: datetime) -> str:
    """UTC timestamp in ISO 8601 with milliseconds."""
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dump(model: Any) -> dict[str, Any]:
    """A state entity as events and views carry it (its JSON form)."""
    return model.model_dump(mode="json")


def with_key(mapping: Mapping[Any, Any], key: Any, value: Any) -> dict[Any, Any]:
    """A copy of `mapping` with `key` set: states are never changed in place."""
    new = dict(mapping)
    new[key] = value
    return new


def without_key(mapping: Mapping[Any, Any], key: Any) -> dict[Any, Any]:
    """A copy of `mapping` without `key`."""
    new = dict(mapping)
    new.pop(key, None)
    return new


K = TypeVar("K")
V = TypeVar("V")


def joined(*tables: Mapping[K, V]) -> dict[K, V]:
    """One plugin's tables from several modules in one; a key in two of them is an error."""
    out: dict[K, V] = {}
    for table in tables:
        if twice := out.keys() & table.keys():
            raise ValueError(f"claimed twice: {sorted(map(str, twice))}")
        out.update(table)
    return out


class Context:
    """What every rule sees: the state, who acts, and when (the clock comes in as `now`)."""

    def __init__(self, state: RoomState, actor: Actor, now: datetime,
                 freezes: tuple[Freeze, ...] = ()) -> None:
        self.state = state
        self.actor = actor
        self.at = iso(now)
        self.now = now
        self.role = state.role_of(actor.user_id)
        self._freezes = freezes

    def event(self, kind: str, audience: Audience = EVERYONE, **data: Any) -> Event:
        return Event(kind=kind, data=data, at=self.at, actor=self.actor.user_id, audience=audience)

    def roster_event(self, kind: str, *users: int, **data: Any) -> Event:
        """An event about the roster: for everyone, or organisers and the people concerned."""
        meeting = self.state.meeting
        if meeting is None or meeting.roster == "all":
            return self.event(kind, **data)
        return self.event(kind, organisers_and(*users), **data)

    @property
    def organiser(self) -> bool:
        return self.actor.is_admin or self.role in ORGANISERS

    @property
    def chair(self) -> bool:
        return self.role == Role.CHAIR

    @property
    def frozen(self) -> str | None:
        """What freezes roles, votes and the electorate now (a plugin says: e.g. an open
        poll, "poll_open"), or None."""
        for freeze in self._freezes:
            if reason := freeze(self.state):
                return reason
        return None

    def preparing(self) -> Rejection | None:
        """Preparation is the organisers' until the session ends."""
        if not self.organiser:
            return Rejection("forbidden")
        if self.state.meeting and self.state.meeting.status == "ended":
            return invalid_state("ended")
        return None


class RuleTable(dict[type[Command], Rule]):
    """A module's own rules, one per command type, filled while the module is defined:

        RULES = RuleTable()

        @RULES.rule(PollOpen)
        def _open(ctx: Context, cmd: PollOpen) -> Outcome: ...
    """

    def rule(self, cls: type[C]) -> Callable[[Callable[[Context, C], Outcome]],
                                             Callable[[Context, C], Outcome]]:
        def add(fn: Callable[[Context, C], Outcome]) -> Callable[[Context, C], Outcome]:
            if cls in self:
                raise ValueError(f"two rules for {cls.__name__}")
            self[cls] = fn
            return fn

        return add


class HandlerTable(dict[str, Handler]):
    """A module's own event handlers (`apply`), one per event kind: a handler returns the
    fields of the state that change, built from `state` without changing it."""

    def on(self, *kinds: str) -> Callable[[Handler], Handler]:
        def add(fn: Handler) -> Handler:
            for kind in kinds:
                if kind in self:
                    raise ValueError(f"two handlers for {kind!r}")
                self[kind] = fn
            return fn

        return add


@dataclass(frozen=True)
class Lookup:
    """Something the edge fills into a command before it is decided (the core does no I/O).

    `kind` names a service of the edge: the server implements each kind once
    (`server/node.py`, which lists them; `tests/rooms/world.py` fakes them) and refuses to
    start if a plugin declares a kind it lacks. `key` is the command's field it looks up
    by, if any (a lookup whose key is empty does nothing); `into` is the field it fills,
    which only the edge may set: a client that sends it is refused.
    """

    kind: str
    into: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class FileRules:
    """What the node does with the file library around a feature's commands."""

    # Files that must be sealed (never cached unstamped) when a room is loaded.
    confidential: Callable[[RoomState], Iterable[str]]
    # Files a command may make confidential: sealed before it is decided.
    to_seal: Callable[[RoomState, Command], Iterable[str]]
    # After an accepted command: (file, pages) to render in the background.
    to_prerender: Callable[[RoomState, Command], Iterable[tuple[str, int]]]


@dataclass(frozen=True)
class Plugin:
    """One feature of the meeting room, as the kernel and the edge need to know it."""

    name: str
    # Commands clients may send by name (`parse_command`); rules may also decide commands
    # only the server makes (poll progress, signed minutes), which are not listed here.
    commands: tuple[type[Command], ...] = ()
    rules: Mapping[type[Command], Rule] = field(default_factory=dict)
    # The events this feature emits and owns: exactly one handler per kind in a room.
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # Extra changes on events another plugin owns (run after the owner's handler, on the
    # same state before the event): e.g. the session's end stops a presentation.
    reactions: Mapping[str, Handler] = field(default_factory=dict)
    public_view: PublicView | None = None
    personal_view: PersonalView | None = None
    # Fields added to `me` (who the viewer is in this room), e.g. whose ballot they cast.
    me: PersonalView | None = None
    # The meeting's status in catalogues when this feature overrides it ("minutes_signed").
    status: Callable[[RoomState], str | None] | None = None
    freezes: Freeze | None = None
    lookups: Mapping[type[Command], tuple[Lookup, ...]] = field(default_factory=dict)
    volatile: Mapping[str, VolatileRule] = field(default_factory=dict)
    files: FileRules | None = None
    # What the room's writer stores beside an event, in the same transaction, for the
    # edge to serve without the room state (documents: the shared marks of each page).
    stored: Callable[[Event], Iterable[Any]] | None = None
