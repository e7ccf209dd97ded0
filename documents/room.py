"""Meeting documents in the room: attaching, versions, presenting, and shared annotations.

Rules (`decide`) and their events' effects (`apply`) for documents, what each user sees,
and what the edge does around them (file lookups, sealing, pre-rendering, the pointer and
ink relays), as one plugin, `PLUGIN`, that `meeting_room.py` assembles into the room.

Who may read a document follows its classification: `public` everyone in the room,
`internal` everyone but invitees, `confidential` its named viewers only. The organisers
(chair, secretary, administrators) also *know of* a confidential document they do not
read, as a sealed entry (`sealed`): that it exists, its classification, viewers and agenda
item, and nothing of its content (no title, file name, hash, sizes, page count, versions,
marks). Every change to a confidential document is therefore two events: the sealed entry
for the organisers first, then the whole document for its viewers (a viewer who is also an
organiser receives both, the whole one last). Private annotations never enter the room:
they live in the store.

Who may do what to a confidential document, in one place:
- read, present, draw, rename, version, re-classify, change its viewers: an organiser
  (for the editing ones) who is one of its named viewers; presenting shows it to its
  viewers only, everyone else sees the presentation stop;
- declassify (confidential -> internal/public): a viewer-organiser who is also a viewer of
  every other confidential document of this meeting using the same file;
- move it to another agenda item, or remove it: any organiser;
- attach its file again (or as a new version elsewhere): only someone who is a viewer of
  every confidential document of this meeting using that file (current or earlier
  version), or who uploaded those bytes to this meeting themselves (they hold them). To
  anyone else the hash is refused exactly like a file never uploaded here (`not_found`),
  so a refusal does not confirm which file a sealed document holds.
"""

from __future__ import annotations

from typing import Any

import orjson

from phonghop.documents import commands as c
from phonghop.documents import path as paths
from phonghop.documents.marks import (
    DocumentMarksRemoved,
    MarkAdded,
    MarksRemoved,
    MarkWrite,
    PageCleared,
    PageKey,
    page_view,
)
from phonghop.documents.model import Annotation, Document, DocumentVersion, Presentation
from phonghop.rooms.commands import Command
from phonghop.rooms.events import EVERYONE, Audience, Event, organisers_and
from phonghop.rooms.plugin import (
    Context,
    FileRules,
    HandlerTable,
    Lookup,
    Outcome,
    Plugin,
    RuleTable,
    dump,
    with_key,
    without_key,
)
from phonghop.rooms.rejections import Rejection, invalid, invalid_state, not_found
from phonghop.rooms.roles import ADMINISTRATOR, Role
from phonghop.rooms.state import RoomState

MAX_SHARED_PER_DOCUMENT = 5000
RULES = RuleTable()
HANDLERS = HandlerTable()
# Who sees `internal` documents: every role but invitees.
_INTERNAL = Audience(False, frozenset({*(str(r) for r in Role if r != Role.INVITEE),
                                       ADMINISTRATOR}))
_ORGANISERS = organisers_and()
# What a sealed entry keeps of a confidential document (nothing about its content).
SEALED_FIELDS = ("id", "classification", "viewers", "item_id", "added_by", "added_at")


def audience(doc: Document) -> Audience:
    """Who knows `doc` exists (its removal is told to them)."""
    if doc.classification == "confidential":
        return organisers_and(*doc.viewers)
    return readers(doc)


def readers(doc: Document) -> Audience:
    """Who reads `doc`: its content, versions, shared marks and presentation."""
    if doc.classification == "public":
        return EVERYONE
    if doc.classification == "internal":
        return _INTERNAL
    return Audience(False, users=frozenset(doc.viewers))


def may_read(state: RoomState, doc: Document, user_id: int, is_admin: bool = False) -> bool:
    """Whether `user_id` may read the pages of `doc` (confidential: named viewers only)."""
    return readers(doc).admits(user_id, state.role_of(user_id), is_admin)


def may_know(state: RoomState, doc: Document, user_id: int, is_admin: bool = False) -> bool:
    """Whether `user_id` sees that `doc` exists (its entry in the room)."""
    return audience(doc).admits(user_id, state.role_of(user_id), is_admin)


