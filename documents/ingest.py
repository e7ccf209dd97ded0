"""Ingest: decide by content what an uploaded file is, and whether it is a usable PDF.

Runs inside a worker process (a hostile file must not stall or crash the server): it opens
the file with PyMuPDF, refuses what cannot be shown, repairs what MuPDF can repair, and
reads what the room needs to lay pages out (sizes) and to search them (text per page).
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Office formats LibreOffice turns into PDF, recognised by content, not by name.
OFFICE_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML_PARTS = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}
TEXT_KEPT = 20_000  # characters of text kept per page


class IngestError(Exception):
    """A file that cannot become a meeting document; `code` is a refusal code."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass
class Inspection:
    """What ingest learned about a PDF."""

    pages: list[tuple[float, float]]  # displayed width, height in points (rotation applied)
    title: str = ""
    repaired: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def sniff(head: bytes, path: Path | None = None) -> str:
    """The kind of file from its first bytes: 'pdf', an office kind ('docx', …) or 'unknown'."""
    if not head:
        return "empty"
    # The PDF header may follow some junk; readers accept it within the first kilobyte.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(_OLE_MAGIC):
        return "ole"  # legacy .doc / .xls: LibreOffice tells which
    if head.startswith(b"PK\x03\x04") and path is not None:
        return _zip_kind(path)
    return "unknown"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if "mimetype" in names:
                mime = z.read("mimetype")[:100].decode("ascii", "replace").strip()
                return OFFICE_TYPES.get(mime, "unknown")
            if "[Content_Types].xml" in names:
                for prefix, kind in _OOXML_PARTS.items():
                    if any(n.startswith(prefix) for n in names):
                        return kind
    except (zipfile.BadZipFile, OSError, KeyError):
        pass
    return "unknown"


def inspect_pdf(path: str, max_pages: int) -> Inspection:
    """Open the PDF at `path` and read its page sizes, or raise IngestError.

    Only what showing the first page needs: the text comes later (`page_texts`).
    """
    import pymupdf  # here, not above: the server imports this module, the workers run this
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # MuPDF raises its own types, and RuntimeError
        raise IngestError("broken_pdf", _plain(exc, path)) from None
    with doc:
        if doc.needs_pass or doc.is_encrypted:
            raise IngestError("encrypted_pdf")
        try:
            count = doc.page_count
        except Exception as exc:
            raise IngestError("broken_pdf", _plain(exc, path)) from None
        if count == 0:
            raise IngestError("broken_pdf", "no pages")
        if count > max_pages:
            raise IngestError("too_many_pages", str(max_pages))
        pages: list[tuple[float, float]] = []
        for number in range(count):
            try:
                rect = doc[number].rect
            except Exception as exc:
                raise IngestError("broken_pdf", f"page {number + 1}: {_plain(exc, path)}") \
                    from None
            if rect.is_empty or rect.width < 1 or rect.height < 1:
                raise IngestError("broken_pdf", f"page {number + 1} has no area")
            pages.append((round(rect.width, 2), round(rect.height, 2)))
        title = unicodedata.normalize("NFC", (doc.metadata or {}).get("title") or "").strip()
        return Inspection(pages=pages, title=title[:300], repaired=doc.is_repaired)


def page_texts(path: str) -> list[str]:
    """The text of every page, NFC, in reading order as stored (a page that fails is empty)."""
    import pymupdf
    texts = []
    with pymupdf.open(path, filetype="pdf") as doc:
        for page in doc:
            try:
                text = page.get_text("text")
            except Exception:
                text = ""
            texts.append(unicodedata.normalize("NFC", text)[:TEXT_KEPT])
    return texts


def _plain(exc: Exception, path: str) -> str:
    """MuPDF's message without the server's file path in it."""
    text = str(exc)
    if text.startswith("Failed to open file"):
        return "not a readable PDF"
    return text.replace(f"'{path}'", "").replace(path, "")[:200]


def normalise(path: str, out: str) -> None:
    """Write a clean copy of a PDF MuPDF had to repair, so later opens need no repair."""
    import pymupdf
    with pymupdf.open(path, filetype="pdf") as doc:
        doc.save(out, garbage=3, deflate=True)
