"""Poll commands and the ballot, parsed and validated at the edge like the kernel's
(`rooms/commands.py`). `Fresh` is the kernel's (edge-drawn randomness), named here too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from phonghop.rooms.commands import Command, Flag, Fresh, Id, Text, first_error
from phonghop.rooms.rejections import Rejection, invalid
from phonghop.voting.model import Eligibility, PollKind, Rule

Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Choices = Annotated[int, Strict(), Field(ge=0, le=100)]
Label = Annotated[Text, Field(max_length=300)]
Receipt = Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")]
MAX_OPTIONS = 100
MAX_BOARD = 15  # members of a counting board (docs/BALLOT_CRYPTO.md)
Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class BoardSettings(Command):
    """Who counts a secret poll: the members (user ids, member i is the i-th) and the
    threshold t of them needed to decrypt the count."""

    members: list[Id] = Field(min_length=1, max_length=MAX_BOARD)
    threshold: Annotated[int, Strict(), Field(ge=1, le=MAX_BOARD)]


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
    board: BoardSettings | None = None  # secret polls: the counting board
    fresh: Fresh | None = None  # filled by the edge


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


class CiphertextJson(Command):
    alpha: Hex64
    beta: Hex64


class BoxContents(Command):
    """What the ballot box held when it was sealed (filled in by the edge, never a client):
    the counts of a plaintext box, or the aggregate of an encrypted one (`votes` empty)."""

    cast: Count
    votes: dict[int, Count]
    receipts: Count
    aggregate: list[CiphertextJson] | None = Field(None, max_length=MAX_OPTIONS)


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
    """One ballot. The voter is always the connection's user (or the member they stand in
    for): a named poll's ballot has no voter field, an encrypted ballot names the member
    and the box checks that it is the caller's."""

    NAME = "vote.cast"
    poll_id: Id
    choices: list[Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]] | None = Field(
        None, max_length=MAX_OPTIONS)
    receipt: Receipt | None = None  # drawn at random by the voter's device
    replaces: Receipt | None = None
    # Secret polls: the encrypted ballot of docs/BALLOT_CRYPTO.md section 2, as JSON.
    ballot: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> VoteCast:
        if self.ballot is not None:
            if self.choices is not None or self.receipt is not None or self.replaces:
                raise ValueError("an encrypted ballot comes alone: no choices or receipt")
        elif self.choices is None or self.receipt is None:
            raise ValueError("choices and receipt, or an encrypted ballot, are required")
        return self


# ---- the counting board (docs/BALLOT_CRYPTO.md, section 5) ----

Json = dict[str, Any]


class BoardRound1(Command):
    """Member i's round 1: transport key, commitments and their proofs."""

    NAME = "board.round1"
    poll_id: Id
    message: Json


class ShareJson(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    dealer: Annotated[int, Strict(), Field(ge=1, le=MAX_BOARD, alias="from")]
    to: Annotated[int, Strict(), Field(ge=1, le=MAX_BOARD)]
    r: Hex64
    box: Annotated[str, Field(pattern=r"^[0-9a-f]{96}$")]

    def to_json(self) -> dict[str, Any]:
        return {"from": self.dealer, "to": self.to, "r": self.r, "box": self.box}


class BoardShares(Command):
    """Member i's round 2: one encrypted share for every other member."""

    NAME = "board.shares"
    poll_id: Id
    shares: list[ShareJson] = Field(max_length=MAX_BOARD - 1)


class BoardConfirm(Command):
    """Member j's round 3 found every share addressed to it good."""

    NAME = "board.confirm"
    poll_id: Id


class BoardComplaint(Command):
    """Member j's round 3 found dealer i's share bad, revealing that envelope's key S with
    a proof: the core judges it (the ceremony fails only when the dealer is at fault)."""

    NAME = "board.complaint"
    poll_id: Id
    dealer: Annotated[int, Strict(), Field(ge=1, le=MAX_BOARD)]
    reason: Literal["undecryptable", "mismatch"]
    key: Hex64 | None = None  # S = eⱼ·R; None only when the envelope's R is not a point
    proof: Annotated[list[Hex64], Field(min_length=2, max_length=2)] | None = None  # [c, z]


class BoardRestart(Command):
    """The ceremony starts over with a new `poll_uid` (organisers; draft)."""

    NAME = "board.restart"
    poll_id: Id
    fresh: Fresh | None = None  # filled by the edge


class PartialJson(Command):
    d: Hex64
    c: Hex64
    z: Hex64


class BoardPartial(Command):
    """Member j's partial decryption of the aggregate, one per option, with proofs."""

    NAME = "board.partial"
    poll_id: Id
    partials: list[PartialJson] = Field(max_length=MAX_OPTIONS)


class PollVoid(Command):
    """Fewer than t members can decrypt: the closed poll ends without a count (chair)."""

    NAME = "poll.void"
    poll_id: Id


ROOM_COMMANDS = (PollCreate, PollUpdate, PollOpen, PollClose, PollRecord, PollPublish,
                 PollCancel, PollVoid, BoardRound1, BoardShares, BoardConfirm, BoardComplaint,
                 BoardRestart, BoardPartial)


def parse_vote(args: Any) -> VoteCast | Rejection:
    """Validate a ballot's arguments (a `vote.cast` command)."""
    if not isinstance(args, dict):
        return invalid("args must be an object")
    try:
        return VoteCast.model_validate(args)
    except ValidationError as exc:
        return invalid(first_error(exc))
