"""Property tests of the room core: random command sequences by random actors.

Whatever people click, in whatever order, the log of committed events is the truth: it
replays to the live state, survives a snapshot, and shows each user exactly their view.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonghop.documents import path as paths
from phonghop.meeting_room import apply, parse_command, parse_forwarded, replay, room_view
from phonghop.rooms import Event, Rejection, RoomState
from phonghop.rooms.events import Audience
from phonghop.rooms.rejections import TEXTS
from phonghop.rooms.roles import Role
from tests.rooms.client_view import ClientView, PageKey
from tests.rooms.mark_table import key_of, page, table_after
from tests.rooms.world import (
    ADMIN,
    CHAIR,
    NAMES,
    OUTSIDER,
    OUTSIDER2,
    PRESENTER,
    SECRETARY,
    Room,
    standard_room,
)

USERS = [*NAMES, 12345]  # 12345 is nobody at all
ROLE_NAMES = [r.value for r in Role]

text = st.sampled_from(["Ý kiến", "Đề nghị bổ sung", "  Tiếng Việt  ", "Nghi\u0302\u0323 quyết",
                        "Bận công tác", "Ốm", "x"]) | st.text(min_size=0, max_size=12)
outsider = st.sampled_from([OUTSIDER, OUTSIDER2])
uid = st.sampled_from(USERS) | outsider
small_id = st.integers(min_value=1, max_value=14) | st.integers(min_value=0, max_value=25)
wrong = st.one_of(st.text(max_size=3), st.booleans(), st.none(), st.floats(allow_nan=False),
                  st.lists(st.integers(), max_size=2), st.just({"x": 1}), st.integers(-5, -1))
quorum = st.fixed_dictionaries({"num": st.integers(0, 4), "den": st.integers(1, 4),
                                "strict": st.booleans()})
seconds = st.sampled_from([10, 60, 180, 7200, 5, 9999])
shas = st.sampled_from(["a" * 64, "b" * 64, "c" * 64, "d" * 64, "A" * 64])
fraction = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5])
on_page = st.sampled_from([0.25, 0.0, 0.5, 1.0])
stroke = st.lists(st.tuples(on_page, on_page), min_size=1, max_size=4).map(
    lambda pairs: [n for pair in pairs for n in pair])
stamp = st.sampled_from(["2026-11-23T08:00:00+07:00", "2026-11-23T14:30Z", "hôm nay"])


def opt(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "meeting.update": opt(title=text, location=text, quorum=quorum, starts_at=stamp,
                          roster=st.sampled_from(["all", "organisers", "some"])),
    "meeting.invite": st.just({}),
    "site.add": st.fixed_dictionaries({"name": text}),
    "participant.add": st.fixed_dictionaries(
        {"user_id": uid, "role": st.sampled_from(ROLE_NAMES)},
        optional={"site_id": small_id, "voting": st.booleans()}),
    "participant.update": st.fixed_dictionaries(
        {"user_id": uid},
        optional={"role": st.sampled_from(ROLE_NAMES), "site_id": small_id,
                  "voting": st.booleans()}),
    "participant.remove": st.fixed_dictionaries({"user_id": uid}),
    "agenda.add": st.fixed_dictionaries(
        {"title": text}, optional={"presenter_id": uid, "planned_minutes": st.integers(0, 700)}),
    "agenda.update": st.fixed_dictionaries(
        {"item_id": small_id},
        optional={"title": text, "presenter_id": uid, "planned_minutes": st.integers(0, 700)}),
    "agenda.remove": st.fixed_dictionaries({"item_id": small_id}),
    "rsvp": st.one_of(
        st.fixed_dictionaries(
            {"answer": st.sampled_from(["attend", "absent", "substitute", "maybe"])},
            optional={"reason": text, "substitute_user_id": uid, "user_id": uid}),
        st.fixed_dictionaries(
            {"answer": st.just("substitute"), "substitute_user_id": outsider},
            optional={"reason": text, "user_id": uid}),
    ),
    "substitute.approve": st.fixed_dictionaries({"user_id": uid}),
    "substitute.refuse": st.fixed_dictionaries({"user_id": uid}, optional={"reason": text}),
    "session.start": st.just({}),
    "session.end": st.just({}),
    "agenda.activate": st.fixed_dictionaries({"item_id": small_id}),
    "agenda.next": st.just({}),
    "agenda.done": st.fixed_dictionaries({"item_id": small_id}),
    "agenda.defer": st.fixed_dictionaries({"item_id": small_id}),
    "attendance.check_in": opt(user_id=uid),
    "attendance.absent": st.fixed_dictionaries({"user_id": uid, "reason": text}),
    "floor.request": opt(note=text, site_id=small_id),
    "floor.withdraw": opt(user_id=uid),
    "floor.grant": st.fixed_dictionaries({"user_id": uid}, optional={"seconds": seconds}),
    "floor.extend": st.fixed_dictionaries({"seconds": seconds}),
    "floor.end": st.just({}),
    "notice.post": st.fixed_dictionaries(
        {"text": text},
        optional={"roles": st.lists(st.sampled_from([*ROLE_NAMES, "boss"]), max_size=3)}),
    "document.attach": st.fixed_dictionaries(
        {"sha256": shas},
        optional={"title": text, "item_id": small_id,
                  "classification": st.sampled_from(["public", "internal", "confidential"]),
                  "viewers": st.lists(uid, max_size=3)}),
    "document.update": st.fixed_dictionaries(
        {"document_id": small_id},
        optional={"title": text, "item_id": small_id,
                  "classification": st.sampled_from(["public", "internal", "confidential"]),
                  "viewers": st.lists(uid, max_size=3)}),
    "document.version": st.fixed_dictionaries({"document_id": small_id, "sha256": shas}),
    "document.remove": st.fixed_dictionaries({"document_id": small_id}),
    "present.start": st.fixed_dictionaries({"document_id": small_id},
                                           optional={"page": st.integers(0, 13)}),
    "present.move": st.fixed_dictionaries(
        {"page": st.integers(0, 13)},
        optional={"zoom": st.sampled_from([1.0, 2.5, 9.0]), "x": fraction, "y": fraction}),
    "present.stop": st.just({}),
    "annotation.add": st.fixed_dictionaries(
        {"document_id": small_id, "page": st.integers(1, 13),
         "kind": st.sampled_from(["ink", "highlight", "note", "laser"])},
        optional={"color": st.sampled_from(["#1E88E5", "#43a047", "red"]), "text": text,
                  "width": st.sampled_from([0.003, 0.01, 0.5])},
    ).flatmap(lambda args: st.one_of(
        # mostly x, y pairs on the page: a stroke that passes, so that marks pile up; as
        # numbers, or as the path the web client sends (documents/path.py), now and then
        # a malformed one
        st.fixed_dictionaries({"points": stroke | st.lists(fraction, min_size=1, max_size=8)}),
        st.fixed_dictionaries({"path": stroke.map(paths.encode) | text}),
    ).map(lambda form: {**args, **form})),
    "annotation.remove": st.fixed_dictionaries({"annotation_id": small_id}),
    "poll.create": st.fixed_dictionaries(
        {"title": text},
        optional={"kind": st.sampled_from(["motion", "single", "multi", "hands", "lottery"]),
                  "options": st.lists(text, max_size=4), "item_id": small_id,
                  "seats": st.integers(0, 3), "max_choices": st.integers(0, 4),
                  "min_choices": st.integers(0, 2), "secret": st.booleans(),
                  "eligibility": st.sampled_from(["present", "members", "all"]),
                  "rule": st.fixed_dictionaries({"num": st.integers(0, 3),
                                                 "den": st.integers(1, 3),
                                                 "base": st.sampled_from(
                                                     ["cast", "present", "members"]),
                                                 "strict": st.booleans()}),
                  "duration_seconds": st.sampled_from([5, 60, 600]),
                  "allow_change": st.booleans(), "progress_public": st.booleans(),
                  "auto_publish": st.booleans()}),
    "poll.update": st.fixed_dictionaries(
        {"poll_id": small_id},
        optional={"title": text, "kind": st.sampled_from(["motion", "multi"]),
                  "options": st.lists(text, max_size=3), "secret": st.booleans(),
                  "progress_public": st.booleans()}),
    "poll.open": st.fixed_dictionaries({"poll_id": small_id}),
    "poll.close": st.fixed_dictionaries({"poll_id": small_id}),
    "poll.record": st.fixed_dictionaries(
        {"poll_id": small_id, "counts": st.lists(st.integers(-1, 9), min_size=2, max_size=4)}),
    "poll.publish": st.fixed_dictionaries({"poll_id": small_id}),
    "poll.cancel": st.fixed_dictionaries({"poll_id": small_id}),
    "minutes.settings": opt(template=st.sampled_from(["state", "party", "club"]),
                            issuer=text, number=text, place=text),
    "minutes.edit": st.fixed_dictionaries(
        {"section": st.sampled_from(["general", "closing", "item:1", "item:2", "item:99",
                                     "other"]),
         "text": text, "base_version": st.integers(-1, 3)}),
    "conclusion.add": st.fixed_dictionaries(
        {"text": text, "owner": text,
         "deadline": st.sampled_from(["2026-12-31", "2027-02-30", "31/12/2026"])},
        optional={"item_id": small_id, "owner_user_id": uid}),
    "conclusion.update": st.fixed_dictionaries(
        {"conclusion_id": small_id}, optional={
            "text": text, "deadline": st.just("2027-01-15"),
            "item_id": st.none() | small_id, "owner_user_id": st.none() | uid}),
    "conclusion.remove": st.fixed_dictionaries({"conclusion_id": small_id}),
    "annotation.clear": st.fixed_dictionaries(
        {"document_id": small_id, "page": st.integers(1, 13)},
        optional={"everyone": st.booleans()}),
}
# The live part of a meeting comes up more often than preparation; ending it, rarely.
WEIGHTS = {name: 3 for name in ARGS} | {
    "session.end": 1, "meeting.invite": 1, "session.start": 1, "agenda.reorder": 2,
    "floor.request": 6, "floor.grant": 5, "attendance.check_in": 5, "rsvp": 5,
    "notice.post": 4, "agenda.next": 4, "annotation.add": 10, "annotation.remove": 4,
    "annotation.clear": 4,
}
NAMES_WEIGHTED = [name for name, w in WEIGHTS.items() for _ in range(w)]
# A meeting where the presenters draw: the shared marks' rules, events and store.
DRAWING = ["annotation.add"] * 8 + ["annotation.remove"] * 2 + ["annotation.clear"] * 2 + [
    "document.update", "document.version", "document.remove", "document.attach",
    "present.start", "participant.update"]


ORGANISERS = [CHAIR, SECRETARY, ADMIN]
LIKELY_ACTORS = {
    **{name: ORGANISERS for name in ARGS if name.split(".")[0] in (
        "meeting", "site", "participant", "agenda", "notice", "attendance", "substitute")},
    **{name: [CHAIR] for name in (
        "session.start", "session.end", "agenda.activate", "agenda.next", "agenda.done",
        "agenda.defer", "floor.grant", "floor.extend")},
    **{name: [CHAIR, PRESENTER, SECRETARY] for name in (
        "present.start", "present.move", "present.stop", "annotation.add",
        "annotation.remove", "annotation.clear")},
    **{name: ORGANISERS for name in ("document.attach", "document.update",
                                     "document.version", "document.remove", "poll.create",
                                     "poll.update", "poll.cancel", "minutes.settings",
                                     "minutes.edit", "conclusion.add", "conclusion.update",
                                     "conclusion.remove")},
    **{name: [CHAIR] for name in ("poll.open", "poll.close", "poll.publish")},
    "poll.record": [CHAIR, SECRETARY],
}


@st.composite
def command(draw: st.DrawFn, state: RoomState, names: list[str] = NAMES_WEIGHTED
            ) -> tuple[int, str, dict[str, Any]]:
    """An actor, a command name and arguments: mostly plausible, sometimes malformed."""
    name = draw(st.sampled_from(names))
    likely = LIKELY_ACTORS.get(name)
    if likely and draw(st.integers(0, 2)) > 0:
        actor = draw(st.sampled_from(likely))
    else:
        actor = draw(st.sampled_from(list(NAMES)))
    if name == "agenda.reorder":
        order = draw(st.permutations(list(state.order)))
        if draw(st.integers(0, 4)) == 0:
            order = [*order, draw(small_id)]
        args: dict[str, Any] = {"order": order}
    else:
        args = dict(draw(ARGS[name]))
    # Mostly a document, page and mark that exist, or the marks' rules are hardly reached.
    if "document_id" in args and state.documents and draw(st.integers(0, 3)) > 0:
        args["document_id"] = draw(st.sampled_from(sorted(state.documents)))
        doc = state.documents[args["document_id"]]
        if "page" in args and doc.pages and draw(st.booleans()):
            args["page"] = draw(st.integers(1, doc.pages))
    drawn = [key for key, _ in state.marks.pages()]
    if name == "annotation.clear" and drawn and draw(st.booleans()):  # a page with marks
        args["document_id"], _version, args["page"] = draw(st.sampled_from(drawn))
    marks = [i for _, page in state.marks.pages() for i in page.owners]
    if "annotation_id" in args and marks and draw(st.booleans()):
        args["annotation_id"] = draw(st.sampled_from(marks))
    damage = draw(st.integers(0, 14))
    if damage == 0 and args:  # a wrong type for one field
        key = draw(st.sampled_from(sorted(args)))
        args[key] = draw(wrong)
    elif damage == 1:  # a field nobody knows
        args["surprise"] = 1
    return actor, name, args


def wire(event: Event) -> Event:
    """The event as the store keeps it and the bus carries it (JSON, audience included)."""
    row = orjson.loads(orjson.dumps({
        "seq": event.seq, "kind": event.kind, "at": event.at, "actor": event.actor,
        "audience": event.audience.to_json(), "data": event.data,
    }))
    return Event(kind=row["kind"], data=row["data"], at=row["at"], actor=row["actor"],
                 audience=Audience.from_json(row["audience"]), seq=row["seq"])


def check_invariants(state: RoomState) -> None:
    assert sorted(state.order) == sorted(state.items)
    assert len(set(state.order)) == len(state.order)
    active = [i.id for i in state.items.values() if i.status == "active"]
    assert active == ([state.active_item] if state.active_item is not None else [])
    queued = [r.user_id for r in state.queue]
    assert len(set(queued)) == len(queued)
    assert all(u in state.participants for u in queued)
    if state.speaker is not None:
        assert state.speaker.user_id in state.participants
        assert state.speaker.user_id not in queued
    assert state.meeting is not None
    if state.meeting.status != "in_session":
        assert not state.queue and state.speaker is None and state.active_item is None
    ids = [*state.sites, *state.items, *(n.id for n in state.notices), *state.polls]
    assert sum(p.status == "open" for p in state.polls.values()) <= 1
    for poll in state.polls.values():
        assert (poll.result is not None) == (poll.status in ("closed", "published"))
    assert len(set(ids)) == len(ids)
    assert all(i < state.next_id for i in ids)
    assert set(state.attendance) <= set(state.participants)
    assert set(state.rsvp_reasons) <= set(state.participants)
    assert set(state.absence_reasons) <= set(state.participants)
    assert all(a.reason is None for a in state.attendance.values())  # reasons are personal
    # the constitution: exactly one chair and one secretary, never substituted
    for office in (Role.CHAIR, Role.SECRETARY):
        holders = [p for p in state.participants.values() if p.role == office]
        assert len(holders) == 1, (office, holders)
        assert holders[0].substitute_for is None and holders[0].substitute_user_id is None
    for member_id, request in state.substitute_requests.items():
        assert member_id in state.participants and request.member_id == member_id
        assert state.participants[member_id].role not in (Role.CHAIR, Role.SECRETARY)
    for p in state.participants.values():
        if p.substitute_for is not None:
            member = state.participants.get(p.substitute_for)
            assert member is not None and member.substitute_user_id == p.user_id, p
        if p.substitute_user_id is not None:
            # a member's named substitute is in the meeting, in their place
            sub = state.participants.get(p.substitute_user_id)
            assert sub is not None and sub.substitute_for == p.user_id, p
    # the live quorum, moved by each check-in and recounted after roster changes, equals a
    # recount; the view shows what was last announced
    assert state.figures == state.quorum_figures()
    quorum = room_view(state, ADMIN, True)["quorum"]
    assert quorum == state.announced.model_dump(mode="json")
    assert 0 <= quorum["present"] <= quorum["total"]


@st.composite
def scenario(draw: st.DrawFn, names: list[str] = NAMES_WEIGHTED, attach: bool = False
             ) -> tuple[Room, list[Rejection], list[RoomState]]:
    """A room, driven through up to 60 random commands at random times (`names`; with a
    document attached first when `attach`, or half the time)."""
    phase = draw(st.sampled_from(["draft", "invited", "in_session", "in_session"]))
    roster = draw(st.sampled_from(["all", "organisers"]))
    room = standard_room(invite=phase != "draft", start=phase == "in_session", roster=roster)
    if attach or draw(st.booleans()):  # a document to read, present and draw on
        room.ok(CHAIR, "document.attach", sha256=draw(st.sampled_from(["a" * 64, "c" * 64])))
    refusals: list[Rejection] = []
    states = [RoomState()]
    for e in room.events:
        states.append(apply(states[-1], e))
    # Half the time the writer holds check-ins' quorum back (announced less than
    # ANNOUNCE_EVERY ago) and announces it now and then, on a turn of its own.
    room.announce = draw(st.booleans())
    for _ in range(draw(st.integers(0, 60))):
        if not room.announce and draw(st.integers(0, 3)) == 0:
            for e in room.announce_now():
                states.append(apply(states[-1], e))
        room.tick(draw(st.integers(0, 600)))
        actor, name, args = draw(command(room.state, names))
        before, seen = room.state, len(room.events)
        dumped = before.model_dump_json()
        outcome = room.run(actor, name, **args)
        if isinstance(outcome, Rejection):
            # (c) a refusal changes nothing, and says why in both languages
            assert room.state is before and len(room.events) == seen
            assert room.state.model_dump_json() == dumped
            assert outcome.code in TEXTS, outcome
            message = outcome.message()
            assert message["vi"] and message["en"]
            refusals.append(outcome)
        else:
            # Accepted with no event only when it asks for what already is (the presenter
            # "moves" to the page shown, clears a page with none of their marks, updates a
            # document to what it is).
            assert outcome or name in IDEMPOTENT, f"{name} accepted but emitted nothing"
            for e in outcome:
                states.append(apply(states[-1], e))
        check_invariants(room.state)
    return room, refusals, states


IDEMPOTENT = frozenset({"present.move", "annotation.clear", "document.update"})

PROPERTY = settings(max_examples=int(os.environ.get("PHONGHOP_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(scenario(), st.data())
def test_log_rebuilds_the_live_state(run: tuple[Room, list[Rejection], list[RoomState]],
                                     data: st.DataObject) -> None:
    room, _, states = run
    seqs = [e.seq for e in room.events]
    assert seqs == list(range(1, len(seqs) + 1))
    # (a) the log, as stored, replays to exactly the live state
    assert replay(wire(e) for e in room.events) == room.state
    # ... and from any snapshot on, as a restarting node does
    cut = data.draw(st.integers(0, len(room.events)))
    snapshot = RoomState.model_validate_json(states[cut].model_dump_json())
    assert replay((wire(e) for e in room.events[cut:]), snapshot) == room.state
    assert states[-1] == room.state


@PROPERTY
@given(scenario())
def test_snapshot_round_trip(run: tuple[Room, list[Rejection], list[RoomState]]) -> None:
    room, _, states = run
    # (b) every intermediate state survives model_dump_json -> model_validate_json
    for state in [*states[::3], room.state]:
        again = RoomState.model_validate_json(state.model_dump_json())
        assert again == state
        assert again.model_dump_json() == state.model_dump_json()


def standing(state: RoomState, viewer: int) -> tuple[object, ...]:
    """What decides which events a user may see: their role and the meeting's roster rule."""
    return (state.role_of(viewer), state.meeting.roster if state.meeting else None)


