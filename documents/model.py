"""What a document is in the meeting: plain, immutable data held in the room state.

Frozen pydantic models whose JSON form is what events carry and clients see, like the
kernel's (`rooms/state.py`). No dependency on the room, so the kernel's state can hold them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from phonghop.documents import path as paths


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Classification = Literal["public", "internal", "confidential"]


class FileInfo(Frozen):
    """An uploaded PDF as the room knows it (filled in by the edge from the file store)."""

    sha256: str
    filename: str
    size: int
    sizes: tuple[tuple[float, float], ...]  # each page's displayed width and height, points
    uploaded_by: int | None = None  # who last sent these bytes to the meeting (holds them)


class DocumentVersion(Frozen):
    version: int
    sha256: str
    filename: str
    size: int
    pages: int
    at: str
    by: int


class Document(Frozen):
    """A meeting document attached to the meeting or to one agenda item."""

    id: int
    title: str
    item_id: int | None = None
    classification: Classification = "internal"
    viewers: tuple[int, ...] = ()  # confidential: the only people who may read it
    version: int = 1
    sha256: str
    filename: str
    size: int
    sizes: tuple[tuple[float, float], ...]
    history: tuple[DocumentVersion, ...] = ()  # earlier versions, oldest first
    added_by: int
    added_at: str

    @property
    def pages(self) -> int:
        return len(self.sizes)


class Presentation(Frozen):
    """What the presenter shows: a page, and the viewport in page-relative coordinates."""

    document_id: int
    version: int
    page: int
    zoom: float = 1.0  # 1 = the whole page width
    x: float = 0.5  # centre of the viewport, 0..1 of the page width
    y: float = 0.5  # centre of the viewport, 0..1 of the page height
    by: int
    since: str


AnnotationKind = Literal["ink", "highlight", "note"]


class Annotation(Frozen):
    """A mark on a page: ink or highlighter strokes, or a text note.

    Points are page-relative (0..1 of the displayed page's width and height), so a stroke
    lands in the same place on every screen size; `width` is a fraction of the page width.
    Its JSON form (events, the store, the clients) carries them as `path`, an encoded
    polyline (documents/path.py); marks written before paths carry `points`, read alike.
    """

    id: int
    document_id: int
    version: int
    page: int
    kind: AnnotationKind
    points: tuple[float, ...]
    color: str
    width: float
    text: str | None = None
    owner: int
    scope: Literal["shared", "private"] = "shared"
    at: str

    @model_validator(mode="before")
    @classmethod
    def _read_the_path(cls, data: Any) -> Any:
        return paths.with_points(data) if isinstance(data, dict) else data

    @model_serializer(mode="wrap")
    def _write_the_path(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        points = out.pop("points")
        out["path"] = paths.encode(points)
        return out
