"""The minutes in the room: rules (`decide`), effects (`apply`) and what each user sees.

The draft is the organisers' working copy: its events go to the chair, the secretary and
the administrators only. Edits name the version they start from, so two secretaries typing
into the same section never silently overwrite each other: the second is refused with
`edit_conflict` and shown the other's text to merge. Signing (by the server, through
`signing/`) freezes the draft: secretary first, then the chair. One plugin, `PLUGIN`,
that `meeting_room.py` assembles into the room.
"""

from __future__ import annotations

from typing import Any

from phonghop.minutes import commands as m
from phonghop.minutes.model import Conclusion, Section, Signature
from phonghop.rooms.events import EVERYONE, organisers_and
from phonghop.rooms.plugin import (
    Context,
    HandlerTable,
    Outcome,
    Plugin,
    RuleTable,
    dump,
    with_key,
    without_key,
)
from phonghop.rooms.rejections import Rejection, invalid, invalid_state, not_found
from phonghop.rooms.roles import ORGANISERS, Role
from phonghop.rooms.state import RoomState

MAX_CONCLUSIONS = 500
RULES = RuleTable()
HANDLERS = HandlerTable()


def _editing(ctx: Context) -> Rejection | None:
    """Organisers edit the draft until the secretary signs."""
    if not ctx.organiser:
        return Rejection("forbidden")
    if ctx.state.minutes.status != "draft":
        return invalid_state("minutes_signing")
    return None


def _organisers() -> Any:
    return organisers_and()


@RULES.rule(m.MinutesSettings)
def _settings(ctx: Context, cmd: m.MinutesSettings) -> Outcome:
    if refusal := _editing(ctx):
        return refusal
    changes = cmd.model_dump(exclude_none=True)
    if not changes:
        return invalid("nothing to change")
    return [ctx.event("minutes.settings", _organisers(), **changes)]


@RULES.rule(m.MinutesEdit)
def _edit(ctx: Context, cmd: m.MinutesEdit) -> Outcome:
    if refusal := _editing(ctx):
        return refusal
    if cmd.section.startswith("item:") and int(cmd.section[5:]) not in ctx.state.items:
        return not_found("item")
    current = ctx.state.minutes.sections.get(cmd.section, Section(key=cmd.section))
    if cmd.base_version != current.version:
        return Rejection("edit_conflict", {"section": cmd.section, "version": current.version,
                                           "by": current.by})
    if cmd.text == current.text:
        return invalid("nothing to change")
    section = Section(key=cmd.section, text=cmd.text, version=current.version + 1,
                      by=ctx.actor.user_id, at=ctx.at)
    return [ctx.event("minutes.edited", _organisers(), section=dump(section))]


def _check_conclusion(ctx: Context, item_id: int | None, owner_user_id: int | None
                      ) -> Rejection | None:
    if item_id is not None and item_id not in ctx.state.items:
        return not_found("item")
    if owner_user_id is not None and owner_user_id not in ctx.state.participants:
        return not_found("participant")
    return None


@RULES.rule(m.ConclusionAdd)
def _conclusion_add(ctx: Context, cmd: m.ConclusionAdd) -> Outcome:
    if refusal := _editing(ctx) or _check_conclusion(ctx, cmd.item_id, cmd.owner_user_id):
        return refusal
    if len(ctx.state.minutes.conclusions) >= MAX_CONCLUSIONS:
        return Rejection("too_large")
    conclusion = Conclusion(id=ctx.state.next_id, by=ctx.actor.user_id, at=ctx.at,
                            **cmd.model_dump())
    return [ctx.event("conclusion.added", _organisers(), conclusion=dump(conclusion))]


@RULES.rule(m.ConclusionUpdate)
def _conclusion_update(ctx: Context, cmd: m.ConclusionUpdate) -> Outcome:
    if refusal := _editing(ctx) or _check_conclusion(ctx, cmd.item_id, cmd.owner_user_id):
        return refusal
    current = ctx.state.minutes.conclusions.get(cmd.conclusion_id)
    if current is None:
        return not_found("conclusion")
    # A field left out stays as it is; item_id or owner_user_id sent as null is cleared.
    changes = {k: getattr(cmd, k) for k in cmd.model_fields_set - {"conclusion_id"}}
    if not changes:
        return invalid("nothing to change")
    if any(changes.get(k, "") is None for k in ("text", "owner", "deadline")):
        return invalid("text, owner and deadline cannot be cleared")
    updated = current.model_copy(update=changes)
    return [ctx.event("conclusion.updated", _organisers(), conclusion=dump(updated))]


@RULES.rule(m.ConclusionRemove)
def _conclusion_remove(ctx: Context, cmd: m.ConclusionRemove) -> Outcome:
    if refusal := _editing(ctx):
        return refusal
    if cmd.conclusion_id not in ctx.state.minutes.conclusions:
        return not_found("conclusion")
    return [ctx.event("conclusion.removed", _organisers(), conclusion_id=cmd.conclusion_id)]


@RULES.rule(m.MinutesPrepared)
def _prepared(ctx: Context, cmd: m.MinutesPrepared) -> Outcome:
    if refusal := _editing(ctx):
        return refusal
    return [ctx.event("minutes.prepared", _organisers(), sha256=cmd.sha256, pages=cmd.pages)]


