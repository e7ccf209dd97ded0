"""apply(state, event) -> state: fold one committed event into a room state.

Pure and total over the events `decide` emits: no I/O, no clock, no mutation. Replaying a
room's log from the empty state with this function rebuilds exactly the live state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rooms.events import Event
from rooms.state import (
    AgendaItem,
    Attendance,
    FloorRequest,
    MeetingInfo,
    Notice,
    Participant,
    QuorumFigures,
    RoomState,
    Site,
    Speaker,
    Speech,
)

NOTICES_KEPT = 50
SPEECHES_KEPT = 5000

Handler = Callable[[RoomState, dict[str, Any]], dict[str, Any]]
_HANDLERS: dict[str, Handler] = {}


def _on(*kinds: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for kind in kinds:
            _HANDLERS[kind] = fn
        return fn

    return register


def apply(state: RoomState, event: Event) -> RoomState:
    """Return the state after `event`; the event's seq becomes the state's seq."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        raise ValueError(f"unknown event kind {event.kind!r}")
    changes = handler(state, event.data)
    changes["seq"] = event.seq if event.seq else state.seq + 1
    return state.model_copy(update=changes)


def replay(events: Iterable[Event], state: RoomState | None = None) -> RoomState:
    """Fold a sequence of events into a state (the empty room by default)."""
    state = state or RoomState()
    for event in events:
        state = apply(state, event)
    return state


def _with(mapping: dict[Any, Any], key: Any, value: Any) -> dict[Any, Any]:
    new = dict(mapping)
    new[key] = value
    return new


def _without(mapping: dict[Any, Any], key: Any) -> dict[Any, Any]:
    new = dict(mapping)
    new.pop(key, None)
    return new


@_on("meeting.created", "meeting.updated", "meeting.invited", "session.started")
def _meeting(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"meeting": MeetingInfo.model_validate(data["meeting"])}


@_on("session.ended")
def _session_ended(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "meeting": MeetingInfo.model_validate(data["meeting"]),
        "active_item": None,
        "queue": (),
        "speaker": None,
        "presentation": None,
    }
    if data.get("item"):
        item = AgendaItem.model_validate(data["item"])
        changes["items"] = _with(state.items, item.id, item)
    return changes


@_on("site.added")
def _site(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    site = Site.model_validate(data["site"])
    return {"sites": _with(state.sites, site.id, site), "next_id": max(state.next_id, site.id + 1)}


@_on("participant.added", "participant.updated", "rsvp.answered")
def _participant(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    p = Participant.model_validate(data["participant"])
    return {"participants": _with(state.participants, p.user_id, p)}


@_on("participant.removed")
def _participant_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    uid = data["user_id"]
    changes: dict[str, Any] = {
        "participants": _without(state.participants, uid),
        "queue": tuple(r for r in state.queue if r.user_id != uid),
    }
    if uid in state.attendance:
        changes["attendance"] = _without(state.attendance, uid)
    if uid in state.rsvp_reasons:
        changes["rsvp_reasons"] = _without(state.rsvp_reasons, uid)
    if uid in state.absence_reasons:
        changes["absence_reasons"] = _without(state.absence_reasons, uid)
    if uid in state.substitute_requests:
        changes["substitute_requests"] = _without(state.substitute_requests, uid)
    if state.speaker and state.speaker.user_id == uid:
        changes["speaker"] = None
    return changes


@_on("rsvp.reason")
def _rsvp_reason(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"rsvp_reasons": _with(state.rsvp_reasons, data["user_id"], data["reason"])}


@_on("agenda.added", "agenda.updated", "agenda.completed", "agenda.deferred")
def _item(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    item = AgendaItem.model_validate(data["item"])
    changes: dict[str, Any] = {"items": _with(state.items, item.id, item)}
    if item.id not in state.items:
        changes["order"] = (*state.order, item.id)
        changes["next_id"] = max(state.next_id, item.id + 1)
    if state.active_item == item.id and item.status != "active":
        changes["active_item"] = None
    return changes


@_on("agenda.activated")
def _activated(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    item = AgendaItem.model_validate(data["item"])
    items = _with(state.items, item.id, item)
    if data.get("paused"):
        paused = AgendaItem.model_validate(data["paused"])
        items[paused.id] = paused
    return {"items": items, "active_item": item.id}


@_on("agenda.removed")
def _item_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    iid = data["item_id"]
    return {"items": _without(state.items, iid), "order": tuple(i for i in state.order if i != iid)}


@_on("agenda.reordered")
def _reordered(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"order": tuple(data["order"])}


@_on("attendance.checked_in", "attendance.absent")
def _attendance(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    a = Attendance.model_validate(data["attendance"])
    reasons = _without(state.absence_reasons, a.user_id)
    if a.reason:  # a log written before reasons became personal: keep it, privately
        reasons[a.user_id] = a.reason
        a = a.model_copy(update={"reason": None})
    return {"attendance": _with(state.attendance, a.user_id, a), "absence_reasons": reasons}


@_on("absence.reason")
def _absence_reason(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"absence_reasons": _with(state.absence_reasons, data["user_id"], data["reason"])}


@_on("role.changed")
def _role_changed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    # An announcement: the change itself is in the participant.* events of the same command.
    return {}


@_on("floor.requested")
def _requested(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"queue": (*state.queue, FloorRequest.model_validate(data["request"]))}


@_on("floor.withdrawn")
def _withdrawn(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"queue": tuple(r for r in state.queue if r.user_id != data["user_id"])}


@_on("floor.granted", "floor.extended")
def _granted(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    speaker = Speaker.model_validate(data["speaker"])
    return {
        "speaker": speaker,
        "queue": tuple(r for r in state.queue if r.user_id != speaker.user_id),
    }


@_on("floor.ended")
def _ended(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {"speaker": None}
    s = state.speaker
    if s is not None and s.user_id == data["user_id"]:
        speech = Speech(user_id=s.user_id, full_name=s.full_name, site_id=s.site_id,
                        item_id=state.active_item, since=s.since, seconds=data["spoke_seconds"])
        changes["speeches"] = (*state.speeches, speech)[-SPEECHES_KEPT:]
    return changes


@_on("quorum.changed")
def _quorum(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"figures": QuorumFigures.model_validate(data["quorum"])}


@_on("notice.posted")
def _notice(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    notice = Notice.model_validate(data["notice"])
    return {
        "notices": (*state.notices, notice)[-NOTICES_KEPT:],
        "next_id": max(state.next_id, notice.id + 1),
    }

