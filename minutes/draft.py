"""The draft minutes, assembled from the room: what `signing.layout` renders.

Pure: the room state in, a `signing.minutes.MinutesDoc` out. Everything that happened is
filled in (time and place, chair and secretary, attendance, absences with their reasons,
substitutes, online sites, the agenda with presenters and times, the floor's history,
every vote with its rule and result); the secretary's sections and conclusions are added.
"""

from __future__ import annotations

import datetime as dt

from phonghop.rooms.roles import Role
from phonghop.rooms.state import Participant, RoomState
from phonghop.signing import minutes as doc
from phonghop.voting.model import ABSTAIN, AGAINST, FOR
from phonghop.voting.rules import describe

VIETNAM = doc.VN_TZ


def _time(stamp: str | None) -> dt.datetime | None:
    if not stamp:
        return None
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(VIETNAM)


def _person(p: Participant) -> doc.Person:
    return doc.Person(name=p.full_name, position=p.position, unit=p.unit)


def _holder(state: RoomState, role: Role) -> Participant | None:
    """Who signs as `role`: the holder when the session ended, else the holder now."""
    meeting = state.meeting
    assert meeting is not None
    at_end = meeting.chair_at_end if role == Role.CHAIR else meeting.secretary_at_end
    if at_end is not None and at_end in state.participants:
        return state.participants[at_end]
    return state.holder(role)


def assemble(state: RoomState, now: dt.datetime, issuer: str = "",
             log: doc.LogDigest | None = None) -> doc.MinutesDoc:
    """The minutes of the room as they stand at `now` (a meeting still in session ends
    "now" in the draft); `log` is the head of the room's log at the end of the session,
    printed so that the signatures cover the whole log."""
    meeting, mins = state.meeting, state.minutes
    assert meeting is not None
    started = _time(meeting.session_started_at) or _time(meeting.starts_at) or now
    ended = _time(meeting.session_ended_at) or now.astimezone(VIETNAM)
    chair, secretary = _holder(state, Role.CHAIR), _holder(state, Role.SECRETARY)
    number, _, notation = mins.number.partition("/")
    people = state.participants
    present, absent, invitees = [], [], []
    for p in people.values():
        a = state.attendance.get(p.user_id)
        if p.role == Role.SITE_OPERATOR or p.substitute_for is not None:
            continue  # operators run a site; substitutes are listed with their member
        if a is not None and a.status == "present" and p.substitute_user_id is None:
            (invitees if p.role == Role.INVITEE else present).append(_person(p))
        elif p.voting and not state.counts_present(p):
            # Absent: a voting member neither present nor represented by a substitute. The
            # reasons are personal in the room, but the minutes record them as the law
            # requires: the draft is the organisers' (preview and prepared PDF), and the
            # signed minutes go to the participants.
            reason = (state.absence_reasons.get(p.user_id) or
                      state.rsvp_reasons.get(p.user_id, ""))
            absent.append(doc.Absence(person=_person(p), reason=reason or ""))
    substitutes = tuple(
        doc.Substitute(person=_person(p), replaces=_person(people[p.substitute_for]))
        for p in people.values()
        if p.substitute_for is not None and p.substitute_for in people)
    sites = []
    for site in state.sites.values():
        here = [p for p in people.values() if p.site_id == site.id]
        host = next((p.full_name for p in here if p.role == Role.SITE_OPERATOR), "")
        attending = sum(1 for p in here if p.role != Role.SITE_OPERATOR
                        and (a := state.attendance.get(p.user_id)) and a.status == "present")
        sites.append(doc.OnlineSite(name=site.name, attendees=attending, host=host))
    items = state.items
    agenda = tuple(doc.AgendaItem(
        title=items[i].title,
        presenter=people[items[i].presenter_id].full_name
        if items[i].presenter_id in people else "",
        started_at=_time(items[i].opened_at), ended_at=_time(items[i].closed_at))
        for i in state.order)
    speeches = tuple(doc.Speech(
        speaker=_person(people[s.user_id]) if s.user_id in people
        else doc.Person(name=s.full_name),
        seconds=s.seconds, item=items[s.item_id].title if s.item_id in items else "")
        for s in state.speeches)
    return doc.MinutesDoc(
        template=mins.template, issuing_body=mins.issuer or issuer,
        subject=meeting.title, place_name=mins.place, date=started.date(),
        started_at=started, ended_at=ended, location=meeting.location or "",
        chair=_person(chair) if chair else doc.Person(name=""),
        secretary=_person(secretary) if secretary else doc.Person(name=""),
        number=number, notation=notation or "BB", members_total=state.figures.total,
        present=tuple(present), absent=tuple(absent), substitutes=substitutes,
        invitees=tuple(invitees), online_sites=tuple(sites), agenda=agenda,
        speeches=speeches, votes=_votes(state), proceedings=_proceedings(state),
        conclusions=tuple(doc.Conclusion(text=x.text, owner=x.owner,
                                         deadline=dt.date.fromisoformat(x.deadline))
                          for _, x in sorted(mins.conclusions.items())),
        closing_note=mins.sections["closing"].text if "closing" in mins.sections else "",
        log=log,
    )


def _votes(state: RoomState) -> tuple[doc.VoteRecord, ...]:
    records = []
    for poll in sorted(state.polls.values(), key=lambda p: p.id):
        r = poll.result
        if r is None:
            continue
        votes = {c.option_id: c.votes for c in r.counts}
        rule = describe(poll.rule)["vi"]
        rule = rule[0].lower() + rule[1:]
        if poll.kind in ("motion", "hands"):
            records.append(doc.VoteRecord(
                subject=poll.title, rule=rule, votes_for=votes.get(FOR, 0),
                votes_against=votes.get(AGAINST, 0), abstentions=votes.get(ABSTAIN, 0),
                base=r.base_count, passed=bool(r.passed), secret=poll.secret, cast=r.cast))
        else:
            # A choice or an election: each option's votes, and who was elected.
            labels = {o.id: o.label for o in poll.options}
            records.append(doc.VoteRecord(
                subject=poll.title, rule=rule, votes_for=0, votes_against=0, abstentions=0,
                base=r.base_count, passed=bool(r.elected), secret=poll.secret, cast=r.cast,
                options=tuple((labels[c.option_id], c.votes) for c in r.counts),
                elected=tuple(labels[i] for i in r.elected)))
    return tuple(records)


def _proceedings(state: RoomState) -> str:
    """The secretary's sections in meeting order: the general part, then item by item."""
    sections = state.minutes.sections
    parts = []
    if sections.get("general") and sections["general"].text.strip():
        parts.append(sections["general"].text.strip())
    for n, item_id in enumerate(state.order, start=1):
        section = sections.get(f"item:{item_id}")
        if section is not None and section.text.strip():
            parts.append(f"{n}. {state.items[item_id].title}\n\n{section.text.strip()}")
    return "\n\n".join(parts)
