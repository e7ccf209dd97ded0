"""The kernel's rules (`decide`): the meeting, its sites, participants and agenda, the
invitations, the session, attendance, the floor and notices.

Who may do what, in which state, and what happens. Pure: the clock comes in as `now`, the
directory lookups come in on the command (filled by the edge), and nothing is written
anywhere. `rooms.room.Room.decide` dispatches each command to its rule, here or in a
feature's plugin, and recounts the quorum after roster changes (`with_quorum`); the
room's writer announces what check-ins moved at the end of a batch (`announce_quorum`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from phonghop.rooms import commands as c
from phonghop.rooms.constitution import OFFICES, may_change, moved_from, standing, vacant
from phonghop.rooms.events import EVERYONE, Audience, Event, organisers_and
from phonghop.rooms.plugin import Context, Outcome, RuleTable, dump, iso
from phonghop.rooms.rejections import Rejection, duplicate, invalid, invalid_state, not_found
from phonghop.rooms.roles import ADMINISTRATOR, ORGANISERS, VOTING_BY_DEFAULT, Role
from phonghop.rooms.state import (
    AgendaItem,
    Attendance,
    FloorRequest,
    MeetingInfo,
    Notice,
    Participant,
    RoomState,
    Site,
    Speaker,
    SubstituteRequest,
)

RULES = RuleTable()
Apply = Callable[[RoomState, Event], RoomState]


def create_meeting(ctx: Context, command: c.MeetingCreate) -> Outcome:
    """A new room: the one command decided without a meeting (administrators only)."""
    if not ctx.actor.is_admin:
        return Rejection("forbidden")
    info = MeetingInfo(
        title=command.title, starts_at=command.starts_at, ends_at=command.ends_at,
        location=command.location, quorum=command.quorum, roster=command.roster,
    )
    return [ctx.event("meeting.created", meeting=dump(info))]


# What changes who counts or the rule, and so recounts the quorum (check-ins move the live
# count as they are applied: `RoomState.checked_in`).
_RECOUNTED = frozenset({
    "participant.added", "participant.updated", "participant.removed", "rsvp.answered",
    "meeting.updated",
})


def with_quorum(ctx: Context, events: list[Event], apply: Apply) -> list[Event]:
    """Add a `quorum.changed` event when a roster or rule change moves the live quorum
    (`apply` is the room's, every plugin's handlers included): a recount, O(members).

    Check-ins, the bulk of a large meeting's traffic, are not recounted: each moves the
    live figures as it is applied (`RoomState.checked_in`, O(1)), and `announce_quorum`
    tells everyone once for a whole batch of them.
    """
    kinds = {e.kind for e in events}
    if not kinds & _RECOUNTED:
        return events
    after = ctx.state
    for event in events:
        after = apply(after, replace(event, seq=after.seq + 1))
    figures = after.quorum_figures()
    if figures == ctx.state.figures:
        return events
    return [*events, ctx.event("quorum.changed", quorum=dump(figures))]


def announce_quorum(state: RoomState, now: datetime) -> list[Event]:
    """`quorum.changed` (by nobody) when check-ins moved the live quorum since it was last
    announced: what the room's writer adds after a batch of commands, so that a burst of
    6,300 check-ins sends every device a few quorum updates, not 6,300."""
    if state.meeting is None or state.figures == state.announced:
        return []
    return [Event("quorum.changed", {"quorum": dump(state.figures)}, at=iso(now))]


def _seconds_between(start: str, now: datetime) -> int:
    began = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return max(0, int((now - began).total_seconds()))


def _stop(item: AgendaItem, now: datetime, status: str) -> AgendaItem:
    """The item leaving the active state: its running time is banked."""
    spent = item.spent_seconds
    if item.status == "active" and item.started_at:
        spent += _seconds_between(item.started_at, now)
    closed = iso(now) if status == "done" else item.closed_at
    return item.model_copy(update={"status": status, "started_at": None, "spent_seconds": spent,
                                   "closed_at": closed})


# ---- preparation: meeting, sites, participants, agenda (organisers) ----


@RULES.rule(c.MeetingUpdate)
def _meeting_update(ctx: Context, cmd: c.MeetingUpdate) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    changes = cmd.model_dump(exclude_none=True)
    if not changes:
        return invalid("nothing to change")
    assert ctx.state.meeting is not None
    info = ctx.state.meeting.model_copy(update={k: getattr(cmd, k) for k in changes})
    return [ctx.event("meeting.updated", meeting=dump(info))]


@RULES.rule(c.MeetingInvite)
def _invite(ctx: Context, cmd: c.MeetingInvite) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    assert ctx.state.meeting is not None
    if ctx.state.meeting.status != "draft":
        return invalid_state(ctx.state.meeting.status)
    info = ctx.state.meeting.model_copy(update={"status": "invited"})
    return [ctx.event("meeting.invited", meeting=dump(info))]


@RULES.rule(c.SiteAdd)
def _site_add(ctx: Context, cmd: c.SiteAdd) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if any(s.name.casefold() == cmd.name.casefold() for s in ctx.state.sites.values()):
        return duplicate("site")
    return [ctx.event("site.added", site=dump(Site(id=ctx.state.next_id, name=cmd.name)))]


@RULES.rule(c.ParticipantAdd)
def _participant_add(ctx: Context, cmd: c.ParticipantAdd) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if cmd.profile is None or cmd.profile.user_id != cmd.user_id:
        return not_found("user")
    if cmd.user_id in ctx.state.participants:
        return duplicate("participant")
    if cmd.site_id is not None and cmd.site_id not in ctx.state.sites:
        return not_found("site")
    voting = cmd.voting if cmd.voting is not None else cmd.role in VOTING_BY_DEFAULT
    p = Participant(
        **cmd.profile.model_dump(), role=cmd.role, site_id=cmd.site_id, voting=voting
    )
    if refusal := may_change(ctx, None, p):
        return refusal
    events = _office_moves(ctx, p)
    events.append(ctx.roster_event("participant.added", p.user_id, participant=dump(p)))
    return events + announce(ctx, (None, p))


@RULES.rule(c.ParticipantUpdate)
def _participant_update(ctx: Context, cmd: c.ParticipantUpdate) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    p = ctx.state.participants.get(cmd.user_id)
    if p is None:
        return not_found("participant")
    if cmd.site_id is not None and cmd.site_id not in ctx.state.sites:
        return not_found("site")
    changes = cmd.model_dump(exclude_none=True, exclude={"user_id"})
    if not changes:
        return invalid("nothing to change")
    updated = p.model_copy(update=changes)
    if p.substitute_for is not None and standing(updated) != standing(p):
        return invalid("a substitute takes the role and the vote of the member they replace")
    if refusal := may_change(ctx, p, updated):
        return refusal
    events = _office_moves(ctx, updated)
    # The member and their substitute see each other's entries: both hear of the change.
    linked = [u for u in (p.substitute_for, p.substitute_user_id) if u is not None]
    events.append(ctx.roster_event("participant.updated", p.user_id, *linked,
                                   participant=dump(updated)))
    changed = [(p, updated)]
    sub = ctx.state.participants.get(p.substitute_user_id) if p.substitute_user_id else None
    if sub is not None and standing(updated) != standing(p):
        # The approved substitute holds the member's seat: same role, same vote.
        mirrored = sub.model_copy(update={"role": updated.role, "voting": updated.voting})
        events.append(ctx.roster_event("participant.updated", sub.user_id, p.user_id,
                                       participant=dump(mirrored)))
        changed.append((sub, mirrored))
    return events + announce(ctx, *changed)


def _office_moves(ctx: Context, taking: Participant) -> list[Event]:
    """Giving the chair or the secretary's role moves it: the previous holder becomes a
    delegate, in the same command."""
    demoted = moved_from(ctx.state, taking)
    if demoted is None:
        return []
    before = ctx.state.participants[demoted.user_id]
    linked = [u for u in (before.substitute_for, before.substitute_user_id) if u is not None]
    return [ctx.roster_event("participant.updated", demoted.user_id, *linked,
                             participant=dump(demoted)),
            *announce(ctx, (before, demoted))]


def announce(ctx: Context, *changes: tuple[Participant | None, Participant | None]
              ) -> list[Event]:
    """In session, a change of role or vote is a room event everyone sees, whatever the
    roster rule: the room must know who chairs, who takes the minutes and who votes."""
    assert ctx.state.meeting is not None
    if ctx.state.meeting.status != "in_session":
        return []
    events = []
    for before, after in changes:
        if standing(before) == standing(after):
            continue
        who = after or before
        assert who is not None
        events.append(ctx.event(
            "role.changed", user_id=who.user_id, full_name=who.full_name,
            role=after.role if after else None, voting=bool(after and after.voting),
            previous_role=before.role if before else None,
            previous_voting=bool(before and before.voting),
            substitute_for=who.substitute_for))
    return events


@RULES.rule(c.ParticipantRemove)
def _participant_remove(ctx: Context, cmd: c.ParticipantRemove) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    state = ctx.state
    p = state.participants.get(cmd.user_id)
    if p is None:
        return not_found("participant")
    if refusal := may_change(ctx, p, None):
        return refusal
    linked = [u for u in (p.substitute_for, p.substitute_user_id) if u is not None]
    events = removal(ctx, cmd.user_id, *linked)
    changed: list[tuple[Participant | None, Participant | None]] = [(p, None)]
    # A member and their substitute go together: a removed member's substitute leaves too,
    # and a member whose substitute is removed has to answer the invitation again.
    sub = state.participants.get(p.substitute_user_id) if p.substitute_user_id else None
    if sub is not None and sub.substitute_for == p.user_id:
        events += removal(ctx, sub.user_id, p.user_id)
        changed.append((sub, None))
    member = state.participants.get(p.substitute_for) if p.substitute_for else None
    if member is not None and member.substitute_user_id == p.user_id:
        answered = member.model_copy(update={"rsvp": "pending", "substitute_user_id": None})
        events.append(ctx.roster_event("participant.updated", member.user_id,
                                       participant=dump(answered)))
    return events + announce(ctx, *changed)


def removal(ctx: Context, uid: int, *concerned: int) -> list[Event]:
    """Events for `uid` leaving the meeting.

    The queue and the speaker are public even when the roster is not: whoever leaves them
    by leaving the meeting does so in an event that everyone receives.
    """
    events = []
    if ctx.state.speaker is not None and ctx.state.speaker.user_id == uid:
        events.append(floor_ended(ctx, ctx.state.speaker))
    elif any(r.user_id == uid for r in ctx.state.queue):
        events.append(ctx.event("floor.withdrawn", user_id=uid))
    events.append(ctx.roster_event("participant.removed", uid, *concerned, user_id=uid))
    return events


@RULES.rule(c.AgendaAdd)
def _agenda_add(ctx: Context, cmd: c.AgendaAdd) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if cmd.presenter_id is not None and cmd.presenter_id not in ctx.state.participants:
        return not_found("participant")
    if len(ctx.state.order) >= 1000:
        return Rejection("too_large")
    item = AgendaItem(
        id=ctx.state.next_id, title=cmd.title, presenter_id=cmd.presenter_id,
        planned_minutes=cmd.planned_minutes,
    )
    return [ctx.event("agenda.added", item=dump(item))]


@RULES.rule(c.AgendaUpdate)
def _agenda_update(ctx: Context, cmd: c.AgendaUpdate) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    item = ctx.state.items.get(cmd.item_id)
    if item is None:
        return not_found("item")
    if cmd.presenter_id is not None and cmd.presenter_id not in ctx.state.participants:
        return not_found("participant")
    changes = cmd.model_dump(exclude_none=True, exclude={"item_id"})
    if not changes:
        return invalid("nothing to change")
    return [ctx.event("agenda.updated", item=dump(item.model_copy(update=changes)))]


@RULES.rule(c.AgendaRemove)
def _agenda_remove(ctx: Context, cmd: c.AgendaRemove) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if cmd.item_id not in ctx.state.items:
        return not_found("item")
    if ctx.state.active_item == cmd.item_id:
        return invalid_state("active")
    return [ctx.event("agenda.removed", item_id=cmd.item_id)]


@RULES.rule(c.AgendaReorder)
def _agenda_reorder(ctx: Context, cmd: c.AgendaReorder) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if sorted(cmd.order) != sorted(ctx.state.order) or len(set(cmd.order)) != len(cmd.order):
        return invalid("order must list every agenda item exactly once")
    return [ctx.event("agenda.reordered", order=list(cmd.order))]


# ---- invitations ----


@RULES.rule(c.Rsvp)
def _rsvp(ctx: Context, cmd: c.Rsvp) -> Outcome:
    state = ctx.state
    assert state.meeting is not None
    uid = cmd.user_id or ctx.actor.user_id
    if uid != ctx.actor.user_id and not ctx.organiser:
        return Rejection("forbidden")
    member = state.participants.get(uid)
    if member is None:
        return not_found("participant")
    if member.substitute_for is not None:
        return Rejection("forbidden")
    if state.meeting.status in ("draft", "ended"):
        return invalid_state(state.meeting.status)
    if cmd.answer == "absent" and not cmd.reason:
        return invalid("reason: an absence needs a reason")
    events: list[Event] = []
    if cmd.answer == "substitute":
        # Only a request: an organiser approves it (substitute.approve) before anyone
        # takes the member's place; until then nothing changes in the room.
        if member.role in ORGANISERS:
            return Rejection("not_substitutable")
        sub = cmd.substitute_profile
        if cmd.substitute_user_id is None or sub is None or sub.user_id != cmd.substitute_user_id:
            return not_found("user")
        if sub.user_id == uid:
            return invalid("substitute_user_id: a member cannot substitute for themselves")
        if sub.user_id in state.participants:
            return duplicate("participant")
        request = SubstituteRequest(member_id=uid, substitute=sub, at=ctx.at,
                                    by=ctx.actor.user_id)
        events.append(ctx.event("substitute.requested", organisers_and(uid),
                                request=dump(request)))
    else:
        if uid in state.substitute_requests:
            events.append(ctx.event("substitute.withdrawn", organisers_and(uid), user_id=uid))
        old_sub = member.substitute_user_id
        if old_sub is not None:
            # The member comes back (or stays away): their substitute leaves the room, and
            # with them the member's seat changes hands: the electorate changes.
            if ctx.frozen:
                return Rejection("roles_frozen")
            sub_p = state.participants.get(old_sub)
            events += removal(ctx, old_sub, uid)
            if sub_p is not None:
                events += announce(ctx, (sub_p, None))
        answered = member.model_copy(update={"rsvp": cmd.answer, "substitute_user_id": None})
        linked = [old_sub] if old_sub is not None else []
        events.append(ctx.roster_event("rsvp.answered", uid, *linked,
                                       participant=dump(answered)))
    if cmd.reason:
        # Reasons are personal: only the organisers and the member see them.
        events.append(
            ctx.event("rsvp.reason", organisers_and(uid), user_id=uid, reason=cmd.reason)
        )
    return events


# ---- the session ----


def _in_session(ctx: Context, chair_only: bool = True) -> Rejection | None:
    assert ctx.state.meeting is not None
    if chair_only and not ctx.chair:
        return Rejection("forbidden")
    if ctx.state.meeting.status != "in_session":
        return invalid_state(ctx.state.meeting.status)
    return None


@RULES.rule(c.SessionStart)
def _session_start(ctx: Context, cmd: c.SessionStart) -> Outcome:
    assert ctx.state.meeting is not None
    if not ctx.chair:
        return Rejection("forbidden")
    if ctx.state.meeting.status not in ("draft", "invited"):
        return invalid_state(ctx.state.meeting.status)
    for office in OFFICES:  # the chair asks, so there is one; a session needs a secretary
        if ctx.state.holder(office) is None:
            return vacant(office)
    info = ctx.state.meeting.model_copy(
        update={"status": "in_session", "session_started_at": ctx.at}
    )
    return [ctx.event("session.started", meeting=dump(info))]


@RULES.rule(c.SessionEnd)
def _session_end(ctx: Context, cmd: c.SessionEnd) -> Outcome:
    if refusal := _in_session(ctx):
        return refusal
    state = ctx.state
    assert state.meeting is not None
    if frozen := ctx.frozen:
        return invalid_state(frozen)  # e.g. an open poll: close (or cancel) the vote first
    events = []
    if state.speaker:
        events.append(floor_ended(ctx, state.speaker))
    paused = None
    if state.active_item is not None:
        paused = dump(_stop(state.items[state.active_item], ctx.now, "pending"))
    # Who signs the minutes in the chair's and the secretary's fields: the holders now.
    chair, secretary = state.holder(Role.CHAIR), state.holder(Role.SECRETARY)
    info = state.meeting.model_copy(update={
        "status": "ended", "session_ended_at": ctx.at,
        "chair_at_end": chair.user_id if chair else None,
        "secretary_at_end": secretary.user_id if secretary else None})
    events.append(ctx.event("session.ended", meeting=dump(info), item=paused))
    return events


@RULES.rule(c.AgendaActivate)
def _activate(ctx: Context, cmd: c.AgendaActivate) -> Outcome:
    if refusal := _in_session(ctx):
        return refusal
    item = ctx.state.items.get(cmd.item_id)
    if item is None:
        return not_found("item")
    if item.status in ("active", "done"):
        return invalid_state(item.status)
    return [_activation(ctx, item)]


def _activation(ctx: Context, item: AgendaItem) -> Event:
    paused = None
    active = ctx.state.active_item
    if active is not None and active != item.id:
        paused = dump(_stop(ctx.state.items[active], ctx.now, "pending"))
    started = item.model_copy(update={"status": "active", "started_at": ctx.at,
                                      "opened_at": item.opened_at or ctx.at})
    return ctx.event("agenda.activated", item=dump(started), paused=paused)


@RULES.rule(c.AgendaNext)
def _next(ctx: Context, cmd: c.AgendaNext) -> Outcome:
    if refusal := _in_session(ctx):
        return refusal
    state = ctx.state
    events: list[Event] = []
    order = list(state.order)
    start = 0
    if state.active_item is not None:
        done = _stop(state.items[state.active_item], ctx.now, "done")
        events.append(ctx.event("agenda.completed", item=dump(done)))
        start = order.index(state.active_item) + 1
    # The next pending item after the current one, else the first pending from the top.
    candidates = order[start:] + order[:start]
    following = next(
        (i for i in candidates if state.items[i].status == "pending" and i != state.active_item),
        None,
    )
    if following is None:
        return events or Rejection("no_next_item")
    item = state.items[following]
    nxt = item.model_copy(update={"status": "active", "started_at": ctx.at,
                                  "opened_at": item.opened_at or ctx.at})
    events.append(ctx.event("agenda.activated", item=dump(nxt), paused=None))
    return events


@RULES.rule(c.AgendaDone)
def _done(ctx: Context, cmd: c.AgendaDone) -> Outcome:
    return _finish(ctx, cmd.item_id, "done", "agenda.completed")


@RULES.rule(c.AgendaDefer)
def _defer(ctx: Context, cmd: c.AgendaDefer) -> Outcome:
    return _finish(ctx, cmd.item_id, "deferred", "agenda.deferred")


def _finish(ctx: Context, item_id: int, status: str, kind: str) -> Outcome:
    if refusal := _in_session(ctx):
        return refusal
    item = ctx.state.items.get(item_id)
    if item is None:
        return not_found("item")
    if item.status == status or item.status == "done":
        return invalid_state("done")
    return [ctx.event(kind, item=dump(_stop(item, ctx.now, status)))]


# ---- attendance ----


@RULES.rule(c.CheckIn)
def _check_in(ctx: Context, cmd: c.CheckIn) -> Outcome:
    assert ctx.state.meeting is not None
    uid = cmd.user_id or ctx.actor.user_id
    if uid != ctx.actor.user_id and not ctx.organiser:
        return Rejection("forbidden")
    if uid not in ctx.state.participants:
        return not_found("participant")
    if ctx.state.meeting.status in ("draft", "ended"):
        return invalid_state(ctx.state.meeting.status)
    if ctx.state.participants[uid].substitute_user_id is not None:
        return Rejection("substituted")  # the substitute checks in for them
    current = ctx.state.attendance.get(uid)
    if current is not None and current.status == "present":
        return Rejection("already_checked_in")
    a = Attendance(user_id=uid, status="present", at=ctx.at, by=ctx.actor.user_id)
    return [ctx.roster_event("attendance.checked_in", uid, attendance=dump(a))]


@RULES.rule(c.MarkAbsent)
def _absent(ctx: Context, cmd: c.MarkAbsent) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if cmd.user_id not in ctx.state.participants:
        return not_found("participant")
    if ctx.frozen:
        # Marking a present voter absent would take their ballot away mid-poll: the
        # electorate is frozen while a poll is open (rooms/constitution.py).
        return Rejection("roles_frozen")
    a = Attendance(user_id=cmd.user_id, status="absent", at=ctx.at, by=ctx.actor.user_id)
    # The fact follows the roster rule; the reason (often medical) is personal: only the
    # organisers and the member see it.
    return [ctx.roster_event("attendance.absent", cmd.user_id, attendance=dump(a)),
            ctx.event("absence.reason", organisers_and(cmd.user_id), user_id=cmd.user_id,
                      reason=cmd.reason)]


# ---- the floor ----


@RULES.rule(c.FloorRequestCmd)
def _request(ctx: Context, cmd: c.FloorRequestCmd) -> Outcome:
    if refusal := _in_session(ctx, chair_only=False):
        return refusal
    me = ctx.state.participants.get(ctx.actor.user_id)
    if me is None:
        return Rejection("not_participant")
    if me.substitute_user_id is not None:
        return Rejection("substituted")  # the substitute speaks in their place
    site_id = None
    if cmd.site_id is not None:
        # A site operator asks for the floor on behalf of their online site.
        if me.role != Role.SITE_OPERATOR or me.site_id != cmd.site_id:
            return Rejection("forbidden")
        site_id = cmd.site_id
    if any(r.user_id == me.user_id for r in ctx.state.queue):
        return Rejection("already_requested")
    if ctx.state.speaker and ctx.state.speaker.user_id == me.user_id:
        return invalid_state("speaking")
    req = FloorRequest(user_id=me.user_id, full_name=me.full_name, site_id=site_id,
                       note=cmd.note, at=ctx.at)
    return [ctx.event("floor.requested", request=dump(req))]


@RULES.rule(c.FloorWithdraw)
def _withdraw(ctx: Context, cmd: c.FloorWithdraw) -> Outcome:
    if refusal := _in_session(ctx, chair_only=False):
        return refusal
    uid = cmd.user_id or ctx.actor.user_id
    if uid != ctx.actor.user_id and not ctx.chair:
        return Rejection("forbidden")
    if not any(r.user_id == uid for r in ctx.state.queue):
        return Rejection("not_requested")
    return [ctx.event("floor.withdrawn", user_id=uid)]


@RULES.rule(c.FloorGrant)
def _grant(ctx: Context, cmd: c.FloorGrant) -> Outcome:
    if refusal := _in_session(ctx):
        return refusal
    if cmd.user_id not in ctx.state.participants:
        return not_found("participant")
    if ctx.state.participants[cmd.user_id].substitute_user_id is not None:
        return Rejection("substituted")
    if ctx.state.speaker and ctx.state.speaker.user_id == cmd.user_id:
        return invalid_state("speaking")
    events = []
    if ctx.state.speaker:
        events.append(floor_ended(ctx, ctx.state.speaker))
    request = next((r for r in ctx.state.queue if r.user_id == cmd.user_id), None)
    speaker = Speaker(
        user_id=cmd.user_id, full_name=ctx.state.participants[cmd.user_id].full_name,
        site_id=request.site_id if request else None,
        since=ctx.at, seconds=cmd.seconds,
    )
    events.append(ctx.event("floor.granted", speaker=dump(speaker)))
    return events


@RULES.rule(c.FloorExtend)
def _extend(ctx: Context, cmd: c.FloorExtend) -> Outcome:
    if refusal := _in_session(ctx):
        return refusal
    speaker = ctx.state.speaker
    if speaker is None:
        return Rejection("no_speaker")
    longer = speaker.model_copy(update={"seconds": speaker.seconds + cmd.seconds})
    return [ctx.event("floor.extended", speaker=dump(longer))]


@RULES.rule(c.FloorEnd)
def _end(ctx: Context, cmd: c.FloorEnd) -> Outcome:
    if refusal := _in_session(ctx, chair_only=False):
        return refusal
    speaker = ctx.state.speaker
    if speaker is None:
        return Rejection("no_speaker")
    if not ctx.chair and speaker.user_id != ctx.actor.user_id:
        return Rejection("forbidden")
    return [floor_ended(ctx, speaker)]


def floor_ended(ctx: Context, speaker: Speaker) -> Event:
    spoke = _seconds_between(speaker.since, ctx.now)
    return ctx.event("floor.ended", user_id=speaker.user_id, spoke_seconds=spoke)


# ---- notices ----


@RULES.rule(c.NoticePost)
def _notice(ctx: Context, cmd: c.NoticePost) -> Outcome:
    if ctx.role not in (Role.CHAIR, Role.SECRETARY) and not ctx.actor.is_admin:
        return Rejection("forbidden")
    assert ctx.state.meeting is not None
    if ctx.state.meeting.status == "ended":
        return invalid_state("ended")
    roles = tuple(sorted({str(r) for r in cmd.roles})) if cmd.roles else None
    notice = Notice(id=ctx.state.next_id, text=cmd.text, at=ctx.at, by=ctx.actor.user_id,
                    roles=roles)
    audience = EVERYONE
    if roles:
        audience = Audience(
            False, frozenset({*roles, *ORGANISERS, ADMINISTRATOR}), frozenset({ctx.actor.user_id})
        )
    return [ctx.event("notice.posted", audience, notice=dump(notice))]
