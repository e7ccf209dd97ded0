"""Plain records the store hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class User:
    id: int
    username: str
    full_name: str
    position: str
    unit: str
    is_admin: bool
    password_hash: str = ""
    disabled_at: datetime | None = None  # a disabled account cannot sign in
    password_changed_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def public(self) -> dict[str, object]:
        """What other users and clients may see of this account."""
        return {
            "id": self.id, "username": self.username, "full_name": self.full_name,
            "position": self.position, "unit": self.unit, "is_admin": self.is_admin,
        }

    def account(self) -> dict[str, object]:
        """What administrators see of this account (the accounts screen)."""
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {**self.public(), "disabled": self.disabled, "disabled_at": iso(self.disabled_at),
                "password_changed_at": iso(self.password_changed_at),
                "created_at": iso(self.created_at)}


@dataclass(frozen=True)
class CommandMark:
    """Remembers that (user, command id) was applied at `seq`, for idempotent retries."""

    user_id: int
    command_id: str
    seq: int


@dataclass(frozen=True)
class BallotIn:
    """A ballot on its way into the box: checked by the room core, not yet committed."""

    voter_id: int  # the member it counts for
    cast_by: int  # the member, or their authorised substitute
    choices: tuple[int, ...]
    receipt: str
    replaces: str | None = None  # secret polls that allow a change: the receipt replaced


@dataclass(frozen=True)
class EncryptedIn:
    """An encrypted ballot on its way into the box: parsed (its tracker known), not yet
    committed; its proofs are checked once it is in (`BallotCheck`)."""

    voter_id: int  # the member it counts for (the ballot's own `voter`)
    tracker: str  # 64 hex digits
    ballot: str  # its JSON


# What happened to each ballot of a batch.
CAST, DUPLICATE, ALREADY_VOTED, BOX_CLOSED, NO_SUCH_RECEIPT = (
    "cast", "duplicate", "already_voted", "closed", "no_such_receipt")


@dataclass(frozen=True)
class SealedBox:
    """A sealed box's contents: every ballot's choices (in random order) and the receipts."""

    choices: list[tuple[int, ...]]
    receipts: list[str]  # sorted; an encrypted box's trackers
    discarded: bool = False
    ballots: list[str] = field(default_factory=list)  # an encrypted box's ballots (JSON)
    # Of those, the ones whose proofs were not checked yet (indexes into `ballots`): the
    # sealer checks them before anything is counted.
    unchecked: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BallotCheck:
    """The verdict on the proofs of one encrypted ballot in the box (named by its voter
    and tracker, so that a ballot replaced meanwhile is left alone)."""

    voter_id: int
    tracker: str
    valid: bool
