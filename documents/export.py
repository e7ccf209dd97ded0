"""Annotated copies: the meeting document with annotations as real PDF annotations.

Annotations arrive in page-relative coordinates of the displayed page (0..1 on each axis,
rotation applied); PDF annotations live in the unrotated page space, so every point is
scaled to the page and turned back with the page's derotation matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pymupdf

from documents.watermark import stamp

HIGHLIGHT_OPACITY = 0.35


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
    points = _points(page, ann["points"])
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
    """The PDF at `path` with `annotations` added (and the watermark when `label` is set)."""
    with pymupdf.open(path, filetype="pdf") as doc:
        for ann in sorted(annotations, key=lambda a: (a["page"], a["id"])):
            if 1 <= ann["page"] <= doc.page_count:
                add_annotation(doc[ann["page"] - 1], ann, authors.get(ann["owner"], ""))
        if label is not None:
            for page in doc:
                stamp(page, label)
        return doc.tobytes(garbage=1, deflate=True)
