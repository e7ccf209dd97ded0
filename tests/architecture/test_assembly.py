"""The assembly: a room is the kernel plus the plugins it is given, and nothing else.

`Room(*plugins)` refuses what two plugins would both claim, a command without a rule and a
reaction to an event nobody emits; the kernel alone runs a meeting and knows no feature's
command; every service a plugin's lookups need exists on the server and in the tests'
room world.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from phonghop import meeting_room
from phonghop.documents import commands as d
from phonghop.documents.room import PLUGIN as DOCUMENTS
from phonghop.minutes.room import PLUGIN as MINUTES
from phonghop.rooms import Actor, Profile, Rejection, RoomState
from phonghop.rooms.commands import Command
from phonghop.rooms.plugin import Context, Lookup, Outcome, Plugin
from phonghop.rooms.room import Room
from phonghop.server.node import FILLS
from phonghop.voting.room import PLUGIN as POLLS
from tests.rooms.world import FILLS as WORLD_FILLS

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
ADMIN, CHAIR, SECRETARY = Actor(99, is_admin=True), Actor(1), Actor(2)


class Ping(Command):
    NAME = "ping"


def _ping(ctx: Context, cmd: Ping) -> Outcome:
    return [ctx.event("pinged")]


def _pinged(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {}


PING = Plugin(name="ping", commands=(Ping,), rules={Ping: _ping}, handlers={"pinged": _pinged})


def test_the_meeting_room_is_the_kernel_and_three_features() -> None:
    assert [p.name for p in meeting_room.ROOM.plugins] == [
        "kernel", "documents", "polls", "minutes"]
    assert meeting_room.ROOM.plugins[1:] == (DOCUMENTS, POLLS, MINUTES)


@pytest.mark.parametrize("change", [
    {"name": "another", "commands": (d.DocumentAttach,)},  # a command name taken
    {"name": "another", "rules": dict(DOCUMENTS.rules)},  # a rule taken
    {"name": "another", "handlers": {"document.attached": _pinged}},  # an event kind taken
    {"name": "another", "lookups": dict(DOCUMENTS.lookups)},
    {"name": "another", "volatile": {"ink": DOCUMENTS.volatile["ink"]}},
    {"name": "documents"},  # the same plugin twice
])
def test_nothing_is_claimed_twice(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="twice"):
        Room(DOCUMENTS, Plugin(**change))


def test_a_command_without_a_rule_and_a_reaction_to_nothing_are_refused() -> None:
    with pytest.raises(ValueError, match="without a rule"):
        Room(dataclasses.replace(PING, rules={}))
    with pytest.raises(ValueError, match="nobody emits"):
        Room(dataclasses.replace(PING, reactions={"presentation.started": _pinged}))


def _meeting(room: Room) -> RoomState:
    state = RoomState()
    create = room.parse_create({"title": "Họp giao ban", "starts_at": "2026-11-22T08:00+07:00"})
    assert not isinstance(create, Rejection)
    for actor, name, args in [
        (ADMIN, None, create),
        (ADMIN, "participant.add", {"user_id": 1, "role": "chair"}),
        (ADMIN, "participant.add", {"user_id": 2, "role": "secretary"}),
        (CHAIR, "session.start", {}),
    ]:
        command = args if name is None else room.parse_command(name, args)
        assert isinstance(command, Command), command
        if name == "participant.add":  # the directory's part, as the edge fills it
            (lookup,) = room.lookups(command)
            assert lookup == Lookup("user", key="user_id", into="profile")
            command = command.model_copy(update={"profile": Profile(
                user_id=args["user_id"], full_name="Người họp")})
        outcome = room.decide(state, command, actor, NOW)
        assert not isinstance(outcome, Rejection), outcome
        state = room.replay(outcome, state)
    return state


def test_the_kernel_alone_runs_a_meeting_and_knows_no_feature() -> None:
    kernel = Room()
    state = _meeting(kernel)
    assert state.meeting is not None and state.meeting.status == "in_session"
    view = kernel.room_view(state, 1)
    assert {"documents", "polls", "minutes", "presentation"}.isdisjoint(view)
    assert "vote_for" not in kernel.me_view(state, 1)
    assert kernel.parse_command("poll.create", {"title": "x"}) == Rejection(
        "unknown_command", {"detail": "poll.create"})
    assert kernel.edge_only == {"profile", "substitute_profile"}
    assert kernel.volatile_audience(state, 1, False, "pointer", {}) == Rejection(
        "invalid", {"detail": "volatile kind"})
    # Nothing freezes the electorate without polls: the session ends at once.
    ended = kernel.decide(state, kernel.parse_command("session.end", {}), CHAIR, NOW)
    assert not isinstance(ended, Rejection)


def test_a_plugin_adds_its_commands_events_and_reactions() -> None:
    def after_the_end(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
        return {"next_id": 1000}  # seen below: the reaction ran with the kernel's handler

    room = Room(dataclasses.replace(PING, reactions={"session.ended": after_the_end}))
    state = _meeting(room)
    ping = room.parse_command("ping", {})
    assert isinstance(ping, Ping)
    (event,) = room.decide(state, ping, SECRETARY, NOW)
    assert event.kind == "pinged" and room.apply(state, event).seq == state.seq + 1
    assert Room().parse_command("ping", {}) == Rejection("unknown_command", {"detail": "ping"})
    ended = room.decide(state, room.parse_command("session.end", {}), CHAIR, NOW)
    assert not isinstance(ended, Rejection)
    after = room.replay(ended, state)
    assert after.meeting is not None and after.meeting.status == "ended"
    assert after.next_id == 1000 and Room().replay(ended, state).next_id != 1000


def test_every_lookup_a_plugin_declares_has_a_service() -> None:
    assert meeting_room.LOOKUP_KINDS == {"user", "room_file", "fresh", "ballot_box"}
    assert meeting_room.LOOKUP_KINDS <= FILLS.keys()
    assert meeting_room.LOOKUP_KINDS <= WORLD_FILLS.keys()


def test_every_field_a_lookup_fills_is_refused_from_clients() -> None:
    assert meeting_room.EDGE_ONLY == {"profile", "substitute_profile", "file", "fresh", "box"}
    for name, args in [("document.attach", {"sha256": "a" * 64, "file": {}}),
                       ("poll.create", {"title": "Biểu quyết", "fresh": {}}),
                       ("poll.close", {"poll_id": 1, "box": {}})]:
        assert meeting_room.parse_command(name, args) == Rejection(
            "invalid", {"detail": "unexpected field"})
