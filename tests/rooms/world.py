"""A small room world for core tests: a directory of people and a driver for decide/apply.

The driver plays the part of the server edge without any I/O: it parses a command, fills
in what the plugins' lookups ask for (`meeting_room.lookups`, as `Node._resolve` does) from
a fake directory, file store and ballot box, decides at a controlled `now`, numbers the
events like the store does and folds them in with `apply`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from phonghop.documents.model import FileInfo
from phonghop.meeting_room import after_batch, apply, decide, lookups, parse_command
from phonghop.rooms import Actor, Event, Profile, Rejection, RoomState
from phonghop.rooms import commands as c
from phonghop.rooms.plugin import Lookup
from phonghop.voting import commands as v
from phonghop.voting.commands import BoxContents, PollClose
from phonghop.voting.secret.ballot import Ballot
from phonghop.voting.secret.count import aggregate

T0 = datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC)

# People of the world: user id -> (name, role in the standard meeting, or None).
CHAIR, SECRETARY, D1, D2, D3, INVITEE, PRESENTER, OPERATOR = 1, 2, 3, 4, 5, 6, 7, 8
OUTSIDER, OUTSIDER2 = 50, 51
ADMIN = 99
ROLES: dict[int, str] = {
    CHAIR: "chair", SECRETARY: "secretary", D1: "delegate", D2: "delegate", D3: "delegate",
    INVITEE: "invitee", PRESENTER: "presenter", OPERATOR: "site_operator",
}
NAMES = {
    CHAIR: "Trần Quốc Hưng", SECRETARY: "Lê Thu Hằng", D1: "Nguyễn Văn An",
    D2: "Phạm Thị Bình", D3: "Hoàng Minh Cường", INVITEE: "Đỗ Ngọc Dung",
    PRESENTER: "Bùi Hữu Giang", OPERATOR: "Vũ Thanh Hà", OUTSIDER: "Đặng Quang Long",
    OUTSIDER2: "Phan Thu Mai", ADMIN: "Nguyễn Thị Quản Trị",
}
DIRECTORY = {uid: Profile(user_id=uid, full_name=name, position="Chuyên viên", unit="UBND")
             for uid, name in NAMES.items()}
ACTORS = {uid: Actor(uid, is_admin=(uid == ADMIN)) for uid in NAMES}
# Uploaded files the edge knows (sha256 -> what the file store says of it).
FILES = {
    sha: FileInfo(sha256=sha, filename=name, size=1000 * pages,
                  sizes=tuple((595.0, 842.0) if n % 3 else (842.0, 595.0) for n in range(pages)))
    for sha, name, pages in (("a" * 64, "Báo cáo kinh tế.pdf", 5), ("b" * 64, "Tờ trình.pdf", 2),
                             ("c" * 64, "Phụ lục.pdf", 12))
}


def _user(room: Room, command: c.Command, lookup: Lookup) -> c.Command:
    """Profiles from the directory, as the server edge fills them."""
    uid = getattr(command, lookup.key or "")
    if uid not in DIRECTORY:
        return command
    return command.model_copy(update={lookup.into: DIRECTORY[uid]})


def _room_file(room: Room, command: c.Command, lookup: Lookup) -> c.Command:
    sha = getattr(command, lookup.key or "")
    if sha not in FILES:
        return command
    return command.model_copy(update={lookup.into: FILES[sha]})


def _fresh(room: Room, command: c.Command, lookup: Lookup) -> c.Command:
    """A new poll_uid's randomness, drawn by the edge (deterministic here)."""
    global _nonces
    _nonces += 1
    return command.model_copy(update={lookup.into: v.Fresh(room=1, nonce=f"{_nonces:016x}")})


def _ballot_box(room: Room, command: c.Command, lookup: Lookup) -> c.Command:
    """The server seals the ballot box first: here a box of three ballots, or for an
    encrypted poll the aggregate of the ballots in the world's box."""
    if not isinstance(command, PollClose):
        return command
    return room.seal(command.model_copy(update={
        "box": BoxContents(cast=3, votes={1: 2, 2: 1}, receipts=3)}))


# The edge's services by lookup kind (the server's are in server/node.py).
FILLS = {"user": _user, "room_file": _room_file, "fresh": _fresh, "ballot_box": _ballot_box}
_nonces = 0


