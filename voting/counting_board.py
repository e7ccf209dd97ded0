"""The counting board of an encrypted poll in the room (docs/BALLOT_CRYPTO.md, section 5):
the key ceremony while the poll is a draft, and the partial decryptions of the aggregate
after the close, each step checked with the pure functions of `voting.secret`. Its rules
and handlers (`RULES`, `HANDLERS`) are part of the polls' plugin (`voting.room.PLUGIN`).

Audiences: a draft is seen by the organisers and the board's members, so every step of the
ceremony goes to them (round 1 is public, but the poll is not yet: it becomes public with
the whole board when the poll opens); the encrypted shares go to the board's members only.
After the close every step is public.
"""

from __future__ import annotations

from typing import Any

from phonghop.rooms.events import Audience, organisers_and
from phonghop.rooms.plugin import Context, HandlerTable, Outcome, RuleTable, dump, with_key
from phonghop.rooms.rejections import Rejection, invalid, invalid_state, not_found
from phonghop.rooms.roles import ORGANISERS, Role
from phonghop.rooms.state import RoomState
from phonghop.voting import commands as v
from phonghop.voting.model import Complaint, CountingBoard, Poll, Result
from phonghop.voting.secret import ceremony as cer
from phonghop.voting.secret.ballot import BallotRules
from phonghop.voting.secret.ceremony import (
    Round1,
    ceremony_id,
    check_round1,
    poll_context,
    public_key,
    verification_keys,
)
from phonghop.voting.secret.count import Partial, counts, verify_partials
from phonghop.voting.secret.elgamal import Ciphertext
from phonghop.voting.secret.group import EncodingError, Point
from phonghop.voting.secret.proofs import Pair
from phonghop.voting.tally import result as tally_result

RULES = RuleTable()
HANDLERS = HandlerTable()
# ---- shared with voting.room ----


def new_board(settings: v.BoardSettings, fresh: v.Fresh, poll_id: int) -> CountingBoard:
    """A board about to start its ceremony, with a new `poll_uid`."""
    return CountingBoard(members=tuple(settings.members), threshold=settings.threshold,
                         poll_uid=f"{fresh.room}/{poll_id}/{fresh.nonce}")


def restarted(board: CountingBoard, fresh: v.Fresh, poll_id: int) -> CountingBoard:
    """The same members and threshold, everything else cleared, a new `poll_uid`."""
    return new_board(v.BoardSettings(members=list(board.members), threshold=board.threshold),
                     fresh, poll_id)


def check_board(state: RoomState, settings: v.BoardSettings) -> Rejection | None:
    """Members are distinct participants of the meeting, and 1 ≤ t ≤ n."""
    if len(set(settings.members)) != len(settings.members):
        return invalid("board: a member is named twice")
    if settings.threshold > len(settings.members):
        return invalid("board: the threshold is more than the members")
    if any(uid not in state.participants for uid in settings.members):
        return not_found("participant")
    return None


def board_audience(poll: Poll, *also: int) -> Audience:
    """Who sees a draft poll: the organisers and the board's members."""
    members = poll.board.members if poll.board else ()
    return organisers_and(*members, *also)


def public_poll(poll: Poll) -> dict[str, Any]:
    """The poll as events carry it: the encrypted shares left out (`board.shares` carries
    them, to the board's members only)."""
    data = dump(poll)
    if data.get("board"):
        data["board"]["shares"] = {}
    return data


def poll_info(poll: Poll) -> tuple[bytes, list[str]]:
    """The ceremony id and the option texts the context binds."""
    assert poll.board is not None
    board = poll.board
    return (ceremony_id(board.poll_uid, len(board.members), board.threshold),
            [o.label for o in poll.options])


def ballot_rules(poll: Poll) -> BallotRules:
    """What a ballot of this (ready) encrypted poll is checked against."""
    assert poll.board is not None and poll.board.public_key and poll.board.context
    return BallotRules(bytes.fromhex(poll.board.context), Point.from_hex(poll.board.public_key),
                       len(poll.options), poll.min_choices, poll.max_choices)


def result_events(ctx: Context, poll: Poll, outcome: Result) -> list[Any]:
    """The result goes out: published at once, or to the organisers until published."""
    if poll.auto_publish:
        return [ctx.event("poll.published", poll_id=poll.id, published_at=ctx.at,
                          result=dump(outcome))]
    return [ctx.event("poll.result", organisers_and(), poll_id=poll.id, result=dump(outcome))]


