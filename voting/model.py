"""Polls as the room holds them: plain, immutable data (no rules here, no I/O)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


PollKind = Literal["motion", "single", "multi", "hands"]
Base = Literal["cast", "present", "members"]
Eligibility = Literal["present", "members"]
PollStatus = Literal["draft", "open", "closed", "published", "cancelled"]

FOR, AGAINST, ABSTAIN = 1, 2, 3
# The motion's options, in the words of the trade (FIELD.md); show-of-hands polls use them too.
MOTION_OPTIONS: tuple[tuple[int, str], ...] = (
    (FOR, "Tán thành"), (AGAINST, "Không tán thành"), (ABSTAIN, "Không biểu quyết"),
)


class Rule(_Frozen):
    """Passes when the votes for reach num/den of the base: `for * den > num * base`
    (strict, "more than") or `>=` ("at least"). Exact integers, never floats."""

    num: int = Field(1, ge=1, le=100)
    den: int = Field(2, ge=1, le=100)
    base: Base = "members"
    strict: bool = True


class Option(_Frozen):
    id: int
    label: str


class OptionCount(_Frozen):
    option_id: int
    votes: int


class Progress(_Frozen):
    """How many have voted, of how many may: never what they chose."""

    voted: int = 0
    eligible: int = 0


class Result(_Frozen):
    """The outcome at close: counts, the base the rule was applied to, and the verdict."""

    cast: int
    counts: tuple[OptionCount, ...]
    base: Base
    base_count: int
    present: int  # voting members present at close
    members: int  # all voting members
    rule: Rule
    passed: bool | None = None  # motions and show of hands
    elected: tuple[int, ...] = ()  # single / multi: options that meet the rule, within seats
    tie: bool = False
    receipts: int = 0  # receipt codes counted (electronic polls)


class Poll(_Frozen):
    id: int
    item_id: int | None = None
    title: str
    kind: PollKind = "motion"
    options: tuple[Option, ...] = ()
    min_choices: int = 1
    max_choices: int = 1
    seats: int = 1
    secret: bool = False
    eligibility: Eligibility = "present"
    rule: Rule = Rule()
    duration_seconds: int | None = None
    allow_change: bool = False
    progress_public: bool = False
    auto_publish: bool = True
    status: PollStatus = "draft"
    created_by: int
    created_at: str
    opened_at: str | None = None
    closes_at: str | None = None
    closed_at: str | None = None
    published_at: str | None = None
    progress: Progress | None = None
    result: Result | None = None

    @property
    def electronic(self) -> bool:
        """Ballots are cast on devices (everything but a show of hands)."""
        return self.kind != "hands"

    def option_ids(self) -> frozenset[int]:
        return frozenset(o.id for o in self.options)
