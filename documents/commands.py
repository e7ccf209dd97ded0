"""Document commands: attaching, versions, presenting and shared marks, parsed and validated
at the edge like the kernel's (`rooms/commands.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, Strict, model_validator

from phonghop.documents import path as paths
from phonghop.documents.model import AnnotationKind, Classification, FileInfo
from phonghop.rooms.commands import Command, Flag, Id, LongText, Text

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Page = Annotated[int, Strict(), Field(ge=1, le=100_000)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
MAX_POINTS = paths.MAX_NUMBERS  # numbers in one stroke: 2,000 points


class DocumentAttach(Command):
    NAME = "document.attach"
    sha256: Sha256  # of a file uploaded to this meeting
    title: Text | None = None  # default: the file name
    item_id: Id | None = None  # None: a document of the whole meeting
    classification: Classification = "internal"
    viewers: list[Id] = Field(default_factory=list, max_length=1000)
    file: FileInfo | None = None  # filled by the edge from the file store


class DocumentUpdate(Command):
    NAME = "document.update"
    document_id: Id
    title: Text | None = None
    item_id: Id | None = None
    # Re-classification (see documents/room.py for who may): both or either.
    classification: Classification | None = None
    viewers: list[Id] | None = Field(default=None, max_length=1000)


class DocumentNewVersion(Command):
    NAME = "document.version"
    document_id: Id
    sha256: Sha256
    file: FileInfo | None = None  # filled by the edge


class DocumentRemove(Command):
    NAME = "document.remove"
    document_id: Id


class PresentStart(Command):
    NAME = "present.start"
    document_id: Id
    page: Page = 1


class PresentMove(Command):
    NAME = "present.move"
    page: Page
    zoom: Annotated[float, Field(ge=1.0, le=8.0, allow_inf_nan=False)] = 1.0
    x: Fraction = 0.5
    y: Fraction = 0.5


class PresentStop(Command):
    NAME = "present.stop"


class AnnotationAdd(Command):
    NAME = "annotation.add"
    document_id: Id
    page: Page
    kind: AnnotationKind
    # The stroke: `path` (documents/path.py, as the web client sends it) or the same
    # points as numbers [x0, y0, x1, y1, …], one of the two. `points` holds them either
    # way: the path is decoded as the command is parsed and not kept, so the command a node
    # forwards to the room's writer (its JSON dump) is the same command.
    points: list[Fraction] = Field(min_length=2, max_length=MAX_POINTS)
    color: Colour = "#d32f2f"
    width: Annotated[float, Field(ge=0.0005, le=0.05, allow_inf_nan=False)] = 0.003
    text: LongText | None = None

    @model_validator(mode="before")
    @classmethod
    def _path_gives_the_points(cls, data: Any) -> Any:
        # BadPath is a ValueError: pydantic refuses the command with its reason.
        return paths.with_points(data) if isinstance(data, dict) else data


class AnnotationRemove(Command):
    NAME = "annotation.remove"
    annotation_id: Id


class AnnotationClear(Command):
    NAME = "annotation.clear"
    document_id: Id
    page: Page
    everyone: Flag = False  # the chair or secretary clears every shared mark on the page


ROOM_COMMANDS = (DocumentAttach, DocumentUpdate, DocumentNewVersion, DocumentRemove,
                 PresentStart, PresentMove, PresentStop, AnnotationAdd, AnnotationRemove,
                 AnnotationClear)
