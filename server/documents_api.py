"""HTTP for meeting documents: uploads, page images, text, exports and private annotations.

Attaching, versions and shared annotations are room commands (see `documents/room.py`);
what lives here is what does not belong in the room log: file bytes, page images, and
each reader's private annotations, which no one else ever receives.

A confidential document is read by its named viewers only (others are refused before
anything about it, even its page count, is looked at): its pages are rendered stamped for
the viewer, its file and exports are image-only stamped copies, its plain text is refused
(`confidential_text`), and nothing of it may be cached (`no-store`). Internal documents
are cached privately for a few minutes; only public ones by version for good.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import UTC, timedelta, timezone
from typing import Annotated, Any

import orjson
from pydantic import Field
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from phonghop.documents import commands as c
from phonghop.documents import path as paths
from phonghop.documents.ingest import IngestError
from phonghop.documents.model import Document
from phonghop.documents.room import check_marks, may_know, may_read
from phonghop.documents.sizes import FORMATS, WIDTHS
from phonghop.meeting_room import parse_command
from phonghop.rooms import Rejection
from phonghop.rooms.state import RoomState
from phonghop.server.api import (
    Body,
    Endpoint,
    _id,
    attachment,
    audit,
    audited,
    current_user,
    is_number,
    is_organiser,
    node_of,
    parse,
    participant_room,
    pdf_download,
    read_json,
    room_command,
)
from phonghop.server.http_errors import JSONResponse, Refused
from phonghop.server.node import Node
from phonghop.server.room_host import RoomHost
from phonghop.store.base import Duplicate, StoreError
from phonghop.store.records import User

log = logging.getLogger(__name__)
VIETNAM = timezone(timedelta(hours=7))  # no daylight saving: a fixed offset is exact
IMMUTABLE = "private, max-age=31536000, immutable"  # public, version pinned in the URL
REVALIDATE = "private, no-cache"  # public, current version: asked again each time
INTERNAL = "private, max-age=300"  # a shared tablet forgets it within minutes
PERSONAL = "private, no-store"  # confidential, and anything made for one request


class MyAnnotationBody(Body):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    page: c.Page
    kind: str
    # The stroke as a shared one: `path` (documents/path.py) or `points`, one of the two.
    points: list[Any] | None = None
    path: Any = None
    color: str = "#d32f2f"
    width: float = 0.003
    text: str | None = None


class ClearBody(Body):
    page: c.Page


# ---- lookups ----


def _not_found(what: str, what_en: str) -> Refused:
    return Refused(Rejection("not_found", {"what": what, "what_en": what_en}))


async def _readable(request: Request) -> tuple[User, RoomHost, Document]:
    """The signed-in user, the room and the document they may read, or a refusal."""
    user = await current_user(request)
    host = await participant_room(request, user)
    doc = host.state.documents.get(_id(request, "document"))
    if doc is None or not may_know(host.state, doc, user.id, user.is_admin):
        raise _not_found("tài liệu", "Document")
    if not may_read(host.state, doc, user.id, user.is_admin):
        raise Refused(Rejection("confidential_viewers_only"))
    return user, host, doc


def caching(doc: Document, pinned: bool) -> str:
    """`Cache-Control` for what is read of `doc`: by classification, never immutable
    unless public and pinned to a version."""
    if doc.classification == "confidential":
        return PERSONAL
    if doc.classification == "internal":
        return INTERNAL
    return IMMUTABLE if pinned else REVALIDATE


def watermark(user: User, now: Any) -> str:
    """The label on a confidential page: who looks, their unit, and when (Vietnam time)."""
    local = now.astimezone(VIETNAM)
    parts = [user.full_name, user.unit, local.strftime("%H:%M %d/%m/%Y")]
    return " · ".join(p for p in parts if p)


def _refuse_ingest(exc: IngestError) -> Refused:
    return Refused(Rejection(exc.code, {"detail": exc.detail}))


# ---- uploads ----


async def upload_file(request: Request) -> Response:
    user = await current_user(request)
    host = await participant_room(request, user)
    if not is_organiser(host.state, user):
        raise Refused(Rejection("forbidden"))
    node = node_of(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > node.library.limits.max_bytes:
        raise Refused(Rejection("too_large"))
    name = _filename(request.query_params.get("name", ""))
    try:
        received = await node.library.receive(request.stream())
        stored = await node.library.ingest(received)
    except IngestError as exc:
        raise _refuse_ingest(exc) from None
    try:
        new = await node.store.save_file(stored.sha256, stored.size, stored.info)
        await node.store.add_room_file(host.room_id, stored.sha256, name, user.id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    # No page image yet: what the file is (public, internal or confidential) is known
    # only when it is attached; the pre-render starts then (see `after_command`).
    if new:
        node.spawn(_keep_texts(node, stored.sha256))
    body = {"sha256": stored.sha256, "filename": name, "size": stored.size,
            "pages": len(stored.info["sizes"]), **stored.info}
    return JSONResponse({"file": body}, status_code=201)


async def _keep_texts(node: Node, sha256: str) -> None:
    """Extract and store the text of a new file's pages (a background job)."""
    try:
        await node.store.save_texts(sha256, await node.library.texts(sha256))
    except (IngestError, StoreError) as exc:
        log.warning("text of %s not kept: %s", sha256[:12], exc)