def sealed(doc: Document) -> dict[str, Any]:
    """The entry of a confidential document for those who know of it but may not read it.

    Who attached it and when are those of its first version, so that a new version
    changes nothing here (not even that there was one)."""
    entry = {k: v for k, v in dump(doc).items() if k in SEALED_FIELDS}
    if doc.history:
        entry |= {"added_by": doc.history[0].by, "added_at": doc.history[0].at}
    return {**entry, "sealed": True}


def files_of(doc: Document) -> set[str]:
    """Every file `doc` uses or used (the current version and the earlier ones)."""
    return {doc.sha256, *(v.sha256 for v in doc.history)}


def confidential_files(state: RoomState) -> set[str]:
    """Every file a confidential document of this room uses or used."""
    return {sha for d in state.documents.values() if d.classification == "confidential"
            for sha in files_of(d)}


def may_release(state: RoomState, sha256: str, user_id: int,
                uploaded_by: int | None = None, but: int | None = None) -> bool:
    """Whether `user_id` may put file `sha256` into another document: they read every
    confidential document here using it (except `but`), or sent these bytes themselves."""
    if uploaded_by is not None and uploaded_by == user_id:
        return True
    return all(user_id in d.viewers for d in state.documents.values()
               if d.classification == "confidential" and d.id != but
               and sha256 in files_of(d))


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


def _document(ctx: Context, document_id: int) -> Document | Rejection:
    doc = ctx.state.documents.get(document_id)
    if doc is None or not may_know(ctx.state, doc, ctx.actor.user_id, ctx.actor.is_admin):
        return not_found("document")
    return doc


def _readable(ctx: Context, document_id: int) -> Document | Rejection:
    """The document if the actor may read it; a sealed one is refused as such."""
    doc = _document(ctx, document_id)
    if isinstance(doc, Rejection):
        return doc
    if not may_read(ctx.state, doc, ctx.actor.user_id, ctx.actor.is_admin):
        return Rejection("confidential_viewers_only")
    return doc


def _shown_to(doc: Document) -> Audience:
    """Who follows a presentation of `doc`: everyone, or a confidential one's viewers."""
    return readers(doc) if doc.classification == "confidential" else EVERYONE


def _put(ctx: Context, kind: str, before: Document | None, after: Document) -> list[Event]:
    """The events that tell everyone concerned about `after` (new, or changed from
    `before`): a revocation for those who read it before when its readers change, the
    sealed entry for the organisers, then the whole document for its readers."""
    events = []
    moved = before is not None and (before.classification, before.viewers) != (
        after.classification, after.viewers)
    if moved:
        assert before is not None
        events.append(ctx.event("document.revoked", readers(before), document_id=before.id))
    if after.classification == "confidential" and (
            moved or before is None or sealed(before) != sealed(after)):
        events.append(ctx.event(kind, _ORGANISERS, document=sealed(after)))
    data: dict[str, Any] = {"document": dump(after)}
    if moved:
        # New readers learn which pages have shared marks (a revocation dropped them).
        data["marks"] = [page_view(key, page) for key, page in ctx.state.marks.pages([after.id])]
    events.append(ctx.event(kind, readers(after), **data))
    return events


def _viewers(ctx: Context, classification: str, viewers: tuple[int, ...]) -> Rejection | None:
    if classification == "confidential":
        if not viewers:
            return invalid("viewers: a confidential document names its readers")
        if any(v not in ctx.state.participants for v in viewers):
            return not_found("participant")
    elif viewers:
        return invalid("viewers: only for confidential documents")
    return None


def _file_refused(ctx: Context, cmd: c.DocumentAttach | c.DocumentNewVersion
                  ) -> Rejection | None:
    """The uploaded file a command names: known (filled in by the edge), and one this
    actor may put into a document (`may_release`); `not_found` otherwise, so that a file
    one may not use looks like one that does not exist."""
    if (cmd.file is None or cmd.file.sha256 != cmd.sha256
            or not may_release(ctx.state, cmd.sha256, ctx.actor.user_id,
                               cmd.file.uploaded_by)):
        return not_found("file")
    return None