# ---- the ceremony ----


def _visible(ctx: Context, poll: Poll | None) -> bool:
    if poll is None:
        return False
    return (poll.opened_at is not None or ctx.organiser
            or (poll.board is not None and ctx.actor.user_id in poll.board.members))


def _member_step(ctx: Context, poll_id: int, status: str
                 ) -> tuple[Poll, CountingBoard, int] | Rejection:
    """The poll, its board and the caller's index, for a ceremony step made in `status`."""
    poll = ctx.state.polls.get(poll_id)
    if poll is None or not _visible(ctx, poll):
        return not_found("poll")
    board = poll.board
    if board is None:
        return invalid("the poll has no counting board")
    index = board.index_of(ctx.actor.user_id)
    if index is None:
        return Rejection("forbidden")
    if poll.status != "draft":
        return invalid_state(f"poll_{poll.status}")
    if board.status != status:
        return invalid_state(f"board_{board.status}")
    return poll, board, index


def _bad(detail: str) -> Rejection:
    return Rejection("invalid_board_message", {"detail": detail})


@RULES.rule(v.BoardRound1)
def _round1(ctx: Context, cmd: v.BoardRound1) -> Outcome:
    found = _member_step(ctx, cmd.poll_id, "collecting")
    if isinstance(found, Rejection):
        return found
    poll, board, index = found
    if index in board.round1:
        return Rejection("already_sent")
    try:
        message = Round1.from_json(cmd.message, board.threshold)
    except ValueError as exc:  # EncodingError included
        return _bad(str(exc))
    if message.index != index:
        return _bad(f"your index on the board is {index}")
    ceremony, _ = poll_info(poll)
    if why := check_round1(ceremony, len(board.members), board.threshold, message):
        return _bad(why)
    status = "dealing" if len(board.round1) + 1 == len(board.members) else "collecting"
    return [ctx.event("board.round1", board_audience(poll), poll_id=poll.id, index=index,
                      message=message.to_json(), status=status)]


@RULES.rule(v.BoardShares)
def _shares(ctx: Context, cmd: v.BoardShares) -> Outcome:
    found = _member_step(ctx, cmd.poll_id, "dealing")
    if isinstance(found, Rejection):
        return found
    poll, board, index = found
    if index in board.dealt:
        return Rejection("already_sent")
    others = set(range(1, len(board.members) + 1)) - {index}
    if any(s.dealer != index for s in cmd.shares):
        return _bad(f"every share is from your index, {index}")
    if len(cmd.shares) != len(others) or {s.to for s in cmd.shares} != others:
        return _bad("exactly one share for every other member")
    status = "checking" if len(board.dealt) + 1 == len(board.members) else "dealing"
    shares = [s.to_json() for s in sorted(cmd.shares, key=lambda s: s.to)]
    members_only = Audience(False, frozenset(), frozenset(board.members))
    return [ctx.event("board.shares", members_only, poll_id=poll.id, index=index,
                      shares=shares),
            ctx.event("board.dealt", board_audience(poll), poll_id=poll.id, index=index,
                      status=status)]


@RULES.rule(v.BoardConfirm)
def _confirm(ctx: Context, cmd: v.BoardConfirm) -> Outcome:
    found = _member_step(ctx, cmd.poll_id, "checking")
    if isinstance(found, Rejection):
        return found
    poll, board, index = found
    if index in board.confirmed:
        return Rejection("already_sent")
    n = len(board.members)
    done = len(board.confirmed) + 1 == n
    audience = board_audience(poll)
    events = [ctx.event("board.confirmed", audience, poll_id=poll.id, index=index,
                        status="ready" if done else "checking")]
    if done:
        # Every member found its shares good: the public results follow from round 1.
        accepted = [Round1.from_json(board.round1[i], board.threshold) for i in range(1, n + 1)]
        key = public_key(accepted)
        ceremony, options = poll_info(poll)
        context = poll_context(ceremony, board.poll_uid, poll.title, options,
                               poll.min_choices, poll.max_choices, key)
        events.append(ctx.event(
            "board.ready", audience, poll_id=poll.id, public_key=key.hex(),
            context=context.hex(),
            verification_keys={str(j): x.hex() for j, x in verification_keys(accepted).items()}))
    return events


