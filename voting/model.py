"""Polls as the room holds them: plain, immutable data (no rules here, no I/O)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


PollKind = Literal["motion", "single", "multi", "hands"]
Base = Literal["cast", "present", "members"]
Eligibility = Literal["present", "members"]
PollStatus = Literal["draft", "open", "closed", "published", "cancelled", "void"]
BoardStatus = Literal["collecting", "dealing", "checking", "ready", "failed"]

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
    verified: bool = False  # counted from encrypted ballots by the board's proven partials


class Complaint(_Frozen):
    """A member's round 3 found the share of `dealer` bad, and the core's judgement proved
    it: the ceremony failed, the dealer at fault."""

    complainer: int  # member index
    dealer: int  # member index
    reason: Literal["undecryptable", "mismatch"]
    key: str | None = None  # the revealed S = eⱼ·R (hex); None when R was not a point
    proof: tuple[str, str] | None = None  # [c, z] of log_G Eⱼ = log_R S
    # Dealer i's envelope to the complainer ({from, to, r, box}): the organisers see the
    # failure but never the shares, and need it (with the round-1 messages, the key and the
    # proof) to judge the complaint again. It opens to one share of a dead ceremony.
    envelope: dict[str, Any] | None = None


class CountingBoard(_Frozen):
    """The counting board of an encrypted poll (docs/BALLOT_CRYPTO.md, section 5): its key
    ceremony before the poll opens, and the partial decryptions of the aggregate after the
    close. Member i is `members[i - 1]`. Nothing here is per ballot: the room state stays
    the same size whatever the number of voters."""

    members: tuple[int, ...]  # user ids, in the order the organisers named them
    threshold: int
    poll_uid: str
    status: BoardStatus = "collecting"
    round1: dict[int, dict[str, Any]] = {}  # index -> round-1 message (public)
    # dealer index -> its encrypted shares (the board's members only; cleared once ready)
    shares: dict[int, tuple[dict[str, Any], ...]] = {}
    dealt: tuple[int, ...] = ()  # indices who sent their shares
    confirmed: tuple[int, ...] = ()  # indices whose round 3 found every share good
    complaint: Complaint | None = None
    public_key: str | None = None  # K, once ready
    context: str | None = None  # the poll context (hex), once ready
    verification_keys: dict[int, str] = {}  # index -> Xⱼ, once ready
    # After the close: the sealed box's aggregate, its ballots, the electorate then.
    aggregate: tuple[dict[str, str], ...] | None = None
    cast: int = 0
    present: int = 0
    total: int = 0
    partials: dict[int, tuple[dict[str, str], ...]] = {}  # index -> accepted partials

    def index_of(self, user_id: int) -> int | None:
        """The member index of `user_id` (1…n), None if not on the board."""
        return self.members.index(user_id) + 1 if user_id in self.members else None


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
    board: CountingBoard | None = None  # secret polls: their ballots are encrypted
    counting: bool = False  # closed, waiting for the board's partial decryptions

    @property
    def encrypted(self) -> bool:
        """Ballots are encrypted on the devices and counted by the board (secret polls
        with a board; a secret poll opened before encryption existed has none)."""
        return self.secret and self.board is not None

    @property
    def electronic(self) -> bool:
        """Ballots are cast on devices (everything but a show of hands)."""
        return self.kind != "hands"

    def option_ids(self) -> frozenset[int]:
        return frozenset(o.id for o in self.options)
