"""Page images: one page of a PDF at a given width, as WebP or PNG.

Runs inside a worker process. Open documents are kept (a presenter turns pages one after
another), except for watermarked renders, which draw on a fresh copy that is thrown away.
"""

from __future__ import annotations

import io
from collections import OrderedDict

import pymupdf
from PIL import Image

from phonghop.documents.sizes import FORMATS, WIDTHS
from phonghop.documents.watermark import stamp

__all__ = ["FORMATS", "WIDTHS", "encode", "render_page"]
MAX_ASPECT = 4.0  # a page image is at most this many widths tall (long strips are scaled down)
WEBP_QUALITY = 80
_OPEN_KEPT = 6
_open: OrderedDict[str, pymupdf.Document] = OrderedDict()


def _document(path: str) -> pymupdf.Document:
    doc = _open.get(path)
    if doc is None:
        doc = pymupdf.open(path, filetype="pdf")
        _open[path] = doc
        while len(_open) > _OPEN_KEPT:
            _open.popitem(last=False)[1].close()
    else:
        _open.move_to_end(path)
    return doc


def _pixmap(page: pymupdf.Page, width: int) -> pymupdf.Pixmap:
    rect = page.rect
    zoom = width / rect.width
    if rect.height * zoom > width * MAX_ASPECT:
        zoom = width * MAX_ASPECT / rect.height
    return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False, annots=False)


def encode(pix: pymupdf.Pixmap, fmt: str) -> bytes:
    """Encode a pixmap; WebP at method 0 is about as fast as PNG and half its size."""
    if fmt == "png":
        return pix.tobytes("png")
    image = Image.frombuffer("RGB", (pix.width, pix.height), pix.samples, "raw", "RGB", 0, 1)
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=0)
    return out.getvalue()


def render_page(path: str, page: int, width: int, fmt: str, label: str | None = None) -> bytes:
    """Page `page` (1-based) of the PDF at `path`, `width` pixels wide, optionally stamped."""
    if label is None:
        return encode(_pixmap(_document(path)[page - 1], width), fmt)
    with pymupdf.open(path, filetype="pdf") as doc:
        target = doc[page - 1]
        stamp(target, label)
        return encode(_pixmap(target, width), fmt)