@RULES.rule(v.BoardComplaint)
def _complaint(ctx: Context, cmd: v.BoardComplaint) -> Outcome:
    found = _member_step(ctx, cmd.poll_id, "checking")
    if isinstance(found, Rejection):
        return found
    poll, board, index = found
    if index in board.confirmed:
        return Rejection("already_sent")
    if cmd.dealer == index or cmd.dealer > len(board.members):
        return _bad("the dealer is another member of the board")
    # Judge before failing anything: the revealed key opens that one envelope, so a false
    # complaint (which would force restarts forever, or blame an honest dealer) is refused.
    try:
        claim = cer.Complaint(index, cmd.dealer, cer.ComplaintReason(cmd.reason),
                              None if cmd.key is None else Point.from_hex(cmd.key),
                              None if cmd.proof is None else Pair.from_json(cmd.proof))
    except ValueError:  # EncodingError included
        return _bad("the complaint's key or proof does not decode")
    envelope = next(s for s in board.shares[cmd.dealer] if s["to"] == index)
    t = board.threshold
    ceremony, _ = poll_info(poll)
    verdict = cer.judge_complaint(
        ceremony, Round1.from_json(board.round1[index], t),
        Round1.from_json(board.round1[cmd.dealer], t),
        cer.EncryptedShare.from_json(envelope), claim)
    if verdict == cer.Verdict.INVALID:
        return _bad("the complaint's proof does not verify")
    if verdict == cer.Verdict.COMPLAINT_FALSE:
        return _bad(f"the share from member {cmd.dealer} is good: the complaint is false")
    complaint = Complaint(complainer=index, dealer=cmd.dealer, reason=cmd.reason,
                          key=cmd.key, proof=None if cmd.proof is None else tuple(cmd.proof),
                          envelope=envelope)
    return [ctx.event("board.failed", board_audience(poll), poll_id=poll.id,
                      complaint=dump(complaint), status="failed")]


@RULES.rule(v.BoardRestart)
def _restart(ctx: Context, cmd: v.BoardRestart) -> Outcome:
    if not ctx.organiser:
        return Rejection("forbidden")
    poll = ctx.state.polls.get(cmd.poll_id)
    if poll is None:
        return not_found("poll")
    if poll.board is None:
        return invalid("the poll has no counting board")
    if poll.status != "draft":
        return invalid_state(f"poll_{poll.status}")
    if cmd.fresh is None:
        return invalid("fresh: filled in by the server")
    board = restarted(poll.board, cmd.fresh, poll.id)
    return [ctx.event("board.restarted", board_audience(poll), poll_id=poll.id,
                      board=dump(board))]


# ---- the count ----


def _totals(board: CountingBoard) -> list[Ciphertext]:
    assert board.aggregate is not None
    return [Ciphertext(Point.from_hex(c["alpha"]), Point.from_hex(c["beta"]))
            for c in board.aggregate]


def _partials(items: Any) -> list[Partial]:
    return [Partial.from_json(dict(p)) for p in items]


@RULES.rule(v.BoardPartial)
def _partial(ctx: Context, cmd: v.BoardPartial) -> Outcome:
    poll = ctx.state.polls.get(cmd.poll_id)
    if poll is None or not _visible(ctx, poll):
        return not_found("poll")
    board = poll.board
    if board is None:
        return invalid("the poll has no counting board")
    index = board.index_of(ctx.actor.user_id)
    if index is None:
        return Rejection("forbidden")
    if not poll.counting or board.aggregate is None:
        return invalid_state(f"poll_{poll.status}")
    if index in board.partials:
        return Rejection("already_sent")
    totals = _totals(board)
    try:
        partials = _partials(p.model_dump() for p in cmd.partials)
    except (ValueError, EncodingError):
        return Rejection("invalid_partial", {"detail": "a value does not decode"})
    key = Point.from_hex(board.verification_keys[index])
    context = bytes.fromhex(board.context or "")
    bad = verify_partials(context, index, key, totals, partials)
    if bad:
        return Rejection("invalid_partial",
                         {"detail": "options " + ", ".join(str(m) for m in bad)})
    events = [ctx.event("board.partial", poll_id=poll.id, index=index,
                        partials=[p.to_json() for p in partials])]
    accepted = {**board.partials, index: tuple(p.to_json() for p in partials)}
    if len(accepted) < board.threshold:
        return events
    chosen = sorted(accepted)[: board.threshold]
    found = counts(totals, {j: _partials(accepted[j]) for j in chosen}, board.cast)
    if found is None:  # every partial is proven: only a wrong aggregate gets here
        return Rejection("invalid_partial", {"detail": "the shares give no count"})
    votes = {o.id: n for o, n in zip(poll.options, found, strict=True)}
    outcome = tally_result(poll, board.cast, votes, board.present, board.total, board.cast)
    return events + result_events(ctx, poll, outcome.model_copy(update={"verified": True}))