@dataclasses.dataclass
class Room:
    """A room driven command by command; every committed event is kept with its seq."""

    state: RoomState = dataclasses.field(default_factory=RoomState)
    events: list[Event] = dataclasses.field(default_factory=list)
    commits: list[int] = dataclasses.field(default_factory=list)  # the seq after each commit
    now: datetime = T0
    # Whether the writer announces the quorum after each command; off, check-ins move the
    # live quorum only, until `announce_now` (a writer that announced less than
    # ANNOUNCE_EVERY ago).
    announce: bool = True
    # Encrypted polls: the ballots in the box (poll id -> ballots), sealed at the close.
    box: dict[int, list[Ballot]] = dataclasses.field(default_factory=dict)

    def seal(self, command: PollClose) -> PollClose:
        """An encrypted poll's close: the aggregate of the ballots in the world's box."""
        poll = self.state.polls.get(command.poll_id)
        if poll is None or not poll.encrypted:
            return command
        ballots = self.box.get(poll.id, [])
        totals = [v.CiphertextJson(**t.to_json()) for t in aggregate(ballots, len(poll.options))]
        return command.model_copy(update={"box": BoxContents(
            cast=len(ballots), votes={}, receipts=len(ballots), aggregate=totals)})

    def announce_now(self) -> list[Event]:
        """A writer's turn with no command: what is due after a batch."""
        placed = self._place(after_batch(self.state, self.now))
        self.events.extend(placed)
        if placed:
            self.commits.append(self.state.seq)
        return placed

    def _place(self, events: list[Event]) -> list[Event]:
        """Number `events` after the log's end, as the store does, and fold them in."""
        placed = []
        for event in events:
            event = dataclasses.replace(event, seq=self.state.seq + 1)
            self.state = apply(self.state, event)
            placed.append(event)
        return placed

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def run(self, actor: int, name: str, /, **args: Any) -> list[Event] | Rejection:
        """Parse, decide and apply one command; a refusal leaves everything as it was."""
        if name == "meeting.create":
            command: c.Command | Rejection = c.MeetingCreate.model_validate(args)
        else:
            command = parse_command(name, args)
        if isinstance(command, Rejection):
            return command
        return self.decide(actor, self.resolve(command))

    def resolve(self, command: c.Command) -> c.Command:
        """Fill in what the plugins' lookups ask for, as the server edge does."""
        for lookup in lookups(command):
            command = FILLS[lookup.kind](self, command, lookup)
        return command

    def decide(self, actor: int, command: c.Command) -> list[Event] | Rejection:
        outcome = decide(self.state, command, ACTORS[actor], self.now)
        if isinstance(outcome, Rejection):
            return outcome
        placed = self._place(outcome)
        # Each command is a batch of its own, after which the writer adds what is due (the
        # quorum check-ins moved), as it does when it last announced long enough ago.
        if self.announce:
            placed += self._place(after_batch(self.state, self.now))
        self.events.extend(placed)
        self.commits.append(self.state.seq)
        return placed

    def ok(self, actor: int, name: str, /, **args: Any) -> list[Event]:
        """Run a command that must be accepted."""
        outcome = self.run(actor, name, **args)
        assert not isinstance(outcome, Rejection), (name, args, outcome)
        return outcome

    def refused(self, actor: int, name: str, /, **args: Any) -> str:
        """Run a command that must be refused and change nothing; return its code."""
        before = self.state
        seen = len(self.events)
        outcome = self.run(actor, name, **args)
        assert isinstance(outcome, Rejection), (name, args, outcome)
        assert self.state is before and len(self.events) == seen
        return outcome.code


def standard_room(*, invite: bool = True, start: bool = True, items: int = 3,
                  roster: str = "all") -> Room:
    """A meeting with one online site, every role, `items` agenda items."""
    room = Room()
    room.ok(ADMIN, "meeting.create", title="Phiên họp thường kỳ tháng 11",
            starts_at="2026-11-22T08:00:00+07:00", roster=roster)
    room.ok(ADMIN, "site.add", name="Điểm cầu Tổ dân phố số 1")
    site = next(iter(room.state.sites))
    for uid, role in ROLES.items():
        extra = {"site_id": site} if role == "site_operator" else {}
        room.ok(ADMIN, "participant.add", user_id=uid, role=role, **extra)
    for n in range(1, items + 1):
        room.ok(ADMIN, "agenda.add", title=f"Nội dung {n}", planned_minutes=10 * n)
    if invite:
        room.ok(ADMIN, "meeting.invite")
    if start:
        room.ok(CHAIR, "session.start")
    return room


def substitute(room: Room, member: int, sub: int, by: int = CHAIR,
               **rsvp: Any) -> list[Event]:
    """`member` asks that `sub` attend in their place, and an organiser approves it."""
    room.ok(member, "rsvp", answer="substitute", substitute_user_id=sub, **rsvp)
    return room.ok(by, "substitute.approve", user_id=member)


def item_ids(room: Room) -> list[int]:
    return list(room.state.order)
