"""Typed room commands, parsed and validated at the edge.

A command arrives as `name` and `args`; `parse_command` turns it into one of the models
below or a refusal. Text is normalised to NFC and bounded in length, so the core only ever
sees well-formed input.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError

from rooms.rejections import Rejection, invalid
from rooms.roles import Role
from rooms.state import AnnotationKind, Classification, FileInfo, Profile, QuorumRule


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


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Page = Annotated[int, Strict(), Field(ge=1, le=100_000)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
MAX_POINTS = 4000  # numbers in one stroke: 2,000 points


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


class DocumentAttach(Command):
    NAME = "document.attach"
    sha256: Sha256  # of a file uploaded to this meeting
    title: Text | None = None  # default: the file name
    item_id: Id | None = None  # None: a document of the whole meeting
    classification: Classification = "internal"
    viewers: list[Id] = Field(default_factory=list, max_length=1000)
    file: FileInfo | None = None  # filled by the edge from the file store


class DocumentUpdate(Command):
    NAME = "document.update"
    document_id: Id
    title: Text | None = None
    item_id: Id | None = None
    # Re-classification (see rooms/documents.py for who may): both or either.
    classification: Classification | None = None
    viewers: list[Id] | None = Field(default=None, max_length=1000)


class DocumentNewVersion(Command):
    NAME = "document.version"
    document_id: Id
    sha256: Sha256
    file: FileInfo | None = None  # filled by the edge


class DocumentRemove(Command):
    NAME = "document.remove"
    document_id: Id


class PresentStart(Command):
    NAME = "present.start"
    document_id: Id
    page: Page = 1


class PresentMove(Command):
    NAME = "present.move"
    page: Page
    zoom: Annotated[float, Field(ge=1.0, le=8.0, allow_inf_nan=False)] = 1.0
    x: Fraction = 0.5
    y: Fraction = 0.5


class PresentStop(Command):
    NAME = "present.stop"


class AnnotationAdd(Command):
    NAME = "annotation.add"
    document_id: Id
    page: Page
    kind: AnnotationKind
    points: list[Fraction] = Field(min_length=2, max_length=MAX_POINTS)
    color: Colour = "#d32f2f"
    width: Annotated[float, Field(ge=0.0005, le=0.05, allow_inf_nan=False)] = 0.003
    text: LongText | None = None


class AnnotationRemove(Command):
    NAME = "annotation.remove"
    annotation_id: Id


class AnnotationClear(Command):
    NAME = "annotation.clear"
    document_id: Id
    page: Page
    everyone: Flag = False  # the chair or secretary clears every shared mark on the page


COMMANDS: dict[str, type[Command]] = {
    cls.NAME: cls
    for cls in (
        MeetingCreate, MeetingUpdate, MeetingInvite, SiteAdd, ParticipantAdd,
        ParticipantUpdate, ParticipantRemove, AgendaAdd, AgendaUpdate, AgendaRemove,
        AgendaReorder, Rsvp, SubstituteApprove, SubstituteRefuse, SessionStart, SessionEnd,
        AgendaActivate, AgendaNext,
        AgendaDone, AgendaDefer, CheckIn, MarkAbsent, FloorRequestCmd, FloorWithdraw,
        FloorGrant, FloorExtend, FloorEnd, NoticePost, DocumentAttach, DocumentUpdate,
        DocumentNewVersion, DocumentRemove, PresentStart, PresentMove, PresentStop,
        AnnotationAdd, AnnotationRemove, AnnotationClear,
    )
}
# Fields only the edge may set; a client that sends them is refused.
EDGE_ONLY = frozenset({"profile", "substitute_profile", "file", "box", "fresh"})


def parse_command(name: Any, args: Any) -> Command | Rejection:
    """Validate a command's name and arguments; return the typed command or a refusal."""
    if not isinstance(name, str) or name not in COMMANDS or name == "meeting.create":
        return Rejection("unknown_command", {"detail": str(name)[:60]})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return invalid("args must be an object")
    if EDGE_ONLY & args.keys():
        return invalid("unexpected field")
    try:
        return COMMANDS[name].model_validate(args)
    except ValidationError as exc:
        return invalid(_first_error(exc))


def parse_create(args: Any) -> MeetingCreate | Rejection:
    """Validate the body of a new meeting (the one command with no room yet)."""
    if not isinstance(args, dict):
        return invalid("body must be an object")
    try:
        return MeetingCreate.model_validate(args)
    except ValidationError as exc:
        return invalid(_first_error(exc))


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    return f"{where}: {err.get('msg', 'invalid')}"[:200]
