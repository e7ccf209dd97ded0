"""The minutes (biên bản) as plain data: what `signing.layout.render_minutes` draws.

Only data here, no rules and no I/O. Whoever builds a `MinutesDoc` (the draft from the
room log, an edited draft) fills it in; text may be in any Unicode normalisation form,
the layout draws it NFC. Times are timezone-aware and drawn in Vietnam time (UTC+7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Template = Literal["state", "party"]
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")


@dataclass(frozen=True)
class Person:
    """Someone named in the minutes: full name, position (chức vụ) and unit (đơn vị)."""

    name: str
    position: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Absence:
    """A member absent (vắng mặt), with the reason given (lý do), if any."""

    person: Person
    reason: str = ""


@dataclass(frozen=True)
class Substitute:
    """Someone attending in a member's place (người dự thay)."""

    person: Person
    replaces: Person


@dataclass(frozen=True)
class OnlineSite:
    """A remote site (điểm cầu) following the meeting online."""

    name: str
    attendees: int = 0
    host: str = ""


@dataclass(frozen=True)
class AgendaItem:
    """An agenda item (nội dung) with its presenter and when it was taken up."""

    title: str
    presenter: str = ""
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None


@dataclass(frozen=True)
class Speech:
    """A speaker given the floor: who, on which item, how long, and what they said."""

    speaker: Person
    seconds: int
    item: str = ""
    summary: str = ""


@dataclass(frozen=True)
class VoteRecord:
    """A vote (biểu quyết) and its outcome, counts as the room tallied them."""

    subject: str
    rule: str  # the rule in words, e.g. "quá nửa tổng số thành viên"
    votes_for: int
    votes_against: int
    abstentions: int
    base: int  # the number the rule is applied to
    passed: bool
    secret: bool = False
    # An election or a choice between options: each option's votes, and those elected
    # (then the for/against/abstain counts are not used).
    options: tuple[tuple[str, int], ...] = ()
    elected: tuple[str, ...] = ()
    cast: int = 0  # ballots cast (elections: the shares are of these)


@dataclass(frozen=True)
class Conclusion:
    """A conclusion (kết luận) of the chair: what, who carries it out, by when ("5 rõ")."""

    text: str
    owner: str = ""
    deadline: dt.date | None = None


@dataclass(frozen=True)
class LogDigest:
    """The meeting's log as the minutes certify it: the SHA-256 hash of its event `seq`
    (the end of the session), which through the log's hash chain covers events 1…seq;
    and, when a time-stamping service stamped that hash (RFC 3161), when and by whom."""

    seq: int
    sha256: str  # 64 hex digits
    stamped_at: dt.datetime | None = None
    tsa: str = ""


@dataclass(frozen=True)
class MinutesDoc:
    """Everything an official set of minutes states, in either format.

    `template` "state" follows Decree 30/2020/NĐ-CP (national title and motto); "party"
    follows Guidance 36-HD/VPTW ("ĐẢNG CỘNG SẢN VIỆT NAM", the committee and its star).
    `number` is the register number ("" leaves room for the document office to fill it
    in) and `notation` the symbol after it: "BB-UBND" (state: "Số: 12/BB-UBND") or
    "BB/ĐU" (party: "Số 12-BB/ĐU"). `proceedings` is plain text, paragraphs separated
    by blank lines.
    """

    template: Template
    issuing_body: str
    subject: str
    place_name: str
    date: dt.date
    started_at: dt.datetime
    ended_at: dt.datetime
    location: str
    chair: Person
    secretary: Person
    parent_body: str = ""
    number: str = ""
    notation: str = "BB"
    members_total: int = 0
    present: tuple[Person, ...] = ()
    absent: tuple[Absence, ...] = ()
    substitutes: tuple[Substitute, ...] = ()
    invitees: tuple[Person, ...] = ()
    online_sites: tuple[OnlineSite, ...] = ()
    agenda: tuple[AgendaItem, ...] = ()
    speeches: tuple[Speech, ...] = ()
    votes: tuple[VoteRecord, ...] = ()
    proceedings: str = ""
    conclusions: tuple[Conclusion, ...] = ()
    closing_note: str = ""
    chair_label: str = ""  # "" → "CHỦ TỌA" (state) / "CHỦ TRÌ" (party)
    secretary_label: str = ""  # "" → "THƯ KÝ"
    log: LogDigest | None = None  # printed after the closing line, before the signatures
