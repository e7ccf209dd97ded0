"""Meeting documents in the room: attaching, versions, presenting, and shared annotations.

Rules (`decide`) and their events' effects (`apply`) for documents, registered into the
core's tables. Who may see a document is fixed when it is attached, so an event about a
document always goes to the same audience: `public` to everyone in the room, `internal`
to everyone but invitees, `confidential` to the named viewers (and, for its title only,
the organisers). Private annotations never enter the room: they live in the store.
"""

from __future__ import annotations

from typing import Any

from rooms import commands as c
from rooms.apply import _on, _with, _without
from rooms.decide import Outcome, _Ctx, _dump, _preparing, _rule
from rooms.events import EVERYONE, Audience, organisers_and
from rooms.rejections import Rejection, invalid, invalid_state, not_found
from rooms.roles import ADMINISTRATOR, Role
from rooms.state import Annotation, Document, DocumentVersion, Presentation, RoomState

MAX_SHARED_PER_DOCUMENT = 5000
# Who sees `internal` documents: every role but invitees.
_INTERNAL = Audience(False, frozenset({*(str(r) for r in Role if r != Role.INVITEE),
                                       ADMINISTRATOR}))


def audience(doc: Document) -> Audience:
    """Who hears of `doc` (its title, versions and shared annotations)."""
    if doc.classification == "public":
        return EVERYONE
    if doc.classification == "internal":
        return _INTERNAL
    return organisers_and(*doc.viewers)


def may_read(state: RoomState, doc: Document, user_id: int, is_admin: bool = False) -> bool:
    """Whether `user_id` may read the pages of `doc` (confidential: named viewers only)."""
    if doc.classification == "confidential":
        return user_id in doc.viewers
    return audience(doc).admits(user_id, state.role_of(user_id), is_admin)


def may_know(state: RoomState, doc: Document, user_id: int, is_admin: bool = False) -> bool:
    """Whether `user_id` sees that `doc` exists (its entry in the room)."""
    return audience(doc).admits(user_id, state.role_of(user_id), is_admin)


def may_present(state: RoomState, user_id: int) -> bool:
    """The chair, a presenter, or the presenter of the item under discussion."""
    role = state.role_of(user_id)
    if role in (Role.CHAIR, Role.PRESENTER):
        return True
    item = state.items.get(state.active_item) if state.active_item else None
    return item is not None and item.presenter_id == user_id


def may_draw_shared(state: RoomState, user_id: int) -> bool:
    """Shared marks are drawn by those who lead: presenters, the chair and the secretary."""
    if state.role_of(user_id) == Role.SECRETARY or may_present(state, user_id):
        return True
    return state.presentation is not None and state.presentation.by == user_id


def _document(ctx: _Ctx, document_id: int) -> Document | Rejection:
    doc = ctx.state.documents.get(document_id)
    if doc is None or not may_know(ctx.state, doc, ctx.actor.user_id, ctx.actor.is_admin):
        return not_found("document")
    return doc


def _page_in(doc: Document, page: int) -> Rejection | None:
    if page > doc.pages:
        return not_found("page")
    return None


# ---- attaching and versions (organisers) ----


@_rule(c.DocumentAttach)
def _attach(ctx: _Ctx, cmd: c.DocumentAttach) -> Outcome:
    if refusal := _preparing(ctx):
        return refusal
    if cmd.file is None or cmd.file.sha256 != cmd.sha256:
        return not_found("file")
    if cmd.item_id is not None and cmd.item_id not in ctx.state.items:
        return not_found("item")
    viewers = tuple(dict.fromkeys(cmd.viewers))
    if cmd.classification == "confidential":
        if not viewers:
            return invalid("viewers: a confidential document names its readers")
        if any(v not in ctx.state.participants for v in viewers):
            return not_found("participant")
    elif viewers:
        return invalid("viewers: only for confidential documents")
    title = cmd.title or cmd.file.filename.rsplit(".", 1)[0] or cmd.file.filename
    doc = Document(
        id=ctx.state.next_id, title=title, item_id=cmd.item_id,
        classification=cmd.classification, viewers=viewers, sha256=cmd.file.sha256,
        filename=cmd.file.filename, size=cmd.file.size, sizes=cmd.file.sizes,
        added_by=ctx.actor.user_id, added_at=ctx.at,
    )
    return [ctx.event("document.attached", audience(doc), document=_dump(doc))]


