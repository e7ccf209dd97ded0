"""Polls in the room: their rules (`decide`), their events' effects (`apply`), who may vote,
and what each user sees; with the counting board's (`voting.counting_board`), one plugin,
`PLUGIN`, that `meeting_room.py` assembles into the room.

The ballots themselves never enter the room log: they go to the ballot box beside it
(see `server/ballot_box.py` and the store), and the log carries the poll's lifecycle:
opened, progress counts, closed, the result.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from phonghop.rooms.events import EVERYONE, Audience, organisers_and
from phonghop.rooms.plugin import (
    Context,
    HandlerTable,
    Lookup,
    Outcome,
    Plugin,
    RuleTable,
    dump,
    iso,
    joined,
    with_key,
)
from phonghop.rooms.rejections import Rejection, invalid, invalid_state, not_found
from phonghop.rooms.roles import ORGANISERS, Role
from phonghop.rooms.state import RoomState
from phonghop.voting import commands as v
from phonghop.voting import counting_board
from phonghop.voting.counting_board import (
    board_audience,
    board_view,
    check_board,
    new_board,
    public_poll,
    result_events,
    sees_draft,
)
from phonghop.voting.model import MOTION_OPTIONS, CountingBoard, Option, Poll, Progress, Result
from phonghop.voting.tally import result as tally_result

_SETTINGS = ("title", "item_id", "kind", "min_choices", "max_choices", "seats", "secret",
             "eligibility", "rule", "duration_seconds", "allow_change", "progress_public",
             "auto_publish")
# What the poll context binds (docs/BALLOT_CRYPTO.md): a change restarts the ceremony.
_BOUND = ("title", "kind", "options", "min_choices", "max_choices", "secret")
RULES = RuleTable()
HANDLERS = HandlerTable()


# ---- who votes ----


def vote_for(state: RoomState, user_id: int) -> int | None:
    """The voting member whose ballot `user_id` casts: themselves if they have a vote and no
    approved substitute stands in for them, the member they replace if they are that
    member's approved substitute, else None."""
    p = state.participants.get(user_id)
    if p is None:
        return None
    if p.substitute_for is None:
        return p.user_id if p.voting and p.substitute_user_id is None else None
    member = state.participants.get(p.substitute_for)
    if (p.voting and member is not None and member.voting
            and member.substitute_user_id == p.user_id):
        return member.user_id
    return None


def eligible_count(state: RoomState, poll: Poll) -> int:
    """How many ballots may be cast: voting members present, or all voting members."""
    return state.figures.present if poll.eligibility == "present" else state.figures.total


def check_ballot(
    state: RoomState, cmd: v.VoteCast, user_id: int, is_admin: bool, now: datetime
) -> int | Rejection:
    """Whether this ballot may go into the box: the member it counts for, or a refusal."""
    poll = state.polls.get(cmd.poll_id)
    if poll is None or not _may_see(state, poll, user_id, is_admin):
        return not_found("poll")
    if poll.status in ("closed", "published") or _overdue(poll, now):
        return Rejection("poll_closed")
    if poll.status != "open" or not poll.electronic:
        return Rejection("poll_not_open")
    member_id = vote_for(state, user_id)
    me = state.participants.get(user_id)
    if member_id is None and me is not None and me.substitute_user_id is not None:
        return Rejection("not_eligible", {"detail_vi": "người dự thay biểu quyết thay bạn",
                                          "detail_en": "your substitute votes in your place"})
    if member_id is None:
        return Rejection("not_eligible", {"detail_vi": "bạn không có quyền biểu quyết",
                                          "detail_en": "you have no vote in this meeting"})
    member = state.participants[member_id]
    if poll.eligibility == "present" and not state.counts_present(member):
        return Rejection("not_eligible", {"detail_vi": "bạn chưa điểm danh",
                                          "detail_en": "you have not checked in"})
    if cmd.replaces is not None:
        return invalid("replaces: a ballot is replaced by casting again, with allow_change")
    if poll.encrypted:
        if cmd.ballot is None:
            return invalid("ballot: a secret poll takes an encrypted ballot")
        if cmd.ballot.get("voter") != str(member_id):
            # A copy of another voter's ballot, or a ballot made for someone else.
            return Rejection("not_eligible", {
                "detail_vi": "lá phiếu ghi mã của người khác",
                "detail_en": "the ballot names another voter"})
        return member_id
    if poll.secret:  # opened before ballots were encrypted: no plaintext is taken
        return invalid("a secret poll takes encrypted ballots only")
    if cmd.ballot is not None or cmd.choices is None:
        return invalid("ballot: only secret polls take encrypted ballots")
    choices = cmd.choices
    if len(set(choices)) != len(choices) or not set(choices) <= poll.option_ids():
        return Rejection("invalid_choice")
    if len(choices) > poll.max_choices:
        return Rejection("too_many_choices", {"n": poll.max_choices})
    if len(choices) < poll.min_choices:
        return Rejection("too_few_choices", {"n": poll.min_choices})
    return member_id