def _page_in(doc: Document, page: int) -> Rejection | None:
    if page > doc.pages:
        return not_found("page")
    return None


# ---- attaching and versions (organisers) ----


@RULES.rule(c.DocumentAttach)
def _attach(ctx: Context, cmd: c.DocumentAttach) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    if refusal := _file_refused(ctx, cmd):
        return refusal
    if cmd.item_id is not None and cmd.item_id not in ctx.state.items:
        return not_found("item")
    viewers = tuple(dict.fromkeys(cmd.viewers))
    if refusal := _viewers(ctx, cmd.classification, viewers):
        return refusal
    title = cmd.title or cmd.file.filename.rsplit(".", 1)[0] or cmd.file.filename
    doc = Document(
        id=ctx.state.next_id, title=title, item_id=cmd.item_id,
        classification=cmd.classification, viewers=viewers, sha256=cmd.file.sha256,
        filename=cmd.file.filename, size=cmd.file.size, sizes=cmd.file.sizes,
        added_by=ctx.actor.user_id, added_at=ctx.at,
    )
    return _put(ctx, "document.attached", None, doc)


@RULES.rule(c.DocumentUpdate)
def _update(ctx: Context, cmd: c.DocumentUpdate) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    doc = _document(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    changes = cmd.model_dump(exclude_none=True, exclude={"document_id"})
    if not changes:
        return invalid("nothing to change")
    reads = may_read(ctx.state, doc, ctx.actor.user_id, ctx.actor.is_admin)
    if not reads and set(changes) - {"item_id"}:
        # Any organiser files a sealed document under an item; only viewers touch the rest.
        return Rejection("confidential_viewers_only")
    if cmd.item_id is not None and cmd.item_id not in ctx.state.items:
        return not_found("item")
    classification = cmd.classification or doc.classification
    if cmd.viewers is not None:
        viewers = tuple(dict.fromkeys(cmd.viewers))
    else:
        viewers = doc.viewers if classification == "confidential" else ()
    if refusal := _viewers(ctx, classification, viewers):
        return refusal
    if doc.classification == "confidential" and classification != "confidential" and not all(
            may_release(ctx.state, sha, ctx.actor.user_id, but=doc.id)
            for sha in files_of(doc)):
        # Declassifying would show the file of a confidential document this viewer does
        # not read: only someone who reads all of them may publish it.
        return Rejection("confidential_viewers_only")
    updated = doc.model_copy(update={**changes, "classification": classification,
                                     "viewers": viewers})
    if updated == doc:
        return []
    events = []
    shown = ctx.state.presentation
    if (shown is not None and shown.document_id == doc.id
            and _shown_to(doc) != _shown_to(updated)):
        events.append(ctx.event("presentation.stopped"))  # its audience changes: start over
    return events + _put(ctx, "document.updated", doc, updated)


@RULES.rule(c.DocumentNewVersion)
def _new_version(ctx: Context, cmd: c.DocumentNewVersion) -> Outcome:
    if refusal := ctx.preparing():
        return refusal
    doc = _readable(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if refusal := _file_refused(ctx, cmd):
        return refusal
    if cmd.sha256 == doc.sha256:
        return Rejection("same_version")
    old = DocumentVersion(version=doc.version, sha256=doc.sha256, filename=doc.filename,
                          size=doc.size, pages=doc.pages, at=doc.added_at, by=doc.added_by)
    updated = doc.model_copy(update={
        "version": doc.version + 1, "sha256": cmd.file.sha256, "filename": cmd.file.filename,
        "size": cmd.file.size, "sizes": cmd.file.sizes, "history": (*doc.history, old),
        "added_by": ctx.actor.user_id, "added_at": ctx.at,
    })
    events = _put(ctx, "document.updated", doc, updated)
    shown = ctx.state.presentation
    if shown is not None and shown.document_id == doc.id:
        # The presenter's page may not exist in the new version: start it from page 1.
        moved = shown.model_copy(update={"version": updated.version, "page": 1, "zoom": 1.0,
                                         "x": 0.5, "y": 0.5})
        events.append(ctx.event("presentation.moved", _shown_to(doc),
                                presentation=dump(moved)))
    return events


@RULES.rule(c.DocumentRemove)
def _remove(ctx: Context, cmd: c.DocumentRemove) -> Outcome:
    if refusal := ctx.preparing():
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


def _presenting(ctx: Context) -> Rejection | None:
    meeting = ctx.state.meeting
    if meeting is not None and meeting.status == "ended":
        return invalid_state("ended")
    return None


def _shown(ctx: Context) -> tuple[Presentation, Document] | Rejection:
    """What is presented, as the actor sees it: a sealed presentation is none to them."""
    shown = ctx.state.presentation
    doc = ctx.state.documents.get(shown.document_id) if shown is not None else None
    if shown is None or doc is None or not _shown_to(doc).admits(
            ctx.actor.user_id, ctx.role, ctx.actor.is_admin):
        return Rejection("not_presenting")
    return shown, doc


@RULES.rule(c.PresentStart)
def _present_start(ctx: Context, cmd: c.PresentStart) -> Outcome:
    if refusal := _presenting(ctx):
        return refusal
    if not may_present(ctx.state, ctx.actor.user_id):
        return Rejection("forbidden")
    shown = ctx.state.presentation
    if shown is not None and shown.by != ctx.actor.user_id and not ctx.chair:
        return invalid_state("presenting")  # the chair may take over; others wait
    doc = _readable(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if refusal := _page_in(doc, cmd.page):
        return refusal
    started = Presentation(document_id=doc.id, version=doc.version, page=cmd.page,
                           by=ctx.actor.user_id, since=ctx.at)
    events = []
    if shown is not None and doc.classification == "confidential":
        # Those who may not follow see the previous presentation end, and nothing else.
        events.append(ctx.event("presentation.stopped"))
    events.append(ctx.event("presentation.started", _shown_to(doc),
                            presentation=dump(started)))
    return events


@RULES.rule(c.PresentMove)
def _present_move(ctx: Context, cmd: c.PresentMove) -> Outcome:
    found = _shown(ctx)
    if isinstance(found, Rejection):
        return found
    shown, doc = found
    if shown.by != ctx.actor.user_id and not ctx.chair:
        return Rejection("forbidden")
    if refusal := _page_in(doc, cmd.page):
        return refusal
    moved = shown.model_copy(update={"page": cmd.page, "zoom": cmd.zoom, "x": cmd.x,
                                     "y": cmd.y})
    if moved == shown:
        return []  # already there: nothing to tell anyone
    return [ctx.event("presentation.moved", _shown_to(doc), presentation=dump(moved))]


@RULES.rule(c.PresentStop)
def _present_stop(ctx: Context, cmd: c.PresentStop) -> Outcome:
    shown = ctx.state.presentation
    if shown is None:
        return Rejection("not_presenting")
    if ctx.chair:
        # The chair keeps the room's screen, even when they may not follow what is on it.
        return [ctx.event("presentation.stopped")]
    found = _shown(ctx)
    if isinstance(found, Rejection):
        return found
    if shown.by != ctx.actor.user_id:
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


@RULES.rule(c.AnnotationAdd)
def _annotate(ctx: Context, cmd: c.AnnotationAdd) -> Outcome:
    if not may_draw_shared(ctx.state, ctx.actor.user_id):
        return Rejection("forbidden")
    doc = _readable(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if refusal := _page_in(doc, cmd.page) or check_marks(cmd):
        return refusal
    if ctx.state.marks.on_document(doc.id) >= MAX_SHARED_PER_DOCUMENT:
        return Rejection("too_large")
    ann = Annotation(
        id=ctx.state.next_id, document_id=doc.id, version=doc.version, page=cmd.page,
        kind=cmd.kind, points=tuple(paths.quantised(p) for p in cmd.points),
        color=cmd.color.lower(),
        width=cmd.width, text=cmd.text, owner=ctx.actor.user_id, scope="shared", at=ctx.at,
    )
    return [ctx.event("annotation.added", readers(doc), annotation=dump(ann))]


@RULES.rule(c.AnnotationRemove)
def _unannotate(ctx: Context, cmd: c.AnnotationRemove) -> Outcome:
    found = ctx.state.marks.find(cmd.annotation_id)
    doc = ctx.state.documents.get(found[0][0]) if found else None
    if found is None or doc is None or not may_read(ctx.state, doc, ctx.actor.user_id,
                                                    ctx.actor.is_admin):
        return not_found("annotation")
    (document_id, version, page), owner = found
    if owner != ctx.actor.user_id and not ctx.organiser:
        return Rejection("forbidden")
    # Where it was, so that a client that has not fetched that page keeps its count.
    return [ctx.event("annotation.removed", readers(doc), annotation_id=cmd.annotation_id,
                      document_id=document_id, version=version, page=page)]


@RULES.rule(c.AnnotationClear)
def _clear(ctx: Context, cmd: c.AnnotationClear) -> Outcome:
    doc = _readable(ctx, cmd.document_id)
    if isinstance(doc, Rejection):
        return doc
    if cmd.everyone and not ctx.organiser:
        return Rejection("forbidden")
    owner = None if cmd.everyone else ctx.actor.user_id
    page = ctx.state.marks.page((doc.id, doc.version, cmd.page))
    removed = page.of(owner) if page is not None else []
    if not removed:
        return []
    return [ctx.event("annotation.cleared", readers(doc), document_id=doc.id,
                      version=doc.version, page=cmd.page, owner=owner, removed=len(removed))]


# ---- apply ----


@HANDLERS.on("document.attached", "document.updated")
def _document_put(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    if data["document"].get("sealed"):
        return {}  # the organisers' copy: the whole document follows in the same commit
    doc = Document.model_validate(data["document"])
    return {"documents": with_key(state.documents, doc.id, doc),
            "next_id": max(state.next_id, doc.id + 1)}


@HANDLERS.on("document.revoked")
def _document_revoked(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {}  # readers changed: clients drop their copy; the update follows


@HANDLERS.on("document.removed")
def _document_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    did = data["document_id"]
    return {
        "documents": without_key(state.documents, did),
        "marks": state.marks.without_document(did, state.seq + 1),
    }


@HANDLERS.on("presentation.started", "presentation.moved")
def _presentation(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"presentation": Presentation.model_validate(data["presentation"])}


@HANDLERS.on("presentation.stopped")
def _presentation_stopped(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"presentation": None}


# A handler's event takes the next seq (`Room.apply`): a page's revision is that seq.


@HANDLERS.on("annotation.added")
def _annotation(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    a = data["annotation"]
    return {"marks": state.marks.added(a["id"], _key(a), a["owner"], state.seq + 1),
            "next_id": max(state.next_id, a["id"] + 1)}


@HANDLERS.on("annotation.removed")
def _annotation_removed(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"marks": state.marks.removed((data["annotation_id"],), state.seq + 1)}


@HANDLERS.on("annotation.cleared")
def _annotations_cleared(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"marks": state.marks.cleared(_key(data), data["owner"], state.seq + 1)}


def _key(data: dict[str, Any]) -> PageKey:
    return (data["document_id"], data["version"], data["page"])


def stored_marks(event: Event) -> list[MarkWrite]:
    """What the room's writer stores beside `event`, in the same transaction: the shared
    marks themselves, which a client fetches per page (`page_marks`)."""
    data = event.data
    if event.kind == "annotation.added":
        a = data["annotation"]
        return [MarkAdded(a["id"], _key(a), a["owner"], orjson.dumps(a))]
    if event.kind == "annotation.removed":
        return [MarksRemoved((data["annotation_id"],))]
    if event.kind == "annotation.cleared":
        return [PageCleared(_key(data), data["owner"])]
    if event.kind == "document.removed":
        return [DocumentMarksRemoved(data["document_id"])]
    return []


# ---- view ----


def documents_view(state: RoomState, user_id: int, is_admin: bool) -> dict[str, Any]:
    """The documents `user_id` knows of (sealed where they may not read), the shared marks
    on those they read, and the presentation if they may follow it."""
    role = state.role_of(user_id)
    entries, read = [], set()
    for i in sorted(state.documents):
        doc = state.documents[i]
        if readers(doc).admits(user_id, role, is_admin):
            entries.append(dump(doc))
            read.add(i)
        elif audience(doc).admits(user_id, role, is_admin):
            entries.append(sealed(doc))
    shown = state.presentation
    presented = state.documents.get(shown.document_id) if shown is not None else None
    follows = presented is not None and _shown_to(presented).admits(user_id, role, is_admin)
    return {
        "documents": entries,
        "marks": [page_view(key, page) for key, page in state.marks.pages(read)],
        "presentation": dump(shown) if follows else None,
    }


# ---- volatile messages (relayed, never stored) ----


def _pointer_audience(state: RoomState, user_id: int, is_admin: bool,
                      data: Any) -> Audience | Rejection:
    """`pointer`, the presenter's laser: from whoever presents or may present, to those who
    may read the document it points at (the one presented, if it names none)."""
    presenting = state.presentation is not None and state.presentation.by == user_id
    if not (presenting or may_present(state, user_id)):
        return Rejection("forbidden")
    document_id = data.get("document_id") if isinstance(data, dict) else None
    if document_id is None:
        if state.presentation is None:
            return EVERYONE
        document_id = state.presentation.document_id
    return _to_readers(state, user_id, is_admin, document_id)


def _ink_audience(state: RoomState, user_id: int, is_admin: bool,
                  data: Any) -> Audience | Rejection:
    """`ink`, a shared stroke still being drawn: from those who draw shared marks, to the
    readers of its document."""
    if not may_draw_shared(state, user_id):
        return Rejection("forbidden")
    document_id = data.get("document_id") if isinstance(data, dict) else None
    return _to_readers(state, user_id, is_admin, document_id)


def _to_readers(state: RoomState, user_id: int, is_admin: bool,
                document_id: Any) -> Audience | Rejection:
    """The readers of the document, if the sender reads it too."""
    doc = state.documents.get(document_id) if isinstance(document_id, int) else None
    if doc is None or not may_read(state, doc, user_id, is_admin):
        return not_found("document")
    return readers(doc)


# ---- what the node does around a command (the file store is not the room's) ----


def files_to_seal(state: RoomState, command: Command) -> set[str]:
    """Files `command` may make confidential: the node seals them *before* it is decided,
    so no unstamped image of them is cached or served from a cache from then on."""
    if isinstance(command, c.DocumentAttach):
        # Only a file uploaded to this meeting (the edge found it): a made-up hash seals
        # nothing.
        confidential = command.classification == "confidential" and command.file is not None
        return {command.sha256} if confidential else set()
    if isinstance(command, c.DocumentNewVersion | c.DocumentUpdate):
        doc = state.documents.get(command.document_id)
        if doc is None:
            return set()
        if isinstance(command, c.DocumentNewVersion):
            confidential = doc.classification == "confidential" and command.file is not None
            return {command.sha256} if confidential else set()
        if command.classification == "confidential":
            return files_of(doc)
    return set()


def files_to_prerender(state: RoomState, command: Command) -> list[tuple[str, int]]:
    """After an accepted attach or new version: the file and its page count, to render in
    the background, unless a confidential document of this room uses it."""
    if not isinstance(command, c.DocumentAttach | c.DocumentNewVersion) or command.file is None:
        return []
    if command.sha256 in confidential_files(state):
        return []
    return [(command.sha256, len(command.file.sizes))]


# ---- the plugin ----


def _session_ended(state: RoomState, data: dict[str, Any]) -> dict[str, Any]:
    return {"presentation": None}  # nobody presents once the session is over


PLUGIN = Plugin(
    name="documents",
    commands=c.ROOM_COMMANDS,
    rules=RULES,
    handlers=HANDLERS,
    reactions={"session.ended": _session_ended},
    personal_view=documents_view,
    lookups={cmd: (Lookup("room_file", key="sha256", into="file"),)
             for cmd in (c.DocumentAttach, c.DocumentNewVersion)},
    volatile={"pointer": _pointer_audience, "ink": _ink_audience},
    stored=stored_marks,
    files=FileRules(confidential=confidential_files, to_seal=files_to_seal,
                    to_prerender=files_to_prerender),
)
