"""Typed room commands, parsed and validated at the edge.

A command arrives as `name` and `args`; the room's `parse_command` (`rooms.room.Room`, with
the commands of every plugin) turns it into one of the models below or a refusal. Text is
normalised to NFC and bounded in length, so the core only ever sees well-formed input.
Features define their commands the same way, with the types below (`Text`, `Id`, …).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError

from phonghop.rooms.rejections import Rejection, invalid
from phonghop.rooms.roles import Role
from phonghop.rooms.state import Profile, QuorumRule


def _nfc(text: str) -> str:
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


Text = Annotated[str, Field(max_length=500), AfterValidator(_nfc)]
LongText = Annotated[str, Field(max_length=2000), AfterValidator(_nfc)]
Id = Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]
Flag = Annotated[bool, Strict()]
Minutes = Annotated[int, Strict(), Field(ge=1, le=600)]
Seconds = Annotated[int, Strict(), Field(ge=10, le=7200)]
# ISO 8601 date-time; kept as text, checked for shape.
Stamp = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"),
]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    NAME: ClassVar[str]


class MeetingCreate(Command):
    NAME = "meeting.create"
    title: Text
    starts_at: Stamp
    ends_at: Stamp | None = None
    location: Text | None = None
    quorum: QuorumRule = QuorumRule()
    roster: Literal["all", "organisers"] = "all"


class MeetingUpdate(Command):
    NAME = "meeting.update"
    title: Text | None = None
    starts_at: Stamp | None = None
    ends_at: Stamp | None = None
    location: Text | None = None
    quorum: QuorumRule | None = None
    roster: Literal["all", "organisers"] | None = None


class MeetingInvite(Command):
    NAME = "meeting.invite"


class SiteAdd(Command):
    NAME = "site.add"
    name: Text


class ParticipantAdd(Command):
    NAME = "participant.add"
    user_id: Id
    role: Role
    site_id: Id | None = None
    voting: Flag | None = None
    profile: Profile | None = None  # filled by the edge from the user directory


class ParticipantUpdate(Command):
    NAME = "participant.update"
    user_id: Id
    role: Role | None = None
    site_id: Id | None = None
    voting: Flag | None = None


class ParticipantRemove(Command):
    NAME = "participant.remove"
    user_id: Id


class AgendaAdd(Command):
    NAME = "agenda.add"
    title: Text
    presenter_id: Id | None = None
    planned_minutes: Minutes = 10


class AgendaUpdate(Command):
    NAME = "agenda.update"
    item_id: Id
    title: Text | None = None
    presenter_id: Id | None = None
    planned_minutes: Minutes | None = None


class AgendaRemove(Command):
    NAME = "agenda.remove"
    item_id: Id


class AgendaReorder(Command):
    NAME = "agenda.reorder"
    order: list[Id] = Field(max_length=1000)


class Rsvp(Command):
    NAME = "rsvp"
    answer: Literal["attend", "absent", "substitute"]
    reason: LongText | None = None
    substitute_user_id: Id | None = None
    user_id: Id | None = None  # the secretary answers for someone
    substitute_profile: Profile | None = None  # filled by the edge


class SubstituteApprove(Command):
    NAME = "substitute.approve"
    user_id: Id  # the member whose request is approved


class SubstituteRefuse(Command):
    NAME = "substitute.refuse"
    user_id: Id  # the member whose request is refused
    reason: LongText | None = None


class SessionStart(Command):
    NAME = "session.start"


class SessionEnd(Command):
    NAME = "session.end"


class AgendaActivate(Command):
    NAME = "agenda.activate"
    item_id: Id


class AgendaNext(Command):
    NAME = "agenda.next"


class AgendaDone(Command):
    NAME = "agenda.done"
    item_id: Id


class AgendaDefer(Command):
    NAME = "agenda.defer"
    item_id: Id


class CheckIn(Command):
    NAME = "attendance.check_in"
    user_id: Id | None = None


class MarkAbsent(Command):
    NAME = "attendance.absent"
    user_id: Id
    reason: LongText


class FloorRequestCmd(Command):
    NAME = "floor.request"
    note: Text | None = None
    site_id: Id | None = None


class FloorWithdraw(Command):
    NAME = "floor.withdraw"
    user_id: Id | None = None


class FloorGrant(Command):
    NAME = "floor.grant"
    user_id: Id
    seconds: Seconds = 180


class FloorExtend(Command):
    NAME = "floor.extend"
    seconds: Seconds


class FloorEnd(Command):
    NAME = "floor.end"


class NoticePost(Command):
    NAME = "notice.post"
    text: LongText
    roles: list[Role] | None = Field(None, max_length=6)


class Fresh(Command):
    """Filled in by the edge, never a client (`Lookup("fresh")`): what makes a new id
    unique across deployments (the room id and 8 random bytes), since the core draws no
    randomness."""

    room: Id
    nonce: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]


# The kernel's commands that clients send by name (a new meeting comes by `parse_create`).
KERNEL_COMMANDS: tuple[type[Command], ...] = (
    MeetingUpdate, MeetingInvite, SiteAdd, ParticipantAdd, ParticipantUpdate,
    ParticipantRemove, AgendaAdd, AgendaUpdate, AgendaRemove, AgendaReorder, Rsvp,
    SubstituteApprove, SubstituteRefuse, SessionStart, SessionEnd, AgendaActivate,
    AgendaNext, AgendaDone, AgendaDefer, CheckIn, MarkAbsent, FloorRequestCmd,
    FloorWithdraw, FloorGrant, FloorExtend, FloorEnd, NoticePost,
)


def parse(commands: Mapping[str, type[Command]], edge_only: frozenset[str], name: Any,
          args: Any) -> Command | Rejection:
    """Validate a command's name and arguments against `commands` (a room's table: see
    `rooms.room.Room.parse_command`); return the typed command or a refusal. Fields in
    `edge_only` are the edge's to fill: a client that sends one is refused."""
    if not isinstance(name, str) or name not in commands:
        return Rejection("unknown_command", {"detail": str(name)[:60]})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return invalid("args must be an object")
    if edge_only & args.keys():
        return invalid("unexpected field")
    try:
        return commands[name].model_validate(args)
    except ValidationError as exc:
        return invalid(first_error(exc))


def parse_create(args: Any) -> MeetingCreate | Rejection:
    """Validate the body of a new meeting (the one command with no room yet)."""
    if not isinstance(args, dict):
        return invalid("body must be an object")
    try:
        return MeetingCreate.model_validate(args)
    except ValidationError as exc:
        return invalid(first_error(exc))


def first_error(exc: ValidationError) -> str:
    """The first validation error, as the `invalid` refusal's detail."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    return f"{where}: {err.get('msg', 'invalid')}"[:200]