def _overdue(poll: Poll, now: datetime) -> bool:
    if poll.closes_at is None:
        return False
    return now >= datetime.fromisoformat(poll.closes_at.replace("Z", "+00:00"))


def may_seal(state: RoomState, cmd: v.PollClose | v.PollCancel, user_id: int,
             is_admin: bool) -> Rejection | None:
    """Checked before the edge seals a poll's ballot box for `poll.close`/`poll.cancel`:
    a sealed box refuses ballots, so only a command that will succeed may seal it."""
    role = state.role_of(user_id)
    poll = state.polls.get(cmd.poll_id)
    if role is None and not is_admin:
        return Rejection("not_participant")
    if poll is None or not _may_see(state, poll, user_id, is_admin):
        return not_found("poll")
    if isinstance(cmd, v.PollClose):
        if role != Role.CHAIR and not is_admin:
            return Rejection("forbidden")
        if poll.status != "open":
            return _poll_state(poll)
        if not poll.electronic:
            return invalid("a show of hands closes with poll.record and its counts")
        return None
    if role not in ORGANISERS and not is_admin:
        return Rejection("forbidden")
    if poll.status not in ("draft", "open"):
        return _poll_state(poll)
    return None


def _poll_state(poll: Poll) -> Rejection:
    return invalid_state(f"poll_{poll.status}")


# ---- what users see ----


def _may_see(state: RoomState, poll: Poll, user_id: int, is_admin: bool) -> bool:
    # A poll that was never opened (a draft, or a draft cancelled) is the organisers' own,
    # and its counting board's, whose members hold the key ceremony meanwhile.
    return poll.opened_at is not None or sees_draft(state, poll, user_id, is_admin)


def _sees_progress(state: RoomState, poll: Poll, user_id: int, is_admin: bool) -> bool:
    return poll.progress_public or is_admin or state.role_of(user_id) in ORGANISERS


def polls_view(state: RoomState, user_id: int, is_admin: bool = False) -> dict[str, Any]:
    """The polls `user_id` may see, each as they may see it (a part of the room view)."""
    organiser = is_admin or state.role_of(user_id) in ORGANISERS
    shown = []
    for poll in sorted(state.polls.values(), key=lambda p: p.id):
        if not _may_see(state, poll, user_id, is_admin):
            continue
        data = poll.model_dump(mode="json")
        if not _sees_progress(state, poll, user_id, is_admin):
            data["progress"] = None
        if not organiser and poll.status != "published":
            data["result"] = None
        shown.append(board_view(poll, data, user_id))
    return {"polls": shown}


def _organisers() -> Audience:
    return organisers_and()


def _progress_audience(poll: Poll) -> Audience:
    return EVERYONE if poll.progress_public else _organisers()


# ---- rules ----


