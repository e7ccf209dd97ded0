"""The state of one meeting room: plain, immutable data.

Every entity is a frozen pydantic model whose JSON form is also what clients see and what
events carry, so a client applies an event by replacing one entity. `apply` never mutates a
state: it returns a new one that shares everything unchanged (dict copies are shallow).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from phonghop.documents.marks import NO_MARKS, SharedMarks
from phonghop.documents.model import Document, Presentation
from phonghop.minutes.model import MinutesState
from phonghop.rooms.roles import Role
from phonghop.voting.model import Poll


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
    # Who sees the list of participants and their attendance: everyone, or (for large
    # conferences, where thousands of tablets need not carry the roster) the organisers.
    roster: Literal["all", "organisers"] = "all"
    session_started_at: str | None = None
    session_ended_at: str | None = None
    # Who held the chair and the secretary's role when the session ended: the people who
    # sign the minutes in those fields, whatever the roster says afterwards.
    chair_at_end: int | None = None
    secretary_at_end: int | None = None


class QuorumFigures(Frozen):
    """The live quorum: voting members present, all voting members, and the verdict."""

    present: int = 0
    total: int = 0
    reached: bool = False


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
    # Always None in the state: the reason of an absence is personal and lives in
    # `RoomState.absence_reasons` (the field remains for the logs written before).
    reason: str | None = None


class SubstituteRequest(Frozen):
    """A member asks that `substitute` attend in their place; an organiser decides."""

    member_id: int
    substitute: Profile
    at: str
    by: int  # the member, or the organiser who answered the invitation for them


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
    opened_at: str | None = None  # first taken up (for the minutes)
    closed_at: str | None = None  # completed


class FloorRequest(Frozen):
    user_id: int
    full_name: str = ""
    site_id: int | None = None
    note: str | None = None
    at: str


class Speaker(Frozen):
    user_id: int
    full_name: str = ""
    site_id: int | None = None
    since: str
    seconds: int


class Speech(Frozen):
    """Who spoke, on which item, for how long: what the minutes list."""

    user_id: int
    full_name: str = ""
    site_id: int | None = None
    item_id: int | None = None
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
    absence_reasons: dict[int, str] = {}  # personal: organisers and the member only
    substitute_requests: dict[int, SubstituteRequest] = {}  # by member, awaiting approval
    items: dict[int, AgendaItem] = {}
    order: tuple[int, ...] = ()
    active_item: int | None = None
    queue: tuple[FloorRequest, ...] = ()
    speaker: Speaker | None = None
    notices: tuple[Notice, ...] = ()
    # The live quorum, which rules read: a check-in moves it at once (O(1), `checked_in`);
    # roster and rule changes recount it in a `quorum.changed` of their own command.
    figures: QuorumFigures = QuorumFigures()
    # The quorum as last announced to everyone (`quorum.changed`): what views show. Check-
    # ins are announced together, at the end of the writer's batch and at most every
    # fraction of a second (`rooms.decide.announce_quorum`), not one event each.
    announced: QuorumFigures = QuorumFigures()
    # The features' state is held here too, as fields of one frozen model (typed, and the
    # shape of the stored snapshots); each is changed only by its own plugin's handlers,
    # and the kernel's rules never read them (docs/ARCHITECTURE.md, "The assembly").
    documents: dict[int, Document] = {}  # documents/room.py
    presentation: Presentation | None = None  # documents/room.py
    # Which shared marks are on which page (documents/marks.py); the marks themselves are
    # stored beside the events, and private ones in the store alone.
    marks: SharedMarks = NO_MARKS
    polls: dict[int, Poll] = {}  # voting/room.py; ballots live in the ballot box
    speeches: tuple[Speech, ...] = ()  # the floor's history, for the minutes (not in views)
    minutes: MinutesState = MinutesState()  # minutes/room.py
    next_id: int = 1  # ids of sites, items and notices, and of the features' entities

    @model_validator(mode="before")
    @classmethod
    def _quorum_was_announced(cls, data: Any) -> Any:
        """A snapshot stored when every check-in announced the quorum: the live figures
        are the announced ones."""
        if isinstance(data, dict) and "figures" in data and "announced" not in data:
            return {**data, "announced": data["figures"]}
        return data

    @model_validator(mode="before")
    @classmethod
    def _marks_are_indexed(cls, data: Any) -> Any:
        """A snapshot stored when the state held every shared mark whole: keep their index."""
        if not isinstance(data, dict) or "annotations" not in data:
            return data
        rest = {k: v for k, v in data.items() if k != "annotations"}
        rest["marks"] = SharedMarks.from_annotations(data["annotations"] or {},
                                                     int(data.get("seq") or 0))
        return rest

    @model_validator(mode="before")
    @classmethod
    def _reasons_are_personal(cls, data: Any) -> Any:
        """A snapshot written before absence reasons became personal: move each reason
        out of the (shared) attendance into `absence_reasons`."""
        if not isinstance(data, dict) or not isinstance(data.get("attendance"), dict):
            return data
        moved = {k: a for k, a in data["attendance"].items()
                 if isinstance(a, dict) and a.get("reason")}
        if not moved:
            return data
        reasons = dict(data.get("absence_reasons") or {})
        for key, a in moved.items():
            reasons.setdefault(key, a["reason"])
        attendance = {**data["attendance"], **{k: {**a, "reason": None}
                                                 for k, a in moved.items()}}
        return {**data, "attendance": attendance, "absence_reasons": reasons}

    def role_of(self, user_id: int) -> Role | None:
        p = self.participants.get(user_id)
        return p.role if p else None

    def holder(self, role: Role) -> Participant | None:
        """Who holds `role` (the chair, the secretary: at most one each)."""
        return next((p for p in self.participants.values() if p.role == role), None)

    def voting_members(self) -> list[Participant]:
        """Members with a vote, substitutes excluded (they count for their member)."""
        return [p for p in self.participants.values() if p.voting and p.substitute_for is None]

    def counts_present(self, member: Participant) -> bool:
        """A voting member counts present in person, or, while an approved substitute
        stands in for them (their own rights paused), through that substitute's check-in."""
        who = member.substitute_user_id or member.user_id
        a = self.attendance.get(who)
        return a is not None and a.status == "present"

    def present_voting(self) -> int:
        """Voting members present in person or through a checked-in substitute."""
        return sum(1 for p in self.voting_members() if self.counts_present(p))

    def member_for(self, user_id: int) -> Participant | None:
        """The voting member whose presence `user_id` attending decides, if any."""
        p = self.participants.get(user_id)
        if p is None:
            return None
        if p.substitute_for is not None:
            p = self.participants.get(p.substitute_for)
        return p if p is not None and p.voting and p.substitute_for is None else None

    def checked_in(self, a: Attendance) -> QuorumFigures:
        """The live quorum once `a` is recorded (O(1): only the member `a.user_id`
        attends for can move)."""
        member = self.member_for(a.user_id)
        if member is None:
            return self.figures
        who = member.substitute_user_id or member.user_id
        if who != a.user_id:  # a substitute paused or unapproved, or the member replaced
            return self.figures
        present = self.figures.present + (a.status == "present") - self.counts_present(member)
        rule = self.meeting.quorum if self.meeting else QuorumRule()
        return QuorumFigures(present=present, total=self.figures.total,
                             reached=rule.reached(present, self.figures.total))

    def quorum_figures(self) -> QuorumFigures:
        """Recompute the quorum from scratch (O(members))."""
        present, total = self.present_voting(), len(self.voting_members())
        rule = self.meeting.quorum if self.meeting else QuorumRule()
        return QuorumFigures(present=present, total=total, reached=rule.reached(present, total))