@_rule(c.DocumentUpdate)
def _update(ctx: _Ctx, cmd: c.DocumentUpdate) -> Outcome:
    if refusal := _preparing(ctx):
        return refusal
    doc = _document(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    changes = cmd.model_dump(exclude_none=True, exclude={"document_id"})
    if not changes:
        return invalid("nothing to change")
    if cmd.item_id is not None and cmd.item_id not in ctx.state.items:
        return not_found("item")
    updated = doc.model_copy(update=changes)
    return [ctx.event("document.updated", audience(doc), document=_dump(updated))]


@_rule(c.DocumentNewVersion)
def _new_version(ctx: _Ctx, cmd: c.DocumentNewVersion) -> Outcome:
    if refusal := _preparing(ctx):
        return refusal
    doc = _document(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if cmd.file is None or cmd.file.sha256 != cmd.sha256:
        return not_found("file")
    if cmd.sha256 == doc.sha256:
        return Rejection("same_version")
    old = DocumentVersion(version=doc.version, sha256=doc.sha256, filename=doc.filename,
                          size=doc.size, pages=doc.pages, at=doc.added_at, by=doc.added_by)
    updated = doc.model_copy(update={
        "version": doc.version + 1, "sha256": cmd.file.sha256, "filename": cmd.file.filename,
        "size": cmd.file.size, "sizes": cmd.file.sizes, "history": (*doc.history, old),
        "added_by": ctx.actor.user_id, "added_at": ctx.at,
    })
    events = [ctx.event("document.updated", audience(doc), document=_dump(updated))]
    shown = ctx.state.presentation
    if shown is not None and shown.document_id == doc.id:
        # The presenter's page may not exist in the new version: start it from page 1.
        moved = shown.model_copy(update={"version": updated.version, "page": 1, "zoom": 1.0,
                                         "x": 0.5, "y": 0.5})
        events.append(ctx.event("presentation.moved", presentation=_dump(moved)))
    return events


@_rule(c.DocumentRemove)
def _remove(ctx: _Ctx, cmd: c.DocumentRemove) -> Outcome:
    if refusal := _preparing(ctx):
        return refusal
    doc = _document(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    events = []
    if ctx.state.presentation is not None and ctx.state.presentation.document_id == doc.id:
        events.append(ctx.event("presentation.stopped"))
    events.append(ctx.event("document.removed", audience(doc), document_id=doc.id))
    return events


# ---- presenting ----


def _presenting(ctx: _Ctx) -> Rejection | None:
    meeting = ctx.state.meeting
    if meeting is not None and meeting.status == "ended":
        return invalid_state("ended")
    return None


@_rule(c.PresentStart)
def _present_start(ctx: _Ctx, cmd: c.PresentStart) -> Outcome:
    if refusal := _presenting(ctx):
        return refusal
    if not may_present(ctx.state, ctx.actor.user_id):
        return Rejection("forbidden")
    shown = ctx.state.presentation
    if shown is not None and shown.by != ctx.actor.user_id and not ctx.chair:
        return invalid_state("presenting")  # the chair may take over; others wait
    doc = _document(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if refusal := _page_in(doc, cmd.page):
        return refusal
    started = Presentation(document_id=doc.id, version=doc.version, page=cmd.page,
                           by=ctx.actor.user_id, since=ctx.at)
    return [ctx.event("presentation.started", presentation=_dump(started))]


@_rule(c.PresentMove)
def _present_move(ctx: _Ctx, cmd: c.PresentMove) -> Outcome:
    shown = ctx.state.presentation
    if shown is None:
        return Rejection("not_presenting")
    if shown.by != ctx.actor.user_id and not ctx.chair:
        return Rejection("forbidden")
    doc = ctx.state.documents[shown.document_id]
    if refusal := _page_in(doc, cmd.page):
        return refusal
    moved = shown.model_copy(update={"page": cmd.page, "zoom": cmd.zoom, "x": cmd.x,
                                     "y": cmd.y})
    if moved == shown:
        return []  # already there: nothing to tell anyone
    return [ctx.event("presentation.moved", presentation=_dump(moved))]


@_rule(c.PresentStop)
def _present_stop(ctx: _Ctx, cmd: c.PresentStop) -> Outcome:
    shown = ctx.state.presentation
    if shown is None:
        return Rejection("not_presenting")
    if shown.by != ctx.actor.user_id and not ctx.chair:
        return Rejection("forbidden")
    return [ctx.event("presentation.stopped")]


# ---- shared annotations ----


def check_marks(cmd: c.AnnotationAdd) -> Rejection | None:
    """Shape rules every annotation follows, shared or private."""
    if len(cmd.points) % 2:
        return invalid("points: x, y pairs")
    if cmd.kind == "note" and not cmd.text:
        return invalid("text: a note has text")
    return None


@_rule(c.AnnotationAdd)
def _annotate(ctx: _Ctx, cmd: c.AnnotationAdd) -> Outcome:
    if not may_draw_shared(ctx.state, ctx.actor.user_id):
        return Rejection("forbidden")
    doc = _document(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if refusal := _page_in(doc, cmd.page) or check_marks(cmd):
        return refusal
    count = sum(1 for a in ctx.state.annotations.values() if a.document_id == doc.id)
    if count >= MAX_SHARED_PER_DOCUMENT:
        return Rejection("too_large")
    ann = Annotation(
        id=ctx.state.next_id, document_id=doc.id, version=doc.version, page=cmd.page,
        kind=cmd.kind, points=tuple(round(p, 5) for p in cmd.points), color=cmd.color.lower(),
        width=cmd.width, text=cmd.text, owner=ctx.actor.user_id, scope="shared", at=ctx.at,
    )
    return [ctx.event("annotation.added", audience(doc), annotation=_dump(ann))]


@_rule(c.AnnotationRemove)
def _unannotate(ctx: _Ctx, cmd: c.AnnotationRemove) -> Outcome:
    ann = ctx.state.annotations.get(cmd.annotation_id)
    doc = ctx.state.documents.get(ann.document_id) if ann else None
    if ann is None or doc is None or not may_know(ctx.state, doc, ctx.actor.user_id,
                                                  ctx.actor.is_admin):
        return not_found("annotation")
    if ann.owner != ctx.actor.user_id and not ctx.organiser:
        return Rejection("forbidden")
    return [ctx.event("annotation.removed", audience(doc), annotation_id=ann.id,
                      document_id=doc.id)]


@_rule(c.AnnotationClear)
def _clear(ctx: _Ctx, cmd: c.AnnotationClear) -> Outcome:
    doc = _document(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if cmd.everyone and not ctx.organiser:
        return Rejection("forbidden")
    owner = None if cmd.everyone else ctx.actor.user_id
    if not any(_cleared(a, doc, cmd.page, owner) for a in ctx.state.annotations.values()):
        return []
    return [ctx.event("annotation.cleared", audience(doc), document_id=doc.id,
                      version=doc.version, page=cmd.page, owner=owner)]


def _cleared(a: Annotation, doc: Document, page: int, owner: int | None) -> bool:
    return (a.document_id == doc.id and a.version == doc.version and a.page == page
            and (owner is None or a.owner == owner))


# ---- apply ----


@_on("document.attached", "document.updated")
def _document_put(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    doc = Document.model_validate(data["document"])
    return {"documents": _with(state.documents, doc.id, doc),
            "next_id": max(state.next_id, doc.id + 1)}


@_on("document.removed")
def _document_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    did = data["document_id"]
    return {
        "documents": _without(state.documents, did),
        "annotations": {k: a for k, a in state.annotations.items() if a.document_id != did},
    }


@_on("presentation.started", "presentation.moved")
def _presentation(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"presentation": Presentation.model_validate(data["presentation"])}


@_on("presentation.stopped")
def _presentation_stopped(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"presentation": None}


@_on("annotation.added")
def _annotation(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    ann = Annotation.model_validate(data["annotation"])
    return {"annotations": _with(state.annotations, ann.id, ann),
            "next_id": max(state.next_id, ann.id + 1)}


@_on("annotation.removed")
def _annotation_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"annotations": _without(state.annotations, data["annotation_id"])}


@_on("annotation.cleared")
def _annotations_cleared(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    doc = state.documents[data["document_id"]]
    return {"annotations": {
        k: a for k, a in state.annotations.items()
        if not _cleared(a, doc, data["page"], data["owner"])
    }}


# ---- view ----


def documents_view(state: RoomState, user_id: int, is_admin: bool) -> dict[str, Any]:
    """The documents `user_id` knows of, with the shared marks on them."""
    known = {d.id for d in state.documents.values() if may_know(state, d, user_id, is_admin)}
    return {
        "documents": [state.documents[i].model_dump(mode="json") for i in sorted(known)],
        "annotations": [a.model_dump(mode="json") for a in state.annotations.values()
                        if a.document_id in known],
    }


# ---- volatile messages (relayed, never stored) ----

VOLATILE_KINDS = frozenset({"pointer", "ink"})


def volatile_audience(state: RoomState, user_id: int, is_admin: bool, kind: str,
                      data: Any) -> Audience | Rejection:
    """Who receives a volatile message from `user_id`, or why it is refused.

    `pointer` is the presenter's laser; `ink` a shared stroke still being drawn. Both go
    only to those who may know the document they point at.
    """
    if kind not in VOLATILE_KINDS:
        return invalid("volatile kind")
    if kind == "pointer":
        presenting = state.presentation is not None and state.presentation.by == user_id
        if not (presenting or may_present(state, user_id)):
            return Rejection("forbidden")
    elif not may_draw_shared(state, user_id):
        return Rejection("forbidden")
    document_id = data.get("document_id") if isinstance(data, dict) else None
    if document_id is None and kind == "pointer":
        return EVERYONE
    doc = state.documents.get(document_id) if isinstance(document_id, int) else None
    if doc is None or not may_know(state, doc, user_id, is_admin):
        return not_found("document")
    return audience(doc)
