"""Poll commands and the ballot, parsed and validated at the edge (see rooms/commands.py)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, Strict, ValidationError, model_validator

from rooms.commands import Command, Flag, Id, Text, _first_error
from rooms.rejections import Rejection, invalid
from voting.model import Eligibility, PollKind, Rule

Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Choices = Annotated[int, Strict(), Field(ge=0, le=100)]
Label = Annotated[Text, Field(max_length=300)]
Receipt = Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")]
MAX_OPTIONS = 100


class PollSettings(Command):
    """What a poll is: shared by `poll.create` (defaults) and `poll.update` (changes)."""

    title: Text | None = None
    item_id: Id | None = None
    kind: PollKind | None = None
    options: list[Label] | None = Field(None, max_length=MAX_OPTIONS)
    min_choices: Choices | None = None
    max_choices: Choices | None = None
    seats: Annotated[int, Strict(), Field(ge=1, le=100)] | None = None
    secret: Flag | None = None
    eligibility: Eligibility | None = None
    rule: Rule | None = None
    duration_seconds: Annotated[int, Strict(), Field(ge=10, le=86_400)] | None = None
    allow_change: Flag | None = None
    progress_public: Flag | None = None
    auto_publish: Flag | None = None


class PollCreate(PollSettings):
    NAME = "poll.create"
    title: Text
    kind: PollKind = "motion"

    @model_validator(mode="after")
    def _options_fit_kind(self) -> PollCreate:
        if self.kind in ("single", "multi") and len(self.options or ()) < 2:
            raise ValueError("options: a single or multiple choice poll needs 2 or more")
        return self


class PollUpdate(PollSettings):
    NAME = "poll.update"
    poll_id: Id


class PollOpen(Command):
    NAME = "poll.open"
    poll_id: Id


class BoxContents(Command):
    """What the ballot box held when it was sealed (filled in by the edge, never a client)."""

    cast: Count
    votes: dict[int, Count]
    receipts: Count


class PollClose(Command):
    NAME = "poll.close"
    poll_id: Id
    box: BoxContents | None = None  # filled by the edge after sealing the box


class PollRecord(Command):
    NAME = "poll.record"
    poll_id: Id
    counts: list[Count] = Field(min_length=3, max_length=3)  # for, against, abstain


class PollPublish(Command):
    NAME = "poll.publish"
    poll_id: Id


class PollCancel(Command):
    NAME = "poll.cancel"
    poll_id: Id


class PollProgress(Command):
    """Voters so far, reported by the ballot box after a commit (edge only)."""

    NAME = "poll.progress"
    poll_id: Id
    voted: Count


class VoteCast(Command):
    """One ballot. The voter is always the connection's user: there is no voter field."""

    NAME = "vote.cast"
    poll_id: Id
    choices: list[Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]] = Field(
        max_length=MAX_OPTIONS)
    receipt: Receipt  # drawn at random by the voter's device (see voting/receipts.py)
    replaces: Receipt | None = None


ROOM_COMMANDS = (PollCreate, PollUpdate, PollOpen, PollClose, PollRecord, PollPublish,
                 PollCancel)


def parse_vote(args: Any) -> VoteCast | Rejection:
    """Validate a ballot's arguments (a `vote.cast` command)."""
    if not isinstance(args, dict):
        return invalid("args must be an object")
    try:
        return VoteCast.model_validate(args)
    except ValidationError as exc:
        return invalid(_first_error(exc))