def _settings(ctx: Context, base: dict[str, Any], cmd: v.PollSettings
              ) -> dict[str, Any] | Rejection:
    """The poll's settings after `cmd`, checked as a whole."""
    changes = cmd.model_dump(exclude_none=True,
                             exclude={"poll_id", "options", "board", "fresh"})
    s = {**base, **changes}
    if "rule" in changes:
        s["rule"] = cmd.rule
    kind = s["kind"]
    if kind in ("motion", "hands"):
        s["options"] = tuple(Option(id=i, label=label) for i, label in MOTION_OPTIONS)
        s["min_choices"] = s["max_choices"] = s["seats"] = 1
    else:
        if cmd.options is not None:
            s["options"] = tuple(Option(id=i, label=label)
                                 for i, label in enumerate(cmd.options, start=1))
        n = len(s.get("options", ()))
        if n < 2:
            return invalid("options: a single or multiple choice poll needs 2 or more")
        if kind == "single":
            s["min_choices"] = s["max_choices"] = s["seats"] = 1
        else:
            s.setdefault("seats", 1)
            if "max_choices" not in changes and "max_choices" not in base:
                s["max_choices"] = s["seats"]
            s.setdefault("min_choices", 1)
            if not s["min_choices"] <= s["max_choices"] <= n:
                return invalid("choices: need min_choices <= max_choices <= options")
            if s["seats"] > n:
                return invalid("seats: more seats than options")
    if kind == "hands":
        s["secret"] = False  # hands are raised in the open
    if cmd.board is not None:
        if not s.get("secret"):
            return invalid("board: only a secret poll has a counting board")
        if refusal := check_board(ctx.state, cmd.board):
            return refusal
    if s.get("item_id") is not None and s["item_id"] not in ctx.state.items:
        return not_found("item")
    return s


@RULES.rule(v.PollCreate)
def _create(ctx: Context, cmd: v.PollCreate) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if len(ctx.state.polls) >= 1000:
        return Rejection("too_large")
    s = _settings(ctx, {}, cmd)
    if isinstance(s, Rejection):
        return s
    poll_id = ctx.state.next_id
    if cmd.board is not None:
        if cmd.fresh is None:
            return invalid("fresh: filled in by the server")
        s["board"] = new_board(cmd.board, cmd.fresh, poll_id)
    poll = Poll(id=poll_id, created_by=ctx.actor.user_id, created_at=ctx.at, **s)
    return [ctx.event("poll.created", board_audience(poll), poll=public_poll(poll))]


@RULES.rule(v.PollUpdate)
def _update(ctx: Context, cmd: v.PollUpdate) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    poll = ctx.state.polls.get(cmd.poll_id)
    if poll is None:
        return not_found("poll")
    if poll.status != "draft":
        return _poll_state(poll)
    if not cmd.model_dump(exclude_none=True, exclude={"poll_id", "fresh"}):
        return invalid("nothing to change")
    base = {k: getattr(poll, k) for k in _SETTINGS} | {"options": poll.options}
    s = _settings(ctx, base, cmd)
    if isinstance(s, Rejection):
        return s
    board = _board_after(poll, s, cmd)
    if isinstance(board, Rejection):
        return board
    updated = poll.model_copy(update={**s, "board": board})
    # The members of the board before and after hear of it: a member taken off sees it go.
    return [ctx.event("poll.updated", board_audience(updated, *(
        poll.board.members if poll.board else ())), poll=public_poll(updated))]


def _board_after(poll: Poll, s: dict[str, Any], cmd: v.PollUpdate
                 ) -> CountingBoard | Rejection | None:
    """The board after an update: none for a named poll, the same one when nothing the
    context binds changed, else a new ceremony (new members, or the same ones again)."""
    if not s.get("secret"):
        return None
    if cmd.board is None and (poll.board is None or all(
            s.get(k, getattr(poll, k)) == getattr(poll, k) for k in _BOUND)):
        return poll.board
    if cmd.fresh is None:
        return invalid("fresh: filled in by the server")
    if cmd.board is not None:
        return new_board(cmd.board, cmd.fresh, poll.id)
    assert poll.board is not None
    return new_board(v.BoardSettings(members=list(poll.board.members),
                                     threshold=poll.board.threshold), cmd.fresh, poll.id)


def _chair_on_open(ctx: Context, poll_id: int, roles: frozenset[str] = frozenset({Role.CHAIR})
                   ) -> Poll | Rejection:
    if ctx.role not in roles and not ctx.actor.is_admin:
        return Rejection("forbidden")
    poll = ctx.state.polls.get(poll_id)
    if poll is None:
        return not_found("poll")
    return poll