@PROPERTY
@given(st.one_of(scenario(), scenario(DRAWING, attach=True)))
def test_each_user_sees_the_view_their_events_build(
    run: tuple[Room, list[Rejection], list[RoomState]],
) -> None:
    room, _, states = run
    for viewer in [*NAMES, 12345]:
        is_admin = viewer == ADMIN
        # A client starts from a snapshot taken when it joined, that is after the commit
        # that last changed its standing (being added, a new role, a new roster rule),
        # then applies the events it is sent.
        changed = max((i for i in range(1, len(states))
                       if standing(states[i], viewer) != standing(states[i - 1], viewer)),
                      default=0)
        start = min((seq for seq in [0, *room.commits] if seq >= changed), default=0)
        # It fetches the shared marks of every page the view lists, from the store as
        # the room's events up to then left it (a browser: of the page it shows); every
        # other viewer from a store already at the end (a node ahead of its websocket's):
        # the events after replayed over newer marks still end where the room does.
        ahead = viewer % 2 == 1

        def fetch(key: PageKey, seq: int, ahead: bool = ahead) -> list[dict[str, Any]]:
            return page(table_after(room.events if ahead else room.events[:seq]), key)

        view = orjson.loads(orjson.dumps(room_view(states[start], viewer, is_admin)))
        client = ClientView(view, start, fetch)
        for event in room.events[start:]:
            if event.audience.admits(viewer, room.state.role_of(viewer), is_admin):
                client.on_event(event.kind, orjson.loads(orjson.dumps(event.data)), event.seq)
        # (d) ... and ends up with exactly the server's view for that user
        server = orjson.loads(orjson.dumps(room_view(room.state, viewer, is_admin)))
        mine = client.view()
        for part in server:
            assert mine[part] == server[part], (viewer, part)
        # (e) and with each page's marks as the store serves them now, for every page
        # with marks it may read, and no others
        final = table_after(room.events)
        listed = {key_of(p) for p in server["marks"]}
        assert {k for k, m in client.marks.items() if m} == listed, viewer
        for key in listed:
            assert sorted(client.marks[key].values(), key=lambda a: a["id"]) == page(final, key)


@given(st.sampled_from(sorted(ARGS)).flatmap(lambda n: st.tuples(st.just(n), ARGS[n])))
@settings(max_examples=300, deadline=None)
def test_a_command_forwarded_to_the_rooms_writer_is_the_command_parsed(
    named: tuple[str, dict[str, Any]],
) -> None:
    """Another node hands the room's writer a parsed command as its JSON dump (docs/
    ARCHITECTURE.md, "One writer per room"): rebuilt there, it is the same command."""
    name, args = named
    parsed = parse_command(name, args)
    if isinstance(parsed, Rejection):
        return
    assert parse_forwarded(name, parsed.model_dump(mode="json")) == parsed