def signer_role(state: RoomState, user_id: int) -> Role | None:
    """The signature field that belongs to `user_id`: the chair's or the secretary's as the
    roles stood when the session ended (recorded in `session.ended`), never as they stand
    now. Before the end, and for logs written before the roles were recorded (when roles
    could not change after the end either), the current role."""
    meeting = state.meeting
    assert meeting is not None
    if meeting.status == "ended" and (meeting.chair_at_end or meeting.secretary_at_end):
        if user_id == meeting.chair_at_end:
            return Role.CHAIR
        if user_id == meeting.secretary_at_end:
            return Role.SECRETARY
        return None
    role = state.role_of(user_id)
    return role if role in (Role.CHAIR, Role.SECRETARY) else None


def may_sign(state: RoomState, role: str, user_id: int) -> Rejection | None:
    """Whether `user_id` may now apply the `role` signature: the secretary first, after the
    session ended; then the chair; each once, by whoever held the role at the end."""
    assert state.meeting is not None
    if signer_role(state, user_id) != role:
        return Rejection("forbidden")
    if state.meeting.status != "ended":
        return invalid_state(state.meeting.status)
    done = [s.role for s in state.minutes.signatures]
    if role in done:
        return Rejection("already_signed")
    if role == Role.CHAIR and Role.SECRETARY not in done:
        return Rejection("secretary_first")
    if role == Role.SECRETARY and state.minutes.prepared_sha256 is None:
        return invalid_state("minutes_unprepared")
    return None


@RULES.rule(m.MinutesSigned)
def _signed(ctx: Context, cmd: m.MinutesSigned) -> Outcome:
    if refusal := may_sign(ctx.state, cmd.role, ctx.actor.user_id):
        return refusal
    signature = Signature(role=cmd.role, user_id=ctx.actor.user_id, full_name=cmd.full_name,
                          signed_at=ctx.at, sha256=cmd.sha256)
    status = "signed" if cmd.role == Role.CHAIR else "signing"
    return [ctx.event("minutes.signed", EVERYONE, signature=dump(signature), status=status)]


# ---- effects ----


def _minutes(state: RoomState, **changes: Any) -> dict[str, Any]:
    return {"minutes": state.minutes.model_copy(update=changes)}


def _changed(state: RoomState, **changes: Any) -> dict[str, Any]:
    """A change to the draft: the PDF prepared from the old draft is no longer it."""
    return _minutes(state, prepared_sha256=None, prepared_pages=0, **changes)


@HANDLERS.on("minutes.settings")
def _settings_applied(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _changed(state, **data)


@HANDLERS.on("minutes.prepared")
def _prepared_applied(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _minutes(state, prepared_sha256=data["sha256"], prepared_pages=data["pages"])


@HANDLERS.on("minutes.edited")
def _edited(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    section = Section.model_validate(data["section"])
    return _changed(state, sections=with_key(state.minutes.sections, section.key, section))


@HANDLERS.on("conclusion.added", "conclusion.updated")
def _concluded(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    conclusion = Conclusion.model_validate(data["conclusion"])
    changes = _changed(state, conclusions=with_key(state.minutes.conclusions, conclusion.id,
                                                 conclusion))
    return changes | {"next_id": max(state.next_id, conclusion.id + 1)}


@HANDLERS.on("conclusion.removed")
def _unconcluded(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return _changed(state, conclusions=without_key(state.minutes.conclusions,
                                                 data["conclusion_id"]))


@HANDLERS.on("minutes.signed")
def _signed_applied(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    signature = Signature.model_validate(data["signature"])
    return _minutes(state, status=data["status"],
                    signatures=(*state.minutes.signatures, signature))


# ---- what users see ----


def minutes_view(state: RoomState, user_id: int, is_admin: bool = False) -> dict[str, Any]:
    """The organisers see the whole draft; everyone sees the signing status."""
    mins = state.minutes
    public = {"status": mins.status,
              "signatures": [s.model_dump(mode="json") for s in mins.signatures]}
    if is_admin or state.role_of(user_id) in ORGANISERS:
        public |= {
            "template": mins.template, "issuer": mins.issuer, "number": mins.number,
            "place": mins.place, "prepared_sha256": mins.prepared_sha256,
            "prepared_pages": mins.prepared_pages,
            "sections": [s.model_dump(mode="json") for _, s in sorted(mins.sections.items())],
            "conclusions": [x.model_dump(mode="json") for _, x in
                            sorted(mins.conclusions.items())],
        }
    return {"minutes": public}


def tasks(state: RoomState) -> list[dict[str, Any]]:
    """The conclusions as tasks for the task-tracking system ("5 rõ": who, what, by when)."""
    assert state.meeting is not None
    items = state.items
    return [{
        "id": x.id, "content": x.text, "owner": x.owner, "owner_user_id": x.owner_user_id,
        "deadline": x.deadline,
        "agenda_item": items[x.item_id].title if x.item_id in items else None,
        "source": {"meeting": state.meeting.title, "minutes_number": state.minutes.number},
    } for _, x in sorted(state.minutes.conclusions.items())]


# ---- the plugin ----


def _status(state: RoomState) -> str | None:
    """Once the chair signed, catalogues list the meeting as `minutes_signed`."""
    return "minutes_signed" if state.minutes.status == "signed" else None


PLUGIN = Plugin(
    name="minutes",
    # `minutes.prepared` and `minutes.signed` are the server's own (after it made or signed
    # the PDF): decided here, never sent by a client.
    commands=m.ROOM_COMMANDS,
    rules=RULES,
    handlers=HANDLERS,
    personal_view=minutes_view,
    status=_status,
)
