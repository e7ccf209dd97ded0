"""Annotated copies: the meeting document with annotations as real PDF annotations.

Annotations arrive in page-relative coordinates of the displayed page (0..1 on each axis,
rotation applied); PDF annotations live in the unrotated page space, so every point is
scaled to the page and turned back with the page's derotation matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pymupdf

from phonghop.documents.path import points_of
from phonghop.documents.watermark import stamp

HIGHLIGHT_OPACITY = 0.35
RASTER_DPI = 150  # a confidential copy: legible on paper and screen, every pixel stamped
RASTER_QUALITY = 80


def _rgb(colour: str) -> tuple[float, float, float]:
    value = int(colour.lstrip("#"), 16)
    return ((value >> 16) / 255, ((value >> 8) & 255) / 255, (value & 255) / 255)


def _points(page: pymupdf.Page, flat: Iterable[float]) -> list[pymupdf.Point]:
    rect, derotate = page.rect, page.derotation_matrix
    values = list(flat)
    return [pymupdf.Point(rect.width * values[i], rect.height * values[i + 1]) * derotate
            for i in range(0, len(values) - 1, 2)]


def add_annotation(page: pymupdf.Page, ann: dict[str, Any], author: str) -> None:
    """Add one annotation (a dict shaped like `rooms.state.Annotation`) to `page`."""
    points = _points(page, points_of(ann))
    if not points:
        return
    colour = _rgb(ann.get("color") or "#d32f2f")
    if ann["kind"] == "note":
        annot = page.add_text_annot(points[0], ann.get("text") or "", icon="Note")
        annot.set_colors(stroke=colour)
    else:
        if len(points) == 1:
            points.append(points[0] + (0.5, 0.5))  # a dot is a very short stroke
        annot = page.add_ink_annot([[(p.x, p.y) for p in points]])
        annot.set_colors(stroke=colour)
        annot.set_border(width=max(0.5, float(ann.get("width") or 0.003) * page.rect.width))
        if ann["kind"] == "highlight":
            annot.set_opacity(HIGHLIGHT_OPACITY)
    annot.set_info(title=author, content=ann.get("text") or "")
    annot.update()


def export_pdf(path: str, annotations: list[dict[str, Any]], authors: dict[int, str],
               label: str | None = None) -> bytes:
    """The PDF at `path` with `annotations` added; with `label` (a confidential document)
    an image-only copy instead, the viewer's stamp burnt into every page (`rasterise`)."""
    with pymupdf.open(path, filetype="pdf") as doc:
        for ann in sorted(annotations, key=lambda a: (a["page"], a["id"])):
            if 1 <= ann["page"] <= doc.page_count:
                add_annotation(doc[ann["page"] - 1], ann, authors.get(ann["owner"], ""))
        if label is not None:
            return rasterise(doc, label)
        return doc.tobytes(garbage=1, deflate=True)


def rasterise(doc: pymupdf.Document, label: str) -> bytes:
    """A new PDF whose every page is one picture of `doc`'s page, stamped with `label`.

    A stamp that is a text object can be deleted with any PDF editor, and the text and
    fonts under it copied out; here the page is pixels only: no text layer, no fonts, no
    metadata, no annotations (the marks are drawn into the picture).
    """
    out = pymupdf.open()
    for page in doc:
        stamp(page, label)
        pix = page.get_pixmap(dpi=RASTER_DPI, annots=True, alpha=False)
        shown = page.rect  # as displayed (rotation applied): the picture is upright
        target = out.new_page(width=shown.width, height=shown.height)
        target.insert_image(target.rect, stream=pix.tobytes("jpg", jpg_quality=RASTER_QUALITY))
    out.set_metadata({})
    data = out.tobytes(garbage=3, deflate=True)
    out.close()
    return data