@RULES.rule(v.PollVoid)
def _void(ctx: Context, cmd: v.PollVoid) -> Outcome:
    if ctx.role != Role.CHAIR and not ctx.actor.is_admin:
        return Rejection("forbidden")
    poll = ctx.state.polls.get(cmd.poll_id)
    if poll is None:
        return not_found("poll")
    if not poll.counting:
        return invalid_state(f"poll_{poll.status}")
    return [ctx.event("poll.voided", poll_id=poll.id, status="void")]


# ---- effects ----


def _board(state: RoomState, poll_id: int, **changes: Any) -> dict[str, Any]:
    poll = state.polls[poll_id]
    assert poll.board is not None
    board = poll.board.model_copy(update=changes)
    return {"polls": with_key(state.polls, poll_id, poll.model_copy(update={"board": board}))}


def _board_of(state: RoomState, data: dict[str, Any]) -> CountingBoard:
    board = state.polls[data["poll_id"]].board
    assert board is not None
    return board


@HANDLERS.on("board.round1")
def _round1_in(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    board = _board_of(state, data)
    return _board(state, data["poll_id"], status=data["status"],
                  round1=with_key(board.round1, data["index"], data["message"]))


@HANDLERS.on("board.shares")
def _shares_in(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    board = _board_of(state, data)
    return _board(state, data["poll_id"],
                  shares=with_key(board.shares, data["index"], tuple(data["shares"])))


@HANDLERS.on("board.dealt")
def _dealt(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    board = _board_of(state, data)
    return _board(state, data["poll_id"], status=data["status"],
                  dealt=(*board.dealt, data["index"]))


@HANDLERS.on("board.confirmed")
def _confirmed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    board = _board_of(state, data)
    return _board(state, data["poll_id"], status=data["status"],
                  confirmed=(*board.confirmed, data["index"]))


@HANDLERS.on("board.ready")
def _ready(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    # The shares were delivered; nobody needs them any more: the state stays small.
    return _board(state, data["poll_id"], status="ready", public_key=data["public_key"],
                  context=data["context"], shares={},
                  verification_keys={int(j): x for j, x in data["verification_keys"].items()})


@HANDLERS.on("board.failed")
def _failed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _board(state, data["poll_id"], status="failed",
                  complaint=Complaint.model_validate(data["complaint"]))


@HANDLERS.on("board.restarted")
def _restarted(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    poll = state.polls[data["poll_id"]]
    board = CountingBoard.model_validate(data["board"])
    return {"polls": with_key(state.polls, poll.id, poll.model_copy(update={"board": board}))}


@HANDLERS.on("board.partial")
def _partial_in(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    board = _board_of(state, data)
    return _board(state, data["poll_id"],
                  partials=with_key(board.partials, data["index"], tuple(data["partials"])))


@HANDLERS.on("poll.voided")
def _voided(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    poll = state.polls[data["poll_id"]]
    return {"polls": with_key(state.polls, poll.id, poll.model_copy(
        update={"status": "void", "counting": False}))}


# ---- what users see ----


def board_view(poll: Poll, data: dict[str, Any], user_id: int) -> dict[str, Any]:
    """A poll's JSON as `user_id` sees it: the encrypted shares are the members' only."""
    if poll.board is not None and user_id not in poll.board.members:
        data["board"]["shares"] = {}
    return data


def sees_draft(state: RoomState, poll: Poll, user_id: int, is_admin: bool) -> bool:
    """Whether `user_id` sees this poll while it is a draft."""
    return (is_admin or state.role_of(user_id) in ORGANISERS
            or (poll.board is not None and user_id in poll.board.members))