@RULES.rule(v.PollOpen)
def _open(ctx: Context, cmd: v.PollOpen) -> Outcome:
    poll = _chair_on_open(ctx, cmd.poll_id)
    if isinstance(poll, Rejection):
        return poll
    assert ctx.state.meeting is not None
    if ctx.state.meeting.status != "in_session":
        return invalid_state(ctx.state.meeting.status)
    if poll.status != "draft":
        return _poll_state(poll)
    if any(p.status == "open" for p in ctx.state.polls.values()):
        return invalid_state("poll_open")
    if poll.secret and (poll.board is None or poll.board.status != "ready"):
        return Rejection("board_not_ready")
    closes_at = None
    if poll.duration_seconds:
        closes_at = iso(ctx.now + timedelta(seconds=poll.duration_seconds))
    opened = poll.model_copy(update={"status": "open", "opened_at": ctx.at,
                                     "closes_at": closes_at, "progress": None})
    progress = Progress(voted=0, eligible=eligible_count(ctx.state, poll))
    return [ctx.event("poll.opened", poll=public_poll(opened)),
            ctx.event("poll.progress", _progress_audience(poll), poll_id=poll.id,
                      **dump(progress))]


@RULES.rule(v.PollProgress)
def _progress(ctx: Context, cmd: v.PollProgress) -> Outcome:
    if not ctx.actor.is_admin:  # the ballot box reports, as the system; never a client
        return Rejection("forbidden")
    poll = ctx.state.polls.get(cmd.poll_id)
    if poll is None or poll.status != "open":
        return []
    if poll.progress is not None and cmd.voted <= poll.progress.voted:
        return []  # another node already reported as many: counts only grow
    return [ctx.event("poll.progress", _progress_audience(poll), poll_id=poll.id,
                      voted=cmd.voted, eligible=eligible_count(ctx.state, poll))]


@RULES.rule(v.PollClose)
def _close(ctx: Context, cmd: v.PollClose) -> Outcome:
    if refusal := may_seal(ctx.state, cmd, ctx.actor.user_id, ctx.actor.is_admin):
        return refusal
    if cmd.box is None:
        return invalid("the ballot box was not sealed")
    poll = ctx.state.polls[cmd.poll_id]
    if poll.encrypted:
        # The count waits for the board: t members' partial decryptions of the aggregate.
        if cmd.box.aggregate is None or len(cmd.box.aggregate) != len(poll.options):
            return invalid("the ballot box was not sealed")
        figures = ctx.state.figures
        return [ctx.event("poll.closed", poll_id=poll.id, closed_at=ctx.at, status="closed",
                          counting=True, cast=cmd.box.cast,
                          aggregate=[a.model_dump() for a in cmd.box.aggregate],
                          present=figures.present, total=figures.total)]
    votes = {o.id: cmd.box.votes.get(o.id, 0) for o in poll.options}
    outcome = tally_result(poll, cmd.box.cast, votes, ctx.state.figures.present,
                           ctx.state.figures.total, cmd.box.receipts)
    return _closing(ctx, poll, outcome)


@RULES.rule(v.PollRecord)
def _record(ctx: Context, cmd: v.PollRecord) -> Outcome:
    poll = _chair_on_open(ctx, cmd.poll_id, frozenset({Role.CHAIR, Role.SECRETARY}))
    if isinstance(poll, Rejection):
        return poll
    if poll.kind != "hands":
        return invalid("only a show of hands is recorded as counts")
    if poll.status != "open":
        return _poll_state(poll)
    votes = {o.id: n for o, n in zip(poll.options, cmd.counts, strict=True)}
    outcome = tally_result(poll, sum(cmd.counts), votes, ctx.state.figures.present,
                           ctx.state.figures.total)
    return _closing(ctx, poll, outcome)


def _closing(ctx: Context, poll: Poll, outcome: Result) -> Outcome:
    closed = ctx.event("poll.closed", poll_id=poll.id, closed_at=ctx.at, status="closed")
    return [closed, *result_events(ctx, poll, outcome)]


