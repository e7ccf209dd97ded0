"""The kernel's event handlers (`apply`): how each committed event changes a room state.

Pure and total over the events the kernel's rules emit: no I/O, no clock, no mutation.
`rooms.room.Room.apply` folds an event with the handler of whichever plugin owns its kind;
replaying a room's log from the empty state rebuilds exactly the live state.
"""

from __future__ import annotations

from typing import Any

from phonghop.rooms.plugin import HandlerTable, with_key, without_key
from phonghop.rooms.state import (
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

HANDLERS = HandlerTable()


@HANDLERS.on("meeting.created", "meeting.updated", "meeting.invited", "session.started")
def _meeting(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"meeting": MeetingInfo.model_validate(data["meeting"])}


@HANDLERS.on("session.ended")
def _session_ended(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "meeting": MeetingInfo.model_validate(data["meeting"]),
        "active_item": None,
        "queue": (),
        "speaker": None,
    }
    if data.get("item"):
        item = AgendaItem.model_validate(data["item"])
        changes["items"] = with_key(state.items, item.id, item)
    return changes


@HANDLERS.on("site.added")
def _site(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    site = Site.model_validate(data["site"])
    return {"sites": with_key(state.sites, site.id, site),
            "next_id": max(state.next_id, site.id + 1)}


@HANDLERS.on("participant.added", "participant.updated", "rsvp.answered")
def _participant(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    p = Participant.model_validate(data["participant"])
    return {"participants": with_key(state.participants, p.user_id, p)}


@HANDLERS.on("participant.removed")
def _participant_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    uid = data["user_id"]
    changes: dict[str, Any] = {
        "participants": without_key(state.participants, uid),
        "queue": tuple(r for r in state.queue if r.user_id != uid),
    }
    if uid in state.attendance:
        changes["attendance"] = without_key(state.attendance, uid)
    if uid in state.rsvp_reasons:
        changes["rsvp_reasons"] = without_key(state.rsvp_reasons, uid)
    if uid in state.absence_reasons:
        changes["absence_reasons"] = without_key(state.absence_reasons, uid)
    if uid in state.substitute_requests:
        changes["substitute_requests"] = without_key(state.substitute_requests, uid)
    if state.speaker and state.speaker.user_id == uid:
        changes["speaker"] = None
    return changes


@HANDLERS.on("rsvp.reason")
def _rsvp_reason(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"rsvp_reasons": with_key(state.rsvp_reasons, data["user_id"], data["reason"])}


@HANDLERS.on("agenda.added", "agenda.updated", "agenda.completed", "agenda.deferred")
def _item(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    item = AgendaItem.model_validate(data["item"])
    changes: dict[str, Any] = {"items": with_key(state.items, item.id, item)}
    if item.id not in state.items:
        changes["order"] = (*state.order, item.id)
        changes["next_id"] = max(state.next_id, item.id + 1)
    if state.active_item == item.id and item.status != "active":
        changes["active_item"] = None
    return changes


@HANDLERS.on("agenda.activated")
def _activated(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    item = AgendaItem.model_validate(data["item"])
    items = with_key(state.items, item.id, item)
    if data.get("paused"):
        paused = AgendaItem.model_validate(data["paused"])
        items[paused.id] = paused
    return {"items": items, "active_item": item.id}


@HANDLERS.on("agenda.removed")
def _item_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    iid = data["item_id"]
    return {"items": without_key(state.items, iid),
            "order": tuple(i for i in state.order if i != iid)}


@HANDLERS.on("agenda.reordered")
def _reordered(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"order": tuple(data["order"])}


@HANDLERS.on("attendance.checked_in", "attendance.absent")
def _attendance(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    a = Attendance.model_validate(data["attendance"])
    reasons = without_key(state.absence_reasons, a.user_id)
    if a.reason:  # a log written before reasons became personal: keep it, privately
        reasons[a.user_id] = a.reason
        a = a.model_copy(update={"reason": None})
    return {"attendance": with_key(state.attendance, a.user_id, a), "absence_reasons": reasons,
            "figures": state.checked_in(a)}


@HANDLERS.on("absence.reason")
def _absence_reason(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"absence_reasons": with_key(state.absence_reasons, data["user_id"], data["reason"])}


@HANDLERS.on("role.changed")
def _role_changed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    # An announcement: the change itself is in the participant.* events of the same command.
    return {}


@HANDLERS.on("floor.requested")
def _requested(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"queue": (*state.queue, FloorRequest.model_validate(data["request"]))}


@HANDLERS.on("floor.withdrawn")
def _withdrawn(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"queue": tuple(r for r in state.queue if r.user_id != data["user_id"])}


@HANDLERS.on("floor.granted", "floor.extended")
def _granted(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    speaker = Speaker.model_validate(data["speaker"])
    return {
        "speaker": speaker,
        "queue": tuple(r for r in state.queue if r.user_id != speaker.user_id),
    }


@HANDLERS.on("floor.ended")
def _ended(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {"speaker": None}
    s = state.speaker
    if s is not None and s.user_id == data["user_id"]:
        speech = Speech(user_id=s.user_id, full_name=s.full_name, site_id=s.site_id,
                        item_id=state.active_item, since=s.since, seconds=data["spoke_seconds"])
        changes["speeches"] = (*state.speeches, speech)[-SPEECHES_KEPT:]
    return changes


@HANDLERS.on("quorum.changed")
def _quorum(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    figures = QuorumFigures.model_validate(data["quorum"])
    return {"figures": figures, "announced": figures}


@HANDLERS.on("notice.posted")
def _notice(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    notice = Notice.model_validate(data["notice"])
    return {
        "notices": (*state.notices, notice)[-NOTICES_KEPT:],
        "next_id": max(state.next_id, notice.id + 1),
    }