def _filename(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or "tai-lieu.pdf"


# ---- pages, text, files ----


def _page_number(raw: str, pages: int) -> int:
    if not is_number(raw, 9) or not 1 <= int(raw) <= pages:
        raise _not_found("trang", "Page")
    return int(raw)


def _version_sha(doc: Document, version: str | None) -> tuple[str, int, bool]:
    """The file of the version asked for (current by default), its page count, and whether
    the URL pinned that version (then the image may be cached for good)."""
    if version is None:
        return doc.sha256, doc.pages, False
    if not is_number(version, 9):
        raise Refused(Rejection("invalid", {"detail": "v: a version number"}))
    v = int(version)
    if v == doc.version:
        return doc.sha256, doc.pages, True
    for old in doc.history:
        if old.version == v:
            return old.sha256, old.pages, True
    raise _not_found("phiên bản", "Version")


async def page_image(request: Request) -> Response:
    user, host, doc = await _readable(request)
    sha, pages, pinned = _version_sha(doc, request.query_params.get("v"))
    page = _page_number(request.path_params["page"], pages)
    size = request.query_params.get("size", "tablet")
    fmt = request.query_params.get("format", "webp")
    if size not in WIDTHS or fmt not in FORMATS:
        raise Refused(Rejection("invalid", {"detail": "size: thumb|tablet|hd; format: webp|png"}))
    library = node_of(request).library
    confidential = doc.classification == "confidential"
    headers = {"Vary": "Cookie, Authorization", "Cache-Control": caching(doc, pinned)}
    if confidential:
        label = watermark(user, node_of(request).clock())
    else:
        label = None
        etag = library.etag(sha, page, size, fmt)
        headers["ETag"] = etag
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
    try:
        image = await library.page(sha, page, size, fmt, label)
    except IngestError as exc:
        raise _refuse_ingest(exc) from None
    if confidential:  # who saw which page of it, when: ids only (its title is sealed too)
        audit(request, "document.page_view", meeting=host.room_id, document=doc.id,
              version=_version_of(doc, sha), page=page)
    return Response(image, media_type=FORMATS[fmt], headers=headers)


async def page_marks(request: Request) -> Response:
    """The shared marks of one page (`?v=VERSION`, the current one by default), with the
    room's seq they are at least as new as: a client applies the live `annotation.*`
    events after that seq over them. The ETag is the page's revision in the room state, so
    a page unchanged since the client's copy costs neither the store nor the body."""
    _user, host, doc = await _readable(request)
    _sha, pages, _pinned = _version_sha(doc, request.query_params.get("v"))
    version = int(request.query_params.get("v") or doc.version)
    page_number = _page_number(request.path_params["page"], pages)
    # Read together, with no await between: the store holds at least these events.
    seq = host.state.seq
    page = host.state.marks.page((doc.id, version, page_number))
    rev = page.rev if page is not None else 0
    etag = f'W/"marks-{host.room_id}-{doc.id}-{version}-{page_number}-{rev}"'
    headers = {"Vary": "Cookie, Authorization", "ETag": etag,
               "Cache-Control": PERSONAL if doc.classification == "confidential"
               else REVALIDATE}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    rows: list[bytes] = []
    if page is not None:
        try:
            rows = await node_of(request).store.shared_marks(host.room_id, doc.id, version,
                                                             page_number)
        except StoreError:
            raise Refused(Rejection("store_unavailable")) from None
    if doc.classification == "confidential":  # its marks are read like its pages
        audit(request, "document.page_view", meeting=host.room_id, document=doc.id,
              version=version, page=page_number, marks=True)
    head = orjson.dumps({"document_id": doc.id, "version": version, "page": page_number,
                         "rev": rev, "seq": seq})
    body = head[:-1] + b',"marks":[' + b",".join(rows) + b"]}"
    return Response(body, media_type="application/json", headers=headers)


def _version_of(doc: Document, sha: str) -> int:
    if sha == doc.sha256:
        return doc.version
    return next((old.version for old in doc.history if old.sha256 == sha), doc.version)


async def page_text(request: Request) -> Response:
    _, _, doc = await _readable(request)
    if doc.classification == "confidential":
        # Plain text carries no stamp: a viewer reads the stamped pages, nobody the text.
        raise Refused(Rejection("confidential_text"))
    raw = request.query_params.get("page")
    if raw is not None and not (is_number(raw, 9) and 1 <= int(raw) <= doc.pages):
        raise _not_found("trang", "Page")
    try:
        rows = await node_of(request).store.file_texts(doc.sha256, int(raw) if raw else None)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    return JSONResponse({"pages": [{"page": n, "text": text} for n, text in rows]},
                        headers={"Cache-Control": caching(doc, False)})


def _download_name(doc: Document, suffix: str = "") -> str:
    stem = doc.filename.rsplit(".", 1)[0] if "." in doc.filename else doc.filename
    return f"{stem}{suffix}.pdf"


async def original_file(request: Request) -> Response:
    user, host, doc = await _readable(request)
    library = node_of(request).library
    if doc.classification != "confidential":
        _downloaded(request, host, doc, "original")
        # The current version, whichever it is: revalidated (FileResponse gives an ETag).
        return FileResponse(library.path(doc.sha256), media_type="application/pdf", headers={
            "Content-Disposition": attachment(doc.filename),
            "Cache-Control": caching(doc, False), "Vary": "Cookie, Authorization"})
    try:
        data = await library.export(doc.sha256, [], {},
                                    watermark(user, node_of(request).clock()), doc.pages)
    except IngestError as exc:
        raise _refuse_ingest(exc) from None
    _downloaded(request, host, doc, "original")
    return pdf_download(data, _download_name(doc))


def _downloaded(request: Request, host: RoomHost, doc: Document, copy: str) -> None:
    """Record a download in the access log: which document, version and copy (ids only)."""
    audit(request, "document.download", meeting=host.room_id, document=doc.id,
          version=doc.version, classification=doc.classification, copy=copy)


async def export(request: Request) -> Response:
    user, host, doc = await _readable(request)
    which = request.query_params.get("with", "mine")
    if which not in ("mine", "shared", "all"):
        raise Refused(Rejection("invalid", {"detail": "with: mine|shared|all"}))
    marks: list[dict[str, Any]] = []
    store = node_of(request).store
    try:
        if which in ("shared", "all"):
            marks += [orjson.loads(a) for a in await store.shared_marks(host.room_id, doc.id,
                                                                         doc.version)]
        if which in ("mine", "all"):
            mine = await store.private_annotations(host.room_id, doc.id, user.id)
            marks += [a for a in mine if a["version"] == doc.version]
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    authors = _authors(host.state, {a["owner"] for a in marks} | {user.id}, user)
    label = (watermark(user, node_of(request).clock())
             if doc.classification == "confidential" else None)
    try:
        data = await node_of(request).library.export(doc.sha256, marks, authors, label,
                                                     doc.pages)
    except IngestError as exc:
        raise _refuse_ingest(exc) from None
    _downloaded(request, host, doc, which)
    suffix = {"mine": " - ghi chú của tôi", "shared": " - ghi chú chung", "all": " - ghi chú"}
    return pdf_download(data, _download_name(doc, suffix[which]))


def _authors(state: RoomState, owners: set[int], user: User) -> dict[int, str]:
    names = {uid: p.full_name for uid in owners if (p := state.participants.get(uid))}
    names.setdefault(user.id, user.full_name)
    return names


# ---- private annotations ----


async def my_annotations(request: Request) -> Response:
    user, host, doc = await _readable(request)
    try:
        rows = await node_of(request).store.private_annotations(host.room_id, doc.id, user.id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    return JSONResponse({"annotations": rows})


async def add_my_annotation(request: Request) -> Response:
    user, host, doc = await _readable(request)
    body = parse(MyAnnotationBody, await read_json(request))
    # The same model and shape rules as a shared annotation: one definition of a mark.
    fields = body.model_dump(exclude={"client_id"}, exclude_none=True)
    command = parse_command("annotation.add", {"document_id": doc.id, **fields})
    if isinstance(command, Rejection):
        raise Refused(command)
    assert isinstance(command, c.AnnotationAdd)
    if refusal := check_marks(command):
        raise Refused(refusal)
    if command.page > doc.pages:
        raise _not_found("trang", "Page")
    data = {
        "document_id": doc.id, "version": doc.version, "page": command.page,
        "kind": command.kind, "path": paths.encode([paths.quantised(p) for p in command.points]),
        "color": command.color.lower(), "width": command.width, "text": command.text,
        "owner": user.id, "scope": "private",
        "at": node_of(request).clock().astimezone(UTC).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }
    try:
        saved, duplicate = await node_of(request).store.add_private_annotation(
            host.room_id, doc.id, user.id, body.client_id, data)
    except Duplicate:
        raise Refused(Rejection("duplicate", {"what": "Ghi chú", "what_en": "Annotation"})) \
            from None
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if duplicate:
        return JSONResponse({"annotation": saved, "duplicate": True})
    return JSONResponse({"annotation": saved}, status_code=201)


async def delete_my_annotation(request: Request) -> Response:
    user, host, doc = await _readable(request)
    ann = _id(request, "annotation")
    try:
        removed = await node_of(request).store.delete_private_annotations(
            host.room_id, doc.id, user.id, [ann])
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if not removed:
        raise _not_found("ghi chú", "Annotation")
    return JSONResponse({"removed": removed})


async def clear_my_page(request: Request) -> Response:
    user, host, doc = await _readable(request)
    body = parse(ClearBody, await read_json(request))
    try:
        removed = await node_of(request).store.clear_private_page(
            host.room_id, doc.id, user.id, body.page, doc.version)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    return JSONResponse({"removed": removed})


# A reader refused a confidential document is recorded, whichever route they tried.
SEALED = frozenset({"confidential_viewers_only", "confidential_text"})
D = "/api/meetings/{meeting}/documents/{document}"
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", D + "/pages/{page}",
             audited("document.page_view", page_image, refusals=SEALED),
             "A page image (?size=thumb|tablet|hd&format=webp|png&v=VERSION)"),
    Endpoint("GET", D + "/pages/{page}/marks",
             audited("document.page_view", page_marks, refusals=SEALED),
             "The shared marks of a page (?v=VERSION), as of the room seq it names; ETag"),
    Endpoint("POST", "/api/meetings/{meeting}/files", upload_file,
             "Upload a file (the body is its bytes; ?name=FILE): PDF, or Office converted"),
    Endpoint("POST", "/api/meetings/{meeting}/documents", room_command("document.attach"),
             "Attach an uploaded file as a document", c.DocumentAttach),
    Endpoint("PATCH", D, room_command("document.update", {"document_id": "document"}),
             "Rename a document or move it to another agenda item", c.DocumentUpdate),
    Endpoint("DELETE", D, room_command("document.remove", {"document_id": "document"},
                                       body=False), "Remove a document"),
    Endpoint("POST", D + "/versions", room_command("document.version",
                                                   {"document_id": "document"}),
             "A new version of a document's file", c.DocumentNewVersion),
    Endpoint("GET", D + "/text", audited("document.download", page_text, refusals=SEALED),
             "The text of the pages (?page=N); refused for a confidential document"),
    Endpoint("GET", D + "/file", audited("document.download", original_file, refusals=SEALED),
             "The PDF (confidential: an image-only copy stamped for the viewer)"),
    Endpoint("GET", D + "/export", audited("document.download", export, refusals=SEALED),
             "The PDF with annotations (?with=mine|shared|all; confidential: image-only)"),
    Endpoint("GET", D + "/my-annotations", my_annotations, "My private annotations"),
    Endpoint("POST", D + "/my-annotations", add_my_annotation,
             "Add a private annotation (retry-safe by client_id)", MyAnnotationBody),
    Endpoint("DELETE", D + "/my-annotations/{annotation}", delete_my_annotation,
             "Erase one of my private annotations"),
    Endpoint("POST", D + "/my-annotations/clear", clear_my_page,
             "Erase my private annotations on one page", ClearBody),
]