@RULES.rule(v.PollPublish)
def _publish(ctx: Context, cmd: v.PollPublish) -> Outcome:
    poll = _chair_on_open(ctx, cmd.poll_id)
    if isinstance(poll, Rejection):
        return poll
    if poll.status != "closed" or poll.result is None:
        return _poll_state(poll)
    return [ctx.event("poll.published", poll_id=poll.id, published_at=ctx.at,
                      result=dump(poll.result))]


@RULES.rule(v.PollCancel)
def _cancel(ctx: Context, cmd: v.PollCancel) -> Outcome:
    if refusal := may_seal(ctx.state, cmd, ctx.actor.user_id, ctx.actor.is_admin):
        return refusal
    poll = ctx.state.polls[cmd.poll_id]
    audience = board_audience(poll) if poll.status == "draft" else EVERYONE
    return [ctx.event("poll.cancelled", audience, poll_id=poll.id)]


# ---- effects ----


@HANDLERS.on("poll.created", "poll.updated", "poll.opened")
def _poll(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    poll = Poll.model_validate(data["poll"])
    before = state.polls.get(poll.id)
    if (poll.board is not None and before is not None and before.board is not None
            and before.board.poll_uid == poll.board.poll_uid):
        # The same ceremony: the shares dealt so far stay (events carry the poll without).
        board = poll.board.model_copy(update={"shares": before.board.shares})
        poll = poll.model_copy(update={"board": board})
    return {"polls": with_key(state.polls, poll.id, poll),
            "next_id": max(state.next_id, poll.id + 1)}


def _change(state: RoomState, poll_id: int, **changes: Any) -> dict[str, Any]:
    poll = state.polls[poll_id]
    return {"polls": with_key(state.polls, poll_id, poll.model_copy(update=changes))}


@HANDLERS.on("poll.progress")
def _progressed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _change(state, data["poll_id"],
                   progress=Progress(voted=data["voted"], eligible=data["eligible"]))


@HANDLERS.on("poll.closed")
def _closed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    if not data.get("counting"):
        return _change(state, data["poll_id"], status="closed", closed_at=data["closed_at"])
    board = state.polls[data["poll_id"]].board
    assert board is not None
    board = board.model_copy(update={
        "aggregate": tuple(data["aggregate"]), "cast": data["cast"],
        "present": data["present"], "total": data["total"]})
    return _change(state, data["poll_id"], status="closed", closed_at=data["closed_at"],
                   counting=True, board=board)


@HANDLERS.on("poll.result")
def _resulted(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _change(state, data["poll_id"], result=Result.model_validate(data["result"]),
                   counting=False)


@HANDLERS.on("poll.published")
def _published(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _change(state, data["poll_id"], status="published",
                   published_at=data["published_at"], counting=False,
                   result=Result.model_validate(data["result"]))


@HANDLERS.on("poll.cancelled")
def _cancelled(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _change(state, data["poll_id"], status="cancelled")


# ---- the plugin ----


def _frozen(state: RoomState) -> str | None:
    """While a poll is open, roles, votes and the electorate are frozen and the session
    cannot end (close or cancel the vote first)."""
    return "poll_open" if any(p.status == "open" for p in state.polls.values()) else None


def _me(state: RoomState, user_id: int, is_admin: bool) -> dict[str, Any]:
    return {"vote_for": vote_for(state, user_id)}


_FRESH = (Lookup("fresh", into="fresh"),)  # a new poll_uid's randomness
_SEAL = (Lookup("ballot_box", into="box"),)  # the box is sealed first, its contents filled in

PLUGIN = Plugin(
    name="polls",
    commands=v.ROOM_COMMANDS,
    rules=joined(RULES, counting_board.RULES),
    handlers=joined(HANDLERS, counting_board.HANDLERS),
    personal_view=polls_view,
    me=_me,
    freezes=_frozen,
    lookups={v.PollCreate: _FRESH, v.PollUpdate: _FRESH, v.BoardRestart: _FRESH,
             v.PollClose: _SEAL, v.PollCancel: (Lookup("ballot_box"),)},
)
