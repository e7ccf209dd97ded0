"""A meeting room made of the kernel and a list of plugins: one table of each from them all.

`Room(*plugins)` checks that nothing is claimed twice (a command name, a rule, an event
kind, a lookup, a volatile kind), that every command clients may send has a rule, and that
reactions answer events some plugin owns; then `decide`, `apply`, the views and the edge's
hooks dispatch through those tables. It knows no feature: `meeting_room.py` names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from phonghop.rooms.commands import Command, MeetingCreate, parse, parse_create
from phonghop.rooms.decide import announce_quorum, create_meeting, with_quorum
from phonghop.rooms.events import Actor, Audience, Event
from phonghop.rooms.kernel import KERNEL
from phonghop.rooms.plugin import Context, Handler, Lookup, Outcome, Plugin, Rule, VolatileRule
from phonghop.rooms.rejections import Rejection, invalid, not_found
from phonghop.rooms.state import RoomState
from phonghop.rooms.view import catalogue_row


class Room:
    """The kernel and `plugins`, in this order (the order of view parts and reactions)."""

    def __init__(self, *plugins: Plugin) -> None:
        self.plugins = (KERNEL, *plugins)
        names = [p.name for p in self.plugins]
        if len(set(names)) != len(names):
            raise ValueError(f"a plugin is given twice: {names}")
        commands: dict[str, type[Command]] = {}
        rules: dict[type[Command], Rule] = {}
        handlers: dict[str, Handler] = {}
        reactions: dict[str, list[Handler]] = {}
        lookups: dict[type[Command], tuple[Lookup, ...]] = {}
        volatile: dict[str, VolatileRule] = {}
        for plugin in self.plugins:
            _claim(commands, {cls.NAME: cls for cls in plugin.commands}, plugin, "command")
            _claim(rules, plugin.rules, plugin, "rule for")
            _claim(handlers, plugin.handlers, plugin, "handler for")
            _claim(lookups, plugin.lookups, plugin, "lookups for")
            _claim(volatile, plugin.volatile, plugin, "volatile kind")
            for kind, reaction in plugin.reactions.items():
                reactions.setdefault(kind, []).append(reaction)
        if missing := [name for name, cls in commands.items() if cls not in rules]:
            raise ValueError(f"commands without a rule: {missing}")
        if orphans := reactions.keys() - handlers.keys():
            raise ValueError(f"reactions to events nobody emits: {sorted(orphans)}")
        self._commands = commands
        self._rules = rules
        # Every command with a rule, the server's own included: what another node may hand
        # this one to decide (`forwarded`).
        self._decidable = {cls.NAME: cls for cls in rules}
        self._handlers = {kind: _composed(h, reactions.get(kind, ())) for kind, h in
                          handlers.items()}
        self._lookups = lookups
        self._volatile = volatile
        self._freezes = tuple(p.freezes for p in self.plugins if p.freezes)
        self._public = tuple(p.public_view for p in self.plugins if p.public_view)
        self._personal = tuple(p.personal_view for p in self.plugins if p.personal_view)
        self._me = tuple(p.me for p in self.plugins if p.me)
        self._status = tuple(p.status for p in self.plugins if p.status)
        self._files = tuple(p.files for p in self.plugins if p.files)
        self._stored = tuple(p.stored for p in self.plugins if p.stored)
        found = [lookup for found in lookups.values() for lookup in found]
        # Fields only the edge fills: a client that sends one is refused.
        self.edge_only = frozenset(lookup.into for lookup in found if lookup.into)
        # The services the edge must provide before any command is decided.
        self.lookup_kinds = frozenset(lookup.kind for lookup in found)

    # ---- commands ----

    def parse_command(self, name: Any, args: Any) -> Command | Rejection:
        """Validate a client's command: its name among the room's, its arguments."""
        return parse(self._commands, self.edge_only, name, args)

    def forwarded(self, name: Any, args: Any) -> Command | Rejection:
        """Rebuild a command another node's edge parsed and filled, from its JSON dump
        (`model_dump(mode="json")`): any command with a rule, the edge's fields included.
        Only for what arrives over the authenticated bus, never from a client."""
        return parse(self._decidable, frozenset(), name, args)

    @staticmethod
    def parse_create(args: Any) -> MeetingCreate | Rejection:
        """Validate the body of a new meeting (the one command with no room yet)."""
        return parse_create(args)

    def lookups(self, command: Command) -> tuple[Lookup, ...]:
        """What the edge fills into `command` before it is decided (in this order)."""
        return self._lookups.get(type(command), ())

    # ---- the core: decide and apply ----

    def decide(self, state: RoomState, command: Command, actor: Actor,
               now: datetime) -> Outcome:
        """Decide what `command` by `actor` at `now` does to `state`: events, or a refusal."""
        ctx = Context(state, actor, now, self._freezes)
        if isinstance(command, MeetingCreate):
            return create_meeting(ctx, command)
        if state.meeting is None:
            return not_found("meeting")
        if ctx.role is None and not actor.is_admin:
            return Rejection("not_participant")
        outcome = self._rules[type(command)](ctx, command)
        if isinstance(outcome, Rejection):
            return outcome
        return with_quorum(ctx, outcome, self.apply)

    @staticmethod
    def after_batch(state: RoomState, now: datetime) -> list[Event]:
        """Events the room's writer adds after a batch of commands, with no actor: the
        quorum, when check-ins moved it since it was last announced. The writer calls it
        at most every fraction of a second (server/room_host.py, `ANNOUNCE_EVERY`);
        deciding and applying never depend on when."""
        return announce_quorum(state, now)

    def apply(self, state: RoomState, event: Event) -> RoomState:
        """Return the state after `event`; the event's seq becomes the state's seq."""
        handler = self._handlers.get(event.kind)
        if handler is None:
            raise ValueError(f"unknown event kind {event.kind!r}")
        changes = handler(state, event.data)
        changes["seq"] = event.seq if event.seq else state.seq + 1
        return state.model_copy(update=changes)

    def replay(self, events: Iterable[Event], state: RoomState | None = None) -> RoomState:
        """Fold a sequence of events into a state (the empty room by default)."""
        state = state or RoomState()
        for event in events:
            state = self.apply(state, event)
        return state

    # ---- what users see ----

    def public_view(self, state: RoomState) -> dict[str, Any]:
        """The parts of the view every participant sees alike (cached per seq)."""
        view: dict[str, Any] = {}
        for part in self._public:
            view |= part(state)
        return view

    def personal_view(self, state: RoomState, user_id: int,
                      is_admin: bool = False) -> dict[str, Any]:
        """The parts of the view that depend on who looks."""
        view: dict[str, Any] = {}
        for part in self._personal:
            view |= part(state, user_id, is_admin)
        return view

    def room_view(self, state: RoomState, user_id: int, is_admin: bool = False
                  ) -> dict[str, Any]:
        """The room as `user_id` may see it: a snapshot at seq N equals the events up to N
        this user may see."""
        return {**self.public_view(state), **self.personal_view(state, user_id, is_admin)}

    def me_view(self, state: RoomState, user_id: int, is_admin: bool = False
                ) -> dict[str, Any]:
        """Who the viewer is in this room (role, vote, whose ballot they cast, …)."""
        me: dict[str, Any] = {}
        for part in self._me:
            me |= part(state, user_id, is_admin)
        return me

    def summary(self, state: RoomState) -> dict[str, Any]:
        """The catalogue row of a meeting: what lists and searches show."""
        row = catalogue_row(state)
        for status in self._status:
            if override := status(state):
                row["status"] = override
                break
        return row

    # ---- what the edge does around commands ----

    def volatile_audience(self, state: RoomState, user_id: int, is_admin: bool, kind: str,
                          data: Any) -> Audience | Rejection:
        """Who receives a volatile message (never stored) from `user_id`, or why not."""
        rule = self._volatile.get(kind)
        if rule is None:
            return invalid("volatile kind")
        return rule(state, user_id, is_admin, data)

    def confidential_files(self, state: RoomState) -> set[str]:
        """Files to seal when the room is loaded (never cached unstamped)."""
        return {sha for files in self._files for sha in files.confidential(state)}

    def files_to_seal(self, state: RoomState, command: Command) -> set[str]:
        """Files `command` may make confidential: sealed before it is decided."""
        return {sha for files in self._files for sha in files.to_seal(state, command)}

    def stored_with(self, events: Iterable[Event]) -> list[Any]:
        """What the room's writer stores beside `events`, in the same transaction."""
        return [write for event in events for part in self._stored for write in part(event)]

    def files_to_prerender(self, state: RoomState, command: Command
                           ) -> list[tuple[str, int]]:
        """After `command` was accepted: (file, pages) to render in the background."""
        return [job for files in self._files for job in files.to_prerender(state, command)]


def _claim(table: dict[Any, Any], claims: Any, plugin: Plugin, what: str) -> None:
    for key, value in claims.items():
        if key in table:
            name = getattr(key, "__name__", key)
            raise ValueError(f"{plugin.name}: {what} {name!s} is claimed twice")
        table[key] = value


def _composed(owner: Handler, reactions: Iterable[Handler]) -> Handler:
    """The owner's handler, then each reaction's changes over it (all from the same state)."""
    extra = tuple(reactions)
    if not extra:
        return owner

    def handler(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
        changes = owner(state, data)
        for reaction in extra:
            changes |= reaction(state, data)
        return changes

    return handler
