"""The state of one meeting room: plain, immutable data.

Every entity is a frozen pydantic model whose JSON form is also what clients see and what
events carry, so a client applies an event by replacing one entity. `apply` never mutates a
state: it returns a new one that shares everything unchanged (dict copies are shallow).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rooms.roles import Role


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuorumRule(Frozen):
    """Quorum: checked-in voting members compared with num/den of all voting members."""

    num: int = Field(1, ge=0, le=100)
    den: int = Field(2, ge=1, le=100)
    strict: bool = True  # True: more than the fraction; False: at least the fraction

    def reached(self, present: int, total: int) -> bool:
        # Exact integer arithmetic: present/total > num/den  <=>  present*den > num*total.
        if total == 0:
            return False
        if self.strict:
            return present * self.den > self.num * total
        return present * self.den >= self.num * total


MeetingStatus = Literal["draft", "invited", "in_session", "ended"]


class MeetingInfo(Frozen):
    title: str
    starts_at: str
    ends_at: str | None = None
    location: str | None = None
    status: MeetingStatus = "draft"
    quorum: QuorumRule = QuorumRule()
    session_started_at: str | None = None
    session_ended_at: str | None = None


class Profile(Frozen):
    """What the room shows of a user account (filled in by the edge from the directory)."""

    user_id: int
    full_name: str
    position: str = ""
    unit: str = ""


Rsvp = Literal["pending", "attend", "absent", "substitute"]


class Participant(Frozen):
    user_id: int
    full_name: str
    position: str = ""
    unit: str = ""
    role: Role
    site_id: int | None = None
    voting: bool = False
    rsvp: Rsvp = "pending"
    substitute_user_id: int | None = None  # who attends in my place
    substitute_for: int | None = None  # whose place I take


class Attendance(Frozen):
    user_id: int
    status: Literal["present", "absent"]
    at: str
    by: int | None = None
    reason: str | None = None


class Site(Frozen):
    id: int
    name: str


ItemStatus = Literal["pending", "active", "done", "deferred"]


class AgendaItem(Frozen):
    id: int
    title: str
    presenter_id: int | None = None
    planned_minutes: int = 10
    status: ItemStatus = "pending"
    started_at: str | None = None  # start of the current run while active
    spent_seconds: int = 0  # accumulated over earlier runs


class FloorRequest(Frozen):
    user_id: int
    site_id: int | None = None
    note: str | None = None
    at: str


class Speaker(Frozen):
    user_id: int
    site_id: int | None = None
    since: str
    seconds: int


class Notice(Frozen):
    id: int
    text: str
    at: str
    by: int
    roles: tuple[str, ...] | None = None


class RoomState(Frozen):
    seq: int = 0
    meeting: MeetingInfo | None = None
    sites: dict[int, Site] = {}
    participants: dict[int, Participant] = {}
    attendance: dict[int, Attendance] = {}
    rsvp_reasons: dict[int, str] = {}
    items: dict[int, AgendaItem] = {}
    order: tuple[int, ...] = ()
    active_item: int | None = None
    queue: tuple[FloorRequest, ...] = ()
    speaker: Speaker | None = None
    notices: tuple[Notice, ...] = ()
    next_id: int = 1

    def role_of(self, user_id: int) -> Role | None:
        p = self.participants.get(user_id)
        return p.role if p else None

    def voting_members(self) -> list[Participant]:
        """Members with a vote, substitutes excluded (they count for their member)."""
        return [p for p in self.participants.values() if p.voting and p.substitute_for is None]

    def present_voting(self) -> int:
        """Voting members present in person or through a checked-in substitute."""
        n = 0
        for p in self.voting_members():
            a = self.attendance.get(p.user_id)
            s = self.attendance.get(p.substitute_user_id) if p.substitute_user_id else None
            if (a and a.status == "present") or (s and s.status == "present"):
                n += 1
        return n
